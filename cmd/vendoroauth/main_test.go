package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// binDir holds the command built by builtBinary; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// builtBinary builds the command once per test process and returns its
// path, for tests where the process matters (exit status, /dev/full,
// file owners, the README session).
var builtBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "vendoroauth-bin-")
	if err != nil {
		return "", err
	}
	binDir = dir
	exe := filepath.Join(dir, "vendoroauth")
	if out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return exe, nil
})

func binary(t *testing.T) string {
	t.Helper()
	exe, err := builtBinary()
	require.NoError(t, err)
	return exe
}

// result is what one run produced.
type result struct {
	err            error
	code           int
	stdout, stderr string
}

// all is everything a run showed the user.
func (r result) all() string {
	s := r.stdout + r.stderr
	if r.err != nil {
		s += r.err.Error()
	}
	return s
}

// withCache returns vars with XDG_CACHE_HOME set to a new temporary folder
// unless vars sets it or HOME, so that the default cache of a test is its
// own.
func withCache(t *testing.T, vars map[string]string) map[string]string {
	t.Helper()
	out := maps.Clone(vars)
	if out == nil {
		out = map[string]string{}
	}
	_, xdg := out["XDG_CACHE_HOME"]
	_, home := out["HOME"]
	if !xdg && !home {
		out["XDG_CACHE_HOME"] = t.TempDir()
	}
	return out
}

// runEnvWith calls runEnv with e's handles replaced by buffers.
func runEnvWith(t *testing.T, e env, vars map[string]string, stdin io.Reader, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e.getenv = func(k string) string { return vars[k] }
	e.stdin, e.stdout, e.stderr = stdin, &stdout, &stderr
	err := runEnv(t.Context(), args, e)
	return result{err: err, code: exitCode(err), stdout: stdout.String(), stderr: stderr.String()}
}

// runWith calls run with exactly the given environment and standard input.
func runWith(t *testing.T, vars map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), args, func(k string) string { return vars[k] }, strings.NewReader(stdin), &stdout, &stderr)
	return result{err: err, code: exitCode(err), stdout: stdout.String(), stderr: stderr.String()}
}

// fakes starts both fakes with their demo credentials.
func fakes(t *testing.T) (*vendoroauthtest.EnduroSat, *vendoroauthtest.Formlabs) {
	t.Helper()
	es := vendoroauthtest.NewEnduroSat(vendoroauthtest.EnduroSatClientID, vendoroauthtest.EnduroSatUsername, vendoroauthtest.EnduroSatPassword)
	fl := vendoroauthtest.NewFormlabs(vendoroauthtest.FormlabsClientID, vendoroauthtest.FormlabsClientSecret)
	t.Cleanup(es.Close)
	t.Cleanup(fl.Close)
	return es, fl
}

// closedURL returns the base URL of a loopback port that nothing listens
// on: connections to it are refused.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	return base
}

var (
	esEnv = map[string]string{
		envESClientID: vendoroauthtest.EnduroSatClientID,
		envESUsername: vendoroauthtest.EnduroSatUsername,
		envESPassword: vendoroauthtest.EnduroSatPassword,
	}
	flEnv = map[string]string{
		envFLClientID:     vendoroauthtest.FormlabsClientID,
		envFLClientSecret: vendoroauthtest.FormlabsClientSecret,
	}
)

// plus returns a copy of vars with more variables.
func plus(vars map[string]string, kv ...string) map[string]string {
	out := maps.Clone(vars)
	if out == nil {
		out = map[string]string{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// cacheFiles returns the vendor's cache files under the cache folder dir.
func cacheFiles(t *testing.T, dir, vendor string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "vendoroauth", vendor+"-*.json"))
	require.NoError(t, err)
	return files
}

// editCached rewrites the cached record at path with edit.
func editCached(t *testing.T, path string, edit func(rec map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var rec map[string]any
	require.NoError(t, json.Unmarshal(data, &rec))
	edit(rec)
	data, err = json.Marshal(rec)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, data, 0o600))
}

// expireCached rewrites the cached record at path so that its access token
// has expired, as after an hour, leaving its refresh token.
func expireCached(t *testing.T, path string) {
	t.Helper()
	editCached(t, path, func(rec map[string]any) {
		require.Contains(t, rec, "expiry", "the cached record has no expiry field to age")
		rec["expiry"] = time.Now().Add(-time.Hour).Format(time.RFC3339Nano)
	})
}

func TestToken(t *testing.T) {
	t.Parallel()
	es, fl := fakes(t)
	r := runWith(t, withCache(t, flEnv), "", "token", "-vendor", "formlabs", "-base-url", fl.URL)
	require.Equal(t, 0, r.code, "token -vendor formlabs: err %v", r.err)
	assert.Equal(t, 1, strings.Count(r.stdout, "\n"), "want one token line, got %q", r.stdout)
	assert.Greater(t, len(strings.TrimSpace(r.stdout)), 10)

	r = runWith(t, withCache(t, esEnv), "", "token", "-vendor", "endurosat", "-base-url", es.URL, "-json")
	require.Equal(t, 0, r.code, "token -json: err %v", r.err)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	assert.NotEmpty(t, out["refresh_token"])
	assert.NotEmpty(t, out["id_token"])
}

func TestTokenCachedByDefault(t *testing.T) {
	t.Parallel()
	_, fl := fakes(t)
	xdg := t.TempDir()
	vars := plus(flEnv, "XDG_CACHE_HOME", xdg, "HOME", t.TempDir())
	args := []string{"token", "-vendor", "formlabs", "-base-url", fl.URL}
	first := runWith(t, vars, "", args...)
	second := runWith(t, vars, "", args...)
	require.Equal(t, 0, first.code, "first run: %v", first.err)
	require.Equal(t, 0, second.code, "second run: %v", second.err)
	assert.Equal(t, first.stdout, second.stdout, "the second run printed another token")
	assert.Equal(t, 1, fl.TokenRequests(), "token requests for two runs with the default cache")

	sum := sha256.Sum256([]byte(vendoroauthtest.FormlabsClientID + "\n" + fl.URL + "\n")) // no EnduroSat user
	path := filepath.Join(xdg, "vendoroauth", "formlabs-"+hex.EncodeToString(sum[:8])+".json")
	st, err := os.Stat(path)
	require.NoError(t, err, "the cache file is not where the docs say")
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "cache file mode")
	dst, err := os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), dst.Mode().Perm(), "cache folder mode")

	// HOME/.cache when XDG_CACHE_HOME is not set (on Linux and the BSDs).
	if runtime.GOOS != "darwin" && runtime.GOOS != "windows" && runtime.GOOS != "ios" && runtime.GOOS != "plan9" {
		home := t.TempDir()
		r := runWith(t, plus(flEnv, "HOME", home), "", args...)
		require.Equal(t, 0, r.code, "run with HOME only: %v", r.err)
		assert.Len(t, cacheFiles(t, filepath.Join(home, ".cache"), "formlabs"), 1, "no cache file under HOME/.cache")
	}

	// -cache off: no file, a request per run.
	offDir := t.TempDir()
	before := fl.TokenRequests()
	for range 2 {
		r := runWith(t, plus(flEnv, "XDG_CACHE_HOME", offDir), "", append(args, "-cache", "off")...)
		require.Equal(t, 0, r.code, "run with -cache off: %v", r.err)
	}
	assert.Equal(t, 2, fl.TokenRequests()-before, "token requests for two runs with -cache off")
	entries, _ := os.ReadDir(offDir)
	assert.Empty(t, entries, "-cache off wrote into the cache folder")

	// -cache FILE: that file, and only it.
	file := filepath.Join(t.TempDir(), "sub", "token.json")
	r := runWith(t, plus(flEnv, "XDG_CACHE_HOME", offDir), "", append(args, "-cache", file)...)
	require.Equal(t, 0, r.code, "run with -cache FILE: %v", r.err)
	assert.FileExists(t, file)
	entries, _ = os.ReadDir(offDir)
	assert.Empty(t, entries, "-cache FILE wrote into the cache folder")
}

func TestUserCacheDir(t *testing.T) {
	t.Parallel()
	switch runtime.GOOS {
	case "windows", "darwin", "ios", "plan9":
		t.Skip("the XDG lookup is for Linux and the other Unixes")
	}
	tests := []struct {
		name    string
		vars    map[string]string
		want    string
		wantErr bool
	}{
		{"XDG_CACHE_HOME wins", map[string]string{"XDG_CACHE_HOME": "/x/cache", "HOME": "/home/u"}, "/x/cache", false},
		{"HOME alone", map[string]string{"HOME": "/home/u"}, "/home/u/.cache", false},
		{"relative XDG_CACHE_HOME", map[string]string{"XDG_CACHE_HOME": "rel", "HOME": "/home/u"}, "", true},
		{"neither", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := userCacheDir(func(k string) string { return tt.vars[k] })
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}

	r := runWith(t, flEnv, "", "token", "-vendor", "formlabs", "-base-url", "http://127.0.0.1:1")
	assert.Equal(t, 2, r.code, "token with no HOME and no XDG_CACHE_HOME: err %v", r.err)
	assert.ErrorContains(t, r.err, "-cache off")
}

func TestCorruptCacheWarnsOnce(t *testing.T) {
	t.Parallel()
	_, fl := fakes(t)
	path := filepath.Join(t.TempDir(), "token.json")
	require.NoError(t, os.WriteFile(path, []byte("{not json"), 0o600))
	r := runWith(t, withCache(t, flEnv), "", "token", "-vendor", "formlabs", "-base-url", fl.URL, "-cache", path)
	require.Equal(t, 0, r.code, "token with a corrupt cache: %v", r.err)
	assert.Equal(t, 1, strings.Count(r.stderr, "corrupt"), "warnings about the corrupt cache, stderr:\n%s", r.stderr)
	assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "stderr lines:\n%s", r.stderr)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, json.Valid(data), "the corrupt cache file was not rewritten")
}

func TestCacheRefused(t *testing.T) {
	t.Parallel()
	_, fl := fakes(t)
	tests := []struct {
		name     string
		prepare  func(t *testing.T, path string)
		wantText string
	}{
		{"open to others", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, []byte("{}"), 0o600))
			require.NoError(t, os.Chmod(path, 0o644))
		}, "run: chmod 600 "},
		{"symbolic link", func(t *testing.T, path string) {
			target := filepath.Join(t.TempDir(), "real.json")
			require.NoError(t, os.WriteFile(target, []byte("{}"), 0o600))
			require.NoError(t, os.Symlink(target, path))
		}, "symbolic link"},
		{"folder", func(t *testing.T, path string) {
			require.NoError(t, os.Mkdir(path, 0o700))
		}, "folder"},
		{"lock file open to others", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path+".lock", nil, 0o600))
			require.NoError(t, os.Chmod(path+".lock", 0o666))
		}, "run: chmod 600 "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "token.json")
			tt.prepare(t, path)
			before := fl.TokenRequests()
			r := runWith(t, withCache(t, flEnv), "", "token", "-vendor", "formlabs", "-base-url", fl.URL, "-cache", path)
			assert.Equal(t, 2, r.code, "exit status (err %v)", r.err)
			require.Error(t, r.err)
			msg := r.err.Error()
			assert.Contains(t, msg, tt.wantText)
			assert.Contains(t, msg, "-cache off", "the message does not say how to get past the cache")
			assert.Equal(t, 1, strings.Count(msg, "vendoroauth:"), "doubled prefix: %s", msg)
			assert.Empty(t, r.stdout, "a token was printed")
			assert.Equal(t, before, fl.TokenRequests(), "a token was requested with a refused cache")
		})
	}
}

func TestRefreshOnlyRotation(t *testing.T) {
	t.Parallel()
	es, _ := fakes(t)
	es.SetRotateRefreshTokens(true)
	rt0 := loginRefreshToken(t, es)

	xdg := t.TempDir()
	vars := map[string]string{
		envESClientID:     vendoroauthtest.EnduroSatClientID,
		envESRefreshToken: rt0,
		"XDG_CACHE_HOME":  xdg,
		"HOME":            t.TempDir(),
	}
	args := []string{"token", "-vendor", "endurosat", "-base-url", es.URL}
	first := runWith(t, vars, "", args...)
	require.Equal(t, 0, first.code, "first refresh-only run: %v", first.err)
	assert.Equal(t, rt0, es.LastTokenForm().Get("refresh_token"), "the first run did not present the given refresh token")
	assert.NotContains(t, first.stderr, "refresh token", "the first run warned: %s", first.stderr)

	files := cacheFiles(t, xdg, "endurosat")
	require.Len(t, files, 1, "no cache file after the first run")
	expireCached(t, files[0])

	second := runWith(t, vars, "", args...) // ENDUROSAT_REFRESH_TOKEN is still the dead rt0
	require.Equal(t, 0, second.code, "second refresh-only run: %v", second.err)
	form := es.LastTokenForm()
	assert.Equal(t, "refresh_token", form.Get("grant_type"))
	assert.NotEqual(t, rt0, form.Get("refresh_token"), "the second run presented the rotated-away refresh token")
	assert.Equal(t, 2, es.TokenRequestsByGrant("refresh_token"), "refresh grants for two runs")
	assert.NotEqual(t, first.stdout, second.stdout, "the second run printed the expired access token")
}

// loginRefreshToken returns a refresh token of the fake, from a password
// login made without the command.
func loginRefreshToken(t *testing.T, es *vendoroauthtest.EnduroSat) string {
	t.Helper()
	src := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), vendoroauthtest.EnduroSatClientID,
		vendoroauthtest.EnduroSatUsername, vendoroauthtest.EnduroSatPassword,
		vendoroauth.WithBaseURL(es.URL), vendoroauth.WithHTTPClient(es.Client()))
	defer src.Close()
	tok, err := src.Token()
	require.NoError(t, err)
	require.NotEmpty(t, tok.RefreshToken)
	return tok.RefreshToken
}

func TestRefreshOnlyCacheOff(t *testing.T) {
	t.Parallel()
	es, _ := fakes(t)
	es.SetRotateRefreshTokens(true)
	rt0 := loginRefreshToken(t, es)
	vars := withCache(t, map[string]string{envESClientID: vendoroauthtest.EnduroSatClientID, envESRefreshToken: rt0})
	before := es.TokenRequests()

	r := runWith(t, vars, "", "token", "-vendor", "endurosat", "-base-url", es.URL, "-cache", "off")
	assert.Equal(t, 2, r.code, "refresh-only with -cache off and no -json: err %v", r.err)
	assert.ErrorContains(t, r.err, "-json")
	assert.Equal(t, before, es.TokenRequests(), "the refused run made a token request")
	assert.Empty(t, r.stdout)

	r = runWith(t, vars, "", "token", "-vendor", "endurosat", "-base-url", es.URL, "-cache", "off", "-json")
	require.Equal(t, 0, r.code, "refresh-only with -cache off -json: %v", r.err)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	rt1, _ := out["refresh_token"].(string)
	assert.NotEmpty(t, rt1, "-json printed no refresh token")
	assert.NotEqual(t, rt0, rt1, "-json printed the rotated-away refresh token")

	// The printed one works.
	r = runWith(t, plus(vars, envESRefreshToken, rt1), "", "token", "-vendor", "endurosat", "-base-url", es.URL, "-cache", "off", "-json")
	assert.Equal(t, 0, r.code, "refresh with the printed refresh token: %v", r.err)
}

// saveFails is a cache store whose Save of a record fails, as on a full
// disk.
type saveFails struct{ *vendoroauth.TokenFile }

func (s saveFails) Save(ctx context.Context, data []byte) error {
	if data != nil {
		return errors.New("no space left on device")
	}
	return s.TokenFile.Save(ctx, data)
}

func TestRefreshOnlyCacheWriteFails(t *testing.T) {
	t.Parallel()
	es, _ := fakes(t)
	es.SetRotateRefreshTokens(true)
	rt0 := loginRefreshToken(t, es)
	xdg := t.TempDir()
	vars := map[string]string{envESClientID: vendoroauthtest.EnduroSatClientID, envESRefreshToken: rt0, "XDG_CACHE_HOME": xdg}
	e := env{cacheOpener: func(path string) cacheStore { return saveFails{vendoroauth.FileStore(path)} }}

	// A first run fills the cache; its access token then expires. The
	// second run rotates the refresh token again and cannot save it: the
	// cache still holds the first run's, now dead.
	r := runWith(t, vars, "", "token", "-vendor", "endurosat", "-base-url", es.URL)
	require.Equal(t, 0, r.code, "first run: %v", r.err)
	files := cacheFiles(t, xdg, "endurosat")
	require.Len(t, files, 1)
	expireCached(t, files[0])

	r = runEnvWith(t, e, vars, strings.NewReader(""), "token", "-vendor", "endurosat", "-base-url", es.URL)
	assert.Equal(t, 1, r.code, "refresh-only run whose cache write failed: err %v", r.err)
	assert.NotEmpty(t, strings.TrimSpace(r.stdout), "the access token was not printed")
	require.Contains(t, r.stderr, "nowhere else", "stderr:\n%s", r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	rt2 := lines[len(lines)-1]
	require.NotEqual(t, rt0, rt2)

	// The refresh token printed on stderr is the live one.
	r = runWith(t, plus(vars, envESRefreshToken, rt2), "", "token", "-vendor", "endurosat", "-base-url", es.URL, "-cache", "off", "-json")
	assert.Equal(t, 0, r.code, "refresh with the refresh token from stderr: %v", r.err)

	// A password run whose cache write fails loses nothing: no warning.
	r = runEnvWith(t, e, withCache(t, esEnv), strings.NewReader(""), "token", "-vendor", "endurosat", "-base-url", es.URL)
	assert.Equal(t, 0, r.code, "password run whose cache write failed: %v", r.err)
	assert.NotContains(t, r.stderr, "nowhere else")
}

func TestCacheIsPerBaseURL(t *testing.T) {
	t.Parallel()
	a := vendoroauthtest.NewFormlabs(vendoroauthtest.FormlabsClientID, vendoroauthtest.FormlabsClientSecret)
	b := vendoroauthtest.NewFormlabs(vendoroauthtest.FormlabsClientID, vendoroauthtest.FormlabsClientSecret)
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)

	for _, tc := range []struct {
		name  string
		cache []string // the -cache flag, or none: the default file
	}{
		{"default files", nil},
		{"one -cache file", []string{"-cache", filepath.Join(t.TempDir(), "shared.json")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := withCache(t, flEnv)
			ra := runWith(t, vars, "", append([]string{"token", "-vendor", "formlabs", "-base-url", a.URL}, tc.cache...)...)
			require.Equal(t, 0, ra.code, "token from A: %v", ra.err)
			tokA := strings.TrimSpace(ra.stdout)

			aBefore, bBefore := a.TokenRequests(), b.TokenRequests()
			rb := runWith(t, vars, "", append([]string{"token", "-vendor", "formlabs", "-base-url", b.URL}, tc.cache...)...)
			require.Equal(t, 0, rb.code, "token from B: %v", rb.err)
			assert.NotContains(t, rb.all(), tokA, "B's run printed A's token")
			assert.Equal(t, 1, b.TokenRequests()-bBefore, "B's token was not requested from B")
			assert.Equal(t, 0, a.TokenRequests()-aBefore, "B's run asked A")
			if tc.cache == nil {
				assert.Len(t, cacheFiles(t, vars["XDG_CACHE_HOME"], "formlabs"), 2, "A and B share a default cache file")
			}
		})
	}
}

// TestCacheIsPerUser: runs with ENDUROSAT_USERNAME switched between them,
// on one cache folder or one -cache file, each print a token of the run's
// own user; a wrong password never gets another user's cached token.
func TestCacheIsPerUser(t *testing.T) {
	t.Parallel()
	const otherUser, otherPassword = "second-operator@example.com", "second-demo-password"
	es, _ := fakes(t)
	es.AddUser(otherUser, otherPassword)
	for _, tc := range []struct {
		name  string
		cache []string
	}{
		{"default files", nil},
		{"one -cache file", []string{"-cache", filepath.Join(t.TempDir(), "shared.json")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := withCache(t, esEnv)
			args := append([]string{"token", "-vendor", "endurosat", "-base-url", es.URL}, tc.cache...)
			for _, u := range []struct{ name, password string }{
				{vendoroauthtest.EnduroSatUsername, vendoroauthtest.EnduroSatPassword},
				{otherUser, otherPassword},
				{vendoroauthtest.EnduroSatUsername, vendoroauthtest.EnduroSatPassword},
			} {
				r := runWith(t, plus(vars, envESUsername, u.name, envESPassword, u.password), "", args...)
				require.Equal(t, 0, r.code, "%s's run: %v", u.name, r.err)
				assert.Equal(t, u.name, es.TokenOwner(strings.TrimSpace(r.stdout)), "the owner of the token %s's run printed", u.name)
			}
			// The cache holds the first user's token (in the shared file),
			// or the second user's own (in its default file, which a run
			// with that user's name takes, as documented).
			r := runWith(t, plus(vars, envESUsername, otherUser, envESPassword, "wrong-password"), "", args...)
			if out := strings.TrimSpace(r.stdout); out != "" {
				assert.Equal(t, otherUser, es.TokenOwner(out), "the owner of the token a wrong password's run printed")
			}
			if tc.cache != nil {
				assert.NotEqual(t, 0, r.code, "a wrong password, with another user's token cached: exit status")
			}
		})
	}
}

func TestBaseURLFromEnvironment(t *testing.T) {
	t.Parallel()
	_, fl := fakes(t)
	other := vendoroauthtest.NewFormlabs(vendoroauthtest.FormlabsClientID, vendoroauthtest.FormlabsClientSecret)
	t.Cleanup(other.Close)
	vars := withCache(t, plus(flEnv, envBaseURL, fl.URL))

	r := runWith(t, vars, "", "token", "-vendor", "formlabs")
	require.Equal(t, 0, r.code, "token with %s: %v", envBaseURL, r.err)
	assert.Equal(t, 1, fl.TokenRequests(), "the token did not come from %s", envBaseURL)

	r = runWith(t, vars, "", "token", "-vendor", "formlabs", "-base-url", other.URL)
	require.Equal(t, 0, r.code, "token with -base-url over %s: %v", envBaseURL, r.err)
	assert.Equal(t, 1, other.TokenRequests(), "-base-url did not win over %s", envBaseURL)

	r = runWith(t, plus(vars, envBaseURL, "127.0.0.1:8080"), "", "token", "-vendor", "formlabs")
	assert.Equal(t, 2, r.code)
	assert.ErrorContains(t, r.err, envBaseURL+" has no scheme")
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	_, fl := fakes(t)
	tests := []struct {
		name     string
		vars     map[string]string
		stdin    string
		args     []string
		wantCode int
		wantText string
	}{
		{"no command", nil, "", nil, 2, "no command"},
		{"unknown command", nil, "", []string{"fetch"}, 2, "unknown command"},
		{"unknown vendor", flEnv, "", []string{"token", "-vendor", "acme"}, 2, "-vendor must be endurosat or formlabs"},
		{"no vendor", flEnv, "", []string{"token"}, 2, "-vendor is required"},
		{"flag after argument", flEnv, "", []string{"token", "formlabs", "-vendor", "formlabs"}, 2, "unexpected argument"},
		{"secret as a flag", flEnv, "", []string{"token", "-vendor", "formlabs", "-client-secret", "x"}, 2, "unknown flag"},
		{"flag without value", flEnv, "", []string{"token", "-vendor"}, 2, "-vendor needs a value"},
		{"bad bool", flEnv, "", []string{"token", "-vendor", "formlabs", "-json=maybe"}, 2, "invalid value for -json"},
		{"bad duration", nil, "", []string{"serve-fake", "-token-lifetime", "soon"}, 2, "invalid value for -token-lifetime (want a duration"},
		{"missing env", map[string]string{envFLClientID: "id"}, "", []string{"token", "-vendor", "formlabs"}, 2, envFLClientSecret},
		{"missing endurosat password", map[string]string{envESClientID: "id", envESUsername: "u"}, "", []string{"token", "-vendor", "endurosat"}, 2, envESPassword},
		{"no endurosat credential, cache empty", map[string]string{envESClientID: "id"}, "", []string{"token", "-vendor", "endurosat"}, 2, envESRefreshToken},
		{"empty stdin token", flEnv, "\n", []string{"revoke", "-vendor", "formlabs", "-token-stdin", "-base-url", fl.URL}, 2, "no token"},
		{"nothing to revoke", flEnv, "", []string{"revoke", "-vendor", "formlabs", "-base-url", fl.URL}, 2, "nothing to revoke"},
		{"status with the cache off", flEnv, "", []string{"status", "-vendor", "formlabs", "-cache", "off"}, 2, "status: -cache off leaves no cache to show"},
		{"status without a client id", map[string]string{envESUsername: "u"}, "", []string{"status", "-vendor", "endurosat"}, 2, envESClientID},
		{"base URL without scheme", flEnv, "", []string{"token", "-vendor", "formlabs", "-base-url", "127.0.0.1:8080"}, 2, "-base-url has no scheme; write https://host, or http://127.0.0.1:PORT"},
		{"base URL plain http remote", flEnv, "", []string{"token", "-vendor", "formlabs", "-base-url", "http://example.com"}, 2, "plain http"},
		{"base URL ftp", flEnv, "", []string{"token", "-vendor", "formlabs", "-base-url", "ftp://example.com"}, 2, "https://"},
		{"base URL user info", flEnv, "", []string{"token", "-vendor", "formlabs", "-base-url", "https://u:p@example.com"}, 2, "user info"},
		{"base URL query", flEnv, "", []string{"revoke", "-vendor", "formlabs", "-base-url", "https://example.com/?a=b"}, 2, "query"},
		{"non-loopback fake", nil, "", []string{"serve-fake", "-addr", "0.0.0.0:0"}, 2, "loopback"},
		{"short lifetime", nil, "", []string{"serve-fake", "-token-lifetime", "1ms"}, 2, "shorter than 1s"},
		{"wait-fake with nothing", nil, "", []string{"wait-fake"}, 2, "-env-file"},
		{"help for an unknown command", nil, "", []string{"help", "fetch"}, 2, "unknown command"},
		{"help", nil, "", []string{"token", "-h"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runWith(t, withCache(t, tt.vars), tt.stdin, tt.args...)
			assert.Equal(t, tt.wantCode, r.code, "exit status (err %v)", r.err)
			if tt.wantText != "" {
				assert.ErrorContains(t, r.err, tt.wantText)
			}
			if r.err != nil && r.code != 0 {
				msg := r.err.Error()
				assert.NotContains(t, msg, "\n", "the message spans lines")
				assert.Equal(t, 1, strings.Count(msg, "vendoroauth:"), "doubled prefix: %s", msg)
			}
		})
	}
}

func TestNothingEchoed(t *testing.T) {
	t.Parallel()
	_, fl := fakes(t)
	const s = "s3cr3t-Value-42"
	tests := [][]string{
		{s},
		{"help", s},
		{"token", s},
		{"token", "-vendor", "formlabs", s},
		{"token", "-" + s},
		{"token", "--" + s + "=x"},
		{"token", "-vendor", s},
		{"token", "-vendor", "formlabs", "-base-url", s},
		{"token", "-vendor", "formlabs", "-base-url", "https://" + s + "@example.com"},
		{"token", "-vendor", "formlabs", "-base-url", "http://" + s + ".example.com"},
		{"token", "-vendor", "formlabs", "-json=" + s},
		{"status", "-vendor", "formlabs", s},
		{"status", "-vendor", "formlabs", "-cache", "off", "-base-url", s},
		{"revoke", "-vendor", "formlabs", "-token-stdin=" + s},
		{"serve-fake", "-addr", s},
		{"serve-fake", "-addr", s + ":1"},
		{"serve-fake", "-token-lifetime", s},
		{"wait-fake", "-timeout", s},
		{"demo", s},
		{"version", s},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			r := runWith(t, withCache(t, plus(flEnv, envBaseURL, fl.URL)), "", args...)
			assert.Equal(t, 2, r.code, "exit status (err %v)", r.err)
			assert.NotContains(t, r.all(), s, "the value was echoed")
			assert.NotContains(t, r.all(), "s3cr3t", "part of the value was echoed")
		})
	}
	// A token on standard input is never echoed either, even when refused.
	for _, in := range []string{"Bearer " + s, s + " " + s, s + "\x00", strings.Repeat(s, 2000)} {
		r := runWith(t, withCache(t, flEnv), in, "revoke", "-vendor", "formlabs", "-base-url", fl.URL, "-token-stdin")
		assert.Equal(t, 2, r.code, "exit status (err %v)", r.err)
		assert.NotContains(t, r.all(), "s3cr3t", "the stdin token was echoed")
	}
}

// TestExitCodeAndMessage: report prints every error run returns as it is,
// with one "vendoroauth: " prefix: the command's own errors and the
// library's alike, with no rewriting of their text.
func TestExitCodeAndMessage(t *testing.T) {
	t.Parallel()
	_, fl := fakes(t)
	_, libConfig := vendoroauth.FormlabsTokenSource(t.Context(), "id", "secret", vendoroauth.WithBaseURL("not a URL")).Token()
	require.Error(t, libConfig)
	_, rejected := vendoroauth.FormlabsTokenSource(t.Context(), vendoroauthtest.FormlabsClientID, "wrong-secret",
		vendoroauth.WithBaseURL(fl.URL), vendoroauth.WithHTTPClient(fl.Client())).Token()
	require.Error(t, rejected)
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantMsg  string
	}{
		{"nil", nil, 0, ""},
		{"help", errHelp, 0, ""},
		{"reported on stdout", errReported, 1, ""},
		{"usage", usagef("token: -vendor is required"), 2, "vendoroauth: token: -vendor is required"},
		{"library config", libConfig, 2, "vendoroauth: formlabs: base URL: scheme must be https, not \"\""},
		{"credentials rejected", rejected, 4, "vendoroauth: formlabs client_credentials grant: 401 Unauthorized: invalid_client (client authentication failed)"},
		{"other failure", fmt.Errorf("vendoroauth: formlabs token: %w", io.ErrUnexpectedEOF), 1, "vendoroauth: formlabs token: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			assert.Equal(t, tt.wantCode, report(tt.err, &stderr))
			assert.Equal(t, tt.wantCode, exitCode(tt.err))
			if tt.wantMsg == "" {
				assert.Empty(t, stderr.String())
			} else {
				assert.Equal(t, tt.wantMsg+"\n", stderr.String())
			}
		})
	}
}

func TestReadToken(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", maxStdinToken)
	tests := []struct {
		name     string
		in       string
		want     string
		wantText string
	}{
		{"plain", "abc.DEF-123_~+/", "abc.DEF-123_~+/", ""},
		{"padding", "YWJj==", "YWJj==", ""},
		{"newline", "abc\n", "abc", ""},
		{"CR LF", "abc\r\n", "abc", ""},
		{"spaces around", "  abc \n", "abc", ""},
		{"only the first line", "abc\ndef\n", "abc", ""},
		{"16 KiB", long + "\n", long, ""},
		{"empty", "", "", "no token"},
		{"blank line", " \n", "", "no token"},
		{"Bearer prefix", "Bearer abc", "", `"Bearer "`},
		{"bearer prefix", "bearer abc", "", `"Bearer "`},
		{"inner space", "abc def", "", "position 4"},
		{"quote", `abc"`, "", "a character that a token cannot hold"},
		{"padding inside", "ab=c", "", "position 4"},
		{"padding first", "=abc", "", "position 1"},
		{"NUL", "abc\x00", "", "not printable ASCII at position 4"},
		{"UTF-8", "abcé", "", "not printable ASCII"},
		{"too long", long + "a", "", "longer than 16 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := readToken(strings.NewReader(tt.in))
			if tt.wantText != "" {
				assert.ErrorContains(t, err, tt.wantText)
				assert.Equal(t, 2, exitCode(err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// zeros is an endless source of NUL bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestRevokeStdinBounded(t *testing.T) {
	t.Parallel()
	_, fl := fakes(t)
	for _, tc := range []struct {
		name     string
		r        io.Reader
		maxRead  int64
		wantText string
	}{
		// Binary input is refused at its first byte: one buffer is read.
		{"100 MiB of NULs", io.LimitReader(zeros{}, 100<<20), 4096, "not printable ASCII at position 1"},
		// A long token is refused once it passes the limit.
		{"100 MiB of token characters", io.LimitReader(strings.NewReader(strings.Repeat("a", 100<<20)), 100<<20), maxStdinToken + 4096, "longer than 16 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := &countingReader{r: tc.r}
			r := runEnvWith(t, env{}, withCache(t, flEnv), cr, "revoke", "-vendor", "formlabs", "-base-url", fl.URL, "-token-stdin")
			assert.Equal(t, 2, r.code, "exit status (err %v)", r.err)
			assert.ErrorContains(t, r.err, tc.wantText)
			assert.LessOrEqual(t, cr.n, tc.maxRead, "bytes read from standard input")
			assert.Equal(t, 0, fl.RevokeRequests(), "a revoke request was made")
		})
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	es, fl := fakes(t)
	for _, tc := range []struct {
		vendor string
		url    string
		vars   map[string]string
		count  func() int
	}{
		{"endurosat", es.URL, esEnv, es.RevokeRequests},
		{"formlabs", fl.URL, flEnv, fl.RevokeRequests},
	} {
		t.Run(tc.vendor, func(t *testing.T) {
			xdg := t.TempDir()
			vars := plus(tc.vars, "XDG_CACHE_HOME", xdg)
			r := runWith(t, vars, "", "token", "-vendor", tc.vendor, "-base-url", tc.url)
			require.Equal(t, 0, r.code, "token: %v", r.err)
			files := cacheFiles(t, xdg, tc.vendor)
			require.Len(t, files, 1)
			require.FileExists(t, files[0]+".lock", "no lock file to clean up; the test proves nothing")

			r = runWith(t, vars, "", "revoke", "-vendor", tc.vendor, "-base-url", tc.url)
			require.Equal(t, 0, r.code, "revoke: %v", r.err)
			assert.NoFileExists(t, files[0], "revoke left the cache file")
			assert.NoFileExists(t, files[0]+".lock", "revoke left the lock file")
			assert.Equal(t, 1, tc.count(), "revoke requests")

			r = runWith(t, vars, "some-token\n", "revoke", "-vendor", tc.vendor, "-base-url", tc.url, "-token-stdin")
			assert.Equal(t, 0, r.code, "revoke -token-stdin: %v", r.err)
			assert.Equal(t, 2, tc.count(), "revoke requests")

			r = runWith(t, vars, "", "revoke", "-vendor", tc.vendor, "-base-url", tc.url)
			assert.Equal(t, 2, r.code, "revoke with an empty cache: %v", r.err)
		})
	}

	t.Run("endurosat refresh token from the environment", func(t *testing.T) {
		rt := loginRefreshToken(t, es)
		before := es.RevokeRequests()
		vars := withCache(t, map[string]string{envESClientID: vendoroauthtest.EnduroSatClientID, envESRefreshToken: rt})
		r := runWith(t, vars, "", "revoke", "-vendor", "endurosat", "-base-url", es.URL)
		require.Equal(t, 0, r.code, "revoke: %v", r.err)
		assert.Equal(t, 1, es.RevokeRequests()-before)
		assert.Equal(t, rt, es.LastRevokeForm().Get("token"))
	})
}

func TestRevokeKeepsForeignLock(t *testing.T) {
	t.Parallel()
	_, fl := fakes(t)
	xdg := t.TempDir()
	vars := plus(flEnv, "XDG_CACHE_HOME", xdg)
	r := runWith(t, vars, "", "token", "-vendor", "formlabs", "-base-url", fl.URL)
	require.Equal(t, 0, r.code, "token: %v", r.err)
	files := cacheFiles(t, xdg, "formlabs")
	require.Len(t, files, 1)

	// The lock path is now a symbolic link to a file that is not ours to
	// delete.
	target := filepath.Join(t.TempDir(), "precious")
	require.NoError(t, os.WriteFile(target, []byte("keep"), 0o600))
	require.NoError(t, os.Remove(files[0]+".lock"))
	require.NoError(t, os.Symlink(target, files[0]+".lock"))

	r = runWith(t, vars, "", "revoke", "-vendor", "formlabs", "-base-url", fl.URL)
	require.Equal(t, 0, r.code, "revoke: %v", r.err)
	assert.NoFileExists(t, files[0])
	fi, err := os.Lstat(files[0] + ".lock")
	require.NoError(t, err, "revoke removed a lock path that was a symbolic link")
	assert.NotZero(t, fi.Mode()&os.ModeSymlink)
	assert.FileExists(t, target)
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServeFake runs serve-fake with args in the background and returns
// a stop function that cancels it and returns its error.
func startServeFake(t *testing.T, stdout, stderr io.Writer, args ...string) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve-fake"}, args...), func(string) string { return "" }, strings.NewReader(""), stdout, stderr)
	}()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func TestServeFake(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	envFile := filepath.Join(dir, "fake.env")
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	stop := startServeFake(t, stdout, stderr, "-token-lifetime", "2m", "-env-file", envFile)

	r := runWith(t, nil, "", "wait-fake", "-env-file", envFile, "-timeout", "10s")
	require.Equal(t, 0, r.code, "wait-fake: %v", r.err)
	data, err := os.ReadFile(envFile)
	require.NoError(t, err)
	st, err := os.Stat(envFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	vars := parseExports(t, string(data))
	for _, k := range []string{envBaseURL, envESClientID, envESUsername, envESPassword, envFLClientID, envFLClientSecret} {
		assert.NotEmpty(t, vars[k], "the env file lacks %s", k)
	}
	assert.Empty(t, stdout.String(), "with -env-file, serve-fake printed on stdout")

	r = runWith(t, withCache(t, vars), "", "token", "-vendor", "formlabs", "-json")
	require.Equal(t, 0, r.code, "token against serve-fake: %v", r.err)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	in, _ := out["expires_in"].(float64)
	assert.InDelta(t, 120, in, 20, "expires_in with -token-lifetime 2m")
	r = runWith(t, withCache(t, vars), "", "token", "-vendor", "endurosat")
	assert.Equal(t, 0, r.code, "endurosat token against serve-fake: %v", r.err)

	require.NoError(t, stop(), "serve-fake after the signal")
	assert.Contains(t, stderr.String(), "stopped")
	assert.Contains(t, stderr.String(), fmt.Sprintf("kill %d", os.Getpid()), "serve-fake does not say how to stop it")
	assert.NoFileExists(t, envFile, "serve-fake left its env file")
}

func TestServeFakeExportsOnStdout(t *testing.T) {
	t.Parallel()
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	startServeFake(t, stdout, stderr)
	var vars map[string]string
	require.Eventually(t, func() bool {
		vars = parseExports(t, stdout.String())
		return len(vars) == 6
	}, 10*time.Second, 10*time.Millisecond, "no exports on stdout")
	r := runWith(t, nil, "", "wait-fake", "-base-url", vars[envBaseURL])
	assert.Equal(t, 0, r.code, "wait-fake -base-url: %v", r.err)
}

// parseExports reads the lines export K='V' of an env file.
func parseExports(t *testing.T, s string) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for line := range strings.Lines(s) {
		kv, ok := strings.CutPrefix(strings.TrimSpace(line), "export ")
		if !ok {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			vars[k] = strings.Trim(v, "'")
		}
	}
	return vars
}

func TestWaitFakeGivesUp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())

	stale := filepath.Join(dir, "stale.env")
	require.NoError(t, os.WriteFile(stale, []byte(fakeEnv(dead)), 0o600))
	for _, args := range [][]string{
		{"-env-file", filepath.Join(dir, "never.env")},
		{"-env-file", stale}, // left by a serve-fake that is gone
		{"-base-url", dead},
	} {
		start := time.Now()
		r := runWith(t, nil, "", append([]string{"wait-fake", "-timeout", "300ms"}, args...)...)
		assert.Equal(t, 1, r.code, "wait-fake %v: %v", args, r.err)
		assert.ErrorContains(t, r.err, "did not answer")
		assert.Less(t, time.Since(start), 5*time.Second, "wait-fake overran its timeout")
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"help", "help"}} {
		r := runWith(t, map[string]string{"XDG_CACHE_HOME": "/x/cache"}, "", args...)
		require.Equal(t, 0, r.code, "%v: %v", args, r.err)
		for _, c := range commands() {
			assert.Contains(t, r.stdout, "\n  "+c.name+" ", "%v does not list %s", args, c.name)
		}
		for _, want := range []string{envESClientID, envESUsername, envESPassword, envESRefreshToken, envFLClientID,
			envFLClientSecret, envBaseURL, "XDG_CACHE_HOME", "exit status", "\n  0 ", "\n  1 ", "\n  2 ", "\n  4 ", "-cache off"} {
			assert.Contains(t, r.stdout, want, "%v", args)
		}
		if runtime.GOOS == "linux" {
			assert.Contains(t, r.stdout, "/x/cache/vendoroauth", "help does not show the cache folder")
		}
	}
	for _, c := range commands() {
		if c.name == "help" {
			continue
		}
		r := runWith(t, nil, "", "help", c.name)
		assert.Equal(t, 0, r.code, "help %s: %v", c.name, r.err)
		assert.True(t, strings.HasPrefix(r.stdout, "usage: vendoroauth "+c.name), "help %s:\n%s", c.name, r.stdout)
		assert.Contains(t, r.stdout, "example:", "help %s", c.name)
		assert.NotContains(t, r.stdout, "flags:\n\n", "help %s has an empty flags section", c.name)
		assert.NotContains(t, r.stdout, "flags:\nexample", "help %s has an empty flags section", c.name)
		h := runWith(t, nil, "", c.name, "-h")
		assert.Equal(t, r.stdout, h.stdout, "help %s and %s -h differ", c.name, c.name)
	}
	r := runWith(t, nil, "", "demo", "-h")
	assert.NotContains(t, r.stdout, "flags:", "demo -h shows a flags section")
	r = runWith(t, nil, "", "token", "-h")
	assert.Contains(t, r.stdout, "flags:\n  -base-url")
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := runWith(t, nil, "", "version")
	require.Equal(t, 0, r.code, "version: %v", r.err)
	assert.True(t, strings.HasPrefix(r.stdout, "vendoroauth "), "version: %q", r.stdout)
	assert.Contains(t, r.stdout, runtime.Version())

	build := func(version string, settings ...debug.BuildSetting) *debug.BuildInfo {
		return &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/vendoroauth/vendoroauth", Version: version}, Settings: settings}
	}
	platform := " (go1.26.0 " + runtime.GOOS + "/" + runtime.GOARCH + ")"
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{"release", build("v1.2.3"), true, "vendoroauth v1.2.3" + platform},
		{"pseudo-version", build("v0.0.0-20251201223000-a2dcda0abcde+dirty"), true, "vendoroauth v0.0.0-20251201223000-a2dcda0abcde+dirty" + platform},
		{"devel with a revision", build("(devel)", debug.BuildSetting{Key: "vcs.revision", Value: "a2dcda0abcdef0123456"},
			debug.BuildSetting{Key: "vcs.modified", Value: "true"}), true, "vendoroauth devel a2dcda0abcde+dirty" + platform},
		{"devel alone", build("(devel)"), true, "vendoroauth (devel)" + platform},
		{"no build info", nil, false, "vendoroauth (unknown) (" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, versionLine(tt.bi, tt.ok))
		})
	}
}

func TestRejectedSecret(t *testing.T) {
	t.Parallel()
	_, fl := fakes(t)
	const wrong = "WRONG-secret-value-1234"
	r := runWith(t, withCache(t, map[string]string{envFLClientID: vendoroauthtest.FormlabsClientID, envFLClientSecret: wrong}),
		"", "token", "-vendor", "formlabs", "-base-url", fl.URL)
	assert.Equal(t, 4, r.code, "token with a wrong secret: %v", r.err)
	assert.ErrorContains(t, r.err, "formlabs")
	assert.ErrorContains(t, r.err, "invalid_client")
	assert.NotContains(t, r.all(), wrong, "the wrong secret appears in the output")
}

// failWriter fails every write, as /dev/full does.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

func TestStdoutWriteFails(t *testing.T) {
	t.Parallel()
	_, fl := fakes(t)
	for _, args := range [][]string{
		{"version"},
		{"help"},
		{"token", "-h"},
		{"token", "-vendor", "formlabs", "-base-url", fl.URL},
		{"token", "-vendor", "formlabs", "-base-url", fl.URL, "-json"},
		{"status", "-vendor", "formlabs", "-base-url", fl.URL}, // no cached token: exit 1 anyway
		{"status", "-vendor", "formlabs", "-base-url", fl.URL, "-json"},
	} {
		var stderr bytes.Buffer
		vars := withCache(t, flEnv)
		err := run(t.Context(), args, func(k string) string { return vars[k] }, strings.NewReader(""), failWriter{}, &stderr)
		assert.Equal(t, 1, exitCode(err), "%v with a failing stdout: err %v", args, err)
		assert.ErrorContains(t, err, "write standard output", "%v", args)
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	r := runWith(t, nil, "", "demo")
	require.Equal(t, 0, r.code, "demo: %v\n%s", r.err, r.stdout)
	for _, want := range []string{
		"endurosat 1. login: password grant",
		"authenticated API call: GET /v1/satellites → 200 OK",
		"refresh ahead of expiry",
		"(changed: true)",
		"rotated refresh token",
		"401 recovered",
		"revocation: revoked the refresh token",
		"the revoked token now fails: GET /v1/satellites → 401 Unauthorized",
		"formlabs  1. login: client_credentials grant",
		"GET /developer/v1/printers/ → 401 Unauthorized",
		"demo complete",
	} {
		assert.Contains(t, r.stdout, want)
	}
	assert.NotContains(t, r.stdout, "(changed: false)", "demo output shows a step that did not happen")
}
