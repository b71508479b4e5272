package vendoroauthtest_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// openEnduroSat starts an EnduroSat fake for t and logs in once, for a live
// refresh token.
func openEnduroSat(t *testing.T) (base string, c *http.Client, rt string) {
	t.Helper()
	s := vendoroauthtest.NewEnduroSat(satClientID, satUser, satPassword)
	t.Cleanup(s.Close)
	c = s.Client()
	login := postForm(t, c, s.URL+satTokenPath, satLoginForm())
	require.Equal(t, http.StatusOK, login.status, "login: Do() status")
	require.NotEmpty(t, login.str("refresh_token"), "login: refresh_token")
	return s.URL, c, login.str("refresh_token")
}

func TestEnduroSatTokenRejections(t *testing.T) {
	t.Parallel()
	login := satLoginForm()
	refresh := satRefreshForm(liveRefreshToken)
	tests := []rejectCase{
		{name: "control: password grant", path: satTokenPath, form: login, wantStatus: http.StatusOK},
		{name: "control: refresh grant", path: satTokenPath, form: refresh, wantStatus: http.StatusOK},
		{name: "control: charset parameter", path: satTokenPath, form: login, edit: contentType(formType + "; charset=utf-8"), wantStatus: http.StatusOK},
		{name: "GET", method: http.MethodGet, path: satTokenPath, form: login, wantStatus: http.StatusMethodNotAllowed, wantError: "invalid_request"},
		{name: "PUT", method: http.MethodPut, path: satTokenPath, form: login, wantStatus: http.StatusMethodNotAllowed, wantError: "invalid_request"},
		{name: "JSON body", path: satTokenPath, form: login, edit: asJSON, wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		{name: "JSON content type on a form body", path: satTokenPath, form: login, edit: contentType("application/json"), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		{name: "text/plain content type", path: satTokenPath, form: login, edit: contentType("text/plain"), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		{name: "no content type", path: satTokenPath, form: login, edit: contentType(""), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		{name: "fields in the query string", path: satTokenPath, form: login, edit: inQuery, wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		{name: "HTTP Basic auth", path: satTokenPath, form: login, edit: basicAuth(satClientID, "basic-SECRET-1234"), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		{name: "client_secret sent", path: satTokenPath, form: plusField(login, "client_secret", "cs-SECRET-to-endurosat"), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		{name: "empty client_secret sent", path: satTokenPath, form: plusField(login, "client_secret", ""), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		{name: "client_secret sent on refresh", path: satTokenPath, form: plusField(refresh, "client_secret", "cs-SECRET-to-endurosat"), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		{name: "grant client_credentials", path: satTokenPath, form: withField(login, "grant_type", "client_credentials"), wantStatus: http.StatusBadRequest, wantError: "unsupported_grant_type"},
		// The grant type is checked before the grant's own fields.
		{name: "grant client_credentials without username or password", path: satTokenPath, form: pairs("grant_type", "client_credentials", "client_id", satClientID), wantStatus: http.StatusBadRequest, wantError: "unsupported_grant_type"},
		{name: "grant authorization_code", path: satTokenPath, form: withField(login, "grant_type", "authorization_code"), wantStatus: http.StatusBadRequest, wantError: "unsupported_grant_type"},
		{name: "unknown client", path: satTokenPath, form: withField(login, "client_id", "someone-else"), wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		{name: "unknown client on refresh", path: satTokenPath, form: withField(refresh, "client_id", "someone-else"), wantStatus: http.StatusUnauthorized, wantError: "invalid_client"},
		{name: "wrong password", path: satTokenPath, form: withField(login, "password", "pw-SECRET-wrong-one"), wantStatus: http.StatusUnauthorized, wantError: "invalid_grant"},
		{name: "password in another case", path: satTokenPath, form: withField(login, "password", "PW-SECRET-9F3E1C77"), wantStatus: http.StatusUnauthorized, wantError: "invalid_grant"},
		{name: "wrong username", path: satTokenPath, form: withField(login, "username", "intruder@example.org"), wantStatus: http.StatusUnauthorized, wantError: "invalid_grant"},
		{name: "unknown refresh token", path: satTokenPath, form: satRefreshForm("rt-SECRET-never-issued"), wantStatus: http.StatusBadRequest, wantError: "invalid_grant"},
		{name: "path with a trailing slash", path: satTokenPath + "/", form: login, wantStatus: http.StatusNotFound},
		{name: "authorize path", path: "/oauth2/authorize", form: login, wantStatus: http.StatusNotFound},
		{name: "Formlabs token path", path: fabTokenPath, form: login, wantStatus: http.StatusNotFound},
	}
	for _, k := range []string{"grant_type", "client_id", "username", "password"} {
		tests = append(tests,
			rejectCase{name: "password grant without " + k, path: satTokenPath, form: withoutField(login, k), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
			rejectCase{name: "password grant with empty " + k, path: satTokenPath, form: withField(login, k, ""), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
			rejectCase{name: "password grant with " + k + " twice", path: satTokenPath, form: plusField(login, k, login.Get(k)), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		)
	}
	for _, k := range []string{"grant_type", "client_id", "refresh_token"} {
		tests = append(tests,
			rejectCase{name: "refresh grant without " + k, path: satTokenPath, form: withoutField(refresh, k), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
			rejectCase{name: "refresh grant with empty " + k, path: satTokenPath, form: withField(refresh, k, ""), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
			rejectCase{name: "refresh grant with " + k + " twice", path: satTokenPath, form: plusField(refresh, k, refresh.Get(k)), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		)
	}
	runRejectCases(t, openEnduroSat, tests)
}

func TestEnduroSatRevokeRejections(t *testing.T) {
	t.Parallel()
	revoke := satRevokeForm(liveRefreshToken)
	tests := []rejectCase{
		{name: "control: live refresh token", path: satRevokePath, form: revoke, wantStatus: http.StatusNoContent},
		{name: "control: unknown token", path: satRevokePath, form: satRevokeForm("rt-SECRET-never-issued"), wantStatus: http.StatusNoContent},
		{name: "GET", method: http.MethodGet, path: satRevokePath, form: revoke, wantStatus: http.StatusMethodNotAllowed, wantError: "invalid_request"},
		{name: "JSON body", path: satRevokePath, form: revoke, edit: asJSON, wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		{name: "unknown client", path: satRevokePath, form: withField(revoke, "client_id", "someone-else"), wantStatus: http.StatusBadRequest, wantError: "invalid_client"},
		{name: "revoke path with a trailing slash", path: satRevokePath + "/", form: revoke, wantStatus: http.StatusNotFound},
	}
	for _, k := range []string{"client_id", "token"} {
		tests = append(tests,
			rejectCase{name: "without " + k, path: satRevokePath, form: withoutField(revoke, k), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
			rejectCase{name: k + " twice", path: satRevokePath, form: plusField(revoke, k, revoke.Get(k)), wantStatus: http.StatusBadRequest, wantError: "invalid_request"},
		)
	}
	runRejectCases(t, openEnduroSat, tests)
}

func TestEnduroSatPasswordGrant(t *testing.T) {
	t.Parallel()
	s := vendoroauthtest.NewEnduroSat(satClientID, satUser, satPassword)
	t.Cleanup(s.Close)
	c := s.Client()

	r := postForm(t, c, s.URL+satTokenPath, satLoginForm())
	require.Equalf(t, http.StatusOK, r.status, "Do() status (error %q)", r.str("error"))
	for _, k := range []string{"access_token", "id_token", "refresh_token"} {
		if r.str(k) == "" {
			t.Errorf("token response has no %s", k)
		}
	}
	if r.str("access_token") == r.str("refresh_token") {
		t.Errorf("token response: access_token and refresh_token are the same")
	}
	if got := r.str("token_type"); got != "Bearer" {
		t.Errorf("token_type = %q, want %q", got, "Bearer")
	}
	if got, ok := r.fields["expires_in"].(json.Number); !ok || got.String() != "3600" {
		t.Errorf("expires_in = %v, want the integer 3600", r.fields["expires_in"])
	}
	claims := jwtSegment(r.str("id_token"), 1)
	if claims["aud"] != satClientID || claims["sub"] != satUser || claims["token_use"] != "id" {
		t.Errorf("id_token claims aud, sub, token_use = %v, %v, %v; want %q, %q, %q",
			claims["aud"], claims["sub"], claims["token_use"], satClientID, satUser, "id")
	}
	if got := getResource(t, c, s.ResourceURL(), "Bearer "+r.str("access_token")); got.status != http.StatusOK {
		t.Errorf("resource: Do() status = %d, want %d", got.status, http.StatusOK)
	}
	if got := s.TokenRequestsByGrant("password"); got != 1 {
		t.Errorf("TokenRequestsByGrant(%q) = %d, want 1", "password", got)
	}
}

func TestEnduroSatRefresh(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		rotate bool
	}{
		{"without rotation", false},
		{"with rotation", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := vendoroauthtest.NewEnduroSat(satClientID, satUser, satPassword)
			t.Cleanup(s.Close)
			s.SetRotateRefreshTokens(tt.rotate)
			c, tokenURL := s.Client(), s.URL+satTokenPath
			login := postForm(t, c, tokenURL, satLoginForm())
			rt := login.str("refresh_token")
			require.Equal(t, http.StatusOK, login.status, "login: Do() status")
			require.NotEmpty(t, rt, "login: refresh_token")

			r := postForm(t, c, tokenURL, satRefreshForm(rt))
			require.Equalf(t, http.StatusOK, r.status, "refresh: Do() status (error %q)", r.str("error"))
			if r.str("access_token") == "" || r.str("access_token") == login.str("access_token") {
				t.Errorf("refresh: access_token is empty or the login's")
			}
			if r.str("id_token") == "" || r.str("token_type") != "Bearer" {
				t.Errorf("refresh: id_token empty or token_type = %q, want %q", r.str("token_type"), "Bearer")
			}
			if got := getResource(t, c, s.ResourceURL(), "Bearer "+r.str("access_token")); got.status != http.StatusOK {
				t.Errorf("resource with the refreshed token: Do() status = %d, want %d", got.status, http.StatusOK)
			}
			newRT := r.str("refresh_token")
			if got := r.has("refresh_token"); got != tt.rotate {
				t.Fatalf("refresh: response has refresh_token = %t, want %t", got, tt.rotate)
			}

			old := postForm(t, c, tokenURL, satRefreshForm(rt))
			if !tt.rotate {
				if old.status != http.StatusOK {
					t.Errorf("second refresh with the kept refresh token: Do() status = %d, want %d", old.status, http.StatusOK)
				}
				return
			}
			if newRT == rt {
				t.Errorf("rotation returned the same refresh token")
			}
			if old.status != http.StatusBadRequest || old.str("error") != "invalid_grant" {
				t.Errorf("refresh with the rotated-out token: Do() status = %d, error %q; want %d, %q",
					old.status, old.str("error"), http.StatusBadRequest, "invalid_grant")
			}
			next := postForm(t, c, tokenURL, satRefreshForm(newRT))
			if next.status != http.StatusOK || next.str("refresh_token") == "" || next.str("refresh_token") == newRT {
				t.Errorf("refresh with the new token: Do() status = %d, want %d and a third refresh token", next.status, http.StatusOK)
			}
			if got := s.TokenRequestsByGrant("refresh_token"); got != 3 {
				t.Errorf("TokenRequestsByGrant(%q) = %d, want 3", "refresh_token", got)
			}
		})
	}
}

// A refreshStep waits, then refreshes with the latest refresh token and
// expects want.
type refreshStep struct {
	wait time.Duration
	want int
}

func TestEnduroSatSetRefreshTokenLifetime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		rotate   bool
		lifetime time.Duration
		steps    []refreshStep
	}{
		{
			name: "dies at its lifetime", lifetime: 24 * time.Hour,
			steps: []refreshStep{{24*time.Hour - time.Second, http.StatusOK}, {time.Second, http.StatusBadRequest}},
		},
		{
			name: "rotated token keeps the login's issue time", rotate: true, lifetime: time.Hour,
			steps: []refreshStep{{40 * time.Minute, http.StatusOK}, {19 * time.Minute, http.StatusOK}, {time.Minute, http.StatusBadRequest}},
		},
		{
			name: "zero never expires", lifetime: 0,
			steps: []refreshStep{{10000 * time.Hour, http.StatusOK}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				s := vendoroauthtest.NewUnstartedEnduroSat(satClientID, satUser, satPassword)
				s.SetRotateRefreshTokens(tt.rotate)
				s.SetRefreshTokenLifetime(tt.lifetime)
				c, tokenURL := s.InProcessClient(), s.URL+satTokenPath
				login := postForm(t, c, tokenURL, satLoginForm())
				rt := login.str("refresh_token")
				require.NotEmptyf(t, rt, "login: refresh_token (Do() status %d)", login.status)
				for i, step := range tt.steps {
					time.Sleep(step.wait)
					r := postForm(t, c, tokenURL, satRefreshForm(rt))
					if r.status != step.want {
						t.Fatalf("refresh %d: Do() status = %d, want %d", i+1, r.status, step.want)
					}
					if r.status == http.StatusBadRequest && r.str("error") != "invalid_grant" {
						t.Errorf("refresh %d: Do() error = %q, want %q", i+1, r.str("error"), "invalid_grant")
					}
					if next := r.str("refresh_token"); next != "" {
						rt = next
					}
				}
				if r := postForm(t, c, tokenURL, satLoginForm()); r.status != http.StatusOK {
					t.Errorf("new login after the refresh token died: Do() status = %d, want %d", r.status, http.StatusOK)
				}
			})
		})
	}
}

func TestEnduroSatExpireRefreshTokens(t *testing.T) {
	t.Parallel()
	s := vendoroauthtest.NewEnduroSat(satClientID, satUser, satPassword)
	t.Cleanup(s.Close)
	c, tokenURL := s.Client(), s.URL+satTokenPath
	first := postForm(t, c, tokenURL, satLoginForm())
	require.Equal(t, http.StatusOK, first.status, "login: Do() status")

	s.ExpireRefreshTokens()

	if r := postForm(t, c, tokenURL, satRefreshForm(first.str("refresh_token"))); r.status != http.StatusBadRequest || r.str("error") != "invalid_grant" {
		t.Errorf("refresh with an expired refresh token: Do() status = %d, error %q; want %d, %q",
			r.status, r.str("error"), http.StatusBadRequest, "invalid_grant")
	}
	if r := getResource(t, c, s.ResourceURL(), "Bearer "+first.str("access_token")); r.status != http.StatusOK {
		t.Errorf("resource with the access token of that login: Do() status = %d, want %d", r.status, http.StatusOK)
	}
	second := postForm(t, c, tokenURL, satLoginForm())
	if r := postForm(t, c, tokenURL, satRefreshForm(second.str("refresh_token"))); r.status != http.StatusOK {
		t.Errorf("refresh with a refresh token issued afterwards: Do() status = %d, want %d", r.status, http.StatusOK)
	}
}

func TestEnduroSatRevoke(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		rotate bool
	}{
		{"without rotation", false},
		{"with rotation", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := vendoroauthtest.NewEnduroSat(satClientID, satUser, satPassword)
			t.Cleanup(s.Close)
			s.SetRotateRefreshTokens(tt.rotate)
			c, tokenURL := s.Client(), s.URL+satTokenPath

			// Login A, refreshed once; login B.
			a1 := postForm(t, c, tokenURL, satLoginForm())
			a2 := postForm(t, c, tokenURL, satRefreshForm(a1.str("refresh_token")))
			b := postForm(t, c, tokenURL, satLoginForm())
			require.Equal(t, []int{http.StatusOK, http.StatusOK, http.StatusOK}, []int{a1.status, a2.status, b.status}, "setup: Do() statuses")
			aRT := a1.str("refresh_token")
			if tt.rotate {
				aRT = a2.str("refresh_token")
			}

			r := postForm(t, c, s.URL+satRevokePath, satRevokeForm(aRT))
			if r.status != http.StatusNoContent || len(r.raw) != 0 {
				t.Fatalf("revoke: Do() status = %d with %d body bytes, want %d and none", r.status, len(r.raw), http.StatusNoContent)
			}
			if got := s.LastRevokeForm(); got.Get("client_id") != satClientID || got.Get("token") != aRT {
				t.Errorf("LastRevokeForm() is not the revocation sent")
			}
			if got := s.RevokeRequests(); got != 1 {
				t.Errorf("RevokeRequests() = %d, want 1", got)
			}

			for _, at := range []struct {
				name, tok string
				want      int
			}{
				{"login A's first access token", a1.str("access_token"), http.StatusUnauthorized},
				{"login A's refreshed access token", a2.str("access_token"), http.StatusUnauthorized},
				{"login B's access token", b.str("access_token"), http.StatusOK},
			} {
				if got := getResource(t, c, s.ResourceURL(), "Bearer "+at.tok); got.status != at.want {
					t.Errorf("resource with %s: Do() status = %d, want %d", at.name, got.status, at.want)
				}
			}
			if got := postForm(t, c, tokenURL, satRefreshForm(aRT)); got.status != http.StatusBadRequest || got.str("error") != "invalid_grant" {
				t.Errorf("refresh with the revoked token: Do() status = %d, error %q; want %d, %q",
					got.status, got.str("error"), http.StatusBadRequest, "invalid_grant")
			}
			if got := postForm(t, c, tokenURL, satRefreshForm(b.str("refresh_token"))); got.status != http.StatusOK {
				t.Errorf("refresh with login B's token: Do() status = %d, want %d", got.status, http.StatusOK)
			}
			if got := postForm(t, c, tokenURL, satLoginForm()); got.status != http.StatusOK {
				t.Errorf("a new login: Do() status = %d, want %d", got.status, http.StatusOK)
			}
		})
	}
}

// Two users of one client: each logs in with their own password, and every
// token the fake issues them is theirs, by TokenOwner and by the
// id_token's sub, refreshes included.
func TestEnduroSatTwoUsers(t *testing.T) {
	t.Parallel()
	const (
		otherUser     = "payload-engineer@example.org"
		otherPassword = "pw-SECRET-other-5d2a"
	)
	s := vendoroauthtest.NewEnduroSat(satClientID, satUser, satPassword)
	t.Cleanup(s.Close)
	s.AddUser(otherUser, otherPassword)
	s.SetRotateRefreshTokens(true)
	c := s.Client()

	tests := []struct {
		user, password string
	}{
		{satUser, satPassword},
		{otherUser, otherPassword},
	}
	for _, tt := range tests {
		login := postForm(t, c, s.URL+satTokenPath, withField(withField(satLoginForm(), "username", tt.user), "password", tt.password))
		require.Equal(t, http.StatusOK, login.status, "%s: login status", tt.user)
		refresh := postForm(t, c, s.URL+satTokenPath, satRefreshForm(login.str("refresh_token")))
		require.Equal(t, http.StatusOK, refresh.status, "%s: refresh status", tt.user)
		for _, r := range []reply{login, refresh} {
			assert.Equal(t, tt.user, s.TokenOwner(r.str("access_token")), "TokenOwner(access token)")
			assert.Equal(t, tt.user, s.TokenOwner(r.str("refresh_token")), "TokenOwner(refresh token)")
			assert.Equal(t, tt.user, jwtSegment(r.str("id_token"), 1)["sub"], "id_token sub")
		}
	}
	wrong := postForm(t, c, s.URL+satTokenPath, withField(withField(satLoginForm(), "username", otherUser), "password", satPassword))
	assert.Equal(t, http.StatusUnauthorized, wrong.status, "another user's password: status")
	assert.Empty(t, s.TokenOwner("es-at-never-issued"), "TokenOwner(a token never issued)")
}
