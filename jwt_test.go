package vendoroauth_test

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"
)

func TestClockSkewJWT(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		srv.SetJWTAccessTokens(true)
		srv.SetOmitExpiresIn(true)
		srv.SetTokenLifetime(time.Hour)
		srv.SetClockOffset(-2 * time.Hour) // the vendor's exp is an hour in our past
		start := time.Now()
		tok, err := src.Token()
		if err != nil {
			t.Fatalf("Token() error = %v", err)
		}
		if got := tok.Expiry.Sub(start); got != time.Hour {
			t.Errorf("token lifetime = %v, want 1h from the JWT's exp - iat", got)
		}
		time.Sleep(30 * time.Minute)
		if _, err := src.Token(); err != nil || srv.TokenRequests() != 1 {
			t.Errorf("Token() at 30m = %v with %d requests; want the cached token", err, srv.TokenRequests())
		}
		if got := get(t, src.Client(contextWithClient(t.Context(), srv.InProcessClient())), srv.ResourceURL()); got != http.StatusOK {
			t.Errorf("GET with the skewed JWT = %d, want 200", got)
		}
		t.Logf("| clock skew: JWT exp an hour in our past, no expires_in | succeeded, lifetime from exp - iat | 1 | 0s | yes |")
	})
}
