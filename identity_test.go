package vendoroauth_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// A second EnduroSat user of the same public client.
const (
	esOtherUser     = "payload-engineer"
	esOtherPassword = "PASSWORD-other-s3cr3t-51b0"
)

// whoamiPath is served by newWhoami: it answers with the owner of the
// bearer token the request presented, as the fake knows it.
const whoamiPath = "/v1/whoami"

// newWhoami returns an unstarted EnduroSat fake with two users, esUsername
// and esOtherUser, rotating refresh tokens, and whoamiPath.
func newWhoami(t *testing.T) *vendoroauthtest.EnduroSat {
	t.Helper()
	srv := vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword)
	srv.AddUser(esOtherUser, esOtherPassword)
	srv.SetRotateRefreshTokens(true)
	srv.Handle("GET "+whoamiPath, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, srv.TokenOwner(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")))
	}))
	return srv
}

// whoami asks srv, through c, whose token c presents.
func whoami(t *testing.T, c *http.Client, srv *vendoroauthtest.EnduroSat) (string, error) {
	t.Helper()
	resp, err := c.Get(srv.URL + whoamiPath)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// loginRefreshToken logs user in at srv and returns the refresh token.
func loginRefreshToken(t *testing.T, srv *vendoroauthtest.EnduroSat, user, password string) string {
	t.Helper()
	src := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, user, password, at(srv.URL, srv.InProcessClient())...)
	defer src.Close()
	tok, err := src.Token()
	require.NoError(t, err, "login of %s", user)
	return tok.RefreshToken
}

// TestIdentityTwoUsersShareAStore: two EnduroSat users of one client, on
// one store, password or refresh-only, side by side for six token
// lifetimes: every request of each presents a token of that user, and none
// fails. Their saves replace each other's record, which neither ever takes.
func TestIdentityTwoUsersShareAStore(t *testing.T) {
	for _, st := range stores {
		for _, mode := range []string{"password", "refresh-only"} {
			t.Run(st.name+"/"+mode, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					store := st.new(t)
					srv := newWhoami(t)
					users := []struct{ name, password string }{{esUsername, esPassword}, {esOtherUser, esOtherPassword}}
					ctx := srv.Context(t.Context())
					clients := make([]*http.Client, len(users))
					for i, u := range users {
						opts := []vendoroauth.Option{vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithStore(store)}
						var src *vendoroauth.TokenSource
						if mode == "password" {
							src = vendoroauth.EnduroSatPasswordTokenSource(ctx, esClientID, u.name, u.password, opts...)
						} else {
							rt := loginRefreshToken(t, srv, u.name, u.password)
							src = vendoroauth.EnduroSatRefreshTokenSource(ctx, esClientID, rt, opts...)
						}
						t.Cleanup(func() { src.Close() })
						clients[i] = src.Client(ctx)
					}
					for step := range 6 * 60 {
						for i, u := range users {
							got, err := whoami(t, clients[i], srv)
							require.NoError(t, err, "minute %d: %s's request", step, u.name)
							require.Equal(t, u.name, got, "minute %d: the owner of the token %s's source presented", step, u.name)
						}
						time.Sleep(time.Minute)
					}
				})
			})
		}
	}
}

// TestIdentityUserSwitched: a service restarted with another username on
// the same store (an operator who switches ENDUROSAT_USERNAME) gets a token
// of its new user, never the old one's, and switching back gets the first
// user's own again. A wrong password never gets another user's stored
// token; with the stored token's own user it gets that token, as
// documented: the store is a credential of that user.
func TestIdentityUserSwitched(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := st.new(t)
				srv := newWhoami(t)
				ctx := srv.Context(t.Context())
				run := func(user, password string) (string, error) {
					src := vendoroauth.EnduroSatPasswordTokenSource(ctx, esClientID, user, password,
						vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithStore(store))
					defer src.Close()
					return whoami(t, src.Client(ctx), srv)
				}
				for _, u := range []struct{ name, password string }{
					{esUsername, esPassword}, {esOtherUser, esOtherPassword}, {esUsername, esPassword},
				} {
					got, err := run(u.name, u.password)
					require.NoError(t, err, "%s's run", u.name)
					assert.Equal(t, u.name, got, "the owner of the token %s's run presented", u.name)
				}
				assert.Equal(t, 3, srv.TokenRequestsByGrant("password"), "logins: each switch logs in")

				// The store holds esUsername's token now.
				_, err := run(esOtherUser, "PASSWORD-wrong-1")
				assert.ErrorIs(t, err, vendoroauth.ErrInvalidCredentials, "another user with a wrong password")
				got, err := run(esUsername, "PASSWORD-wrong-2")
				require.NoError(t, err, "the stored token's own user, with a wrong password")
				assert.Equal(t, esUsername, got, "the owner of the token served from the store")
			})
		})
	}
}

// TestIdentityRefreshOnlyNeverAdoptsAnotherUsersChain: a refresh-only
// source started from one user's refresh token, on a store that holds
// another user's newer record, refreshes with its own refresh token and
// replaces the record, however many times it restarts; a refresh-only
// source given no refresh token takes what the store holds.
func TestIdentityRefreshOnlyNeverAdoptsAnotherUsersChain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &memStore{}
		srv := newWhoami(t)
		srv.SetRotateRefreshTokens(false) // so that a restart can use its refresh token again
		ctx := srv.Context(t.Context())
		opts := []vendoroauth.Option{vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithStore(store)}
		other := vendoroauth.EnduroSatPasswordTokenSource(ctx, esClientID, esOtherUser, esOtherPassword, opts...)
		_, err := other.Token()
		require.NoError(t, err)
		other.Close()

		rt := loginRefreshToken(t, srv, esUsername, esPassword)
		for i := range 2 {
			src := vendoroauth.EnduroSatRefreshTokenSource(ctx, esClientID, rt, opts...)
			tok, err := src.Token()
			require.NoError(t, err, "start %d", i)
			assert.Equal(t, esUsername, srv.TokenOwner(tok.AccessToken), "start %d: the owner of the token", i)
			src.Close()
			time.Sleep(2 * time.Hour)
		}
		assert.Equal(t, 2, srv.TokenRequestsByGrant("refresh_token"), "refreshes: one per start, with its own refresh token")

		fromStore := vendoroauth.EnduroSatRefreshTokenSource(ctx, esClientID, "", opts...)
		defer fromStore.Close()
		tok, err := fromStore.Token()
		require.NoError(t, err)
		assert.Equal(t, esUsername, srv.TokenOwner(tok.AccessToken), "a source given no refresh token: the owner of the stored chain")
	})
}

// TestIdentityFormlabsClients: two Formlabs clients on one store each get
// their own tokens.
func TestIdentityFormlabsClients(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const otherID, otherSecret = "fl-other-client", "CLIENTSECRET-other-0d1e"
		srv := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
		srv.AddClient(otherID, otherSecret)
		store := &memStore{}
		ctx := srv.Context(context.Background())
		for range 3 {
			for _, c := range []struct{ id, secret string }{{flClientID, flSecret}, {otherID, otherSecret}} {
				src := vendoroauth.FormlabsTokenSource(ctx, c.id, c.secret, vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithStore(store))
				tok, err := src.Token()
				require.NoError(t, err)
				assert.Equal(t, c.id, srv.TokenOwner(tok.AccessToken), "the client a token was issued to")
				src.Close()
			}
		}
	})
}
