package vendoroauthtest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

const (
	esID, esUser, esPass = "es-id", "es-user", "ES-PASSWORD-secret"
	flID, flSecret       = "fl-id", "FL-SECRET-secret"
)

// answer is a decoded response.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// post sends form to base+path through c, as the vendors expect, unless
// the caller changes the request in edit.
func post(t *testing.T, c *http.Client, u string, form url.Values, edit func(*http.Request)) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if edit != nil {
		edit(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, u, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

// bearerGet GETs u with tok as bearer token and returns the status.
func bearerGet(t *testing.T, c *http.Client, u, scheme, tok string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if tok != "" {
		req.Header.Set("Authorization", scheme+" "+tok)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func esForm(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func TestEnduroSatStrict(t *testing.T) {
	t.Parallel()
	s := vendoroauthtest.NewEnduroSat(esID, esUser, esPass)
	t.Cleanup(s.Close)
	tokenURL := s.URL + "/oauth2/token"
	login := esForm("grant_type", "password", "client_id", esID, "username", esUser, "password", esPass)
	tests := []struct {
		name     string
		form     url.Values
		edit     func(*http.Request)
		wantCode int
		wantErr  string
	}{
		{"GET", login, func(r *http.Request) { r.Method = http.MethodGet }, 405, "invalid_request"},
		{"JSON body", login, func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }, 400, "invalid_request"},
		{"no client_id", esForm("grant_type", "password", "username", esUser, "password", esPass), nil, 400, "invalid_request"},
		{"no username", esForm("grant_type", "password", "client_id", esID, "password", esPass), nil, 400, "invalid_request"},
		{"no password", esForm("grant_type", "password", "client_id", esID, "username", esUser), nil, 400, "invalid_request"},
		{"no grant_type", esForm("client_id", esID, "username", esUser, "password", esPass), nil, 400, "invalid_request"},
		{"repeated field", esForm("grant_type", "password", "client_id", esID, "client_id", esID, "username", esUser, "password", esPass), nil, 400, "invalid_request"},
		{"HTTP Basic", login, func(r *http.Request) { r.SetBasicAuth(esID, "x") }, 400, "invalid_request"},
		{"client_secret sent", esForm("grant_type", "password", "client_id", esID, "client_secret", "x", "username", esUser, "password", esPass), nil, 400, "invalid_request"},
		{"unknown grant", esForm("grant_type", "client_credentials", "client_id", esID), nil, 400, "unsupported_grant_type"},
		{"unknown client", esForm("grant_type", "password", "client_id", "nobody", "username", esUser, "password", esPass), nil, 401, "invalid_client"},
		{"wrong password", esForm("grant_type", "password", "client_id", esID, "username", esUser, "password", esPass+"x"), nil, 401, "invalid_grant"},
		{"wrong username", esForm("grant_type", "password", "client_id", esID, "username", "x", "password", esPass), nil, 401, "invalid_grant"},
		{"bad refresh token", esForm("grant_type", "refresh_token", "client_id", esID, "refresh_token", "nope"), nil, 400, "invalid_grant"},
	}
	for _, tt := range tests {
		a := post(t, s.Client(), tokenURL, tt.form, tt.edit)
		if a.status != tt.wantCode || a.body["error"] != tt.wantErr {
			t.Errorf("%s: status %d error %v, want %d %s", tt.name, a.status, a.body["error"], tt.wantCode, tt.wantErr)
		}
		if strings.Contains(a.raw, esPass) {
			t.Errorf("%s: the response echoes the password", tt.name)
		}
	}
	if a := post(t, s.Client(), s.URL+"/nope", login, nil); a.status != 404 {
		t.Errorf("unknown path: status %d, want 404", a.status)
	}
}

func TestFormlabsStrict(t *testing.T) {
	t.Parallel()
	s := vendoroauthtest.NewFormlabs(flID, flSecret)
	t.Cleanup(s.Close)
	tokenURL := s.URL + "/developer/v1/o/token/"
	good := esForm("grant_type", "client_credentials", "client_id", flID, "client_secret", flSecret)
	tests := []struct {
		name     string
		url      string
		form     url.Values
		edit     func(*http.Request)
		wantCode int
		wantErr  string
	}{
		{"GET", tokenURL, good, func(r *http.Request) { r.Method = http.MethodGet }, 405, "invalid_request"},
		{"JSON body", tokenURL, good, func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }, 400, "unsupported_grant_type"},
		{"no grant_type", tokenURL, esForm("client_id", flID, "client_secret", flSecret), nil, 400, "unsupported_grant_type"},
		{"other grant", tokenURL, esForm("grant_type", "password", "client_id", flID, "client_secret", flSecret), nil, 400, "unsupported_grant_type"},
		{"no secret", tokenURL, esForm("grant_type", "client_credentials", "client_id", flID), nil, 401, "invalid_client"},
		{"wrong secret", tokenURL, esForm("grant_type", "client_credentials", "client_id", flID, "client_secret", "x"), nil, 401, "invalid_client"},
		{"HTTP Basic", tokenURL, esForm("grant_type", "client_credentials"), func(r *http.Request) { r.SetBasicAuth(flID, flSecret) }, 400, "invalid_request"},
		{"repeated field", tokenURL, esForm("grant_type", "client_credentials", "grant_type", "client_credentials", "client_id", flID, "client_secret", flSecret), nil, 400, "invalid_request"},
		{"revoke without client", s.URL + "/developer/v1/o/revoke_token/", esForm("token", "t"), nil, 401, "invalid_client"},
		{"revoke without token", s.URL + "/developer/v1/o/revoke_token/", esForm("client_id", flID, "client_secret", flSecret), nil, 400, "invalid_request"},
	}
	for _, tt := range tests {
		a := post(t, s.Client(), tt.url, tt.form, tt.edit)
		if a.status != tt.wantCode || a.body["error"] != tt.wantErr {
			t.Errorf("%s: status %d error %v, want %d %s", tt.name, a.status, a.body["error"], tt.wantCode, tt.wantErr)
		}
		if strings.Contains(a.raw, flSecret) {
			t.Errorf("%s: the response echoes the secret", tt.name)
		}
	}
}

func TestEnduroSatFlows(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		t.Run(map[bool]string{false: "no rotation", true: "rotation"}[rotate], func(t *testing.T) {
			t.Parallel()
			s := vendoroauthtest.NewEnduroSat(esID, esUser, esPass)
			t.Cleanup(s.Close)
			s.SetRotateRefreshTokens(rotate)
			c, tokenURL := s.Client(), s.URL+"/oauth2/token"
			a := post(t, c, tokenURL, esForm("grant_type", "password", "client_id", esID, "username", esUser, "password", esPass), nil)
			rt, _ := a.body["refresh_token"].(string)
			if a.status != 200 || a.body["access_token"] == nil || a.body["id_token"] == nil || rt == "" ||
				a.body["expires_in"] != 3600.0 || a.body["token_type"] != "Bearer" {
				t.Fatalf("password grant: %d %v", a.status, a.body)
			}
			refresh := esForm("grant_type", "refresh_token", "client_id", esID, "refresh_token", rt)
			b := post(t, c, tokenURL, refresh, nil)
			newRT, gotRT := b.body["refresh_token"].(string)
			if b.status != 200 || gotRT != rotate || (rotate && newRT == rt) {
				t.Fatalf("refresh: %d, refresh_token returned %v; want one only with rotation", b.status, gotRT)
			}
			again := post(t, c, tokenURL, refresh, nil)
			if wantOld := map[bool]int{false: 200, true: 400}[rotate]; again.status != wantOld {
				t.Errorf("refresh with the first refresh token again: %d, want %d", again.status, wantOld)
			}
			if got := s.TokenRequestsByGrant("refresh_token"); got != 2 {
				t.Errorf("TokenRequestsByGrant(refresh_token) = %d, want 2", got)
			}
		})
	}
}

func TestEnduroSatRevocation(t *testing.T) {
	t.Parallel()
	s := vendoroauthtest.NewEnduroSat(esID, esUser, esPass)
	t.Cleanup(s.Close)
	c, tokenURL := s.Client(), s.URL+"/oauth2/token"
	login := esForm("grant_type", "password", "client_id", esID, "username", esUser, "password", esPass)
	one, two := post(t, c, tokenURL, login, nil), post(t, c, tokenURL, login, nil)
	rev := post(t, c, s.URL+"/oauth2/revoke", esForm("client_id", esID, "token", one.body["refresh_token"].(string)), nil)
	if rev.status != http.StatusNoContent {
		t.Fatalf("revoke: %d, want 204", rev.status)
	}
	if got := bearerGet(t, c, s.ResourceURL(), "Bearer", one.body["access_token"].(string)); got != 401 {
		t.Errorf("resource with the revoked login's access token: %d, want 401", got)
	}
	if got := bearerGet(t, c, s.ResourceURL(), "bearer", two.body["access_token"].(string)); got != 200 {
		t.Errorf("resource with another login's token (lowercase scheme): %d, want 200", got)
	}
	refresh := post(t, c, tokenURL, esForm("grant_type", "refresh_token", "client_id", esID, "refresh_token", one.body["refresh_token"].(string)), nil)
	if refresh.status != 400 || refresh.body["error"] != "invalid_grant" {
		t.Errorf("refresh with a revoked refresh token: %d %v, want 400 invalid_grant", refresh.status, refresh.body["error"])
	}
	if got := post(t, c, s.URL+"/oauth2/revoke", esForm("client_id", esID, "token", "unknown"), nil); got.status != 204 {
		t.Errorf("revoke of an unknown token: %d, want 204", got.status)
	}
	if got := post(t, c, s.URL+"/oauth2/revoke", esForm("client_id", "nobody", "token", "x"), nil); got.status != 400 {
		t.Errorf("revoke by an unknown client: %d, want 400", got.status)
	}
	if got := s.LastRevokeForm().Get("client_id"); got != "nobody" {
		t.Errorf("LastRevokeForm() client_id = %q", got)
	}
	if got := bearerGet(t, c, s.ResourceURL(), "", ""); got != 401 {
		t.Errorf("resource without a token: %d, want 401", got)
	}
}

func TestFormlabsTokenAndRevoke(t *testing.T) {
	t.Parallel()
	s := vendoroauthtest.NewFormlabs(flID, flSecret)
	t.Cleanup(s.Close)
	c := s.Client()
	a := post(t, c, s.URL+"/developer/v1/o/token/", esForm("grant_type", "client_credentials", "client_id", flID, "client_secret", flSecret), nil)
	tok, _ := a.body["access_token"].(string)
	if a.status != 200 || tok == "" || a.body["scope"] != "developer-api" || a.body["expires_in"] != 86400.0 {
		t.Fatalf("token: %d %v", a.status, a.body)
	}
	if got := bearerGet(t, c, s.ResourceURL(), "Bearer", tok); got != 200 {
		t.Fatalf("resource: %d, want 200", got)
	}
	rev := post(t, c, s.URL+"/developer/v1/o/revoke_token/", esForm("token", tok, "client_id", flID, "client_secret", flSecret), nil)
	if rev.status != 200 || rev.raw != "" {
		t.Errorf("revoke: %d %q, want 200 with an empty body", rev.status, rev.raw)
	}
	if got := bearerGet(t, c, s.ResourceURL(), "Bearer", tok); got != 401 {
		t.Errorf("resource with the revoked token: %d, want 401", got)
	}
	if s.TokenRequests() != 1 || s.RevokeRequests() != 1 || s.ResourceRequests() != 2 {
		t.Errorf("counters: token %d revoke %d resource %d; want 1 1 2", s.TokenRequests(), s.RevokeRequests(), s.ResourceRequests())
	}
	if got := s.LastTokenForm().Get("client_secret"); got != flSecret {
		t.Errorf("LastTokenForm() lost the form")
	}
	s.LastTokenForm().Set("client_id", "changed")
	if got := s.LastTokenForm().Get("client_id"); got != flID {
		t.Errorf("LastTokenForm() returned the fake's own map, not a copy")
	}
	s.Close()
	s.Close() // idempotent
}

func TestKnobsInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := vendoroauthtest.NewUnstartedEnduroSat(esID, esUser, esPass)
		c := s.InProcessClient()
		s.SetTokenLifetime(10 * time.Minute)
		s.SetJWTAccessTokens(true)
		s.SetOmitExpiresIn(true)
		s.SetTokenType("bearer")
		s.SetLatency(3 * time.Second)
		s.SetRefreshTokenLifetime(time.Hour)
		start := time.Now()
		a := post(t, c, s.URL+"/oauth2/token", esForm("grant_type", "password", "client_id", esID, "username", esUser, "password", esPass), nil)
		if waited := time.Since(start); waited != 3*time.Second {
			t.Errorf("SetLatency(3s): the answer took %v", waited)
		}
		if _, ok := a.body["expires_in"]; ok || a.body["token_type"] != "bearer" {
			t.Errorf("SetOmitExpiresIn/SetTokenType: body %v", a.body)
		}
		tok := a.body["access_token"].(string)
		parts := strings.Split(tok, ".")
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		var claims struct{ Exp, Iat int64 }
		if len(parts) != 3 || err != nil || json.Unmarshal(payload, &claims) != nil || claims.Exp-claims.Iat != 600 {
			t.Errorf("SetJWTAccessTokens: %d parts, claims %+v; want exp - iat = 600", len(parts), claims)
		}
		if got := bearerGet(t, c, s.ResourceURL(), "Bearer", tok); got != 200 {
			t.Errorf("resource with a fresh JWT: %d", got)
		}
		time.Sleep(10 * time.Minute)
		if got := bearerGet(t, c, s.ResourceURL(), "Bearer", tok); got != 401 {
			t.Errorf("resource with an expired token: %d, want 401", got)
		}
		time.Sleep(time.Hour)
		s.SetLatency(0)
		r := post(t, c, s.URL+"/oauth2/token", esForm("grant_type", "refresh_token", "client_id", esID, "refresh_token", a.body["refresh_token"].(string)), nil)
		if r.status != 400 || r.body["error"] != "invalid_grant" {
			t.Errorf("refresh after SetRefreshTokenLifetime(1h): %d %v, want 400 invalid_grant", r.status, r.body["error"])
		}
		s.SetClockOffset(0)
		s.ExpireRefreshTokens()
		s.RevokeAccessTokens()
	})
}

func TestFaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := vendoroauthtest.NewUnstartedFormlabs(flID, flSecret)
		c := s.InProcessClient()
		good := esForm("grant_type", "client_credentials", "client_id", flID, "client_secret", flSecret)
		tokenURL := s.URL + "/developer/v1/o/token/"
		s.FailToken(1, vendoroauthtest.Fault{Status: 503, RetryAfter: "7"})
		s.FailToken(1, vendoroauthtest.Fault{Body: "<html>hi</html>"})
		s.FailToken(1, vendoroauthtest.Fault{Status: 200, BodySize: 100_000})
		a := post(t, c, tokenURL, good, nil)
		if a.status != 503 || a.header.Get("Retry-After") != "7" || a.body["error"] != "temporarily_unavailable" {
			t.Errorf("first fault: %d %v %v", a.status, a.header, a.body)
		}
		b := post(t, c, tokenURL, good, nil)
		if b.status != 200 || !strings.HasPrefix(b.header.Get("Content-Type"), "text/html") || b.raw != "<html>hi</html>" {
			t.Errorf("second fault: %d %q", b.status, b.raw)
		}
		d := post(t, c, tokenURL, good, nil)
		if len(d.raw) != 100_000 || d.header.Get("Content-Length") != "100000" {
			t.Errorf("BodySize fault: %d bytes, Content-Length %q", len(d.raw), d.header.Get("Content-Length"))
		}
		if e := post(t, c, tokenURL, good, nil); e.status != 200 || e.body["access_token"] == nil {
			t.Errorf("after the queue: %d", e.status)
		}
		if got := s.TokenRequests(); got != 4 {
			t.Errorf("TokenRequests() = %d, want 4 (faulted ones count)", got)
		}

		// Latency honours the caller's context; Drop is an error.
		s.FailToken(1, vendoroauthtest.Fault{Latency: time.Hour})
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(good.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if _, err := c.Do(req); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Latency fault with a 1s ctx: %v, want DeadlineExceeded", err)
		}
		s.FailToken(1, vendoroauthtest.Fault{Drop: true})
		req, _ = http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(good.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if _, err := c.Do(req); err == nil {
			t.Errorf("Drop fault in process: no error")
		}

		s.FailResource(1, vendoroauthtest.Fault{Status: 401})
		if got := bearerGet(t, c, s.ResourceURL(), "Bearer", "x"); got != 401 {
			t.Errorf("FailResource(401): %d", got)
		}
		s.FailRevoke(1, vendoroauthtest.Fault{Status: 500})
		if got := post(t, c, s.URL+"/developer/v1/o/revoke_token/", good, nil); got.status != 500 {
			t.Errorf("FailRevoke(500): %d", got.status)
		}

		// A timed outage, then a rate limit.
		s.FailTokenUntil(time.Now().Add(time.Minute), vendoroauthtest.Fault{Status: 502})
		if got := post(t, c, tokenURL, good, nil); got.status != 502 {
			t.Errorf("during FailTokenUntil: %d, want 502", got.status)
		}
		time.Sleep(time.Minute)
		s.SetRateLimit(2, time.Hour)
		codes := []int{post(t, c, tokenURL, good, nil).status, post(t, c, tokenURL, good, nil).status}
		limited := post(t, c, tokenURL, good, nil)
		if codes[0] != 200 || codes[1] != 200 || limited.status != 429 || limited.header.Get("Retry-After") != "3600" {
			t.Errorf("SetRateLimit(2, 1h): %v then %d Retry-After %q", codes, limited.status, limited.header.Get("Retry-After"))
		}
	})
}

func TestDropOverSocket(t *testing.T) {
	t.Parallel()
	s := vendoroauthtest.NewFormlabs(flID, flSecret)
	t.Cleanup(s.Close)
	s.FailToken(1, vendoroauthtest.Fault{Drop: true})
	resp, err := s.Client().PostForm(s.URL+"/developer/v1/o/token/", esForm("grant_type", "client_credentials"))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("Drop over a socket: status %d, want a client error", resp.StatusCode)
	}
}
