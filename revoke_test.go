package vendoroauth_test

import (
	"errors"
	"net/http"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// get makes a GET through c and returns the status.
func get(t *testing.T, c *http.Client, url string) int {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// bearer returns a client that sends tok as is, bypassing any refresh.
func bearer(base *http.Client, tok string) *http.Client {
	c := *base
	inner := base.Transport
	if inner == nil {
		inner = http.DefaultTransport
	}
	c.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+tok)
		return inner.RoundTrip(r)
	})
	return &c
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTokenSourceRevokeEnduroSat(t *testing.T) {
	t.Parallel()
	srv := newEnduroSat(t)
	src := esSource(t, srv)
	tok, err := src.Token()
	if err != nil {
		t.Fatalf("Token() error = %v", err)
	}
	if got := get(t, bearer(srv.Client(), tok.AccessToken), srv.ResourceURL()); got != http.StatusOK {
		t.Fatalf("resource before revoke = %d, want 200", got)
	}
	if err := src.Revoke(t.Context()); err != nil {
		t.Fatalf("Revoke() error = %v", err)
	}
	if diff := cmp.Diff(map[string][]string{"client_id": {esClientID}, "token": {tok.RefreshToken}}, map[string][]string(srv.LastRevokeForm())); diff != "" {
		t.Errorf("revoke form mismatch (-want +got):\n%s", diff)
	}
	if got := get(t, bearer(srv.Client(), tok.AccessToken), srv.ResourceURL()); got != http.StatusUnauthorized {
		t.Errorf("resource with the revoked session's access token = %d, want 401", got)
	}
	// The source forgot everything and logs in again with the password.
	tok2, err := src.Token()
	if err != nil || tok2.AccessToken == tok.AccessToken {
		t.Fatalf("Token() after Revoke = %v, %v; want a fresh login", tok2, err)
	}
	if got := srv.TokenRequestsByGrant("password"); got != 2 {
		t.Errorf("password grants = %d, want 2", got)
	}
}

func TestTokenSourceRevokeFormlabs(t *testing.T) {
	t.Parallel()
	srv := newFormlabs(t)
	src := flSource(t, srv)
	tok, err := src.Token()
	if err != nil {
		t.Fatalf("Token() error = %v", err)
	}
	if err := src.Revoke(t.Context()); err != nil {
		t.Fatalf("Revoke() error = %v", err)
	}
	if got := get(t, bearer(srv.Client(), tok.AccessToken), srv.ResourceURL()); got != http.StatusUnauthorized {
		t.Errorf("resource with the revoked token = %d, want 401", got)
	}
	if err := src.Revoke(t.Context()); err != nil {
		t.Errorf("second Revoke() with nothing held = %v, want nil", err)
	}
	if got := srv.RevokeRequests(); got != 1 {
		t.Errorf("revoke requests = %d, want 1", got)
	}
}

func TestRefreshOnlySourceAfterRevoke(t *testing.T) {
	t.Parallel()
	srv := newEnduroSat(t)
	tok, err := esSource(t, srv).Token()
	if err != nil {
		t.Fatalf("Token() error = %v", err)
	}
	src := vendoroauth.EnduroSatRefreshTokenSource(t.Context(), esClientID, tok.RefreshToken, at(srv.URL, srv.Client())...)
	defer src.Close()
	if err := src.Revoke(t.Context()); err != nil {
		t.Fatalf("Revoke() error = %v", err)
	}
	if _, err := src.Token(); !errors.Is(err, vendoroauth.ErrInvalidCredentials) {
		t.Errorf("Token() after Revoke on a refresh-only source = %v, want ErrInvalidCredentials", err)
	}
}

func TestRevokers(t *testing.T) {
	tests := []struct {
		name         string
		faults       []vendoroauthtest.Fault
		token        string
		wantStatus   int // 0: success; -1: not a RevokeError
		wantCreds    bool
		wantRequests int
	}{
		{name: "success", token: "tok-1", wantRequests: 1},
		{name: "503 retried", faults: repeat(2, vendoroauthtest.Fault{Status: 503}), token: "tok-1", wantRequests: 3},
		{name: "429 retried", faults: repeat(1, vendoroauthtest.Fault{Status: 429, RetryAfter: "2"}), token: "tok-1", wantRequests: 2},
		{name: "dropped connection retried", faults: repeat(1, vendoroauthtest.Fault{Drop: true}), token: "tok-1", wantRequests: 2},
		{name: "401", faults: repeat(1, vendoroauthtest.Fault{Status: 401, Body: `{"error":"invalid_client"}`}), token: "tok-1", wantStatus: 401, wantCreds: true, wantRequests: 1},
		{name: "400 unsupported_token_type", faults: repeat(1, vendoroauthtest.Fault{Status: 400, Body: `{"error":"unsupported_token_type"}`}), token: "tok-1", wantStatus: 400, wantRequests: 1},
		{name: "503 gives up", faults: repeat(4, vendoroauthtest.Fault{Status: 503}), token: "tok-1", wantStatus: 503, wantRequests: 4},
		{name: "empty token", token: "", wantStatus: -1, wantRequests: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				es := vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword)
				fl := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
				revokers := []struct {
					r     vendoroauth.Revoker
					count func() int
					fail  func(int, vendoroauthtest.Fault)
				}{
					{vendoroauth.EnduroSatRevoker(esClientID, at(es.URL, es.InProcessClient())...), es.RevokeRequests, es.FailRevoke},
					{vendoroauth.FormlabsRevoker(flClientID, flSecret, at(fl.URL, fl.InProcessClient())...), fl.RevokeRequests, fl.FailRevoke},
				}
				for _, rv := range revokers {
					for _, f := range tt.faults {
						rv.fail(1, f)
					}
					err := rv.r.Revoke(t.Context(), tt.token)
					if got := rv.count(); got != tt.wantRequests {
						t.Errorf("revoke requests = %d, want %d", got, tt.wantRequests)
					}
					re, isRevokeErr := errors.AsType[*vendoroauth.RevokeError](err)
					switch {
					case tt.wantStatus == 0 && err != nil:
						t.Errorf("Revoke() error = %v, want nil", err)
					case tt.wantStatus == -1 && (err == nil || isRevokeErr):
						t.Errorf("Revoke() error = %v, want a plain error", err)
					case tt.wantStatus > 0 && (!isRevokeErr || re.StatusCode != tt.wantStatus):
						t.Errorf("Revoke() error = %v, want a *RevokeError with status %d", err, tt.wantStatus)
					}
					if got := errors.Is(err, vendoroauth.ErrInvalidCredentials); got != tt.wantCreds {
						t.Errorf("errors.Is(%v, ErrInvalidCredentials) = %v, want %v", err, got, tt.wantCreds)
					}
				}
			})
		})
	}
}

func TestRevokerRejectsWrongSecret(t *testing.T) {
	t.Parallel()
	srv := newFormlabs(t)
	r := vendoroauth.FormlabsRevoker(flClientID, "wrong-secret", at(srv.URL, srv.Client())...)
	err := r.Revoke(t.Context(), "some-token")
	re, ok := errors.AsType[*vendoroauth.RevokeError](err)
	if !ok || re.StatusCode != http.StatusUnauthorized || re.ErrorCode != "invalid_client" || !errors.Is(err, vendoroauth.ErrInvalidCredentials) {
		t.Errorf("Revoke() with a wrong secret = %v, want a 401 invalid_client *RevokeError", err)
	}
}
