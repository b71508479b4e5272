package vendoroauth_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

func TestCachedTokenNoRequestNoAlloc(t *testing.T) {
	// Not parallel: testing.AllocsPerRun refuses to run in parallel tests.
	srv := newFormlabs(t)
	src := flSource(t, srv)
	first, err := src.Token()
	require.NoError(t, err, "Token()")
	shared, err := src.TokenContext(t.Context())
	require.NoError(t, err, "TokenContext()")
	require.Equal(t, first.AccessToken, shared.AccessToken, "TokenContext(): want the cached token")
	allocs := testing.AllocsPerRun(1000, func() {
		tok, err := src.TokenContext(t.Context())
		assert.NoError(t, err, "TokenContext()")
		assert.Same(t, shared, tok, "TokenContext(): want the cached token")
	})
	assert.Zero(t, allocs, "allocations by TokenContext() on a cached token")
	// Token returns a copy the caller owns: one allocation, never the
	// shared token, so that a wrapper writing into it races with nobody.
	allocs = testing.AllocsPerRun(1000, func() {
		tok, err := src.Token()
		if assert.NoError(t, err, "Token()") {
			assert.NotSame(t, shared, tok, "Token(): want a copy, never the shared token")
			// Not assert.Equal: boxing the two strings would allocate.
			assert.True(t, tok.AccessToken == shared.AccessToken, "Token(): want a copy of the cached token")
		}
	})
	assert.Equal(t, 1.0, allocs, "allocations by Token() on a cached token (the copy)")
	assert.Equal(t, 1, srv.TokenRequests(), "token requests")
}

func TestOneFetchForManyCallers(t *testing.T) {
	for _, expired := range []bool{false, true} {
		name := map[bool]string{false: "no token yet", true: "expired token"}[expired]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, src := bubbleEnduroSat(t)
				srv.SetLatency(2 * time.Second)
				want := 1
				if expired {
					_, err := src.Token()
					require.NoError(t, err, "Token()")
					time.Sleep(2 * time.Hour)
					// The first token, its refresh at its refresh time (it
					// was handed out), and one fetch for the 1000 callers
					// once that unused one expired.
					want = 3
				}
				var wg sync.WaitGroup
				var failures atomic.Int32
				toks := make([]*oauth2.Token, 1000)
				for i := range toks {
					wg.Go(func() {
						tok, err := src.Token()
						if err != nil {
							failures.Add(1)
						}
						toks[i] = tok
					})
				}
				wg.Wait()
				assert.Zero(t, failures.Load(), "callers of 1000 whose Token() failed")
				assert.Equal(t, want, srv.TokenRequests(), "token requests")
				for i, tok := range toks {
					require.NotNil(t, tok, "Token() of caller %d", i)
					if !assert.Equal(t, toks[0].AccessToken, tok.AccessToken, "Token() of caller %d: callers got different tokens", i) {
						break // one report, not 1000
					}
				}
			})
		})
	}
}

func TestEarlyRefreshIsAsync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		srv.SetTokenLifetime(time.Hour)
		old, err := src.Token()
		require.NoError(t, err, "Token()")
		// The default window is min(5m, 1h/5) = 5m, started up to a tenth
		// of it early (jitter). At 54m nothing has happened.
		time.Sleep(54 * time.Minute)
		at54, _ := src.Token()
		require.Equal(t, old.AccessToken, at54.AccessToken, "Token() at 54m returned a new token")
		require.Equal(t, 1, srv.TokenRequests(), "token requests at 54m")

		// The refresh starts by itself in the window and takes 20s:
		// callers get a valid token at once all the while.
		srv.SetLatency(20 * time.Second)
		start := time.Now()
		for range 120 {
			tok, err := src.Token()
			require.NoError(t, err, "Token() in the early window")
			require.True(t, tok.Valid(), "Token() in the early window = %v; want a valid token", tok)
			time.Sleep(time.Second)
		}
		assert.Zero(t, time.Since(start)-120*time.Second, "time callers in the early window waited")
		synctest.Wait()
		assert.Equal(t, 2, srv.TokenRequests(), "token requests after the early window")
		after, _ := src.Token()
		assert.NotEqual(t, old.AccessToken, after.AccessToken, "Token() after the background refresh returned the old token")
	})
}

func TestEarlyWindowScalesWithLifetime(t *testing.T) {
	tests := []struct {
		name     string
		lifetime time.Duration
		early    vendoroauth.Option
		calls    int
		every    time.Duration
		want     int // token requests
	}{
		// x/oauth2 fetched 5 times for 5 calls on expires_in=5.
		{"5s token", 5 * time.Second, nil, 5, 500 * time.Millisecond, 1},
		{"1m token, window 12s", time.Minute, nil, 47, time.Second, 1},
		{"1m token, window 12s, crossed", time.Minute, nil, 50, time.Second, 2},
		// Refresh times come up to a tenth of the window early (jitter).
		{"explicit window capped at half", time.Minute, vendoroauth.WithEarlyRefresh(time.Hour), 27, time.Second, 1},
		{"explicit window", time.Hour, vendoroauth.WithEarlyRefresh(30 * time.Minute), 27, time.Minute, 1},
		{"explicit window crossed", time.Hour, vendoroauth.WithEarlyRefresh(30 * time.Minute), 31, time.Minute, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, src := bubbleFormlabs(t, tt.early)
				srv.SetTokenLifetime(tt.lifetime)
				for i := range tt.calls {
					if i > 0 {
						time.Sleep(tt.every)
					}
					_, err := src.Token()
					require.NoError(t, err, "Token() call %d", i)
					synctest.Wait()
				}
				assert.Equal(t, tt.want, srv.TokenRequests(), "token requests")
			})
		})
	}
}

func TestConstructorContextGivesValuesOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
		// The HTTP client comes from the constructor's context, as in x/oauth2.
		ctx, cancel := context.WithCancel(context.WithValue(t.Context(), oauth2.HTTPClient, srv.InProcessClient()))
		src := vendoroauth.FormlabsTokenSource(ctx, flClientID, flSecret, vendoroauth.WithBaseURL(srv.URL))
		defer src.Close()
		cancel()
		_, err := src.Token()
		require.NoError(t, err, "Token() after the constructor's ctx was cancelled")
		time.Sleep(25 * time.Hour)
		_, err = src.Token()
		require.NoError(t, err, "Token() refreshing after the constructor's ctx was cancelled")
		assert.Equal(t, 2, srv.TokenRequests(), "token requests")
	})
}

// traceKey is a context key a caller's tracing might use.
type traceKey struct{}

// TestFetchCarriesConstructorValues: the token request's context carries
// the constructor's values, whether that ctx can be cancelled or not.
func TestFetchCarriesConstructorValues(t *testing.T) {
	for _, cancellable := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			srv := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
			var seen atomic.Value
			hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				seen.Store(r.Context().Value(traceKey{}))
				return srv.InProcessClient().Transport.RoundTrip(r)
			})}
			ctx := context.WithValue(context.Background(), traceKey{}, "trace-1")
			if cancellable {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
			}
			src := vendoroauth.FormlabsTokenSource(ctx, flClientID, flSecret, vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithHTTPClient(hc))
			defer src.Close()
			_, err := src.Token()
			require.NoError(t, err, "Token()")
			assert.Equal(t, "trace-1", seen.Load(), "cancellable constructor ctx: %v", cancellable)
		})
	}
}

func TestTokenContextLeavesFetchRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		srv.SetLatency(20 * time.Second)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := src.TokenContext(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded, "TokenContext() with a 1s deadline")
		assert.Equal(t, time.Second, time.Since(start), "time TokenContext() waited")
		tok, err := src.Token() // joins the fetch still running
		require.NoError(t, err, "Token()")
		require.NotNil(t, tok, "Token()")
		assert.Equal(t, 20*time.Second, time.Since(start), "time until Token() returned: want the fetch's")
		assert.Equal(t, 1, srv.TokenRequests(), "token requests")
	})
}

func TestInvalidate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleEnduroSat(t)
		first, err := src.Token()
		require.NoError(t, err, "Token()")
		src.Invalidate()
		second, err := src.Token()
		require.NoError(t, err, "Token() after Invalidate")
		assert.NotEqual(t, first.AccessToken, second.AccessToken, "Token() after Invalidate: want a new token")
		assert.Equal(t, 1, srv.TokenRequestsByGrant("refresh_token"), "refresh grants (Invalidate keeps the refresh token)")
	})
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		_, err := src.Token()
		require.NoError(t, err, "Token()")
		require.NoError(t, src.Close(), "Close()")
		require.NoError(t, src.Close(), "second Close()")
		_, err = src.Token()
		assert.ErrorIs(t, err, vendoroauth.ErrClosed, "Token() after Close, even with a valid cached token")
		_, err = src.TokenContext(t.Context())
		assert.ErrorIs(t, err, vendoroauth.ErrClosed, "TokenContext() after Close")
		assert.ErrorIs(t, src.Revoke(t.Context()), vendoroauth.ErrClosed, "Revoke() after Close")
		resp, err := src.Client(t.Context()).Get(srv.ResourceURL())
		if err == nil {
			resp.Body.Close()
		}
		assert.ErrorIs(t, err, vendoroauth.ErrClosed, "Client().Get() after Close")
	})
}

func TestCloseStopsRunningFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		srv.SetLatency(time.Hour)
		errc := make(chan error, 1)
		go func() {
			_, err := src.Token()
			errc <- err
		}()
		time.Sleep(time.Second)
		start := time.Now()
		src.Close()
		assert.ErrorIs(t, <-errc, vendoroauth.ErrClosed, "waiting Token() after Close")
		assert.Zero(t, time.Since(start), "time Close() took: want it to cancel the fetch at once")
		// synctest.Test fails if the fetch goroutine is still around.
	})
}

func TestBackgroundFailureKeepsTokenAndRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		srv.SetTokenLifetime(time.Hour)
		old, err := src.Token()
		require.NoError(t, err, "Token()")
		// Every refresh fails for the next 3 minutes' worth of attempts.
		srv.FailToken(12, vendoroauthtest.Fault{Status: 503})
		time.Sleep(56 * time.Minute)
		for range 180 { // one call a second until 59m
			tok, err := src.Token()
			require.NoError(t, err, "Token() at %v during failing refreshes", time.Since(time.Time{}))
			if tok.AccessToken != old.AccessToken {
				break
			}
			time.Sleep(time.Second)
			synctest.Wait()
		}
		synctest.Wait()
		tok, err := src.Token()
		require.NoError(t, err, "Token() after the fault cleared")
		assert.NotEqual(t, old.AccessToken, tok.AccessToken, "Token() after the fault cleared: want a new token before expiry")
		assert.Equal(t, 14, srv.TokenRequests(), "token requests (1 + 12 failed + 1)")
	})
}

func TestZeroTokenSource(t *testing.T) {
	t.Parallel()
	var src vendoroauth.TokenSource
	_, err := src.Token()
	assert.ErrorIs(t, err, vendoroauth.ErrInvalidConfig, "zero TokenSource Token()")
	assert.ErrorIs(t, src.Revoke(context.Background()), vendoroauth.ErrInvalidConfig, "zero TokenSource Revoke()")
	src.Invalidate()
	assert.NoError(t, src.Close(), "zero TokenSource Close()")

	// Its Client, and a nil source's, fail every request with that error
	// and send nothing: without a token the API could only answer 401.
	api := newFormlabs(t)
	for name, s := range map[string]*vendoroauth.TokenSource{"zero": &src, "nil": nil} {
		_, err := s.Client(contextWithClient(t.Context(), api.Client())).Get(api.ResourceURL())
		assert.ErrorIs(t, err, vendoroauth.ErrInvalidConfig, "%s TokenSource: Client().Get()", name)
	}
	assert.Zero(t, api.ResourceRequests(), "requests that reached the API")
}

func TestWithToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword)
		// Log in once, then start a refresh-only source from the saved token.
		first, src0 := func() (*oauth2.Token, *vendoroauth.TokenSource) {
			s := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, esPassword, at(srv.URL, srv.InProcessClient())...)
			tok, err := s.Token()
			require.NoError(t, err, "Token() of the password source")
			return tok, s
		}()
		src0.Close()
		src := vendoroauth.EnduroSatRefreshTokenSource(t.Context(), esClientID, "",
			append(at(srv.URL, srv.InProcessClient()), vendoroauth.WithToken(first))...)
		defer src.Close()
		tok, err := src.Token()
		require.NoError(t, err, "Token() with WithToken")
		require.Equal(t, first.AccessToken, tok.AccessToken, "Token() with WithToken: want the saved token, no request")
		time.Sleep(2 * time.Hour)
		_, err = src.Token()
		require.NoError(t, err, "Token() after expiry")
		// One refresh at the saved token's refresh time (it was handed
		// out), one after that unused token expired.
		assert.Equal(t, 2, srv.TokenRequestsByGrant("refresh_token"), "refresh grants")
		assert.Equal(t, 1, srv.TokenRequestsByGrant("password"), "password grants")
	})
}

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
		_, err := src.Token()
		require.NoError(t, err, "Token()")
		time.Sleep(56 * time.Minute)
		src.Token() // starts the background refresh, which hangs
		closed := make(chan struct{})
		go func() { src.Close(); close(closed) }()
		synctest.Wait()
		tok, err := src.Token()
		assert.ErrorIs(t, err, vendoroauth.ErrClosed, "Token() while Close waits (token %v)", tok)
		close(release)
		<-closed
	})
}

// A failed background refresh waits out the vendor's Retry-After.
func TestBackgroundRetryHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		srv.SetTokenLifetime(time.Hour)
		old, _ := src.Token()
		srv.FailToken(1, vendoroauthtest.Fault{Status: 429, RetryAfter: "120"})
		time.Sleep(54 * time.Minute)
		for srv.TokenRequests() < 2 { // the background refresh meets the 429
			time.Sleep(time.Second)
		}
		for range 119 {
			tok, err := src.Token()
			require.NoError(t, err, "Token() within the Retry-After")
			require.Equal(t, old.AccessToken, tok.AccessToken, "Token() within the Retry-After: want the old token")
			time.Sleep(time.Second)
			synctest.Wait()
		}
		assert.Equal(t, 2, srv.TokenRequests(), "token requests within the 120s Retry-After")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.Equal(t, 3, srv.TokenRequests(), "token requests after Retry-After")
	})
}

// Revoke revokes what a running fetch brings, not what it replaces.
func TestRevokeWaitsForRunningFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleEnduroSat(t)
		srv.SetRotateRefreshTokens(true)
		_, err := src.Token()
		require.NoError(t, err, "Token()")
		srv.SetLatency(10 * time.Second)
		src.Invalidate()
		toks := make(chan string, 1)
		go func() { tok, _ := src.Token(); toks <- tok.RefreshToken }()
		time.Sleep(time.Second)
		require.NoError(t, src.Revoke(t.Context()), "Revoke()")
		rotated := <-toks
		assert.Equal(t, rotated, srv.LastRevokeForm().Get("token"),
			"refresh token Revoke sent: want the one the running fetch got, not the pre-rotation one")
		srv.SetLatency(0)
		src.Token()
		assert.Equal(t, 2, srv.TokenRequestsByGrant("password"), "password grants (2: Revoke forgot the rotated token)")
	})
}

// A token within the expiry margin is not handed out.
func TestNearlyExpiredTokenNotHandedOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		srv.SetTokenLifetime(time.Hour)
		old, err := src.Token()
		require.NoError(t, err, "Token()")
		srv.FailTokenUntil(time.Now().Add(3*time.Hour), vendoroauthtest.Fault{Status: 503})
		time.Sleep(time.Hour - 5*time.Second)
		synctest.Wait()
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		// An error (no token before ctx is done) is fine; the old token is not.
		if tok, err := src.TokenContext(ctx); err == nil {
			assert.NotEqual(t, old.AccessToken, tok.AccessToken,
				"TokenContext() 5s before expiry returned the old token; want it treated as expired")
		}
	})
}

// A successful fetch ends the pause after an earlier rejection.
func TestSuccessClearsRejection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		srv.SetTokenLifetime(5 * time.Minute)
		_, err := src.Token()
		require.NoError(t, err, "Token()")
		srv.FailToken(1, vendoroauthtest.Fault{Status: 401, Body: `{"error":"invalid_client"}`})
		time.Sleep(4 * time.Minute)
		src.Token() // background refresh rejected
		synctest.Wait()
		time.Sleep(31 * time.Second) // past the 30s hold-down after a rejection
		src.Token()                  // background retry succeeds
		synctest.Wait()
		require.Equal(t, 3, srv.TokenRequests(), "token requests")
		srv.FailResource(1, vendoroauthtest.Fault{Status: 401})
		c := src.Client(contextWithClient(t.Context(), srv.InProcessClient()))
		assert.Equal(t, 200, get(t, c, srv.ResourceURL()), "Client().Get() status after a 401 (a stale rejection would block the refetch)")
	})
}

func TestTokenSourceRevokeEnduroSat(t *testing.T) {
	t.Parallel()
	srv := newEnduroSat(t)
	src := esSource(t, srv)
	tok, err := src.Token()
	require.NoError(t, err, "Token()")
	require.Equal(t, http.StatusOK, get(t, bearer(srv.Client(), tok.AccessToken), srv.ResourceURL()), "resource status before Revoke()")
	require.NoError(t, src.Revoke(t.Context()), "Revoke()")
	if diff := cmp.Diff(map[string][]string{"client_id": {esClientID}, "token": {tok.RefreshToken}}, map[string][]string(srv.LastRevokeForm())); diff != "" {
		t.Errorf("revoke form mismatch (-want +got):\n%s", diff)
	}
	assert.Equal(t, http.StatusUnauthorized, get(t, bearer(srv.Client(), tok.AccessToken), srv.ResourceURL()),
		"resource status with the revoked session's access token")
	// The source forgot everything and logs in again with the password.
	tok2, err := src.Token()
	require.NoError(t, err, "Token() after Revoke")
	assert.NotEqual(t, tok.AccessToken, tok2.AccessToken, "Token() after Revoke: want a fresh login")
	assert.Equal(t, 2, srv.TokenRequestsByGrant("password"), "password grants")
}

func TestTokenSourceRevokeFormlabs(t *testing.T) {
	t.Parallel()
	srv := newFormlabs(t)
	src := flSource(t, srv)
	tok, err := src.Token()
	require.NoError(t, err, "Token()")
	require.NoError(t, src.Revoke(t.Context()), "Revoke()")
	assert.Equal(t, http.StatusUnauthorized, get(t, bearer(srv.Client(), tok.AccessToken), srv.ResourceURL()),
		"resource status with the revoked token")
	assert.NoError(t, src.Revoke(t.Context()), "second Revoke() with nothing held")
	assert.Equal(t, 1, srv.RevokeRequests(), "revoke requests")
}

func TestRefreshOnlySourceAfterRevoke(t *testing.T) {
	t.Parallel()
	srv := newEnduroSat(t)
	tok, err := esSource(t, srv).Token()
	require.NoError(t, err, "Token() of the password source")
	src := vendoroauth.EnduroSatRefreshTokenSource(t.Context(), esClientID, tok.RefreshToken, at(srv.URL, srv.Client())...)
	defer src.Close()
	require.NoError(t, src.Revoke(t.Context()), "Revoke()")
	_, err = src.Token()
	assert.ErrorIs(t, err, vendoroauth.ErrInvalidCredentials, "Token() after Revoke on a refresh-only source")
}

// TestHerdDueTogether: 10,000 sources whose tokens come due together
// refresh in the background at most 64 at a time, before their tokens
// expire, and no caller waits.
func TestHerdDueTogether(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 sources; skipped with -short")
	}
	synctest.Test(t, func(t *testing.T) {
		// A 1s endpoint: without the cap, the refreshes that jitter spreads
		// over 30s would still be about 330 at once.
		srv := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
		srv.SetLatency(time.Second)
		inner := srv.InProcessClient().Transport
		var inFlight, peak atomic.Int64
		counting := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			n := inFlight.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			defer inFlight.Add(-1)
			return inner.RoundTrip(r)
		})}
		sources := make([]*vendoroauth.TokenSource, 10_000)
		var wg sync.WaitGroup
		for i := range sources {
			sources[i] = vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, at(srv.URL, counting)...)
			defer sources[i].Close()
			wg.Go(func() {
				_, err := sources[i].Token()
				assert.NoError(t, err, "first Token() of source %d", i)
			})
		}
		wg.Wait()
		peak.Store(0)
		require.Equal(t, len(sources), srv.TokenRequests(), "token requests for the first tokens")

		// Into the early window (the last 5 minutes of 24 hours), callers
		// keep asking every 5 seconds.
		time.Sleep(24*time.Hour - 6*time.Minute)
		var waits, errs int
		for range 6 * 60 / 5 {
			for _, s := range sources {
				start := time.Now()
				if _, err := s.Token(); err != nil {
					errs++
				}
				if time.Since(start) > 0 {
					waits++
				}
			}
			time.Sleep(5 * time.Second)
		}
		synctest.Wait()
		assert.Zero(t, errs, "Token() errors")
		assert.Zero(t, waits, "calls of %d that waited", 72*len(sources))
		assert.LessOrEqual(t, peak.Load(), int64(64), "token requests in flight at once")
		assert.Equal(t, 2*len(sources), srv.TokenRequests(), "every source refreshed once, before expiry")
		t.Logf("10,000 sources due together: %d token requests in flight at most, %d errors, %d of %d calls waited",
			peak.Load(), errs, waits, 72*len(sources))
	})
}

// TestTokenSourceRevokeEnduroSatAccessTokenOnly: EnduroSat revokes refresh
// tokens only; a source holding just an access token says so and sends
// nothing, and one holding nothing has nothing to do.
func TestTokenSourceRevokeEnduroSatAccessTokenOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword)
		opts := at(srv.URL, srv.InProcessClient())
		src := vendoroauth.EnduroSatRefreshTokenSource(t.Context(), esClientID, "",
			append(opts, vendoroauth.WithToken(&oauth2.Token{AccessToken: "at", Expiry: time.Now().Add(time.Hour)}),
				vendoroauth.WithStore(&memStore{}))...)
		defer src.Close()
		err := src.Revoke(t.Context())
		require.Error(t, err, "Revoke() with an access token alone")
		assert.Contains(t, err.Error(), "refresh tokens only", "Revoke() error with an access token alone")
		assert.Zero(t, srv.RevokeRequests(), "revoke requests")

		empty := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, esPassword, opts...)
		defer empty.Close()
		assert.NoError(t, empty.Revoke(t.Context()), "Revoke() holding nothing")
		assert.Zero(t, srv.RevokeRequests(), "revoke requests")
	})
}

// TestUnusedTokenIsNotRefreshed: a handed-out token is refreshed at its
// refresh time with no call; the new one, which nobody takes, is not, so an
// idle source stops making requests.
func TestUnusedTokenIsNotRefreshed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		srv.SetTokenLifetime(time.Hour)
		_, err := src.Token()
		require.NoError(t, err, "Token()")
		time.Sleep(10 * time.Hour)
		assert.Equal(t, 2, srv.TokenRequests(), "the first token, and one refresh of it before it expired")

		// A source given a token nobody takes makes no request at all.
		idle := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret,
			append(at(srv.URL, srv.InProcessClient()), vendoroauth.WithToken(&oauth2.Token{AccessToken: "given", Expiry: time.Now().Add(time.Hour)}))...)
		defer idle.Close()
		time.Sleep(10 * time.Hour)
		assert.Equal(t, 2, srv.TokenRequests(), "token requests by an idle source")
	})
}

// TestBackgroundRejectionHoldsDown: a background refresh the vendor rejects
// is retried no sooner than the 30s hold-down, so that a wrong secret in a
// long-lived source cannot lock the account.
func TestBackgroundRejectionHoldsDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		srv.SetTokenLifetime(time.Hour)
		_, err := src.Token()
		require.NoError(t, err, "Token()")
		srv.FailToken(100, vendoroauthtest.Fault{Status: 401, Body: `{"error":"invalid_client"}`})
		time.Sleep(time.Hour - 11*time.Second) // through the whole early window
		assert.LessOrEqual(t, srv.TokenRequests()-1, 10, "rejected background refreshes in 5 minutes")
	})
}

// TestPanickingStoreStrandsNoWaiter: a store that panics inside a fetch
// that a Token caller runs itself panics in that caller, as a bug should,
// but leaves no call in flight: the next caller is not stranded waiting for
// it, and Close returns.
func TestPanickingStoreStrandsNoWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, src := bubbleFormlabs(t, vendoroauth.WithStore(panicStore{}))
		for i := range 2 {
			func() {
				defer func() { assert.NotNil(t, recover(), "Token() #%d: the store's panic", i) }()
				src.Token()
			}()
		}
		assert.NoError(t, src.Close(), "Close()")
	})
}

// panicStore panics on every call.
type panicStore struct{}

func (panicStore) Load(context.Context) ([]byte, error) { panic("store bug") }
func (panicStore) Save(context.Context, []byte) error   { panic("store bug") }
