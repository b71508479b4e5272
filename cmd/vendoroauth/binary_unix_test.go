//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// A procResult is what a run of the built command produced.
type procResult struct {
	code           int
	stdout, stderr string
}

// runBinary runs the built command with only the given environment (and
// PATH), stdout to stdout if not nil, and a deadline.
func runBinary(t *testing.T, vars map[string]string, stdout *os.File, args ...string) procResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdout != nil {
		cmd.Stdout = stdout
	}
	err := cmd.Run()
	require.NoError(t, ctx.Err(), "%v did not finish", args)
	code := 0
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return procResult{code: code, stdout: out.String(), stderr: errb.String()}
}

func TestBinaryExitStatus(t *testing.T) {
	t.Parallel()
	_, fl := fakes(t)
	vars := withCache(t, flEnv)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"help", []string{"help"}, 0, ""},
		{"token -h", []string{"token", "-h"}, 0, ""},
		{"no command", nil, 2, "vendoroauth: no command given\n"},
		{"base URL without scheme", []string{"token", "-vendor", "formlabs", "-base-url", "127.0.0.1:8080"}, 2,
			"vendoroauth: token: -base-url has no scheme; write https://host, or http://127.0.0.1:PORT for a loopback host such as serve-fake's\n"},
		{"token", []string{"token", "-vendor", "formlabs", "-base-url", fl.URL}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runBinary(t, vars, nil, tt.args...)
			assert.Equal(t, tt.wantCode, r.code, "stderr: %s", r.stderr)
			if tt.wantErr != "" {
				assert.True(t, strings.HasSuffix(r.stderr, tt.wantErr), "stderr = %q, want it to end with %q", r.stderr, tt.wantErr)
			} else {
				assert.Empty(t, r.stderr)
			}
		})
	}

	wrong := plus(vars, envFLClientSecret, "wrong")
	r := runBinary(t, wrong, nil, "token", "-vendor", "formlabs", "-base-url", fl.URL)
	assert.Equal(t, 4, r.code, "a rejected secret: stderr %s", r.stderr)

	// status, on a file of its own: 1 with nothing on stderr before token
	// fills it, 0 after; it needs no secret.
	cache := filepath.Join(t.TempDir(), "token.json")
	status := []string{"status", "-vendor", "formlabs", "-base-url", fl.URL, "-cache", cache}
	idOnly := withCache(t, map[string]string{envFLClientID: vendoroauthtest.FormlabsClientID})
	r = runBinary(t, idOnly, nil, status...)
	assert.Equal(t, 1, r.code, "status before token: stderr %s", r.stderr)
	assert.Empty(t, r.stderr, "status before token")
	assert.Contains(t, r.stdout, "status:  no cached token")
	r = runBinary(t, vars, nil, "token", "-vendor", "formlabs", "-base-url", fl.URL, "-cache", cache)
	require.Equal(t, 0, r.code, "token: stderr %s", r.stderr)
	r = runBinary(t, idOnly, nil, status...)
	assert.Equal(t, 0, r.code, "status after token: stderr %s", r.stderr)
	assert.Empty(t, r.stderr, "status after token")
	assert.Contains(t, r.stdout, "status:  valid\n")
}

// TestBinaryExitCodes: a script tells a rejected credential (4) from an
// outage (1) and a usage error (2) by the exit status alone, and the
// message repeats no secret.
func TestBinaryExitCodes(t *testing.T) {
	t.Parallel()
	es, fl := fakes(t)
	down := vendoroauthtest.NewFormlabs(vendoroauthtest.FormlabsClientID, vendoroauthtest.FormlabsClientSecret)
	t.Cleanup(down.Close)
	down.FailToken(4, vendoroauthtest.Fault{Status: 503})
	const wrong = "wrong-secret-value-5e1d"
	tests := []struct {
		name     string
		vars     map[string]string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"formlabs secret rejected", plus(flEnv, envFLClientSecret, wrong), []string{"token", "-vendor", "formlabs", "-base-url", fl.URL},
			4, "401 Unauthorized: invalid_client"},
		{"endurosat password rejected", plus(esEnv, envESPassword, wrong), []string{"token", "-vendor", "endurosat", "-base-url", es.URL},
			4, "401 Unauthorized"},
		{"nothing listens", flEnv, []string{"token", "-vendor", "formlabs", "-base-url", closedURL(t)},
			1, "connection refused"},
		{"the vendor is down", flEnv, []string{"token", "-vendor", "formlabs", "-base-url", down.URL},
			1, "503 Service Unavailable"},
		{"unknown flag", flEnv, []string{"token", "-vendor", "formlabs", "-client-secret-x=" + wrong},
			2, "unknown flag -client-secret-x ("},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runBinary(t, withCache(t, tt.vars), nil, tt.args...)
			assert.Equal(t, tt.wantCode, r.code, "stderr: %s", r.stderr)
			assert.Contains(t, r.stderr, tt.wantErr)
			assert.Empty(t, r.stdout)
			assert.NotContains(t, r.stderr, wrong, "the secret was printed")
		})
	}
}

// TestBinaryTokenRefresh: token -refresh replaces a valid cached token with
// a new one in one token request, and the next plain run prints the new
// token from the cache, with none.
func TestBinaryTokenRefresh(t *testing.T) {
	t.Parallel()
	es, fl := fakes(t)
	// A fake of its own for the refresh-only run, whose requests are
	// counted apart; it rotates refresh tokens, as EnduroSat may.
	esRefresh, _ := fakes(t)
	esRefresh.SetRotateRefreshTokens(true)
	refreshOnly := map[string]string{envESClientID: vendoroauthtest.EnduroSatClientID, envESRefreshToken: loginRefreshToken(t, esRefresh)}
	tests := []struct {
		name     string
		vendor   string
		url      string
		vars     map[string]string
		requests func() int
	}{
		{"formlabs", "formlabs", fl.URL, flEnv, fl.TokenRequests},
		{"endurosat password", "endurosat", es.URL, esEnv, es.TokenRequests},
		{"endurosat refresh only", "endurosat", esRefresh.URL, refreshOnly, func() int { return esRefresh.TokenRequestsByGrant("refresh_token") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := withCache(t, tt.vars)
			args := []string{"token", "-vendor", tt.vendor, "-base-url", tt.url}
			before := tt.requests()
			first := runBinary(t, vars, nil, args...)
			require.Equal(t, 0, first.code, "token: %s", first.stderr)
			require.Equal(t, 1, tt.requests()-before, "token requests of the first run")

			before = tt.requests()
			refreshed := runBinary(t, vars, nil, append(args, "-refresh")...)
			require.Equal(t, 0, refreshed.code, "token -refresh: %s", refreshed.stderr)
			assert.Equal(t, 1, tt.requests()-before, "token requests of token -refresh")
			assert.NotEqual(t, first.stdout, refreshed.stdout, "token -refresh printed the cached token")
			assert.Empty(t, refreshed.stderr)

			before = tt.requests()
			next := runBinary(t, vars, nil, args...)
			require.Equal(t, 0, next.code, "token after -refresh: %s", next.stderr)
			assert.Equal(t, refreshed.stdout, next.stdout, "the run after token -refresh did not print the new token")
			assert.Equal(t, 0, tt.requests()-before, "token requests of the run after token -refresh")

			// With nothing cached, -refresh fetches once, not twice (with
			// the newest refresh token, for a refresh-only run).
			fresh := withCache(t, tt.vars)
			if _, ok := tt.vars[envESRefreshToken]; ok {
				var tok struct {
					RefreshToken string `json:"refresh_token"`
				}
				r := runBinary(t, vars, nil, append(args, "-json")...)
				require.Equal(t, 0, r.code, "token -json: %s", r.stderr)
				require.NoError(t, json.Unmarshal([]byte(r.stdout), &tok), "token -json")
				fresh[envESRefreshToken] = tok.RefreshToken
			}
			before = tt.requests()
			r := runBinary(t, fresh, nil, append(args, "-refresh")...)
			require.Equal(t, 0, r.code, "token -refresh with an empty cache: %s", r.stderr)
			assert.Equal(t, 1, tt.requests()-before, "token requests of token -refresh with an empty cache")
		})
	}
}

// startBinary starts the built command with args in the background, with
// only PATH in its environment, and kills it when the test ends unless it
// was waited for. Its standard error goes to the returned buffer.
func startBinary(t *testing.T, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, stderr
}

// startFake starts the built serve-fake on envFile and waits, with the
// built wait-fake, until it answers.
func startFake(t *testing.T, envFile string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd, stderr := startBinary(t, "serve-fake", "-env-file", envFile)
	r := runBinary(t, nil, nil, "wait-fake", "-env-file", envFile)
	require.Equal(t, 0, r.code, "wait-fake: %s; serve-fake: %s", r.stderr, stderr)
	return cmd, stderr
}

// TestBinaryServeFakeEnvFileOwned: a second serve-fake refuses the env file
// of one that runs and leaves it as it was; a serve-fake that stops removes
// its own env file, and never one that another serve-fake wrote since.
func TestBinaryServeFakeEnvFileOwned(t *testing.T) {
	t.Parallel()
	envFile := filepath.Join(t.TempDir(), "fake.env")
	first, firstErr := startFake(t, envFile)
	data, err := os.ReadFile(envFile)
	require.NoError(t, err)
	_, owner := readEnvFile(envFile)
	require.Equal(t, first.Process.Pid, owner, "the env file does not name its serve-fake:\n%s", data)

	r := runBinary(t, nil, nil, "serve-fake", "-env-file", envFile)
	assert.Equal(t, 1, r.code, "a second serve-fake on the file: stderr %s", r.stderr)
	assert.Contains(t, r.stderr, fmt.Sprintf("-env-file %s belongs to the serve-fake with process id %d, which still runs", envFile, owner))
	got, err := os.ReadFile(envFile)
	require.NoError(t, err, "the second serve-fake removed the file")
	assert.Equal(t, string(data), string(got), "the second serve-fake changed the file")

	// Once the file is gone, another serve-fake takes its name; the first
	// leaves that one's file when it stops.
	require.NoError(t, os.Remove(envFile))
	second, secondErr := startFake(t, envFile)
	require.NoError(t, first.Process.Signal(syscall.SIGTERM))
	require.NoError(t, first.Wait(), "the first serve-fake: %s", firstErr)
	_, owner = readEnvFile(envFile)
	assert.Equal(t, second.Process.Pid, owner, "the first serve-fake removed or changed the second's env file")

	require.NoError(t, second.Process.Signal(syscall.SIGTERM))
	require.NoError(t, second.Wait(), "the second serve-fake: %s", secondErr)
	assert.NoFileExists(t, envFile, "serve-fake left its env file")
}

// TestBinaryWaitFakeServerGone: wait-fake fails at once, not after its
// timeout, when the serve-fake that wrote the env file was killed; a new
// serve-fake replaces the file the killed one left.
func TestBinaryWaitFakeServerGone(t *testing.T) {
	t.Parallel()
	envFile := filepath.Join(t.TempDir(), "fake.env")
	killed, _ := startFake(t, envFile)
	require.NoError(t, killed.Process.Signal(syscall.SIGKILL))
	waitFake := func(state string) {
		t.Helper()
		start := time.Now()
		r := runBinary(t, nil, nil, "wait-fake", "-env-file", envFile, "-timeout", "30s")
		elapsed := time.Since(start)
		assert.Equal(t, 1, r.code, "wait-fake on a killed serve-fake's file (%s): stderr %s", state, r.stderr)
		assert.Contains(t, r.stderr, fmt.Sprintf("the serve-fake that wrote %s (process id %d) no longer runs", envFile, killed.Process.Pid), state)
		assert.Less(t, elapsed, 10*time.Second, "wait-fake took its timeout (%s)", state)
	}
	if _, err := os.Stat("/proc/self/stat"); err == nil {
		waitFake("not yet reaped, a zombie") // as a parent that has not waited leaves it
	}
	_ = killed.Wait()
	require.FileExists(t, envFile, "a killed serve-fake removed its env file")
	waitFake("reaped")

	next, nextErr := startBinary(t, "serve-fake", "-env-file", envFile)
	require.Eventually(t, func() bool {
		_, owner := readEnvFile(envFile)
		return owner == next.Process.Pid
	}, 10*time.Second, 10*time.Millisecond, "the new serve-fake did not replace the left file: %s", nextErr)
	r := runBinary(t, nil, nil, "wait-fake", "-env-file", envFile)
	require.Equal(t, 0, r.code, "wait-fake for a new serve-fake on the left file: %s; serve-fake: %s", r.stderr, nextErr)
	require.NoError(t, next.Process.Signal(syscall.SIGTERM))
	require.NoError(t, next.Wait(), "serve-fake: %s", nextErr)
	assert.NoFileExists(t, envFile, "serve-fake left its env file")
}

func TestBinaryStdoutFull(t *testing.T) {
	t.Parallel()
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full here: %v", err)
	}
	defer full.Close()
	_, fl := fakes(t)
	vars := withCache(t, flEnv)
	for _, args := range [][]string{
		{"version"},
		{"help"},
		{"token", "-vendor", "formlabs", "-base-url", fl.URL},
		{"token", "-vendor", "formlabs", "-base-url", fl.URL, "-json"},
	} {
		r := runBinary(t, vars, full, args...)
		assert.NotEqual(t, 0, r.code, "%v > /dev/full exited 0", args)
		assert.Contains(t, r.stderr, "write standard output", "%v", args)
	}
}

func TestBinaryCacheNotOwned(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root, to chown a cache file to another user (uid 65534)")
	}
	_, fl := fakes(t)
	for _, which := range []string{"token file", "lock file"} {
		t.Run(which, func(t *testing.T) {
			xdg := t.TempDir()
			vars := plus(flEnv, "XDG_CACHE_HOME", xdg, envBaseURL, fl.URL)
			r := runBinary(t, vars, nil, "token", "-vendor", "formlabs")
			require.Equal(t, 0, r.code, "first run: %s", r.stderr)
			files := cacheFiles(t, xdg, "formlabs")
			require.Len(t, files, 1)
			path := files[0]
			if which == "lock file" {
				path += ".lock"
				expireCached(t, files[0]) // so that the next run takes the lock
			}
			require.NoError(t, os.Chown(path, 65534, 65534))

			before := fl.TokenRequests()
			r = runBinary(t, vars, nil, "token", "-vendor", "formlabs")
			assert.Equal(t, 2, r.code, "a %s owned by uid 65534: stderr %s", which, r.stderr)
			assert.Empty(t, r.stdout, "a token was printed")
			assert.Equal(t, before, fl.TokenRequests(), "a token was requested")
			assert.Contains(t, r.stderr, "run: chown "+strconv.Itoa(os.Geteuid())+" "+path)
			assert.Contains(t, r.stderr, "-cache off")
			assert.Equal(t, 1, strings.Count(r.stderr, "vendoroauth:"), "stderr: %s", r.stderr)
			assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "stderr: %s", r.stderr)
		})
	}
}

func TestBinaryFIFOCache(t *testing.T) {
	t.Parallel()
	_, fl := fakes(t)
	path := filepath.Join(t.TempDir(), "token.json")
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	r := runBinary(t, withCache(t, flEnv), nil, "token", "-vendor", "formlabs", "-base-url", fl.URL, "-cache", path)
	assert.Equal(t, 2, r.code, "a FIFO as the cache: stderr %s", r.stderr)
	assert.Contains(t, r.stderr, "not a regular file")
}

// readmeSession returns the shell session of the README's "## The
// command" section: its ```sh block that runs serve-fake.
func readmeSession(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	readme := string(data)
	start := strings.Index(readme, "\n## The command\n")
	require.GreaterOrEqual(t, start, 0, "README has no \"## The command\" section")
	section := readme[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	blocks := regexp.MustCompile("(?ms)^```sh\n(.*?)^```$").FindAllStringSubmatch(section, -1)
	var sessions []string
	for _, b := range blocks {
		if strings.Contains(b[1], "serve-fake") {
			sessions = append(sessions, b[1])
		}
	}
	require.Len(t, sessions, 1, "want one ```sh block with serve-fake in the section")
	return sessions[0]
}

func TestREADMESession(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash to run the README session with")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("the README session uses curl, which is not installed")
	}
	session := readmeSession(t)
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	require.NoError(t, os.Mkdir(work, 0o700))
	script := filepath.Join(dir, "session.sh")
	require.NoError(t, os.WriteFile(script, []byte("set -euo pipefail\n"+session), 0o600))

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bash, script)
	cmd.Dir = work
	cmd.Env = []string{
		"PATH=" + filepath.Dir(binary(t)) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + filepath.Join(dir, "home"),
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
	}
	// Its own process group, so that serve-fake goes too, whatever happens.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	pgid := cmd.Process.Pid
	t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })

	err = cmd.Wait()
	require.NoError(t, err, "the README session failed:\n%s", out.String())
	assert.ErrorIs(t, syscall.Kill(-pgid, 0), syscall.ESRCH, "serve-fake still runs after the session:\n%s", out.String())
	assert.NoFileExists(t, filepath.Join(work, "fake.env"), "serve-fake left its env file")
	for _, want := range []string{`"results"`, `"refresh_token"`, "endurosat: revoked", "formlabs: revoked", "demo complete", "vendoroauth ", "serve-fake: stopped"} {
		assert.Contains(t, out.String(), want)
	}
	assert.NotContains(t, out.String(), "level=WARN", "the session warned:\n%s", out.String())
}
