package vendoroauth

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// TestLateTimerLetsNoExpiredTokenOut: the refresh timer of a handed-out
// token never fires (a process paused or starved past the token's life).
// The token must still not be handed out once expired: every hand-out
// checks the monotonic clock, whatever the timers did.
func TestLateTimerLetsNoExpiredTokenOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vendoroauthtest.NewUnstartedFormlabs("id", "secret")
		srv.SetTokenLifetime(time.Minute)
		src := FormlabsTokenSource(t.Context(), "id", "secret", WithBaseURL(srv.URL), WithHTTPClient(srv.InProcessClient()))
		defer src.Close()
		first, err := src.TokenContext(t.Context())
		require.NoError(t, err, "TokenContext()")
		src.mu.Lock()
		armed := src.timer != nil
		stopped := armed && src.timer.Stop()
		src.timer = nil // the timer is late: it has not fired, and will not
		src.mu.Unlock()
		require.True(t, armed, "a refresh timer armed for the handed-out token")
		require.True(t, stopped, "Stop() of the refresh timer armed for the handed-out token")

		time.Sleep(time.Minute)
		for _, get := range []func() (string, error){
			func() (string, error) { tok, err := src.TokenContext(t.Context()); return tok.AccessToken, err },
			func() (string, error) { tok, err := src.Token(); return tok.AccessToken, err },
		} {
			got, err := get()
			require.NoError(t, err, "the token after its timer failed to fire")
			require.NotEqual(t, first.AccessToken, got, "the expired token was handed out after its timer failed to fire")
		}
	})
}

// TestFarFutureExpiry: a token that expires centuries from now is valid and
// never due, not wrapped around into the past.
func TestFarFutureExpiry(t *testing.T) {
	for _, expiry := range []time.Time{time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), time.Now().Add(never)} {
		c := newCachedToken(&oauth2.Token{AccessToken: "a", Expiry: expiry}, time.Time{}, time.Now(), 0)
		now := monoNow()
		assert.True(t, c.validAt(now), "expiry %v: validAt (expiresAt %v)", expiry, c.expiresAt)
		assert.False(t, c.dueAt(now), "expiry %v: dueAt (refreshAt %v)", expiry, c.refreshAt)
	}
	src := FormlabsTokenSource(t.Context(), "id", "secret", WithBaseURL("https://unreachable.example"),
		WithToken(&oauth2.Token{AccessToken: "kept", Expiry: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}))
	defer src.Close()
	tok, err := src.TokenContext(t.Context())
	require.NoError(t, err, "TokenContext(): want the given token, with no request")
	assert.Equal(t, "kept", tok.AccessToken, "TokenContext(): want the given token")
}
