package vendoroauth_test

// Tests that guard behaviours a mutation review found unguarded.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// Close: a call made while Close waits for a fetch gets ErrClosed.
func TestTokenDuringCloseReturnsErrClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
		srv.SetTokenLifetime(time.Hour)
		inner := srv.InProcessClient().Transport
		release := make(chan struct{})
		var n atomic.Int32
		hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if n.Add(1) > 1 {
				<-release // a fetch that ignores cancellation
			}
			return inner.RoundTrip(r)
		})}
		src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, at(srv.URL, hc)...)
		if _, err := src.Token(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(56 * time.Minute)
		src.Token() // starts the background refresh, which hangs
		closed := make(chan struct{})
		go func() { src.Close(); close(closed) }()
		synctest.Wait()
		if tok, err := src.Token(); !errors.Is(err, vendoroauth.ErrClosed) {
			t.Errorf("Token() while Close waits = %v, %v; want ErrClosed", tok, err)
		}
		close(release)
		<-closed
	})
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	k, err := b.ReadCloser.Read(p)
	b.n.Add(int64(k))
	return k, err
}

// The response read is bounded, not just judged afterwards.
func TestTokenResponseReadIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
		srv.FailToken(1, vendoroauthtest.Fault{Status: 200, BodySize: 10 << 20})
		inner := srv.InProcessClient().Transport
		var read atomic.Int64
		hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := inner.RoundTrip(r)
			if err == nil {
				resp.Body = countingBody{resp.Body, &read}
			}
			return resp, err
		})}
		src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, at(srv.URL, hc)...)
		defer src.Close()
		if _, err := src.Token(); !errors.Is(err, vendoroauth.ErrMalformedResponse) {
			t.Fatalf("Token() = %v, want ErrMalformedResponse", err)
		}
		if got, max := read.Load(), int64(1<<20+64<<10+1); got > max {
			t.Errorf("read %d bytes of a 10 MiB body, want at most %d", got, max)
		}
	})
}

// Client canonicalises the token type ("bearer" → "Bearer").
func TestClientSendsCanonicalBearer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		srv.SetTokenType("bearer")
		inner := srv.InProcessClient().Transport
		var got string
		base := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			got = r.Header.Get("Authorization")
			return inner.RoundTrip(r)
		})}
		get(t, src.Client(contextWithClient(t.Context(), base)), srv.ResourceURL())
		if !strings.HasPrefix(got, "Bearer ") {
			t.Errorf("Authorization = %q, want the canonical \"Bearer \" prefix", got)
		}
	})
}

// A failed background refresh waits out the vendor's Retry-After.
func TestBackgroundRetryHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		srv.SetTokenLifetime(time.Hour)
		old, _ := src.Token()
		srv.FailToken(1, vendoroauthtest.Fault{Status: 429, RetryAfter: "120"})
		time.Sleep(56 * time.Minute)
		for range 119 {
			if tok, err := src.Token(); err != nil || tok != old {
				t.Fatalf("Token() = %v, %v", tok, err)
			}
			time.Sleep(time.Second)
			synctest.Wait()
		}
		if got := srv.TokenRequests(); got != 2 {
			t.Errorf("token requests within the 120s Retry-After = %d, want 2", got)
		}
		time.Sleep(2 * time.Second)
		src.Token()
		synctest.Wait()
		if got := srv.TokenRequests(); got != 3 {
			t.Errorf("token requests after Retry-After = %d, want 3", got)
		}
	})
}

// A 401 on a stale token does not evict the newer cached one.
func TestStale401DoesNotEvictNewerToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		inner := srv.InProcessClient().Transport
		var once atomic.Bool
		base := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if once.CompareAndSwap(false, true) {
				src.Invalidate() // someone else renews the token meanwhile
				if _, err := src.Token(); err != nil {
					t.Error(err)
				}
				srv.FailResource(1, vendoroauthtest.Fault{Status: 401})
			}
			return inner.RoundTrip(r)
		})}
		if _, err := src.Token(); err != nil {
			t.Fatal(err)
		}
		if got := get(t, src.Client(contextWithClient(t.Context(), base)), srv.ResourceURL()); got != 200 {
			t.Errorf("status = %d, want 200", got)
		}
		if got := srv.TokenRequests(); got != 2 {
			t.Errorf("token requests = %d, want 2 (the 401 on the old token must not evict the new one)", got)
		}
	})
}

// Revoke revokes what a running fetch brings, not what it replaces.
func TestRevokeWaitsForRunningFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleEnduroSat(t)
		srv.SetRotateRefreshTokens(true)
		if _, err := src.Token(); err != nil {
			t.Fatal(err)
		}
		srv.SetLatency(10 * time.Second)
		src.Invalidate()
		toks := make(chan string, 1)
		go func() { tok, _ := src.Token(); toks <- tok.RefreshToken }()
		time.Sleep(time.Second)
		if err := src.Revoke(t.Context()); err != nil {
			t.Fatal(err)
		}
		rotated := <-toks
		if got := srv.LastRevokeForm().Get("token"); got != rotated {
			t.Errorf("Revoke sent the pre-rotation refresh token, want the one the running fetch got")
		}
		srv.SetLatency(0)
		src.Token()
		if got := srv.TokenRequestsByGrant("password"); got != 2 {
			t.Errorf("password grants = %d, want 2 (Revoke forgot the rotated token)", got)
		}
	})
}

// A token within the expiry margin is not handed out.
func TestNearlyExpiredTokenNotHandedOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		srv.SetTokenLifetime(time.Hour)
		old, _ := src.Token()
		srv.FailTokenUntil(time.Now().Add(3*time.Hour), vendoroauthtest.Fault{Status: 503})
		time.Sleep(time.Hour - 5*time.Second)
		synctest.Wait()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if tok, err := src.TokenContext(ctx); err == nil && tok == old {
			t.Errorf("TokenContext() 5s before expiry returned the old token; want it treated as expired")
		}
	})
}

// A successful fetch ends the pause after an earlier rejection.
func TestSuccessClearsRejection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		srv.SetTokenLifetime(time.Minute)
		if _, err := src.Token(); err != nil {
			t.Fatal(err)
		}
		srv.FailToken(1, vendoroauthtest.Fault{Status: 401, Body: `{"error":"invalid_client"}`})
		time.Sleep(48 * time.Second)
		src.Token() // background refresh rejected
		synctest.Wait()
		time.Sleep(3 * time.Second)
		src.Token() // background retry succeeds
		synctest.Wait()
		if got := srv.TokenRequests(); got != 3 {
			t.Fatalf("token requests = %d, want 3", got)
		}
		srv.FailResource(1, vendoroauthtest.Fault{Status: 401})
		c := src.Client(contextWithClient(t.Context(), srv.InProcessClient()))
		if got := get(t, c, srv.ResourceURL()); got != 200 {
			t.Errorf("status after a 401 = %d, want 200 (a stale rejection blocked the refetch)", got)
		}
	})
}
