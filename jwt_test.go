package vendoroauth_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
		if got := tok.Expiry.Sub(start); got != time.Hour-time.Second {
			t.Errorf("token lifetime = %v, want 1h from the JWT's exp - iat, less the second iat may hide", got)
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

// TestJWTExpiryToTheSecond: iat and exp are whole seconds. A token issued
// 0.6 s into a second must not be taken to live past its exp.
func TestJWTExpiryToTheSecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		srv.SetJWTAccessTokens(true)
		srv.SetOmitExpiresIn(true)
		srv.SetTokenLifetime(time.Hour)
		time.Sleep(600 * time.Millisecond)
		tok, err := src.Token()
		require.NoError(t, err)
		parts := strings.Split(tok.AccessToken, ".")
		require.Len(t, parts, 3, "a JWT access token")
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		require.NoError(t, err)
		var claims struct{ Exp int64 }
		require.NoError(t, json.Unmarshal(payload, &claims))
		exp := time.Unix(claims.Exp, 0)
		assert.False(t, tok.Expiry.After(exp), "Expiry %v is after the JWT's exp %v", tok.Expiry, exp)
	})
}
