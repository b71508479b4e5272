package vendoroauth_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
)

// TestFileStoreAcrossProcesses starts five OS processes (this test binary,
// running TestFileStoreProcess) that share one token file with an expired
// access token and a refresh token that rotates: the flock lets one of them
// refresh, and the others load what it saved.
func TestFileStoreAcrossProcesses(t *testing.T) {
	if os.Getenv("VENDOROAUTH_STORE_CHILD") != "" {
		t.Skip("in a child process")
	}
	srv := newEnduroSat(t)
	srv.SetRotateRefreshTokens(true)
	srv.SetLatency(200 * time.Millisecond)
	path := filepath.Join(t.TempDir(), "token.json")

	// Log in once, then leave only the refresh token usable.
	login := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, esPassword, at(srv.URL, srv.Client())...)
	tok, err := login.Token()
	login.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := vendoroauth.FileStore(path).Save(t.Context(), &oauth2.Token{
		AccessToken: "expired", RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute),
	}); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	outs := make([]string, 5)
	for i := range outs {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestFileStoreProcess$", "-test.v")
			cmd.Env = append(os.Environ(), "VENDOROAUTH_STORE_CHILD=1", "STORE_PATH="+path, "FAKE_URL="+srv.URL)
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
	if os.Getenv("VENDOROAUTH_STORE_CHILD") == "" || path == "" {
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
