package vendoroauth

import (
	"testing"
	"testing/synctest"
	"time"

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
