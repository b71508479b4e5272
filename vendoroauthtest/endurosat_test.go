package vendoroauthtest_test

import (
	"encoding/json"
	"fmt"
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
		assert.NotEmpty(t, r.str(k), "token response: %s", k)
	}
	assert.NotEqual(t, r.str("access_token"), r.str("refresh_token"), "token response: refresh_token, want one other than access_token")
	assert.Equal(t, "Bearer", r.str("token_type"), "token response: token_type")
	assert.Equal(t, json.Number("3600"), r.fields["expires_in"], "token response: expires_in, want the integer 3600")
	claims := jwtSegment(r.str("id_token"), 1)
	assert.Equal(t, satClientID, claims["aud"], "id_token claim aud")
	assert.Equal(t, satUser, claims["sub"], "id_token claim sub")
	assert.Equal(t, "id", claims["token_use"], "id_token claim token_use")
	assert.Equal(t, http.StatusOK, getResource(t, c, s.ResourceURL(), "Bearer "+r.str("access_token")).status, "resource: Do() status")
	assert.Equal(t, 1, s.TokenRequestsByGrant("password"), "TokenRequestsByGrant(%q)", "password")
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
			assert.NotEmpty(t, r.str("access_token"), "refresh: access_token")
			assert.NotEqual(t, login.str("access_token"), r.str("access_token"), "refresh: access_token, want one other than the login's")
			assert.NotEmpty(t, r.str("id_token"), "refresh: id_token")
			assert.Equal(t, "Bearer", r.str("token_type"), "refresh: token_type")
			assert.Equal(t, http.StatusOK, getResource(t, c, s.ResourceURL(), "Bearer "+r.str("access_token")).status, "resource with the refreshed token: Do() status")
			newRT := r.str("refresh_token")
			require.Equal(t, tt.rotate, r.has("refresh_token"), "refresh: response has refresh_token")

			old := postForm(t, c, tokenURL, satRefreshForm(rt))
			if !tt.rotate {
				assert.Equal(t, http.StatusOK, old.status, "second refresh with the kept refresh token: Do() status")
				return
			}
			assert.NotEqual(t, rt, newRT, "rotation: refresh token, want a new one")
			assert.Equal(t, http.StatusBadRequest, old.status, "refresh with the rotated-out token: Do() status")
			assert.Equal(t, "invalid_grant", old.str("error"), "refresh with the rotated-out token: Do() error")
			next := postForm(t, c, tokenURL, satRefreshForm(newRT))
			assert.Equal(t, http.StatusOK, next.status, "refresh with the new token: Do() status")
			assert.NotEmpty(t, next.str("refresh_token"), "refresh with the new token: refresh_token")
			assert.NotEqual(t, newRT, next.str("refresh_token"), "refresh with the new token: refresh_token, want a third one")
			assert.Equal(t, 3, s.TokenRequestsByGrant("refresh_token"), "TokenRequestsByGrant(%q)", "refresh_token")
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
					require.Equal(t, step.want, r.status, "refresh %d: Do() status", i+1)
					if r.status == http.StatusBadRequest {
						assert.Equal(t, "invalid_grant", r.str("error"), "refresh %d: Do() error", i+1)
					}
					if next := r.str("refresh_token"); next != "" {
						rt = next
					}
				}
				assert.Equal(t, http.StatusOK, postForm(t, c, tokenURL, satLoginForm()).status, "new login after the refresh token died: Do() status")
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

	expired := postForm(t, c, tokenURL, satRefreshForm(first.str("refresh_token")))
	assert.Equal(t, http.StatusBadRequest, expired.status, "refresh with an expired refresh token: Do() status")
	assert.Equal(t, "invalid_grant", expired.str("error"), "refresh with an expired refresh token: Do() error")
	assert.Equal(t, http.StatusOK, getResource(t, c, s.ResourceURL(), "Bearer "+first.str("access_token")).status, "resource with the access token of that login: Do() status")
	second := postForm(t, c, tokenURL, satLoginForm())
	assert.Equal(t, http.StatusOK, postForm(t, c, tokenURL, satRefreshForm(second.str("refresh_token"))).status, "refresh with a refresh token issued afterwards: Do() status")
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
			require.Equal(t, http.StatusNoContent, r.status, "revoke: Do() status")
			require.Empty(t, r.raw, "revoke: Do() body")
			sent := s.LastRevokeForm()
			assert.Equal(t, satClientID, sent.Get("client_id"), "LastRevokeForm() client_id")
			assert.Equal(t, aRT, sent.Get("token"), "LastRevokeForm() token")
			assert.Equal(t, 1, s.RevokeRequests(), "RevokeRequests()")

			for _, at := range []struct {
				name, tok string
				want      int
			}{
				{"login A's first access token", a1.str("access_token"), http.StatusUnauthorized},
				{"login A's refreshed access token", a2.str("access_token"), http.StatusUnauthorized},
				{"login B's access token", b.str("access_token"), http.StatusOK},
			} {
				assert.Equal(t, at.want, getResource(t, c, s.ResourceURL(), "Bearer "+at.tok).status, "resource with %s: Do() status", at.name)
			}
			revoked := postForm(t, c, tokenURL, satRefreshForm(aRT))
			assert.Equal(t, http.StatusBadRequest, revoked.status, "refresh with the revoked token: Do() status")
			assert.Equal(t, "invalid_grant", revoked.str("error"), "refresh with the revoked token: Do() error")
			assert.Equal(t, http.StatusOK, postForm(t, c, tokenURL, satRefreshForm(b.str("refresh_token"))).status, "refresh with login B's token: Do() status")
			assert.Equal(t, http.StatusOK, postForm(t, c, tokenURL, satLoginForm()).status, "a new login: Do() status")
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

// With rotation and reuse detection, a rotated-out refresh token presented
// again revokes its family: the refresh token that replaced it and the
// access tokens of that login stop working; another login is untouched.
// Without detection the reuse is only refused, and counted.
func TestEnduroSatReuseDetection(t *testing.T) {
	t.Parallel()
	for _, detect := range []bool{false, true} {
		t.Run(fmt.Sprintf("detection=%v", detect), func(t *testing.T) {
			t.Parallel()
			s := vendoroauthtest.NewEnduroSat(satClientID, satUser, satPassword)
			t.Cleanup(s.Close)
			s.SetRotateRefreshTokens(true)
			s.SetReuseDetection(detect)
			c := s.Client()
			other := postForm(t, c, s.URL+satTokenPath, satLoginForm())
			login := postForm(t, c, s.URL+satTokenPath, satLoginForm())
			require.Equal(t, http.StatusOK, login.status, "login status")
			rotated := postForm(t, c, s.URL+satTokenPath, satRefreshForm(login.str("refresh_token")))
			require.Equal(t, http.StatusOK, rotated.status, "first refresh status")

			reuse := postForm(t, c, s.URL+satTokenPath, satRefreshForm(login.str("refresh_token")))
			assert.Equal(t, http.StatusBadRequest, reuse.status, "reuse status")
			assert.Equal(t, "invalid_grant", reuse.str("error"), "reuse error")
			assert.Equal(t, 1, s.RefreshTokenReuses(), "RefreshTokenReuses()")

			next := postForm(t, c, s.URL+satTokenPath, satRefreshForm(rotated.str("refresh_token")))
			access := getResource(t, c, s.ResourceURL(), "Bearer "+rotated.str("access_token"))
			untouched := getResource(t, c, s.ResourceURL(), "Bearer "+other.str("access_token"))
			if detect {
				assert.Equal(t, 1, s.RevokedFamilies(), "RevokedFamilies()")
				assert.Equal(t, http.StatusBadRequest, next.status, "the family's current refresh token after the reuse")
				assert.Equal(t, http.StatusUnauthorized, access.status, "the family's access token after the reuse")
			} else {
				assert.Zero(t, s.RevokedFamilies(), "RevokedFamilies()")
				assert.Equal(t, http.StatusOK, next.status, "the current refresh token after a refused reuse")
				assert.Equal(t, http.StatusOK, access.status, "the access token after a refused reuse")
			}
			assert.Equal(t, http.StatusOK, untouched.status, "another login's access token")
		})
	}
}
