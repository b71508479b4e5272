package vendoroauth

import (
	"testing"
	"testing/synctest"
	"time"

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
		if err != nil {
			t.Fatal(err)
		}
		src.mu.Lock()
		if src.timer == nil || !src.timer.Stop() {
			t.Fatal("no refresh timer was armed for the handed-out token")
		}
		src.timer = nil // the timer is late: it has not fired, and will not
		src.mu.Unlock()

		time.Sleep(time.Minute)
		for _, get := range []func() (string, error){
			func() (string, error) { tok, err := src.TokenContext(t.Context()); return tok.AccessToken, err },
			func() (string, error) { tok, err := src.Token(); return tok.AccessToken, err },
		} {
			got, err := get()
			if err != nil {
				t.Fatal(err)
			}
			if got == first.AccessToken {
				t.Fatalf("the expired token was handed out after its timer failed to fire")
			}
		}
	})
}

// TestFarFutureExpiry: a token that expires centuries from now is valid and
// never due, not wrapped around into the past.
func TestFarFutureExpiry(t *testing.T) {
	for _, expiry := range []time.Time{time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), time.Now().Add(never)} {
		c := newCachedToken(&oauth2.Token{AccessToken: "a", Expiry: expiry}, time.Time{}, time.Now(), 0)
		now := monoNow()
		if !c.validAt(now) || c.dueAt(now) {
			t.Errorf("expiry %v: validAt = %v, dueAt = %v; want valid, not due (expiresAt %v, refreshAt %v)",
				expiry, c.validAt(now), c.dueAt(now), c.expiresAt, c.refreshAt)
		}
	}
	src := FormlabsTokenSource(t.Context(), "id", "secret", WithBaseURL("https://unreachable.example"),
		WithToken(&oauth2.Token{AccessToken: "kept", Expiry: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}))
	defer src.Close()
	tok, err := src.TokenContext(t.Context())
	if err != nil || tok.AccessToken != "kept" {
		t.Errorf("TokenContext = %v, %v; want the given token, with no request", tok, err)
	}
}
