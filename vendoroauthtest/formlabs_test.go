package vendoroauthtest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// openFormlabs starts a Formlabs fake for t.
func openFormlabs(t *testing.T) (base string, c *http.Client, rt string) {
	t.Helper()
	s := vendoroauthtest.NewFormlabs(fabClientID, fabSecret)
	t.Cleanup(s.Close)
	return s.URL, s.Client(), ""
}

// Formlabs runs Django OAuth Toolkit, which reads the fields only from a
// form body: a body of another type has no grant_type, hence
// unsupported_grant_type, and missing client credentials are invalid_client
// (the Formlabs type's documentation).
func TestFormlabsTokenRejections(t *testing.T) {
	t.Parallel()
	grant := fabTokenForm()
	tests := []rejectCase{
		{name: "control: client_credentials grant", path: fabTokenPath, form: grant, wantStatus: http.StatusOK},
		{name: "control: charset parameter", path: fabTokenPath, form: grant, edit: contentType(formType + "; charset=utf-8"), wantStatus: http.StatusOK},
		{name: "GET", method: http.MethodGet, path: fabTokenPath, form: grant, wantStatus: http.StatusMethodNotAllowed, wantError: "invalid_request"},
		{name: "DELETE", method: http.MethodDelete, path: fabTokenPath, form: grant, wantStatus: http.StatusMethodNotAllowed, wantError: "invalid_request"},
		{name: "JSON body", path: fabTokenPath, form: grant, edit: asJSON, wantStatus: http.StatusBadRequest, wantError: "unsupported_grant_type"},
		{name: "JSON content type on a form body", path: fabTokenPath, form: grant, edit: contentType("application/json"), wantStatus: http.StatusBadRequest, wantError: "unsupported_grant_type"},
		{name: "text/plain content type", path: fabTokenPath, form: grant, edit: contentType("text/plain"), wantStatus: http.StatusBadRequest, wantError: "unsupported_grant_type"},
		{name: "no content type", path: fabTokenPath, form: grant, edit: contentType(""), wantStatus: http.StatusBadRequest, wantError: "unsupported_grant_type"},
		{name: "fields in the query string", path: fabTokenPath, form: grant, edit: inQuery, wantStatus: http.StatusBadRequest, wantError: "unsupported_grant_type"},
		{name: "without grant_type", path: fabTokenPath, form: withoutField(grant, "grant_type"), wantStatus: http.StatusBadRequest, wantError: "unsupported_grant_type"},
		{name: "without client_id", path: fabTokenPath, form: withoutField(grant, "client_id"), wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		{name: "without client_secret", path: fabTokenPath, form: withoutField(grant, "client_secret"), wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		{name: "empty client_secret", path: fabTokenPath, form: withField(grant, "client_secret", ""), wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		{name: "HTTP Basic auth and form credentials", path: fabTokenPath, form: grant, edit: basicAuth(fabClientID, fabSecret), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		{name: "HTTP Basic auth only", path: fabTokenPath, form: pairs("grant_type", "client_credentials"), edit: basicAuth(fabClientID, fabSecret), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		{name: "grant password", path: fabTokenPath, form: withField(grant, "grant_type", "password"), wantStatus: http.StatusBadRequest, wantError: "unsupported_grant_type"},
		{name: "grant refresh_token", path: fabTokenPath, form: withField(grant, "grant_type", "refresh_token"), wantStatus: http.StatusBadRequest, wantError: "unsupported_grant_type"},
		{name: "wrong client_id", path: fabTokenPath, form: withField(grant, "client_id", "someone-else"), wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		{name: "wrong client_secret", path: fabTokenPath, form: withField(grant, "client_secret", "cs-SECRET-wrong-one"), wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		{name: "client_secret in another case", path: fabTokenPath, form: withField(grant, "client_secret", strings.ToUpper(fabSecret)), wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		{name: "client_secret prefix", path: fabTokenPath, form: withField(grant, "client_secret", fabSecret[:len(fabSecret)-1]), wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		{name: "path without the trailing slash", path: strings.TrimSuffix(fabTokenPath, "/"), form: grant, wantStatus: http.StatusNotFound},
		{name: "EnduroSat token path", path: satTokenPath, form: grant, wantStatus: http.StatusNotFound},
	}
	for _, k := range []string{"grant_type", "client_id", "client_secret"} {
		tests = append(tests,
			rejectCase{name: k + " twice", path: fabTokenPath, form: plusField(grant, k, grant.Get(k)), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		)
	}
	runRejectCases(t, openFormlabs, tests)
}

func TestFormlabsRevokeRejections(t *testing.T) {
	t.Parallel()
	revoke := fabRevokeForm("at-SECRET-never-issued")
	tests := []rejectCase{
		{name: "control: unknown token", path: fabRevokePath, form: revoke, wantStatus: http.StatusOK},
		{name: "GET", method: http.MethodGet, path: fabRevokePath, form: revoke, wantStatus: http.StatusMethodNotAllowed, wantError: "invalid_request"},
		// The client is checked before the token.
		{name: "without client credentials", path: fabRevokePath, form: pairs("token", "at-SECRET-never-issued"), wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		{name: "without client_id", path: fabRevokePath, form: withoutField(revoke, "client_id"), wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		{name: "without client_secret", path: fabRevokePath, form: withoutField(revoke, "client_secret"), wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		{name: "wrong client_secret", path: fabRevokePath, form: withField(revoke, "client_secret", "cs-SECRET-wrong-one"), wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		{name: "JSON body", path: fabRevokePath, form: revoke, edit: asJSON, wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		{name: "without token", path: fabRevokePath, form: withoutField(revoke, "token"), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		{name: "empty token", path: fabRevokePath, form: withField(revoke, "token", ""), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		{name: "path without the trailing slash", path: strings.TrimSuffix(fabRevokePath, "/"), form: revoke, wantStatus: http.StatusNotFound},
	}
	for _, k := range []string{"token", "client_id", "client_secret"} {
		tests = append(tests,
			rejectCase{name: k + " twice", path: fabRevokePath, form: plusField(revoke, k, revoke.Get(k)), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		)
	}
	runRejectCases(t, openFormlabs, tests)
}

func TestFormlabsClientCredentials(t *testing.T) {
	t.Parallel()
	s := vendoroauthtest.NewFormlabs(fabClientID, fabSecret)
	t.Cleanup(s.Close)
	c := s.Client()

	r := postForm(t, c, s.URL+fabTokenPath, fabTokenForm())
	require.Equalf(t, http.StatusOK, r.status, "Do() status (error %q)", r.str("error"))
	if r.str("access_token") == "" {
		t.Errorf("token response has no access_token")
	}
	if got := r.str("token_type"); got != "Bearer" {
		t.Errorf("token_type = %q, want %q", got, "Bearer")
	}
	if got := r.str("scope"); got != "developer-api" {
		t.Errorf("scope = %q, want %q", got, "developer-api")
	}
	if got, ok := r.fields["expires_in"].(json.Number); !ok || got.String() != "86400" {
		t.Errorf("expires_in = %v, want the integer 86400", r.fields["expires_in"])
	}
	for _, k := range []string{"refresh_token", "id_token"} {
		if r.has(k) {
			t.Errorf("token response has %s, want none", k)
		}
	}

	second := postForm(t, c, s.URL+fabTokenPath, fabTokenForm())
	if second.str("access_token") == r.str("access_token") {
		t.Errorf("two token requests returned the same access token")
	}
	for i, tok := range []string{r.str("access_token"), second.str("access_token")} {
		if got := getResource(t, c, s.ResourceURL(), "Bearer "+tok); got.status != http.StatusOK {
			t.Errorf("resource with token %d: Do() status = %d, want %d", i+1, got.status, http.StatusOK)
		}
	}
	if got := s.TokenRequestsByGrant("client_credentials"); got != 2 {
		t.Errorf("TokenRequestsByGrant(%q) = %d, want 2", "client_credentials", got)
	}
}

func TestFormlabsRevoke(t *testing.T) {
	t.Parallel()
	s := vendoroauthtest.NewFormlabs(fabClientID, fabSecret)
	t.Cleanup(s.Close)
	c := s.Client()
	revoked := postForm(t, c, s.URL+fabTokenPath, fabTokenForm()).str("access_token")
	kept := postForm(t, c, s.URL+fabTokenPath, fabTokenForm()).str("access_token")

	r := postForm(t, c, s.URL+fabRevokePath, fabRevokeForm(revoked))
	if r.status != http.StatusOK || len(r.raw) != 0 {
		t.Fatalf("revoke: Do() status = %d with %d body bytes, want %d and none", r.status, len(r.raw), http.StatusOK)
	}
	if got := s.LastRevokeForm(); got.Get("token") != revoked || got.Get("client_secret") != fabSecret {
		t.Errorf("LastRevokeForm() is not the revocation sent")
	}

	res := getResource(t, c, s.ResourceURL(), "Bearer "+revoked)
	if res.status != http.StatusUnauthorized {
		t.Errorf("resource with the revoked token: Do() status = %d, want %d", res.status, http.StatusUnauthorized)
	}
	if got := res.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
		t.Errorf("resource with the revoked token: WWW-Authenticate = %q, want a Bearer challenge", got)
	}
	if got := getResource(t, c, s.ResourceURL(), "Bearer "+kept); got.status != http.StatusOK {
		t.Errorf("resource with another token: Do() status = %d, want %d", got.status, http.StatusOK)
	}
	if got := postForm(t, c, s.URL+fabRevokePath, fabRevokeForm(revoked)); got.status != http.StatusOK {
		t.Errorf("revoke again: Do() status = %d, want %d", got.status, http.StatusOK)
	}
	if got := s.RevokeRequests(); got != 2 {
		t.Errorf("RevokeRequests() = %d, want 2", got)
	}
}

// Two clients: each gets tokens only with its own secret, and TokenOwner
// names the client a token was issued to.
func TestFormlabsTwoClients(t *testing.T) {
	t.Parallel()
	const (
		otherClient = "fab-night-shift"
		otherSecret = "cs-SECRET-other-0c6e"
	)
	s := vendoroauthtest.NewFormlabs(fabClientID, fabSecret)
	t.Cleanup(s.Close)
	s.AddClient(otherClient, otherSecret)
	c := s.Client()

	for _, tt := range []struct{ id, secret string }{{fabClientID, fabSecret}, {otherClient, otherSecret}} {
		r := postForm(t, c, s.URL+fabTokenPath, withField(withField(fabTokenForm(), "client_id", tt.id), "client_secret", tt.secret))
		require.Equal(t, http.StatusOK, r.status, "%s: token status", tt.id)
		assert.Equal(t, tt.id, s.TokenOwner(r.str("access_token")), "TokenOwner(access token)")
	}
	crossed := postForm(t, c, s.URL+fabTokenPath, withField(fabTokenForm(), "client_id", otherClient))
	assert.Equal(t, http.StatusUnauthorized, crossed.status, "another client's secret: status")
}
