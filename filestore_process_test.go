//go:build unix && !aix && !(solaris && !illumos)

package vendoroauth_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vendoroauth/vendoroauth"
)

// These tests start this test binary again as child processes; a child
// runs only the test that the parent names, and only with the variable
// childEnv set.
const childEnv = "VENDOROAUTH_STORE_CHILD"

// childEnviron returns the environment of a child process, plus vars.
// Under the race detector, the child exits without the detector's usual
// one-second pause.
func childEnviron(vars ...string) []string {
	env := append(os.Environ(), "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	return append(env, vars...)
}

// TestFileStoreAcrossProcesses starts five OS processes (this test binary,
// running TestFileStoreProcess) that share one token file with an expired
// access token and a refresh token that rotates: the flock lets one of them
// refresh, and the others load what it saved.
func TestFileStoreAcrossProcesses(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("in a child process")
	}
	srv := newEnduroSat(t)
	srv.SetRotateRefreshTokens(true)
	srv.SetLatency(200 * time.Millisecond)
	path := filepath.Join(t.TempDir(), "token.json")

	// Log in once, then leave only the refresh token usable: the file holds
	// an expired access token. The record is written as the package writes
	// format version 1, which files on users' disks hold.
	login := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, esPassword, at(srv.URL, srv.Client())...)
	tok, err := login.Token()
	login.Close()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := json.Marshal(map[string]any{
		"version": 1,
		"owner": map[string]string{
			"vendor":    "endurosat",
			"client_id": esClientID,
			"token_url": vendoroauth.EnduroSatConfig(esClientID, vendoroauth.WithBaseURL(srv.URL)).Endpoint.TokenURL,
		},
		"access_token":  "expired",
		"token_type":    "Bearer",
		"refresh_token": tok.RefreshToken,
		"expiry":        time.Now().Add(-time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := vendoroauth.FileStore(path).Save(t.Context(), rec); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	outs := make([]string, 5)
	for i := range outs {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestFileStoreProcess$", "-test.v")
			cmd.Env = childEnviron(childEnv+"=1", "STORE_PATH="+path, "FAKE_URL="+srv.URL)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("child %d: %v\n%s", i, err, out)
			}
			outs[i] = string(out)
		})
	}
	wg.Wait()
	tokens := map[string]bool{}
	for _, out := range outs {
		if _, after, ok := strings.Cut(out, "access token hash: "); ok {
			tokens[strings.Fields(after)[0]] = true
		}
	}
	if len(tokens) != 1 {
		t.Errorf("the 5 processes ended with %d different access tokens, want 1", len(tokens))
	}
	if p, r := srv.TokenRequestsByGrant("password"), srv.TokenRequestsByGrant("refresh_token"); p != 1 || r != 1 {
		t.Errorf("grants: password %d, refresh %d; want 1 and 1 (one process refreshed for all)", p, r)
	}
}

// TestFileStoreProcess is the child of TestFileStoreAcrossProcesses.
func TestFileStoreProcess(t *testing.T) {
	path, base := os.Getenv("STORE_PATH"), os.Getenv("FAKE_URL")
	if os.Getenv(childEnv) == "" || path == "" || base == "" {
		t.Skip("run by TestFileStoreAcrossProcesses")
	}
	src := vendoroauth.EnduroSatRefreshTokenSource(context.Background(), esClientID, "",
		vendoroauth.WithBaseURL(base), vendoroauth.WithStore(vendoroauth.FileStore(path)))
	defer src.Close()
	tok, err := src.Token()
	if err != nil {
		t.Fatalf("Token() error = %v", err)
	}
	// A hash, not the token: test output is no place for a secret.
	h := fnv.New64a()
	h.Write([]byte(tok.AccessToken))
	fmt.Printf("access token hash: %x\n", h.Sum64())
}

// killReady is what TestFileStoreKilledWriter prints once it starts saving.
const killReady = "saving now"

// TestFileStoreKilledWriters SIGKILLs 40 writers, each at a random point
// of a loop of Saves of a large record, and then checks that the token file
// always held one whole record, and that after one more Save no temporary
// file, with the tokens it holds, is left.
func TestFileStoreKilledWriters(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("in a child process")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "token.json")
	store := vendoroauth.FileStore(path)
	const kills = 40
	hits := 0 // kills that left a temporary file behind
	for i := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFileStoreKilledWriter$")
		cmd.Env = childEnviron(childEnv+"=1", "STORE_PATH="+path, fmt.Sprintf("WRITER=%d", i))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		sc := bufio.NewScanner(stdout)
		for sc.Scan() && sc.Text() != killReady {
		}
		// A random point in the first few Saves; the sleep only lets the
		// child run.
		time.Sleep(time.Duration(rand.IntN(4000)) * time.Microsecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		err = cmd.Wait() // reaps the child: a zombie would still look alive to kill(pid, 0)
		if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("writer %d ended with %v, not by SIGKILL:\n%s", i, err, stderr.Bytes())
		}
		if len(temps(t, dir)) > 0 {
			hits++
		}
		data, err := store.Load(t.Context())
		require.NoError(t, err)
		if data != nil {
			requireRecord(t, data)
		}
	}
	t.Logf("%d of %d kills left a temporary file", hits, kills)
	require.NotZero(t, hits, "no kill hit a Save, so the test shows nothing; make the records larger")

	require.NoError(t, store.Save(t.Context(), record(kills, 0)))
	assert.Empty(t, temps(t, dir), "temporary files left after a successful Save")
	data, err := store.Load(t.Context())
	require.NoError(t, err)
	assert.True(t, bytes.Equal(record(kills, 0), data), "Load() after Save() returned other bytes")
}

// TestFileStoreKilledWriter is the child of TestFileStoreKilledWriters: it
// saves records until it is killed, for at most 10 seconds.
func TestFileStoreKilledWriter(t *testing.T) {
	path := os.Getenv("STORE_PATH")
	if os.Getenv(childEnv) == "" || path == "" {
		t.Skip("run by TestFileStoreKilledWriters")
	}
	var w int
	fmt.Sscan(os.Getenv("WRITER"), &w)
	store := vendoroauth.FileStore(path)
	fmt.Println(killReady)
	for i, start := 0, time.Now(); time.Since(start) < 10*time.Second; i++ {
		if err := store.Save(context.Background(), record(w, i)); err != nil {
			t.Fatal(err)
		}
	}
}
