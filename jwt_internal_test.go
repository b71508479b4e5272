package vendoroauth

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"
)

// makeJWT returns an unsigned JWT-shaped string with the given claims.
func makeJWT(t testing.TB, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString(payload) + ".sig"
}

func TestJWTLifetime(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name   string
		token  string
		want   time.Duration
		wantOK bool
	}{
		{"exp only", makeJWT(t, map[string]any{"exp": now.Unix() + 600}), 10 * time.Minute, true},
		{"iat wins over skewed clock, less the second iat may hide", makeJWT(t, map[string]any{"exp": now.Unix() - 100, "iat": now.Unix() - 3700}), time.Hour - time.Second, true},
		{"float exp", makeJWT(t, map[string]any{"exp": float64(now.Unix()) + 60.5}), 60500 * time.Millisecond, true},
		{"exp in the past without iat", makeJWT(t, map[string]any{"exp": now.Unix() - 1}), 0, false},
		{"no exp", makeJWT(t, map[string]any{"sub": "x"}), 0, false},
		{"exp not a number", makeJWT(t, map[string]any{"exp": "soon"}), 0, false},
		{"huge exp is clamped", makeJWT(t, map[string]any{"exp": 1e300}), maxLifetime, true},
		{"opaque token", "abcdef", 0, false},
		{"two parts", "a.b", 0, false},
		{"bad base64", "a.!!!.c", 0, false},
		{"payload not JSON", "a." + base64.RawURLEncoding.EncodeToString([]byte("nope")) + ".c", 0, false},
		{"padded payload", "a." + base64.URLEncoding.EncodeToString([]byte(`{"exp":1700000060}`)) + ".c", time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := jwtLifetime(tt.token, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("jwtLifetime() = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func FuzzJWTLifetime(f *testing.F) {
	f.Add("a.eyJleHAiOjE3MDAwMDAwNjB9.c")
	f.Add("a.eyJleHAiOjEuN2UxMCwiaWF0IjotMX0.c")
	f.Add("...")
	f.Add("a.e30.c")
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, token string) {
		d, ok := jwtLifetime(token, now)
		if ok && (d <= 0 || d > maxLifetime) {
			t.Errorf("jwtLifetime(%q) = %v, true; want a lifetime in (0, %v]", token, d, maxLifetime)
		}
	})
}
