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
	assert.NotEmpty(t, r.str("access_token"), "token response: access_token")
	assert.Equal(t, "Bearer", r.str("token_type"), "token response: token_type")
	assert.Equal(t, "developer-api", r.str("scope"), "token response: scope")
	assert.Equal(t, json.Number("86400"), r.fields["expires_in"], "token response: expires_in, want the integer 86400")
	for _, k := range []string{"refresh_token", "id_token"} {
		assert.False(t, r.has(k), "token response has %s, want none", k)
	}

	second := postForm(t, c, s.URL+fabTokenPath, fabTokenForm())
	assert.NotEqual(t, r.str("access_token"), second.str("access_token"), "second token request: access_token, want one other than the first's")
	for i, tok := range []string{r.str("access_token"), second.str("access_token")} {
		assert.Equal(t, http.StatusOK, getResource(t, c, s.ResourceURL(), "Bearer "+tok).status, "resource with token %d: Do() status", i+1)
	}
	assert.Equal(t, 2, s.TokenRequestsByGrant("client_credentials"), "TokenRequestsByGrant(%q)", "client_credentials")
}

func TestFormlabsRevoke(t *testing.T) {
	t.Parallel()
	s := vendoroauthtest.NewFormlabs(fabClientID, fabSecret)
	t.Cleanup(s.Close)
	c := s.Client()
	revoked := postForm(t, c, s.URL+fabTokenPath, fabTokenForm()).str("access_token")
	kept := postForm(t, c, s.URL+fabTokenPath, fabTokenForm()).str("access_token")

	r := postForm(t, c, s.URL+fabRevokePath, fabRevokeForm(revoked))
	require.Equal(t, http.StatusOK, r.status, "revoke: Do() status")
	require.Empty(t, r.raw, "revoke: Do() body")
	sent := s.LastRevokeForm()
	assert.Equal(t, revoked, sent.Get("token"), "LastRevokeForm() token")
	assert.Equal(t, fabSecret, sent.Get("client_secret"), "LastRevokeForm() client_secret")

	res := getResource(t, c, s.ResourceURL(), "Bearer "+revoked)
	assert.Equal(t, http.StatusUnauthorized, res.status, "resource with the revoked token: Do() status")
	wwwAuth := res.header.Get("WWW-Authenticate")
	assert.True(t, strings.HasPrefix(wwwAuth, "Bearer"), "resource with the revoked token: WWW-Authenticate = %q, want a Bearer challenge", wwwAuth)
	assert.Equal(t, http.StatusOK, getResource(t, c, s.ResourceURL(), "Bearer "+kept).status, "resource with another token: Do() status")
	assert.Equal(t, http.StatusOK, postForm(t, c, s.URL+fabRevokePath, fabRevokeForm(revoked)).status, "revoke again: Do() status")
	assert.Equal(t, 2, s.RevokeRequests(), "RevokeRequests()")
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
