//go:build interop

package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
)

const (
	esClientID = "endurosat-shaped-client"
	esUsername = "operator"
	esPassword = "PASSWORD-interop-5e1f"
	flClientID = "formlabs-shaped-client"
	flSecret   = "CLIENTSECRET-interop-0b9d"
	lifetime   = 2 * time.Second // DOT's ACCESS_TOKEN_EXPIRE_SECONDS
)

// startDOT starts dot_server.py on a free loopback port and returns its
// base URL; it is stopped when the test ends.
func startDOT(t *testing.T) string {
	t.Helper()
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("interop tests need %s with python3-django-oauth-toolkit: %v", python, err)
	}
	cmd := exec.Command(python, "dot_server.py")
	cmd.Env = append(os.Environ(),
		"DOT_DB="+filepath.Join(t.TempDir(), "dot.sqlite3"),
		"DOT_TOKEN_LIFETIME=2",
		"ES_CLIENT_ID="+esClientID, "ES_USERNAME="+esUsername, "ES_PASSWORD="+esPassword,
		"FL_CLIENT_ID="+flClientID, "FL_CLIENT_SECRET="+flSecret,
	)
	var stderr bytes.Buffer // DOT logs every 4xx; shown only when a test fails
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start DOT: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("DOT's stderr:\n%s", stderr.String())
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if base, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				ready <- base
				return
			}
		}
		close(ready)
	}()
	select {
	case base, ok := <-ready:
		if !ok {
			t.Fatal("DOT exited before listening")
		}
		return base
	case <-time.After(60 * time.Second):
		t.Fatal("DOT did not start within 60s")
	}
	return ""
}

// countingClient counts the requests to each path.
type countingClient struct {
	token, revoke atomic.Int32
}

func (c *countingClient) client() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		switch {
		case strings.Contains(r.URL.Path, "token"):
			c.token.Add(1)
		case strings.Contains(r.URL.Path, "revoke"):
			c.revoke.Add(1)
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// get returns the status of a GET through c.
func get(t *testing.T, c *http.Client, u string) int {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// withBearer returns a client that sends tok as it is.
func withBearer(tok string) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+tok)
		return http.DefaultTransport.RoundTrip(r)
	})}
}

// postForm posts form to u and returns the status.
func postForm(t *testing.T, u string, form url.Values) int {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestAgainstDOT(t *testing.T) {
	base := startDOT(t)
	ctx := context.Background()

	t.Run("formlabs client credentials, refresh, Client", func(t *testing.T) {
		var cc countingClient
		src := vendoroauth.FormlabsTokenSource(ctx, flClientID, flSecret,
			vendoroauth.WithBaseURL(base), vendoroauth.WithHTTPClient(cc.client()))
		defer src.Close()
		first, err := src.Token()
		if err != nil {
			t.Fatalf("Token() error = %v", err)
		}
		if first.Type() != "Bearer" || first.Extra("scope") == nil {
			t.Errorf("Token() = type %q, scope %v; want Bearer with a scope", first.Type(), first.Extra("scope"))
		}
		if got := get(t, src.Client(ctx), base+"/developer/v1/printers/"); got != http.StatusOK {
			t.Errorf("GET printers through Client = %d, want 200", got)
		}
		time.Sleep(lifetime + 200*time.Millisecond) // let the token expire at DOT
		second, err := src.Token()
		if err != nil || second.AccessToken == first.AccessToken {
			t.Fatalf("Token() after expiry = %v, %v; want a new token", second, err)
		}
		if got := get(t, src.Client(ctx), base+"/developer/v1/printers/"); got != http.StatusOK {
			t.Errorf("GET printers after refresh = %d, want 200", got)
		}
		if n := cc.token.Load(); n < 2 || n > 3 {
			t.Errorf("token requests = %d, want 2 or 3 (one per lifetime, maybe one early)", n)
		}
	})

	t.Run("endurosat password, refresh with rotation", func(t *testing.T) {
		src := vendoroauth.EnduroSatPasswordTokenSource(ctx, esClientID, esUsername, esPassword,
			vendoroauth.WithBaseURL(base), vendoroauth.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}))
		defer src.Close()
		first, err := src.Token()
		if err != nil || first.RefreshToken == "" {
			t.Fatalf("Token() = %v, %v; want a token with a refresh token", first, err)
		}
		time.Sleep(lifetime + 200*time.Millisecond)
		second, err := src.Token()
		if err != nil {
			t.Fatalf("Token() after expiry: %v", err)
		}
		if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
			t.Errorf("refresh did not rotate the refresh token")
		}
		// DOT revoked the old refresh token when it rotated.
		old := url.Values{"grant_type": {"refresh_token"}, "client_id": {esClientID}, "refresh_token": {first.RefreshToken}}
		if got := postForm(t, base+"/oauth2/token", old); got != http.StatusBadRequest {
			t.Errorf("refresh with the rotated-out token = %d, want 400", got)
		}
		src.Invalidate()
		if _, err := src.Token(); err != nil {
			t.Errorf("second refresh with the rotated token: %v", err)
		}
		if got := get(t, src.Client(ctx), base+"/v1/satellites"); got != http.StatusOK {
			t.Errorf("GET satellites through Client = %d, want 200", got)
		}
	})

	t.Run("wrong credentials", func(t *testing.T) {
		tests := []struct {
			name     string
			src      *vendoroauth.TokenSource
			wantCode string
			status   int
		}{
			{"formlabs wrong secret", vendoroauth.FormlabsTokenSource(ctx, flClientID, "wrong", vendoroauth.WithBaseURL(base)), "invalid_client", 401},
			{"formlabs unknown client", vendoroauth.FormlabsTokenSource(ctx, "nobody", flSecret, vendoroauth.WithBaseURL(base)), "invalid_client", 401},
			{"endurosat wrong password", vendoroauth.EnduroSatPasswordTokenSource(ctx, esClientID, esUsername, "wrong", vendoroauth.WithBaseURL(base)), "invalid_grant", 400},
			{"endurosat bogus refresh token", vendoroauth.EnduroSatRefreshTokenSource(ctx, esClientID, "bogus", vendoroauth.WithBaseURL(base)), "invalid_grant", 400},
		}
		for _, tt := range tests {
			_, err := tt.src.Token()
			tt.src.Close()
			re, ok := errors.AsType[*oauth2.RetrieveError](err)
			if !errors.Is(err, vendoroauth.ErrInvalidCredentials) || !ok || re.ErrorCode != tt.wantCode || re.Response.StatusCode != tt.status {
				t.Errorf("%s: Token() error = %v; want ErrInvalidCredentials, %d %s", tt.name, err, tt.status, tt.wantCode)
			}
		}
	})

	t.Run("revocation", func(t *testing.T) {
		fl := vendoroauth.FormlabsTokenSource(ctx, flClientID, flSecret, vendoroauth.WithBaseURL(base))
		defer fl.Close()
		tok, err := fl.Token()
		if err != nil {
			t.Fatal(err)
		}
		if err := fl.Revoke(ctx); err != nil {
			t.Fatalf("Formlabs Revoke() = %v", err)
		}
		// DOT's plain protected views answer 403, not 401, to a dead token.
		if got := get(t, withBearer(tok.AccessToken), base+"/developer/v1/printers/"); got != http.StatusForbidden {
			t.Errorf("GET with the revoked token = %d, want DOT's 403", got)
		}

		es := vendoroauth.EnduroSatPasswordTokenSource(ctx, esClientID, esUsername, esPassword, vendoroauth.WithBaseURL(base))
		defer es.Close()
		etok, err := es.Token()
		if err != nil {
			t.Fatal(err)
		}
		if err := es.Revoke(ctx); err != nil {
			t.Fatalf("EnduroSat Revoke() = %v", err)
		}
		refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {esClientID}, "refresh_token": {etok.RefreshToken}}
		if got := postForm(t, base+"/oauth2/token", refresh); got != http.StatusBadRequest {
			t.Errorf("refresh with the revoked refresh token = %d, want 400", got)
		}

		// Revokers: unknown tokens are fine (RFC 7009), wrong secrets are not.
		if err := vendoroauth.FormlabsRevoker(flClientID, flSecret, vendoroauth.WithBaseURL(base)).Revoke(ctx, "unknown"); err != nil {
			t.Errorf("FormlabsRevoker.Revoke(unknown) = %v, want nil", err)
		}
		if err := vendoroauth.EnduroSatRevoker(esClientID, vendoroauth.WithBaseURL(base)).Revoke(ctx, "unknown"); err != nil {
			t.Errorf("EnduroSatRevoker.Revoke(unknown) = %v, want nil", err)
		}
		err = vendoroauth.FormlabsRevoker(flClientID, "wrong", vendoroauth.WithBaseURL(base)).Revoke(ctx, "unknown")
		if re, ok := errors.AsType[*vendoroauth.RevokeError](err); !ok || re.StatusCode != 401 || !errors.Is(err, vendoroauth.ErrInvalidCredentials) {
			t.Errorf("FormlabsRevoker with a wrong secret = %v, want a 401 RevokeError", err)
		}
	})

	t.Run("no secret in errors", func(t *testing.T) {
		src := vendoroauth.EnduroSatPasswordTokenSource(ctx, esClientID, esUsername, esPassword+"x", vendoroauth.WithBaseURL(base))
		defer src.Close()
		_, err := src.Token()
		if err == nil || strings.Contains(err.Error(), esPassword) {
			t.Errorf("Token() error = %v; want an error without the password", err)
		}
	})
}
