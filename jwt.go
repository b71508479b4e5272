package vendoroauth

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
	"time"
)

// jwtLifetime reads the exp and iat claims of a JWT access token, without
// verifying it: the vendor that issued it is the one we got it from over
// TLS, and we only use it to schedule a refresh. It returns the token's
// lifetime as seen from now, and false when the token is not a JWT with a
// usable exp.
//
// With an iat claim the lifetime is exp-iat, less a second, which is immune
// to a skew between the vendor's clock and ours: iat is whole seconds, so
// the token may have been issued up to a second after it, and now (when
// the request was sent) is before that. Without one it is exp-now.
func jwtLifetime(token string, now time.Time) (time.Duration, bool) {
	var claims struct {
		Exp *float64 `json:"exp"`
		Iat *float64 `json:"iat"`
	}
	if !jwtClaims(token, &claims) || claims.Exp == nil {
		return 0, false
	}
	exp := *claims.Exp
	if math.IsNaN(exp) || math.IsInf(exp, 0) {
		return 0, false
	}
	var secs float64
	if claims.Iat != nil && *claims.Iat > 0 && *claims.Iat < exp {
		secs = exp - *claims.Iat - 1
	} else {
		secs = exp - float64(now.UnixNano())/1e9
	}
	if secs <= 0 {
		return 0, false
	}
	return clampLifetime(secs), true
}

// jwtSubject returns the sub claim of a JWT (an EnduroSat id_token),
// without verifying it, for the same reason as jwtLifetime: it names the
// user the vendor issued the tokens to, and is used only to tell one user's
// stored token from another's. It returns "" when token is not a JWT with
// a string sub.
func jwtSubject(token string) string {
	var claims struct {
		Sub string `json:"sub"`
	}
	if !jwtClaims(token, &claims) {
		return ""
	}
	return claims.Sub
}

// jwtClaims decodes the payload of a JWT into claims; false when token is
// not a JWT with a JSON payload.
func jwtClaims(token string, claims any) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(parts[1]) > maxResponseBytes {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return false
	}
	return json.Unmarshal(payload, claims) == nil
}

// maxLifetime bounds any lifetime a vendor claims, so that a huge value
// cannot overflow time arithmetic.
const maxLifetime = 10 * 365 * 24 * time.Hour

// clampLifetime converts seconds to a Duration no longer than maxLifetime.
func clampLifetime(secs float64) time.Duration {
	if secs >= maxLifetime.Seconds() {
		return maxLifetime
	}
	return time.Duration(secs * float64(time.Second))
}
