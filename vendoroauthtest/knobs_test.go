package vendoroauthtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

func TestSetTokenLifetime(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				tg := newTarget(t, vendor, false)
				c := tg.Client()
				before := tg.token(t, c)

				tg.SetTokenLifetime(10 * time.Minute)
				after := tg.token(t, c)
				if got, ok := after.fields["expires_in"].(json.Number); !ok || got.String() != "600" {
					t.Errorf("expires_in = %v, want the integer 600", after.fields["expires_in"])
				}

				time.Sleep(10 * time.Minute)
				for _, tok := range []struct {
					name string
					r    reply
					want int
				}{
					{"token issued after SetTokenLifetime(10m)", after, http.StatusUnauthorized},
					{"token issued before it", before, http.StatusOK},
				} {
					if got := getResource(t, c, tg.ResourceURL(), "Bearer "+tok.r.str("access_token")); got.status != tok.want {
						t.Errorf("10m later, resource with the %s: Do() status = %d, want %d", tok.name, got.status, tok.want)
					}
				}
			})
		})
	}
}

func TestSetOmitExpiresIn(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, true)
			c := tg.Client()
			for _, tt := range []struct {
				omit bool
				want bool // expires_in present
			}{{true, false}, {false, true}} {
				tg.SetOmitExpiresIn(tt.omit)
				r := tg.token(t, c)
				if got := r.has("expires_in"); got != tt.want {
					t.Errorf("after SetOmitExpiresIn(%t): expires_in present = %t, want %t", tt.omit, got, tt.want)
				}
				if got := getResource(t, c, tg.ResourceURL(), "Bearer "+r.str("access_token")); got.status != http.StatusOK {
					t.Errorf("after SetOmitExpiresIn(%t): resource Do() status = %d, want %d", tt.omit, got.status, http.StatusOK)
				}
			}
		})
	}
}

func TestSetJWTAccessTokens(t *testing.T) {
	t.Parallel()
	const lifetime = 45 * time.Minute
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, true)
			c := tg.Client()
			tg.SetTokenLifetime(lifetime)
			tg.SetJWTAccessTokens(true)
			r := tg.token(t, c)
			tok := r.str("access_token")

			header, claims := jwtSegment(tok, 0), jwtSegment(tok, 1)
			require.NotNil(t, header, "JWT header")
			require.NotNil(t, claims, "JWT claims")
			if diff := cmp.Diff(map[string]any{"alg": "HS256", "typ": "JWT"}, header); diff != "" {
				t.Errorf("JWT header mismatch (-want +got):\n%s", diff)
			}
			if got := jwtLifetime(claims); got != lifetime {
				t.Errorf("JWT exp - iat = %v, want %v", got, lifetime)
			}
			for _, k := range []string{"sub", "jti"} {
				if s, _ := claims[k].(string); s == "" {
					t.Errorf("JWT claim %s is empty", k)
				}
			}
			if got, ok := r.fields["expires_in"].(json.Number); !ok || got.String() != "2700" {
				t.Errorf("expires_in = %v, want the integer 2700", r.fields["expires_in"])
			}
			if got := getResource(t, c, tg.ResourceURL(), "Bearer "+tok); got.status != http.StatusOK {
				t.Errorf("resource with the JWT: Do() status = %d, want %d", got.status, http.StatusOK)
			}

			// Without expires_in, the JWT's exp still tells the lifetime.
			tg.SetOmitExpiresIn(true)
			r = tg.token(t, c)
			if got := jwtLifetime(jwtSegment(r.str("access_token"), 1)); r.has("expires_in") || got != lifetime {
				t.Errorf("with SetOmitExpiresIn(true): expires_in present = %t, JWT exp - iat = %v; want false, %v", r.has("expires_in"), got, lifetime)
			}

			tg.SetJWTAccessTokens(false)
			if got := tg.token(t, c).str("access_token"); strings.Contains(got, ".") {
				t.Errorf("after SetJWTAccessTokens(false): access token has dots, want an opaque token")
			}
		})
	}
}

func TestSetTokenType(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, true)
			c := tg.Client()
			tg.SetTokenType("MAC")
			r := tg.token(t, c)
			if got := r.str("token_type"); got != "MAC" {
				t.Errorf("token_type = %q, want %q", got, "MAC")
			}
			if got := getResource(t, c, tg.ResourceURL(), "Bearer "+r.str("access_token")); got.status != http.StatusOK {
				t.Errorf("resource with a Bearer scheme: Do() status = %d, want %d", got.status, http.StatusOK)
			}
			for _, typ := range []string{"bearer", "Bearer"} {
				tg.SetTokenType(typ)
				if got := tg.token(t, c).str("token_type"); got != typ {
					t.Errorf("token_type = %q, want %q", got, typ)
				}
			}
		})
	}
}

func TestSetLatency(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				tg := newTarget(t, vendor, false)
				c := tg.InProcessClient()

				tg.SetLatency(3 * time.Second)
				start := time.Now()
				tg.token(t, c)
				if got := time.Since(start); got != 3*time.Second {
					t.Errorf("with SetLatency(3s): the answer took %v, want 3s", got)
				}

				// A caller that gives up first gets its context's error.
				ctx, cancel := context.WithTimeout(t.Context(), time.Second)
				defer cancel()
				start = time.Now()
				req := newRequest(t, http.MethodPost, tg.tokenURL, tg.tokenForm).WithContext(ctx)
				if _, err := c.Do(req); !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("with SetLatency(3s) and a 1s context: Do() error = %v, want %v", err, context.DeadlineExceeded)
				}
				if got := time.Since(start); got != time.Second {
					t.Errorf("with SetLatency(3s) and a 1s context: Do() returned after %v, want 1s", got)
				}

				tg.SetLatency(0)
				start = time.Now()
				tg.token(t, c)
				if got := time.Since(start); got != 0 {
					t.Errorf("with SetLatency(0): the answer took %v, want 0", got)
				}
				if got := tg.TokenRequests(); got != 3 {
					t.Errorf("TokenRequests() = %d, want 3", got)
				}
			})
		})
	}
}

func TestRevokeAccessTokens(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, true)
			c := tg.Client()
			old := tg.token(t, c)

			tg.RevokeAccessTokens()

			if got := getResource(t, c, tg.ResourceURL(), "Bearer "+old.str("access_token")); got.status != http.StatusUnauthorized {
				t.Errorf("resource with a token issued before RevokeAccessTokens: Do() status = %d, want %d", got.status, http.StatusUnauthorized)
			}
			fresh := tg.token(t, c)
			if got := getResource(t, c, tg.ResourceURL(), "Bearer "+fresh.str("access_token")); got.status != http.StatusOK {
				t.Errorf("resource with a token issued after it: Do() status = %d, want %d", got.status, http.StatusOK)
			}
			if vendor != enduroSat {
				return
			}
			r := postForm(t, c, tg.tokenURL, satRefreshForm(old.str("refresh_token")))
			if r.status != http.StatusOK {
				t.Fatalf("refresh after RevokeAccessTokens: Do() status = %d, want %d", r.status, http.StatusOK)
			}
			if got := getResource(t, c, tg.ResourceURL(), "Bearer "+r.str("access_token")); got.status != http.StatusOK {
				t.Errorf("resource with the refreshed token: Do() status = %d, want %d", got.status, http.StatusOK)
			}
		})
	}
}

func TestLastRequestCopies(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, true)
			c := tg.Client()
			if tg.LastTokenForm() != nil || tg.LastTokenHeader() != nil || tg.LastRevokeForm() != nil {
				t.Errorf("before any request: LastTokenForm, LastTokenHeader, LastRevokeForm are not all nil")
			}

			req := newRequest(t, http.MethodPost, tg.tokenURL, tg.tokenForm)
			req.Header.Set("X-Trace", "one")
			tok := send(t, c, req)
			if got := tg.LastTokenForm(); !cmp.Equal(got, tg.tokenForm) {
				t.Errorf("LastTokenForm() has fields %v, want the form sent, %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(tg.tokenForm)))
			}
			h := tg.LastTokenHeader()
			if h.Get("Content-Type") != formType || h.Get("X-Trace") != "one" {
				t.Errorf("LastTokenHeader() Content-Type, X-Trace = %q, %q; want %q, %q", h.Get("Content-Type"), h.Get("X-Trace"), formType, "one")
			}

			// The results are copies: changing them changes nothing.
			f := tg.LastTokenForm()
			f.Set("grant_type", "changed")
			f.Del("client_id")
			h.Set("X-Trace", "changed")
			if got := tg.LastTokenForm(); !cmp.Equal(got, tg.tokenForm) {
				t.Errorf("LastTokenForm() after changing an earlier result: fields differ from the form sent")
			}
			if got := tg.LastTokenHeader().Get("X-Trace"); got != "one" {
				t.Errorf("LastTokenHeader() after changing an earlier result: X-Trace = %q, want %q", got, "one")
			}

			revoke := tg.revokeForm(tok.str(tg.revokable))
			if r := postForm(t, c, tg.revokeURL, revoke); r.status != tg.revokeOK {
				t.Fatalf("revoke: Do() status = %d, want %d", r.status, tg.revokeOK)
			}
			rf := tg.LastRevokeForm()
			if !cmp.Equal(rf, revoke) {
				t.Errorf("LastRevokeForm() has fields %v, want the form sent, %v", slices.Sorted(maps.Keys(rf)), slices.Sorted(maps.Keys(revoke)))
			}
			rf.Set("token", "changed")
			if got := tg.LastRevokeForm(); !cmp.Equal(got, revoke) {
				t.Errorf("LastRevokeForm() after changing an earlier result: fields differ from the form sent")
			}
			if got := tg.LastTokenForm(); !cmp.Equal(got, tg.tokenForm) {
				t.Errorf("LastTokenForm() after a revocation: fields differ from the token form sent")
			}

			// The last request wins, faulted or rejected.
			tg.FailToken(1, vendoroauthtest.Fault{Status: http.StatusServiceUnavailable})
			bogus := pairs("grant_type", "bogus", "client_id", "x")
			if r := postForm(t, c, tg.tokenURL, bogus); r.status != http.StatusServiceUnavailable {
				t.Errorf("faulted request: Do() status = %d, want %d", r.status, http.StatusServiceUnavailable)
			}
			if got := tg.LastTokenForm(); !cmp.Equal(got, bogus) {
				t.Errorf("LastTokenForm() after a faulted request: fields differ from the form sent")
			}
			rejected := withField(revoke, "client_id", "someone-else")
			if r := postForm(t, c, tg.revokeURL, rejected); r.status < 400 {
				t.Errorf("revoke by an unknown client: Do() status = %d, want an error", r.status)
			}
			if got := tg.LastRevokeForm(); !cmp.Equal(got, rejected) {
				t.Errorf("LastRevokeForm() after a rejected revocation: fields differ from the form sent")
			}
		})
	}
}

// jwtLifetime returns exp - iat of JWT claims, or 0 if either is missing.
func jwtLifetime(claims map[string]any) time.Duration {
	exp, _ := claims["exp"].(json.Number).Int64()
	iat, _ := claims["iat"].(json.Number).Int64()
	if exp == 0 || iat == 0 {
		return 0
	}
	return time.Duration(exp-iat) * time.Second
}

// The fakes' methods are safe for concurrent use, also while requests run;
// -race checks it.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, true)
			c := tg.Client()
			const n = 32
			statuses := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					req, err := http.NewRequest(http.MethodPost, tg.tokenURL, strings.NewReader(tg.tokenForm.Encode()))
					if err != nil {
						return
					}
					req.Header.Set("Content-Type", formType)
					resp, err := c.Do(req)
					if err != nil {
						return
					}
					resp.Body.Close()
					statuses[i] = resp.StatusCode
				})
			}
			for i := range n {
				tg.SetTokenLifetime(time.Duration(i+1) * time.Minute)
				tg.SetJWTAccessTokens(i%2 == 0)
				tg.SetOmitExpiresIn(i%3 == 0)
				tg.SetTokenType("Bearer")
				tg.SetLatency(0)
				_ = tg.TokenRequests()
				_ = tg.TokenRequestsByGrant(tg.grantType)
				_ = tg.LastTokenForm()
				_ = tg.LastTokenHeader()
			}
			tg.RevokeAccessTokens()
			wg.Wait()
			if diff := cmp.Diff(slices.Repeat([]int{http.StatusOK}, n), statuses); diff != "" {
				t.Errorf("Do() statuses mismatch (-want +got):\n%s", diff)
			}
			if got := tg.TokenRequests(); got != n {
				t.Errorf("TokenRequests() = %d, want %d", got, n)
			}
		})
	}
}

func TestSetClockOffset(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				tg := newTarget(t, vendor, false)
				c := tg.InProcessClient()
				tg.SetJWTAccessTokens(true)
				before := tg.token(t, c).str("access_token")

				// The vendor's clock jumps a token lifetime ahead.
				tg.SetClockOffset(tg.lifetime)
				if got := getResource(t, c, tg.ResourceURL(), "Bearer "+before); got.status != http.StatusUnauthorized {
					t.Errorf("resource with a token issued before the jump: Do() status = %d, want %d", got.status, http.StatusUnauthorized)
				}
				r := tg.token(t, c)
				claims := jwtSegment(r.str("access_token"), 1)
				if iat, _ := claims["iat"].(json.Number).Int64(); iat != time.Now().Add(tg.lifetime).Unix() {
					t.Errorf("JWT iat = %d, want the fake's clock, %d", iat, time.Now().Add(tg.lifetime).Unix())
				}
				if got, ok := r.fields["expires_in"].(json.Number); !ok || got.String() != fmt.Sprint(int64(tg.lifetime/time.Second)) {
					t.Errorf("expires_in = %v, want %d, the lifetime", r.fields["expires_in"], int64(tg.lifetime/time.Second))
				}
				if got := getResource(t, c, tg.ResourceURL(), "Bearer "+r.str("access_token")); got.status != http.StatusOK {
					t.Errorf("resource with a token issued after the jump: Do() status = %d, want %d", got.status, http.StatusOK)
				}

				// And back: the first token is valid again.
				tg.SetClockOffset(0)
				if got := getResource(t, c, tg.ResourceURL(), "Bearer "+before); got.status != http.StatusOK {
					t.Errorf("resource with the first token after SetClockOffset(0): Do() status = %d, want %d", got.status, http.StatusOK)
				}

				// Behind: a token's exp is in the caller's past while the
				// fake still accepts it.
				tg.SetClockOffset(-2 * tg.lifetime)
				r = tg.token(t, c)
				if exp, _ := jwtSegment(r.str("access_token"), 1)["exp"].(json.Number).Int64(); exp >= time.Now().Unix() {
					t.Errorf("JWT exp = %d, want before now, %d", exp, time.Now().Unix())
				}
				if got := getResource(t, c, tg.ResourceURL(), "Bearer "+r.str("access_token")); got.status != http.StatusOK {
					t.Errorf("resource with a token issued by a clock behind: Do() status = %d, want %d", got.status, http.StatusOK)
				}
			})
		})
	}
}
