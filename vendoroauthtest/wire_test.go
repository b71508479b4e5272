package vendoroauthtest_test

import (
	"net/http"
	"testing"
)

// Every JSON answer of either fake, a token or an error, has the same
// headers, and every error is an RFC 6749 error object.
func TestJSONAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		send       func(t *testing.T, tg *target, c *http.Client) reply
		wantStatus int
		wantError  string // "" for a token
	}{
		{"token", func(t *testing.T, tg *target, c *http.Client) reply {
			return postForm(t, c, tg.tokenURL, tg.tokenForm)
		}, http.StatusOK, ""},
		{"token, GET", func(t *testing.T, tg *target, c *http.Client) reply {
			return send(t, c, newRequest(t, http.MethodGet, tg.tokenURL, tg.tokenForm))
		}, http.StatusMethodNotAllowed, "invalid_request"},
		{"token, repeated field", func(t *testing.T, tg *target, c *http.Client) reply {
			return postForm(t, c, tg.tokenURL, plusField(tg.tokenForm, "client_id", "x"))
		}, http.StatusBadRequest, "invalid_request"},
		{"token, unknown client", func(t *testing.T, tg *target, c *http.Client) reply {
			return postForm(t, c, tg.tokenURL, withField(tg.tokenForm, "client_id", "someone-else"))
		}, http.StatusUnauthorized, "invalid_client"},
		{"revoke, GET", func(t *testing.T, tg *target, c *http.Client) reply {
			return send(t, c, newRequest(t, http.MethodGet, tg.revokeURL, tg.revokeForm("x")))
		}, http.StatusMethodNotAllowed, "invalid_request"},
		{"resource, no token", func(t *testing.T, tg *target, c *http.Client) reply {
			return getResource(t, c, tg.ResourceURL(), "")
		}, http.StatusUnauthorized, "invalid_token"},
		{"unknown path", func(t *testing.T, tg *target, c *http.Client) reply {
			return postForm(t, c, tg.url+"/nope", tg.tokenForm)
		}, http.StatusNotFound, "not_found"},
	}
	for _, vendor := range vendors {
		for _, tt := range tests {
			t.Run(vendor+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				tg := newTarget(t, vendor, true)
				r := tt.send(t, tg, tg.Client())
				if r.status != tt.wantStatus {
					t.Errorf("Do() status = %d, want %d (error %q)", r.status, tt.wantStatus, r.str("error"))
				}
				if got := r.header.Get("Content-Type"); got != "application/json" {
					t.Errorf("Do() Content-Type = %q, want %q", got, "application/json")
				}
				if got := r.header.Get("Cache-Control"); got != "no-store" {
					t.Errorf("Do() Cache-Control = %q, want %q", got, "no-store")
				}
				if r.fields == nil {
					t.Fatalf("Do() body is not a JSON object")
				}
				if got := r.str("error"); got != tt.wantError {
					t.Errorf("Do() error = %q, want %q", got, tt.wantError)
				}
				if tt.wantError != "" && r.has("access_token") {
					t.Errorf("an error answer holds an access token")
				}
				if tt.wantError == "" && r.has("error_description") {
					t.Errorf("a token answer has error_description")
				}
			})
		}
	}
}
