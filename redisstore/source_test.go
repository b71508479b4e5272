package redisstore_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/redisstore"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

const (
	flClientID = "formlabs-client"
	flSecret   = "SECRET-formlabs-8d2e"
)

// formlabs starts a Formlabs fake and returns it with the options that
// point a source at it.
func formlabs(t *testing.T) (*vendoroauthtest.Formlabs, []vendoroauth.Option) {
	t.Helper()
	srv := vendoroauthtest.NewFormlabs(flClientID, flSecret)
	t.Cleanup(srv.Close)
	return srv, []vendoroauth.Option{vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithHTTPClient(srv.Client())}
}

// formlabsSource returns a Formlabs source on store, closed with the test.
func formlabsSource(t *testing.T, opts []vendoroauth.Option, store *redisstore.Store) *vendoroauth.TokenSource {
	t.Helper()
	src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, append(opts, vendoroauth.WithStore(store))...)
	t.Cleanup(func() { src.Close() })
	return src
}

// waitSaved returns once every source on store has saved what it fetched:
// a source holds the lock until its save is done, so the lock is free
// then. It tries the lock every 10ms, for up to 5s.
func waitSaved(t *testing.T, store *redisstore.Store) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		unlock, err := store.Lock(t.Context())
		if err == nil {
			unlock()
			return
		}
		require.ErrorIs(t, err, vendoroauth.ErrLocked, "Lock() to wait for the save")
		require.True(t, time.Now().Before(deadline), "the lock is still held after 5s")
	}
}

// get requests the fake's resource through c and returns the status.
func get(t *testing.T, c *http.Client, url string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err, "GET the resource")
	resp.Body.Close()
	return resp.StatusCode
}

// TestSourceInvalidConfigStore: a source on a misconfigured Store fails
// with ErrInvalidConfig, and does not fetch.
func TestSourceInvalidConfigStore(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	srv, opts := formlabs(t)
	store := redisstore.New(r.client(), uniqueKey(t), redisstore.WithSealKey([]byte("8-bytes!")))
	src := formlabsSource(t, opts, store)
	_, err := src.Token()
	assert.ErrorIs(t, err, vendoroauth.ErrInvalidConfig, "Token() with an 8-byte seal key")
	assert.ErrorContains(t, err, "seal key", "Token() with an 8-byte seal key")
	assert.Zero(t, srv.TokenRequests(), "token requests with a misconfigured store")
}

func TestSourceSurvivesBadStore(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	srv, opts := formlabs(t)

	// A record sealed with another key is ignored and replaced.
	key := uniqueKey(t)
	require.NoError(t, redisstore.New(r.client(), key, redisstore.WithSealKey(otherKey)).Save(t.Context(), []byte("planted")))
	store := redisstore.New(r.client(), key, redisstore.WithSealKey(sealKey))
	tok, err := formlabsSource(t, opts, store).Token()
	require.NoError(t, err, "Token() with a record sealed under another key")
	waitSaved(t, store)
	// A restart loads the replaced record: no request.
	again, err := formlabsSource(t, opts, store).Token()
	require.NoError(t, err, "Token() of a second source")
	// Tokens are compared, never printed.
	assert.True(t, again.AccessToken == tok.AccessToken, "second source's token is not the one the first saved")
	assert.Equal(t, 1, srv.TokenRequests(), "token requests")

	// Redis unreachable from the start: the source still works.
	dead := startRedis(t)
	rdb := dead.client()
	dead.stop()
	_, err = formlabsSource(t, opts, redisstore.New(rdb, uniqueKey(t))).Token()
	assert.NoError(t, err, "Token() with Redis down from the start")
}

// TestSourceRevokedAtVendor: a token the vendor revoked is replaced with
// one request, and a fresh replica uses the replacement.
func TestSourceRevokedAtVendor(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	srv, opts := formlabs(t)
	store := redisstore.New(r.client(), uniqueKey(t), redisstore.WithSealKey(sealKey))

	a := formlabsSource(t, opts, store)
	_, err := a.Token()
	require.NoError(t, err, "A.Token()")
	waitSaved(t, store)
	require.Equal(t, 1, srv.TokenRequests(), "token requests after A's fetch")
	record, err := store.Load(t.Context())
	require.NoError(t, err, "Load() after A's fetch")
	require.NotNil(t, record, "Load() after A's fetch")

	srv.RevokeAccessTokens()
	assert.Equal(t, http.StatusOK, get(t, a.Client(t.Context()), srv.ResourceURL()), "A's request after the vendor revoked its token")
	assert.Equal(t, 2, srv.TokenRequests(), "token requests: A's first, and exactly one new one")
	waitSaved(t, store)

	b := formlabsSource(t, opts, store)
	assert.Equal(t, http.StatusOK, get(t, b.Client(t.Context()), srv.ResourceURL()), "fresh replica B's request")
	assert.Equal(t, 2, srv.TokenRequests(), "token requests after B's request, want B to use the token A saved")
}

// TestSourceInvalidateIgnoresStored: after Invalidate, Token fetches a
// new token instead of loading the dropped one back from the store.
func TestSourceInvalidateIgnoresStored(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	srv, opts := formlabs(t)
	store := redisstore.New(r.client(), uniqueKey(t), redisstore.WithSealKey(sealKey))
	src := formlabsSource(t, opts, store)
	first, err := src.Token()
	require.NoError(t, err, "Token()")
	dropped := first.AccessToken
	waitSaved(t, store)

	src.Invalidate()
	second, err := src.Token()
	require.NoError(t, err, "Token() after Invalidate")
	assert.False(t, second.AccessToken == dropped, "Token() after Invalidate returned the stored, dropped token") // never printed
	assert.Equal(t, 2, srv.TokenRequests(), "token requests")
}

// TestSourceTwoUsersOneKey: two EnduroSat users of one client whose sources
// share one Redis key, password or refresh-only, each only ever get their
// own user's tokens: each replaces the other's record, never takes it.
func TestSourceTwoUsersOneKey(t *testing.T) {
	t.Parallel()
	const (
		clientID = "endurosat-client"
		alice    = "alice@example.com"
		alicePW  = "SECRET-alice-3f1d"
		bob      = "bob@example.com"
		bobPW    = "SECRET-bob-77c0"
	)
	r := startRedis(t)
	for _, mode := range []string{"password", "refresh-only"} {
		t.Run(mode, func(t *testing.T) {
			srv := vendoroauthtest.NewEnduroSat(clientID, alice, alicePW)
			t.Cleanup(srv.Close)
			srv.AddUser(bob, bobPW)
			srv.SetRotateRefreshTokens(true)
			opts := []vendoroauth.Option{vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithHTTPClient(srv.Client())}
			store := redisstore.New(r.client(), uniqueKey(t))
			users := []struct{ name, password string }{{alice, alicePW}, {bob, bobPW}}
			sources := make([]*vendoroauth.TokenSource, len(users))
			for i, u := range users {
				if mode == "password" {
					sources[i] = vendoroauth.EnduroSatPasswordTokenSource(t.Context(), clientID, u.name, u.password, append(opts, vendoroauth.WithStore(store))...)
				} else {
					login := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), clientID, u.name, u.password, opts...)
					tok, err := login.Token()
					require.NoError(t, err, "%s's login", u.name)
					login.Close()
					sources[i] = vendoroauth.EnduroSatRefreshTokenSource(t.Context(), clientID, tok.RefreshToken, append(opts, vendoroauth.WithStore(store))...)
				}
				t.Cleanup(func() { sources[i].Close() })
			}
			for round := range 4 {
				for i, u := range users {
					sources[i].Invalidate() // fetch again: through the store, which the other user wrote last
					tok, err := sources[i].Token()
					require.NoError(t, err, "round %d: %s's Token()", round, u.name)
					assert.Equal(t, u.name, srv.TokenOwner(tok.AccessToken), "round %d: the owner of %s's token", round, u.name)
					waitSaved(t, store)
				}
			}
		})
	}
}
