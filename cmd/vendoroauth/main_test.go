package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// result is what one run produced.
type result struct {
	err            error
	code           int
	stdout, stderr string
}

// runWith calls run with the given environment and standard input.
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

func TestToken(t *testing.T) {
	t.Parallel()
	es, fl := fakes(t)
	r := runWith(t, flEnv, "", "token", "-vendor", "formlabs", "-base-url", fl.URL)
	if r.code != 0 || len(strings.TrimSpace(r.stdout)) < 10 || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("token -vendor formlabs: code %d, stdout %q, stderr %q; want one token line", r.code, r.stdout, r.stderr)
	}
	r = runWith(t, esEnv, "", "token", "-vendor", "endurosat", "-base-url", es.URL, "-json")
	var out map[string]any
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &out) != nil || out["refresh_token"] == nil || out["id_token"] == nil {
		t.Fatalf("token -json: code %d, stdout %q, stderr %q; want JSON with refresh and id tokens", r.code, r.stdout, r.stderr)
	}
}

func TestTokenCache(t *testing.T) {
	t.Parallel()
	_, fl := fakes(t)
	path := filepath.Join(t.TempDir(), "token.json")
	args := []string{"token", "-vendor", "formlabs", "-base-url", fl.URL, "-cache", path}
	first := runWith(t, flEnv, "", args...)
	second := runWith(t, flEnv, "", args...)
	if first.code != 0 || second.code != 0 || first.stdout != second.stdout {
		t.Fatalf("two cached token runs: codes %d %d, outputs %q %q; want the same token twice", first.code, second.code, first.stdout, second.stdout)
	}
	if got := fl.TokenRequests(); got != 1 {
		t.Errorf("token requests for two runs with -cache = %d, want 1", got)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}

	// A corrupt file is ignored with a warning and rewritten.
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runWith(t, flEnv, "", args...)
	if r.code != 0 || !strings.Contains(r.stderr, "corrupt") {
		t.Errorf("token with a corrupt cache: code %d, stderr %q; want success and a warning", r.code, r.stderr)
	}
	if data, _ := os.ReadFile(path); !json.Valid(data) {
		t.Errorf("corrupt cache file was not rewritten: %q", data)
	}

	// A file others can read is refused, with the fix.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	r = runWith(t, flEnv, "", args...)
	if r.code != 2 || !strings.Contains(r.err.Error(), "chmod 600 "+path) {
		t.Errorf("token with a 0644 cache: code %d, err %v; want exit 2 and the chmod to run", r.code, r.err)
	}
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
		{"unknown command", nil, "", []string{"fetch"}, 2, `unknown command "fetch"`},
		{"unknown vendor", flEnv, "", []string{"token", "-vendor", "acme"}, 2, `unknown vendor "acme"`},
		{"no vendor", flEnv, "", []string{"token"}, 2, "-vendor is required"},
		{"flag after argument", flEnv, "", []string{"token", "formlabs", "-vendor", "formlabs"}, 2, "unexpected argument"},
		{"secret as a flag", flEnv, "", []string{"token", "-vendor", "formlabs", "-client-secret", "x"}, 2, "not defined"},
		{"missing env", map[string]string{envFLClientID: "id"}, "", []string{"token", "-vendor", "formlabs"}, 2, envFLClientSecret},
		{"missing endurosat password", map[string]string{envESClientID: "id", envESUsername: "u"}, "", []string{"token", "-vendor", "endurosat"}, 2, envESPassword},
		{"empty stdin token", flEnv, "\n", []string{"revoke", "-vendor", "formlabs", "-token-stdin", "-base-url", fl.URL}, 2, "no token"},
		{"help", nil, "", []string{"token", "-h"}, 0, ""},
		{"plain http remote", flEnv, "", []string{"token", "-vendor", "formlabs", "-base-url", "http://example.com"}, 1, "plain http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runWith(t, tt.vars, tt.stdin, tt.args...)
			if r.code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (err %v)", r.code, tt.wantCode, r.err)
			}
			if tt.wantText != "" && (r.err == nil || !strings.Contains(r.err.Error(), tt.wantText)) {
				t.Errorf("error = %v, want it to say %q", r.err, tt.wantText)
			}
			if r.err != nil && strings.Contains(r.err.Error(), "\n") {
				t.Errorf("error spans lines: %q", r.err)
			}
		})
	}
}

func TestRejectedSecret(t *testing.T) {
	t.Parallel()
	_, fl := fakes(t)
	const wrong = "WRONG-secret-value-1234"
	r := runWith(t, map[string]string{envFLClientID: vendoroauthtest.FormlabsClientID, envFLClientSecret: wrong},
		"", "token", "-vendor", "formlabs", "-base-url", fl.URL)
	if r.code != 1 || !strings.Contains(r.err.Error(), "formlabs") || !strings.Contains(r.err.Error(), "invalid_client") {
		t.Fatalf("token with a wrong secret: code %d, err %v; want exit 1 naming formlabs and invalid_client", r.code, r.err)
	}
	if all := r.err.Error() + r.stdout + r.stderr; strings.Contains(all, wrong) {
		t.Errorf("the wrong secret appears in the output: %q", all)
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	es, fl := fakes(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		vendor string
		url    string
		vars   map[string]string
		count  func() int
	}{
		{"endurosat", es.URL, esEnv, es.RevokeRequests},
		{"formlabs", fl.URL, flEnv, fl.RevokeRequests},
	} {
		path := filepath.Join(dir, tc.vendor+".json")
		if r := runWith(t, tc.vars, "", "token", "-vendor", tc.vendor, "-base-url", tc.url, "-cache", path); r.code != 0 {
			t.Fatalf("%s token: %v", tc.vendor, r.err)
		}
		if r := runWith(t, tc.vars, "", "revoke", "-vendor", tc.vendor, "-base-url", tc.url, "-cache", path); r.code != 0 {
			t.Fatalf("%s revoke -cache: code %d, err %v", tc.vendor, r.code, r.err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s revoke left the cache file: %v", tc.vendor, err)
		}
		if r := runWith(t, tc.vars, "some-token\n", "revoke", "-vendor", tc.vendor, "-base-url", tc.url, "-token-stdin"); r.code != 0 {
			t.Errorf("%s revoke -token-stdin: code %d, err %v", tc.vendor, r.code, r.err)
		}
		if got := tc.count(); got != 2 {
			t.Errorf("%s revoke requests = %d, want 2", tc.vendor, got)
		}
	}
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

func TestServeFake(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	lines := make(chan string, 1)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve-fake", "-token-lifetime", "2m"}, func(string) string { return "" }, strings.NewReader(""), pw, stderr)
		pw.Close()
	}()
	go func() {
		buf := make([]byte, 256)
		n, _ := pr.Read(buf)
		lines <- strings.TrimSpace(string(buf[:n]))
	}()
	base := <-lines
	_ = stdout

	r := runWith(t, flEnv, "", "token", "-vendor", "formlabs", "-base-url", base, "-json")
	var out map[string]any
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &out) != nil {
		t.Fatalf("token against serve-fake at %q: code %d, err %v", base, r.code, r.err)
	}
	if in, _ := out["expires_in"].(float64); in > 120 || in < 100 {
		t.Errorf("expires_in = %v, want about 120 (-token-lifetime 2m)", out["expires_in"])
	}
	if r := runWith(t, esEnv, "", "token", "-vendor", "endurosat", "-base-url", base); r.code != 0 {
		t.Errorf("endurosat token against serve-fake: %v", r.err)
	}

	cancel() // what SIGINT does through main's signal.NotifyContext
	if err := <-done; err != nil {
		t.Errorf("serve-fake after the signal: %v, want a clean stop", err)
	}
	if !strings.Contains(stderr.String(), "stopped") {
		t.Errorf("serve-fake stderr = %q, want a stop message", stderr.String())
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	r := runWith(t, nil, "", "demo")
	if r.code != 0 {
		t.Fatalf("demo: code %d, err %v\n%s", r.code, r.err, r.stdout)
	}
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
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "(changed: false)") {
		t.Errorf("demo output shows a step that did not happen:\n%s", r.stdout)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	if r := runWith(t, nil, "", "version"); r.code != 0 || r.stdout == "" {
		t.Errorf("version: code %d, stdout %q", r.code, r.stdout)
	}
}

func TestTokenRefreshOnlyFromCache(t *testing.T) {
	t.Parallel()
	es, _ := fakes(t)
	path := filepath.Join(t.TempDir(), "es.json")
	r := runWith(t, esEnv, "", "token", "-vendor", "endurosat", "-base-url", es.URL, "-cache", path, "-json")
	var out map[string]any
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &out) != nil {
		t.Fatalf("first token: code %d, err %v", r.code, r.err)
	}
	// The cached access token has expired; only its refresh token is left.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	rec["access_token"], rec["expiry"] = "expired", time.Now().Add(-time.Hour)
	expired, _ := json.Marshal(rec)
	if err := os.WriteFile(path, expired, 0o600); err != nil {
		t.Fatal(err)
	}
	onlyID := map[string]string{envESClientID: vendoroauthtest.EnduroSatClientID}
	r = runWith(t, onlyID, "", "token", "-vendor", "endurosat", "-base-url", es.URL, "-cache", path)
	if r.code != 0 || strings.TrimSpace(r.stdout) == "expired" {
		t.Fatalf("token with only a cached refresh token: code %d, err %v, stdout %q", r.code, r.err, r.stdout)
	}
	if got := es.TokenRequestsByGrant("refresh_token"); got != 1 {
		t.Errorf("refresh grants = %d, want 1", got)
	}
	r = runWith(t, onlyID, "", "token", "-vendor", "endurosat", "-base-url", es.URL)
	if r.code != 2 || !strings.Contains(r.err.Error(), envESRefreshToken) {
		t.Errorf("token with no credentials and no cache: code %d, err %v; want exit 2 naming %s", r.code, r.err, envESRefreshToken)
	}
}
