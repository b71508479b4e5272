package vendoroauth_test

// Benchmarks that run vendoroauth and plain x/oauth2 side by side, against
// the same local fake, in the same process. BENCHMARKS.md has figures and
// how to reproduce them:
//
//	go test -run '^$' -bench . -benchmem -count 10 . | tee bench.txt
//	benchstat -col /impl bench.txt

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// impls returns, for one fake, a fresh vendoroauth source and a fresh
// x/oauth2 source (clientcredentials behind ReuseTokenSource, which is what
// oauth2.NewClient and clientcredentials.Config.TokenSource use), each for
// the same Formlabs client.
func impls(b *testing.B, srv *vendoroauthtest.Formlabs, opts ...vendoroauth.Option) map[string]func() oauth2.TokenSource {
	ctx := contextWithClient(context.Background(), srv.Client())
	return map[string]func() oauth2.TokenSource{
		"impl=vendoroauth": func() oauth2.TokenSource {
			s := vendoroauth.FormlabsTokenSource(ctx, flClientID, flSecret, append(at(srv.URL, srv.Client()), opts...)...)
			b.Cleanup(func() { s.Close() })
			return s
		},
		"impl=x-oauth2": func() oauth2.TokenSource {
			return vendoroauth.FormlabsConfig(flClientID, flSecret, vendoroauth.WithBaseURL(srv.URL)).TokenSource(ctx)
		},
	}
}

// benchFormlabs starts a fake for a benchmark.
func benchFormlabs(b *testing.B) *vendoroauthtest.Formlabs {
	srv := vendoroauthtest.NewFormlabs(flClientID, flSecret)
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkTokenCached measures Token on a valid cached token, from one
// goroutine and from all cores at once.
func BenchmarkTokenCached(b *testing.B) {
	srv := benchFormlabs(b)
	for _, name := range []string{"impl=vendoroauth", "impl=x-oauth2"} {
		newSrc := impls(b, srv)[name]
		b.Run("mode=serial/"+name, func(b *testing.B) {
			src := newSrc()
			if _, err := src.Token(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := src.Token(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("mode=parallel/"+name, func(b *testing.B) {
			src := newSrc()
			if _, err := src.Token(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := src.Token(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkAuthenticatedRequest measures a GET to a local no-op handler
// through vendoroauth's Client, through oauth2.NewClient, and through a
// plain client (the baseline: overhead = authenticated - plain). All three
// share one transport.
func BenchmarkAuthenticatedRequest(b *testing.B) {
	srv := benchFormlabs(b)
	noop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" && r.URL.Path == "/auth" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	b.Cleanup(noop.Close)
	base := noop.Client()
	ctx := contextWithClient(context.Background(), base)
	ours := vendoroauth.FormlabsTokenSource(context.Background(), flClientID, flSecret, at(srv.URL, srv.Client())...)
	b.Cleanup(func() { ours.Close() })
	theirs := vendoroauth.FormlabsConfig(flClientID, flSecret, vendoroauth.WithBaseURL(srv.URL)).
		TokenSource(contextWithClient(context.Background(), srv.Client()))
	clients := []struct {
		name string
		c    *http.Client
		path string
	}{
		{"impl=plain", base, "/"},
		{"impl=vendoroauth", ours.Client(ctx), "/auth"},
		{"impl=x-oauth2", oauth2.NewClient(ctx, theirs), "/auth"},
	}
	for _, tc := range clients {
		b.Run(tc.name, func(b *testing.B) {
			url := noop.URL + tc.path
			get := func() {
				resp, err := tc.c.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			get() // fetch the token and warm the connection
			b.ReportAllocs()
			for b.Loop() {
				get()
			}
		})
	}
}

// BenchmarkStampede starts 1,000 goroutines on a fresh source whose token
// endpoint takes 50ms, and reports the token requests made and the time
// until every goroutine has a token.
func BenchmarkStampede(b *testing.B) {
	for _, name := range []string{"impl=vendoroauth", "impl=x-oauth2"} {
		b.Run(name, func(b *testing.B) {
			srv := benchFormlabs(b)
			srv.SetLatency(50 * time.Millisecond)
			newSrc := impls(b, srv)[name]
			var total time.Duration
			for b.Loop() {
				src := newSrc()
				start := time.Now()
				var wg sync.WaitGroup
				var failed atomic.Int32
				for range 1000 {
					wg.Go(func() {
						if _, err := src.Token(); err != nil {
							failed.Add(1)
						}
					})
				}
				wg.Wait()
				total += time.Since(start)
				if failed.Load() > 0 {
					b.Fatalf("%d goroutines failed", failed.Load())
				}
			}
			b.ReportMetric(float64(srv.TokenRequests())/float64(b.N), "token-requests/op")
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-until-all/op")
		})
	}
}

// BenchmarkRefreshBoundary issues one Token call a millisecond, each in
// its own goroutine as requests arrive at a service, across token expiries
// (1s tokens, a 100ms token endpoint), and reports the latency percentiles
// of those calls. x/oauth2 runs with ReuseTokenSourceWithExpiry and no early
// expiry, since its default 10s would make every 1s token expired on
// arrival. Run it with -benchtime 5s or more to cross several expiries.
func BenchmarkRefreshBoundary(b *testing.B) {
	for _, name := range []string{"impl=vendoroauth", "impl=x-oauth2"} {
		b.Run(name, func(b *testing.B) {
			srv := benchFormlabs(b)
			srv.SetTokenLifetime(time.Second)
			srv.SetLatency(100 * time.Millisecond)
			src := impls(b, srv)[name]()
			if name == "impl=x-oauth2" {
				src = oauth2.ReuseTokenSourceWithExpiry(nil, src, time.Nanosecond)
			}
			if _, err := src.Token(); err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, b.N)
			var wg sync.WaitGroup
			var failed atomic.Int32
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			b.ResetTimer()
			for i := range b.N {
				<-tick.C
				wg.Go(func() {
					start := time.Now()
					if _, err := src.Token(); err != nil {
						failed.Add(1)
					}
					lat[i] = time.Since(start)
				})
			}
			wg.Wait()
			b.StopTimer()
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d Token calls failed", n)
			}
			slices.Sort(lat)
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
			b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
			b.ReportMetric(float64(srv.TokenRequests()), "token-requests")
		})
	}
}

// BenchmarkColdFetch measures a fresh source's first Token: one token
// request over loopback.
func BenchmarkColdFetch(b *testing.B) {
	srv := benchFormlabs(b)
	for _, name := range []string{"impl=vendoroauth", "impl=x-oauth2"} {
		newSrc := impls(b, srv)[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				src := newSrc()
				if _, err := src.Token(); err != nil {
					b.Fatal(err)
				}
				if c, ok := src.(*vendoroauth.TokenSource); ok {
					c.Close()
				}
			}
		})
	}
}

// BenchmarkRevoke measures one revocation over loopback (x/oauth2 has no
// revocation to compare with).
func BenchmarkRevoke(b *testing.B) {
	srv := benchFormlabs(b)
	r := vendoroauth.FormlabsRevoker(flClientID, flSecret, at(srv.URL, srv.Client())...)
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Revoke(context.Background(), "some-access-token"); err != nil {
			b.Fatal(err)
		}
	}
}
