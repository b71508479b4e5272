package vendoroauth_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2"

	"net/http"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

func TestCachedTokenNoRequestNoAlloc(t *testing.T) {
	// Not parallel: testing.AllocsPerRun refuses to run in parallel tests.
	srv := newFormlabs(t)
	src := flSource(t, srv)
	first, err := src.Token()
	if err != nil {
		t.Fatalf("Token() error = %v", err)
	}
	shared, err := src.TokenContext(t.Context())
	if err != nil || shared.AccessToken != first.AccessToken {
		t.Fatalf("TokenContext() = %v, %v; want the cached token", shared, err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		tok, err := src.TokenContext(t.Context())
		if err != nil || tok != shared {
			t.Fatalf("TokenContext() = %p, %v; want the cached %p", tok, err, shared)
		}
	})
	if allocs != 0 {
		t.Errorf("TokenContext() on a cached token: %v allocations, want 0", allocs)
	}
	// Token returns a copy the caller owns: one allocation, never the
	// shared token, so that a wrapper writing into it races with nobody.
	allocs = testing.AllocsPerRun(1000, func() {
		tok, err := src.Token()
		if err != nil || tok == shared || tok.AccessToken != shared.AccessToken {
			t.Fatalf("Token() = %p, %v; want a copy of %p", tok, err, shared)
		}
	})
	if allocs != 1 {
		t.Errorf("Token() on a cached token: %v allocations, want 1 (the copy)", allocs)
	}
	if got := srv.TokenRequests(); got != 1 {
		t.Errorf("token requests = %d, want 1", got)
	}
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
					if _, err := src.Token(); err != nil {
						t.Fatalf("Token() error = %v", err)
					}
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
				if n := failures.Load(); n != 0 {
					t.Errorf("%d of 1000 callers got an error", n)
				}
				if got := srv.TokenRequests(); got != want {
					t.Errorf("token requests = %d, want %d", got, want)
				}
				for _, tok := range toks {
					if tok == nil || tok.AccessToken != toks[0].AccessToken {
						t.Fatalf("callers got different tokens")
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
		if err != nil {
			t.Fatalf("Token() error = %v", err)
		}
		// The default window is min(5m, 1h/5) = 5m, started up to a tenth
		// of it early (jitter). At 54m nothing has happened.
		time.Sleep(54 * time.Minute)
		if tok, _ := src.Token(); tok.AccessToken != old.AccessToken {
			t.Fatalf("Token() at 54m returned a new token")
		}
		if got := srv.TokenRequests(); got != 1 {
			t.Fatalf("token requests at 54m = %d, want 1", got)
		}

		// The refresh starts by itself in the window and takes 20s:
		// callers get a valid token at once all the while.
		srv.SetLatency(20 * time.Second)
		start := time.Now()
		for range 120 {
			tok, err := src.Token()
			if err != nil || !tok.Valid() {
				t.Fatalf("Token() in the early window = %v, %v; want a valid token", tok, err)
			}
			time.Sleep(time.Second)
		}
		if waited := time.Since(start) - 120*time.Second; waited != 0 {
			t.Errorf("callers in the early window waited %v, want 0", waited)
		}
		synctest.Wait()
		if got := srv.TokenRequests(); got != 2 {
			t.Errorf("token requests after the early window = %d, want 2", got)
		}
		if tok, _ := src.Token(); tok.AccessToken == old.AccessToken {
			t.Errorf("Token() after the background refresh returned the old token")
		}
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
					if _, err := src.Token(); err != nil {
						t.Fatalf("Token() error = %v", err)
					}
					synctest.Wait()
				}
				if got := srv.TokenRequests(); got != tt.want {
					t.Errorf("token requests = %d, want %d", got, tt.want)
				}
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
		if _, err := src.Token(); err != nil {
			t.Fatalf("Token() after the constructor's ctx was cancelled: %v", err)
		}
		time.Sleep(25 * time.Hour)
		if _, err := src.Token(); err != nil {
			t.Fatalf("refresh after the constructor's ctx was cancelled: %v", err)
		}
		if got := srv.TokenRequests(); got != 2 {
			t.Errorf("token requests = %d, want 2", got)
		}
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
			require.NoError(t, err)
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
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("TokenContext() error = %v, want context.DeadlineExceeded", err)
		}
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("TokenContext() waited %v, want 1s", waited)
		}
		tok, err := src.Token() // joins the fetch still running
		if err != nil || tok == nil {
			t.Fatalf("Token() = %v, %v", tok, err)
		}
		if waited := time.Since(start); waited != 20*time.Second {
			t.Errorf("Token() returned after %v, want the fetch's 20s", waited)
		}
		if got := srv.TokenRequests(); got != 1 {
			t.Errorf("token requests = %d, want 1", got)
		}
	})
}

func TestInvalidate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleEnduroSat(t)
		first, err := src.Token()
		if err != nil {
			t.Fatalf("Token() error = %v", err)
		}
		src.Invalidate()
		second, err := src.Token()
		if err != nil || second == first {
			t.Fatalf("Token() after Invalidate = %v, %v; want a new token", second, err)
		}
		if got := srv.TokenRequestsByGrant("refresh_token"); got != 1 {
			t.Errorf("refresh grants = %d, want 1 (Invalidate keeps the refresh token)", got)
		}
	})
}

func TestClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		if _, err := src.Token(); err != nil {
			t.Fatalf("Token() error = %v", err)
		}
		if err := src.Close(); err != nil {
			t.Fatalf("Close() = %v", err)
		}
		if err := src.Close(); err != nil {
			t.Fatalf("second Close() = %v", err)
		}
		if _, err := src.Token(); !errors.Is(err, vendoroauth.ErrClosed) {
			t.Errorf("Token() after Close = %v, want ErrClosed even with a valid cached token", err)
		}
		if _, err := src.TokenContext(t.Context()); !errors.Is(err, vendoroauth.ErrClosed) {
			t.Errorf("TokenContext() after Close = %v, want ErrClosed", err)
		}
		if err := src.Revoke(t.Context()); !errors.Is(err, vendoroauth.ErrClosed) {
			t.Errorf("Revoke() after Close = %v, want ErrClosed", err)
		}
		resp, err := src.Client(t.Context()).Get(srv.ResourceURL())
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, vendoroauth.ErrClosed) {
			t.Errorf("Client().Get() after Close = %v, want ErrClosed", err)
		}
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
		if err := <-errc; !errors.Is(err, vendoroauth.ErrClosed) {
			t.Errorf("waiting Token() after Close = %v, want ErrClosed", err)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("Close() took %v, want it to cancel the fetch at once", waited)
		}
		// synctest.Test fails if the fetch goroutine is still around.
	})
}

func TestBackgroundFailureKeepsTokenAndRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		srv.SetTokenLifetime(time.Hour)
		old, err := src.Token()
		if err != nil {
			t.Fatalf("Token() error = %v", err)
		}
		// Every refresh fails for the next 3 minutes' worth of attempts.
		srv.FailToken(12, vendoroauthtest.Fault{Status: 503})
		time.Sleep(56 * time.Minute)
		for range 180 { // one call a second until 59m
			tok, err := src.Token()
			if err != nil {
				t.Fatalf("Token() at %v during failing refreshes: %v", time.Since(time.Time{}), err)
			}
			if tok.AccessToken != old.AccessToken {
				break
			}
			time.Sleep(time.Second)
			synctest.Wait()
		}
		synctest.Wait()
		tok, err := src.Token()
		if err != nil || tok.AccessToken == old.AccessToken {
			t.Fatalf("Token() after the fault cleared = %v, %v; want a new token before expiry", tok, err)
		}
		if got := srv.TokenRequests(); got != 14 {
			t.Errorf("token requests = %d, want 14 (1 + 12 failed + 1)", got)
		}
	})
}

func TestZeroTokenSource(t *testing.T) {
	t.Parallel()
	var src vendoroauth.TokenSource
	if _, err := src.Token(); !errors.Is(err, vendoroauth.ErrInvalidConfig) {
		t.Errorf("zero TokenSource Token() = %v, want ErrInvalidConfig", err)
	}
	if err := src.Revoke(context.Background()); !errors.Is(err, vendoroauth.ErrInvalidConfig) {
		t.Errorf("zero TokenSource Revoke() = %v, want ErrInvalidConfig", err)
	}
	src.Invalidate()
	if err := src.Close(); err != nil {
		t.Errorf("zero TokenSource Close() = %v", err)
	}

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
			if err != nil {
				t.Fatalf("Token() error = %v", err)
			}
			return tok, s
		}()
		src0.Close()
		src := vendoroauth.EnduroSatRefreshTokenSource(t.Context(), esClientID, "",
			append(at(srv.URL, srv.InProcessClient()), vendoroauth.WithToken(first))...)
		defer src.Close()
		tok, err := src.Token()
		if err != nil || tok.AccessToken != first.AccessToken {
			t.Fatalf("Token() with WithToken = %v, %v; want the saved token, no request", tok, err)
		}
		time.Sleep(2 * time.Hour)
		if _, err := src.Token(); err != nil {
			t.Fatalf("Token() after expiry = %v", err)
		}
		// One refresh at the saved token's refresh time (it was handed
		// out), one after that unused token expired.
		if got, want := srv.TokenRequestsByGrant("refresh_token"), 2; got != want {
			t.Errorf("refresh grants = %d, want %d", got, want)
		}
		if got, want := srv.TokenRequestsByGrant("password"), 1; got != want {
			t.Errorf("password grants = %d, want %d", got, want)
		}
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
			if tok, err := src.Token(); err != nil || tok.AccessToken != old.AccessToken {
				t.Fatalf("Token() within the Retry-After = %v, %v; want the old token", tok, err)
			}
			time.Sleep(time.Second)
			synctest.Wait()
		}
		if got := srv.TokenRequests(); got != 2 {
			t.Errorf("token requests within the 120s Retry-After = %d, want 2", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := srv.TokenRequests(); got != 3 {
			t.Errorf("token requests after Retry-After = %d, want 3", got)
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
		srv.SetTokenLifetime(5 * time.Minute)
		if _, err := src.Token(); err != nil {
			t.Fatal(err)
		}
		srv.FailToken(1, vendoroauthtest.Fault{Status: 401, Body: `{"error":"invalid_client"}`})
		time.Sleep(4 * time.Minute)
		src.Token() // background refresh rejected
		synctest.Wait()
		time.Sleep(31 * time.Second) // past the 30s hold-down after a rejection
		src.Token()                  // background retry succeeds
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

func TestTokenSourceRevokeEnduroSat(t *testing.T) {
	t.Parallel()
	srv := newEnduroSat(t)
	src := esSource(t, srv)
	tok, err := src.Token()
	if err != nil {
		t.Fatalf("Token() error = %v", err)
	}
	if got := get(t, bearer(srv.Client(), tok.AccessToken), srv.ResourceURL()); got != http.StatusOK {
		t.Fatalf("resource before revoke = %d, want 200", got)
	}
	if err := src.Revoke(t.Context()); err != nil {
		t.Fatalf("Revoke() error = %v", err)
	}
	if diff := cmp.Diff(map[string][]string{"client_id": {esClientID}, "token": {tok.RefreshToken}}, map[string][]string(srv.LastRevokeForm())); diff != "" {
		t.Errorf("revoke form mismatch (-want +got):\n%s", diff)
	}
	if got := get(t, bearer(srv.Client(), tok.AccessToken), srv.ResourceURL()); got != http.StatusUnauthorized {
		t.Errorf("resource with the revoked session's access token = %d, want 401", got)
	}
	// The source forgot everything and logs in again with the password.
	tok2, err := src.Token()
	if err != nil || tok2.AccessToken == tok.AccessToken {
		t.Fatalf("Token() after Revoke = %v, %v; want a fresh login", tok2, err)
	}
	if got := srv.TokenRequestsByGrant("password"); got != 2 {
		t.Errorf("password grants = %d, want 2", got)
	}
}

func TestTokenSourceRevokeFormlabs(t *testing.T) {
	t.Parallel()
	srv := newFormlabs(t)
	src := flSource(t, srv)
	tok, err := src.Token()
	if err != nil {
		t.Fatalf("Token() error = %v", err)
	}
	if err := src.Revoke(t.Context()); err != nil {
		t.Fatalf("Revoke() error = %v", err)
	}
	if got := get(t, bearer(srv.Client(), tok.AccessToken), srv.ResourceURL()); got != http.StatusUnauthorized {
		t.Errorf("resource with the revoked token = %d, want 401", got)
	}
	if err := src.Revoke(t.Context()); err != nil {
		t.Errorf("second Revoke() with nothing held = %v, want nil", err)
	}
	if got := srv.RevokeRequests(); got != 1 {
		t.Errorf("revoke requests = %d, want 1", got)
	}
}

func TestRefreshOnlySourceAfterRevoke(t *testing.T) {
	t.Parallel()
	srv := newEnduroSat(t)
	tok, err := esSource(t, srv).Token()
	if err != nil {
		t.Fatalf("Token() error = %v", err)
	}
	src := vendoroauth.EnduroSatRefreshTokenSource(t.Context(), esClientID, tok.RefreshToken, at(srv.URL, srv.Client())...)
	defer src.Close()
	if err := src.Revoke(t.Context()); err != nil {
		t.Fatalf("Revoke() error = %v", err)
	}
	if _, err := src.Token(); !errors.Is(err, vendoroauth.ErrInvalidCredentials) {
		t.Errorf("Token() after Revoke on a refresh-only source = %v, want ErrInvalidCredentials", err)
	}
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
				if _, err := sources[i].Token(); err != nil {
					t.Errorf("first Token() = %v", err)
				}
			})
		}
		wg.Wait()
		peak.Store(0)
		require.Equal(t, len(sources), srv.TokenRequests())

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
		assert.Contains(t, err.Error(), "refresh tokens only")
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
		require.NoError(t, err)
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
		require.NoError(t, err)
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
		assert.NoError(t, src.Close())
	})
}

// panicStore panics on every call.
type panicStore struct{}

func (panicStore) Load(context.Context) ([]byte, error) { panic("store bug") }
func (panicStore) Save(context.Context, []byte) error   { panic("store bug") }
