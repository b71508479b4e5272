package vendoroauthtest_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A request that matches a pattern reaches its handler only with a valid
// bearer token of the same fake; every other one gets the fake's 401.
func TestHandleAuthorization(t *testing.T) {
	t.Parallel()
	// An authorization returns the Authorization header to send ("" for
	// none), given the fake and a client for it.
	type authorization func(t *testing.T, tg *target, c *http.Client) string
	bearer := func(scheme string) authorization {
		return func(t *testing.T, tg *target, c *http.Client) string {
			return scheme + " " + tg.token(t, c).str("access_token")
		}
	}
	otherFake := func(vendor string) authorization {
		return func(t *testing.T, _ *target, _ *http.Client) string {
			other := newTarget(t, vendor, true)
			return "Bearer " + other.token(t, other.Client()).str("access_token")
		}
	}
	tests := []struct {
		name string
		auth authorization
		want int
	}{
		{"Bearer", bearer("Bearer"), http.StatusOK},
		{"lower-case scheme", bearer("bearer"), http.StatusOK},
		{"upper-case scheme", bearer("BEARER"), http.StatusOK},
		{"no Authorization header", func(*testing.T, *target, *http.Client) string { return "" }, http.StatusUnauthorized},
		{"scheme without a token", func(*testing.T, *target, *http.Client) string { return "Bearer " }, http.StatusUnauthorized},
		{"token without a scheme", func(t *testing.T, tg *target, c *http.Client) string { return tg.token(t, c).str("access_token") }, http.StatusUnauthorized},
		{"Basic scheme", bearer("Basic"), http.StatusUnauthorized},
		{"Token scheme", bearer("Token"), http.StatusUnauthorized},
		{"token never issued", func(*testing.T, *target, *http.Client) string { return "Bearer at-never-issued" }, http.StatusUnauthorized},
		{"token of another EnduroSat fake", otherFake(enduroSat), http.StatusUnauthorized},
		{"token of another Formlabs fake", otherFake(formlabs), http.StatusUnauthorized},
		{"token revoked by RevokeAccessTokens", func(t *testing.T, tg *target, c *http.Client) string {
			tok := tg.token(t, c).str("access_token")
			tg.RevokeAccessTokens()
			return "Bearer " + tok
		}, http.StatusUnauthorized},
		{"token issued after RevokeAccessTokens", func(t *testing.T, tg *target, c *http.Client) string {
			tg.token(t, c)
			tg.RevokeAccessTokens()
			return "Bearer " + tg.token(t, c).str("access_token")
		}, http.StatusOK},
		{"token revoked at the revocation endpoint", func(t *testing.T, tg *target, c *http.Client) string {
			// EnduroSat revokes the refresh token, and with it the
			// login's access tokens; Formlabs the access token itself.
			r := tg.token(t, c)
			rev := postForm(t, c, tg.revokeURL, tg.revokeForm(r.str(tg.revokable)))
			require.Equal(t, tg.revokeOK, rev.status, "revocation: Do() status")
			return "Bearer " + r.str("access_token")
		}, http.StatusUnauthorized},
	}
	for _, vendor := range vendors {
		for _, tt := range tests {
			t.Run(vendor+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				tg := newTarget(t, vendor, true)
				c := tg.Client()
				h, api := handleAPI(tg, vendor)
				auth := tt.auth(t, tg, c)

				r := getResource(t, c, tg.url+api.path, auth)
				assert.Equal(t, tt.want, r.status, "Do() status")
				calls, id, pattern, gotAuth := h.seen()
				if tt.want == http.StatusOK {
					assert.Equal(t, 1, calls, "calls that reached the handler")
					assert.Equal(t, api.id, id, "handler's PathValue(id)")
					assert.Equal(t, api.pattern, pattern, "handler's Pattern")
					assert.Equal(t, auth, gotAuth, "handler's Authorization header")
					assert.Equal(t, api.id, r.str("id"), "the handler's answer")
					return
				}
				assert.Zero(t, calls, "calls that reached the handler")
				assert.Equal(t, `Bearer error="invalid_token"`, r.header.Get("WWW-Authenticate"), "WWW-Authenticate")
				assert.Equal(t, "application/json", r.header.Get("Content-Type"), "Content-Type")
				assert.Equal(t, "invalid_token", r.str("error"), "the body's error")
				assert.Zero(t, tg.ResourceRequests(), "ResourceRequests()")
			})
		}
	}
}

// A token reaches the handler until it expires by the fake's clock.
func TestHandleTokenExpiry(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				tg := newTarget(t, vendor, false)
				tg.SetTokenLifetime(10 * time.Minute)
				c := tg.InProcessClient()
				h, api := handleAPI(tg, vendor)
				auth := "Bearer " + tg.token(t, c).str("access_token")

				time.Sleep(10*time.Minute - time.Second)
				assert.Equal(t, http.StatusOK, getResource(t, c, tg.url+api.path, auth).status, "a second before expiry: Do() status")
				time.Sleep(time.Second)
				r := getResource(t, c, tg.url+api.path, auth)
				assert.Equal(t, http.StatusUnauthorized, r.status, "at expiry: Do() status")
				assert.Equal(t, `Bearer error="invalid_token"`, r.header.Get("WWW-Authenticate"), "at expiry: WWW-Authenticate")
				calls, _, _, _ := h.seen()
				assert.Equal(t, 1, calls, "calls that reached the handler")
			})
		})
	}
}

// Handle leaves the token and revocation endpoints alone, even under a
// catch-all pattern.
func TestHandleKeepsOwnEndpoints(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, true)
			c := tg.Client()
			h := &apiHandler{}
			tg.Handle("/", h)

			tok := tg.token(t, c)
			rev := postForm(t, c, tg.revokeURL, tg.revokeForm(tok.str(tg.revokable)))
			assert.Equal(t, tg.revokeOK, rev.status, "revocation: Do() status")
			get := send(t, c, newRequest(t, http.MethodGet, tg.tokenURL, tg.tokenForm))
			assert.Equal(t, http.StatusMethodNotAllowed, get.status, "GET of the token endpoint: Do() status")
			assert.Equal(t, "invalid_request", get.str("error"), "GET of the token endpoint: error")
			calls, _, _, _ := h.seen()
			assert.Zero(t, calls, "calls that reached the catch-all")
			assert.Equal(t, 2, tg.TokenRequests(), "TokenRequests()")
			assert.Equal(t, 1, tg.RevokeRequests(), "RevokeRequests()")

			fresh := "Bearer " + tg.token(t, c).str("access_token")
			assert.Equal(t, http.StatusOK, getResource(t, c, tg.url+"/anything/else", fresh).status, "another path: Do() status")
			calls, _, pattern, _ := h.seen()
			assert.Equal(t, 1, calls, "calls that reached the catch-all")
			assert.Equal(t, "/", pattern, "the catch-all's Pattern")
		})
	}
}

// Handle's patterns take precedence over the fake's resource; requests for
// its path that match none still reach it.
func TestHandleResourcePrecedence(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, true)
			c := tg.Client()
			auth := "Bearer " + tg.token(t, c).str("access_token")
			handleAPI(tg, vendor)

			r := getResource(t, c, tg.ResourceURL(), auth)
			assert.Equal(t, http.StatusOK, r.status, "resource beside another pattern: Do() status")
			assert.True(t, r.has(tg.resourceKey), "resource beside another pattern: the vendor's listing")
			assert.Equal(t, 1, tg.ResourceRequests(), "ResourceRequests()")

			h := &apiHandler{}
			path := strings.TrimPrefix(tg.ResourceURL(), tg.url)
			tg.Handle("GET "+path, h)
			r = getResource(t, c, tg.ResourceURL(), auth)
			assert.Equal(t, http.StatusOK, r.status, "GET of the resource's path: Do() status")
			assert.False(t, r.has(tg.resourceKey), "GET of the resource's path: answered by the fake's resource")
			calls, _, _, _ := h.seen()
			assert.Equal(t, 1, calls, "calls that reached the handler")
			assert.Equal(t, 1, tg.ResourceRequests(), "ResourceRequests() after a GET the handler took")

			req := newRequest(t, http.MethodPost, tg.ResourceURL(), nil)
			req.Header.Set("Authorization", auth)
			r = send(t, c, req)
			assert.Equal(t, http.StatusOK, r.status, "POST to the resource's path: Do() status")
			assert.True(t, r.has(tg.resourceKey), "POST to the resource's path: the vendor's listing")
			assert.Equal(t, 2, tg.ResourceRequests(), "ResourceRequests() after a POST no pattern matches")
		})
	}
}

// Paths that match no pattern get the fake's JSON 404, or 405 with Allow.
func TestHandleNoMatch(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, false)
			c := tg.InProcessClient()
			h, api := handleAPI(tg, vendor)
			auth := "Bearer " + tg.token(t, c).str("access_token")

			r := getResource(t, c, tg.url+"/no/such/path", auth)
			assert.Equal(t, http.StatusNotFound, r.status, "unknown path: Do() status")
			assert.Equal(t, "not_found", r.str("error"), "unknown path: error")

			req := newRequest(t, http.MethodDelete, tg.url+api.path, nil)
			req.Header.Set("Authorization", auth)
			r = send(t, c, req)
			assert.Equal(t, http.StatusMethodNotAllowed, r.status, "DELETE of a GET pattern: Do() status")
			assert.Equal(t, "GET, HEAD", r.header.Get("Allow"), "DELETE of a GET pattern: Allow")
			assert.Equal(t, "invalid_request", r.str("error"), "DELETE of a GET pattern: error")

			r = getResource(t, c, tg.tokenURL+"x", auth)
			assert.Equal(t, http.StatusNotFound, r.status, "token path with a suffix: Do() status")
			calls, _, _, _ := h.seen()
			assert.Zero(t, calls, "calls that reached the handler")
		})
	}
}

// Handle panics as ServeMux does, and for patterns that could match only
// requests for the token or revocation endpoint; other patterns that
// overlap them are accepted.
func TestHandlePanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		vendor    string
		pattern   string
		wantPanic bool
	}{
		{enduroSat, "/oauth2/token", true},
		{enduroSat, "POST /oauth2/token", true},
		{enduroSat, "GET /oauth2/revoke", true},
		{enduroSat, "127.0.0.1/oauth2/token", true},
		{enduroSat, "POST /oauth2/tok%65n", true},
		{enduroSat, "", true},
		{enduroSat, "GET /v1/passes/{id", true},
		{enduroSat, "G@T /v1/passes", true},
		{enduroSat, "/", false},
		{enduroSat, "GET /", false},
		{enduroSat, "/oauth2/", false},
		{enduroSat, "POST /oauth2/token/", false},
		{enduroSat, "POST /oauth2/{endpoint}", false},
		{enduroSat, "/v1/satellites", false},
		{formlabs, "/developer/v1/o/token/{$}", true},
		{formlabs, "POST /developer/v1/o/token/{$}", true},
		{formlabs, "POST /developer/v1/o/revoke_token/{$}", true},
		{formlabs, "/developer/v1/o/token/", false},
		{formlabs, "POST /developer/v1/o/token", false},
		{formlabs, "GET /developer/v1/", false},
		{formlabs, "POST /developer/v1/o/{endpoint}/", false},
		{formlabs, "/developer/v1/printers/{$}", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%q", tt.vendor, tt.pattern), func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, tt.vendor, false)
			h := &apiHandler{}
			got := panicValue(func() { tg.Handle(tt.pattern, h) })
			if !tt.wantPanic {
				assert.Nil(t, got, "Handle() panic")
			} else if assert.NotNil(t, got, "Handle() panic") {
				assert.True(t, strings.HasPrefix(fmt.Sprint(got), "vendoroauthtest: "), "Handle() panic = %q, want it prefixed vendoroauthtest: ", got)
			}
			c := tg.InProcessClient()
			tok := tg.token(t, c)
			rev := postForm(t, c, tg.revokeURL, tg.revokeForm(tok.str(tg.revokable)))
			assert.Equal(t, tg.revokeOK, rev.status, "revocation after Handle(): Do() status")
			calls, _, _, _ := h.seen()
			assert.Zero(t, calls, "token and revocation requests that reached the handler")
		})
	}
}

func TestHandlePanicsOnConflictAndNil(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, false)
			api := userAPIs[vendor]
			assert.Panics(t, func() { tg.Handle(api.pattern, nil) }, "Handle() with a nil handler")
			first := &apiHandler{}
			tg.Handle(api.pattern, first)
			got := panicValue(func() { tg.Handle(api.pattern, &apiHandler{}) })
			require.NotNil(t, got, "Handle() of the same pattern again: panic")
			assert.Contains(t, fmt.Sprint(got), "conflicts with", "Handle() of the same pattern again: panic")

			c := tg.InProcessClient()
			auth := "Bearer " + tg.token(t, c).str("access_token")
			assert.Equal(t, http.StatusOK, getResource(t, c, tg.url+api.path, auth).status, "Do() status after the panics")
			calls, _, _, _ := first.seen()
			assert.Equal(t, 1, calls, "calls that reached the first handler")
		})
	}
}

// Handle may be called while requests run (go test -race checks it).
func TestHandleConcurrent(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, true)
			c := tg.Client()
			h, api := handleAPI(tg, vendor)
			auth := "Bearer " + tg.token(t, c).str("access_token")
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Go(func() { tg.Handle(fmt.Sprintf("GET /extra/%d", i), &apiHandler{}) })
				wg.Go(func() {
					req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, tg.url+api.path, nil)
					if !assert.NoError(t, err, "NewRequestWithContext()") {
						return
					}
					req.Header.Set("Authorization", auth)
					resp, err := c.Do(req)
					if assert.NoError(t, err, "Do()") {
						resp.Body.Close()
						assert.Equal(t, http.StatusOK, resp.StatusCode, "Do() status")
					}
				})
			}
			wg.Wait()
			calls, _, _, _ := h.seen()
			assert.Equal(t, 20, calls, "calls that reached the handler")
			assert.Equal(t, http.StatusOK, getResource(t, c, tg.url+"/extra/7", auth).status, "a pattern added concurrently: Do() status")
		})
	}
}

// panicValue returns what f panics with, or nil.
func panicValue(f func()) (p any) {
	defer func() { p = recover() }()
	f()
	return nil
}
