package vendoroauth_test

// Benchmarks that run vendoroauth and plain x/oauth2 side by side, against
// the same local fake, in the same process. BENCHMARKS.md has figures and
// how to reproduce them:
//
//	for i in $(seq 10); do go test -run '^$' -bench . -benchmem -count 1 .; done > bench.txt
//	benchstat -col /impl bench.txt
//
// Ten runs of one count each, not one run of -count 10, so that each
// benchmark's vendoroauth and x/oauth2 samples alternate and drift on a
// shared machine falls on both alike.
//
// BenchmarkClock is the control: time.Now from one goroutine and from all
// cores tells whether the cores were free while the parallel figures ran.

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// impls returns factories that make, for one fake, a fresh vendoroauth
// source and a fresh x/oauth2 source (clientcredentials behind
// ReuseTokenSource, which is what oauth2.NewClient and
// clientcredentials.Config.TokenSource use), each for the same Formlabs
// client. The caller closes what it makes (closeSource), so that neither
// side pays for bookkeeping the other does not.
func impls(srv *vendoroauthtest.Formlabs, opts ...vendoroauth.Option) map[string]func() oauth2.TokenSource {
	ctx := contextWithClient(context.Background(), srv.Client())
	return map[string]func() oauth2.TokenSource{
		"impl=vendoroauth": func() oauth2.TokenSource {
			return vendoroauth.FormlabsTokenSource(ctx, flClientID, flSecret, append(at(srv.URL, srv.Client()), opts...)...)
		},
		"impl=x-oauth2": xoauth2Factory(ctx, srv.URL),
	}
}

// xoauth2Factory returns a factory of x/oauth2 sources for the fake at
// base: each gets a Config of its own, copied from one built up front, as a
// user's clientcredentials.Config literal would be, so that the x/oauth2
// side does not pay for FormlabsConfig's validation of the base URL.
func xoauth2Factory(ctx context.Context, base string) func() oauth2.TokenSource {
	tmpl := vendoroauth.FormlabsConfig(flClientID, flSecret, vendoroauth.WithBaseURL(base))
	return func() oauth2.TokenSource {
		conf := *tmpl
		return conf.TokenSource(ctx)
	}
}

// closeSource closes src if it is ours; x/oauth2's have no Close.
func closeSource(src oauth2.TokenSource) {
	if c, ok := src.(*vendoroauth.TokenSource); ok {
		c.Close()
	}
}

// closeAtCleanup closes src when b ends, and returns it.
func closeAtCleanup(b *testing.B, src oauth2.TokenSource) oauth2.TokenSource {
	b.Cleanup(func() { closeSource(src) })
	return src
}

// benchFormlabs starts a fake for a benchmark.
func benchFormlabs(b *testing.B) *vendoroauthtest.Formlabs {
	srv := vendoroauthtest.NewFormlabs(flClientID, flSecret)
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkTokenCached measures Token on a valid cached token, which
// returns a copy the caller owns, from one goroutine and from all cores at
// once.
func BenchmarkTokenCached(b *testing.B) {
	srv := benchFormlabs(b)
	sources := impls(srv)
	sources["impl=vendoroauth-observed"] = impls(srv, vendoroauth.WithObserver(benchObserver))["impl=vendoroauth"]
	for _, name := range []string{"impl=vendoroauth", "impl=vendoroauth-observed", "impl=x-oauth2"} {
		src := closeAtCleanup(b, sources[name]())
		if _, err := src.Token(); err != nil {
			b.Fatal(err)
		}
		benchSerialAndParallel(b, name, func() error { _, err := src.Token(); return err })
	}
}

// benchObserver is an Observer with every func set, for the cached reads
// of impl=vendoroauth-observed: they call none of them, so they cost the
// same as impl=vendoroauth's.
var benchObserver = vendoroauth.Observer{
	Attach:     func(*vendoroauth.TokenSource) {},
	FetchStart: func(ctx context.Context, _ vendoroauth.FetchStart) context.Context { return ctx },
	FetchDone:  func(context.Context, vendoroauth.FetchDone) {},
	Refused:    func(context.Context, vendoroauth.Refusal) {},
}

// BenchmarkTokenContextCached measures the shared, allocation-free read
// that Client and GetRequestMetadata use; x/oauth2 has only Token.
func BenchmarkTokenContextCached(b *testing.B) {
	srv := benchFormlabs(b)
	ctx := context.Background()
	ours := closeAtCleanup(b, impls(srv)["impl=vendoroauth"]()).(*vendoroauth.TokenSource)
	observed := closeAtCleanup(b, impls(srv, vendoroauth.WithObserver(benchObserver))["impl=vendoroauth"]()).(*vendoroauth.TokenSource)
	theirs := impls(srv)["impl=x-oauth2"]()
	for _, src := range []oauth2.TokenSource{ours, observed, theirs} {
		if _, err := src.Token(); err != nil {
			b.Fatal(err)
		}
	}
	benchSerialAndParallel(b, "impl=vendoroauth", func() error { _, err := ours.TokenContext(ctx); return err })
	benchSerialAndParallel(b, "impl=vendoroauth-observed", func() error { _, err := observed.TokenContext(ctx); return err })
	benchSerialAndParallel(b, "impl=x-oauth2", func() error { _, err := theirs.Token(); return err })
}

// benchSerialAndParallel runs f as mode=serial and mode=parallel
// sub-benchmarks of b named for impl.
func benchSerialAndParallel(b *testing.B, impl string, f func() error) {
	b.Run("mode=serial/"+impl, func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := f(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("mode=parallel/"+impl, func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := f(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// errNoClock is never returned: it keeps BenchmarkClock's read from being
// optimised away without a shared write, which would itself contend.
var errNoClock = errors.New("time.Now returned the zero time")

// BenchmarkClock holds the controls. time.Now is the control for the
// parallel figures: if it takes about half its serial time per call from
// all cores, two cores were free. time.Since (one monotonic read, what a
// cached read of ours costs at least) and copy (allocating a copy of a
// token, what Token adds to it) give the floors of the cached reads on
// this machine.
func BenchmarkClock(b *testing.B) {
	benchSerialAndParallel(b, "impl=time.Now", func() error {
		if time.Now().IsZero() {
			return errNoClock
		}
		return nil
	})
	start := time.Now()
	benchSerialAndParallel(b, "impl=time.Since", func() error {
		if time.Since(start) < 0 {
			return errNoClock
		}
		return nil
	})
	tok := &oauth2.Token{AccessToken: "cached-access-token", TokenType: "Bearer", Expiry: start.Add(time.Hour)}
	benchSerialAndParallel(b, "impl=copy", func() error {
		cp := *tok
		copyKeeper.keep(&cp)
		return nil
	})
}

// A keeper takes a token and drops it. Called through an interface, it
// makes the compiler allocate the copy BenchmarkClock gives it, as for a
// caller that keeps its token, with no write that cores would share.
type keeper interface{ keep(*oauth2.Token) }

type dropper struct{}

func (dropper) keep(*oauth2.Token) {}

var copyKeeper keeper = dropper{}

// stubTransport answers every request 200 with no body and no network, so
// that BenchmarkRoundTripper measures the authentication RoundTripper alone.
type stubTransport struct{}

func (stubTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
}

// BenchmarkRoundTripper measures one request through the authentication
// RoundTripper over a stub, with a cached token: ours (src.Client's) and
// x/oauth2's oauth2.Transport.
func BenchmarkRoundTripper(b *testing.B) {
	const api = "https://api.formlabs.example"
	tok := &oauth2.Token{AccessToken: "cached-access-token", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}
	ours := vendoroauth.FormlabsTokenSource(context.Background(), flClientID, flSecret,
		vendoroauth.WithBaseURL(api), vendoroauth.WithToken(tok))
	b.Cleanup(func() { ours.Close() })
	ctx := contextWithClient(context.Background(), &http.Client{Transport: stubTransport{}})
	rts := []struct {
		name string
		rt   http.RoundTripper
	}{
		{"impl=vendoroauth", ours.Client(ctx).Transport},
		{"impl=x-oauth2", &oauth2.Transport{Source: oauth2.ReuseTokenSource(nil, oauth2.StaticTokenSource(tok)), Base: stubTransport{}}},
	}
	for _, tc := range rts {
		b.Run(tc.name, func(b *testing.B) {
			req, _ := http.NewRequest(http.MethodGet, api+"/developer/v1/printers/", nil)
			req.Header.Set("Accept", "application/json")
			b.ReportAllocs()
			for b.Loop() {
				resp, err := tc.rt.RoundTrip(req)
				if err != nil || resp.Request.Header.Get("Authorization") == "" {
					b.Fatalf("RoundTrip = %v, %v; want an authorized request", resp, err)
				}
			}
		})
	}
}

// BenchmarkIdleSourceHeap reports the heap that one idle source keeps, over
// 10,000 sources: holding a fetched token, and started from a given token.
func BenchmarkIdleSourceHeap(b *testing.B) {
	const n = 10_000
	srv := benchFormlabs(b)
	given := &oauth2.Token{AccessToken: "given-access-token", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}
	hc := contextWithClient(context.Background(), srv.Client())
	conf := vendoroauth.FormlabsConfig(flClientID, flSecret, vendoroauth.WithBaseURL(srv.URL))
	cases := []struct {
		name  string
		new   func() oauth2.TokenSource
		fetch bool
	}{
		{"token=fetched/impl=vendoroauth", func() oauth2.TokenSource {
			return vendoroauth.FormlabsTokenSource(hc, flClientID, flSecret, vendoroauth.WithBaseURL(srv.URL))
		}, true},
		{"token=fetched/impl=x-oauth2", func() oauth2.TokenSource { return conf.TokenSource(hc) }, true},
		{"token=given/impl=vendoroauth", func() oauth2.TokenSource {
			return vendoroauth.FormlabsTokenSource(hc, flClientID, flSecret, vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithToken(given))
		}, false},
		{"token=given/impl=x-oauth2", func() oauth2.TokenSource {
			cp := *given
			return oauth2.ReuseTokenSource(&cp, conf.TokenSource(hc))
		}, false},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			// One measurement of n sources, whatever b.N is.
			var perSource float64
			measured := false
			for b.Loop() {
				if measured {
					continue
				}
				measured = true
				sources := make([]oauth2.TokenSource, n)
				before := heapInUse()
				for i := range sources {
					sources[i] = tc.new()
					if tc.fetch {
						if _, err := sources[i].Token(); err != nil {
							b.Fatal(err)
						}
					}
				}
				perSource = float64(heapInUse()-before) / n
				runtime.KeepAlive(sources)
				for _, s := range sources {
					if c, ok := s.(*vendoroauth.TokenSource); ok {
						c.Close()
					}
				}
			}
			b.ReportMetric(perSource, "B/source")
		})
	}
}

// heapInUse returns the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// BenchmarkStampede measures 100,000 goroutines calling Token on a new source
// at once, with a 50ms token endpoint.
func BenchmarkStampede(b *testing.B) {
	for _, name := range []string{"impl=vendoroauth", "impl=x-oauth2"} {
		b.Run(name, func(b *testing.B) {
			srv := benchFormlabs(b)
			srv.SetLatency(50 * time.Millisecond)
			newSrc := impls(srv)[name]
			var total time.Duration
			for b.Loop() {
				src := newSrc()
				start := time.Now()
				var wg sync.WaitGroup
				var failed atomic.Int32
				for range 100_000 {
					wg.Go(func() {
						if _, err := src.Token(); err != nil {
							failed.Add(1)
						}
					})
				}
				wg.Wait()
				total += time.Since(start)
				closeSource(src)
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
			src := closeAtCleanup(b, impls(srv)[name]())
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
// request over loopback, with a shared client, and with none given (ours
// share one transport; x/oauth2 uses http.DefaultClient); and, to show the
// libraries' own work without the network's noise, over a stub transport
// that answers with a canned token.
func BenchmarkColdFetch(b *testing.B) {
	srv := benchFormlabs(b)
	for _, client := range []string{"shared", "none", "stub"} {
		newSrcs := impls(srv)
		switch client {
		case "none":
			newSrcs = noClientImpls(srv)
		case "stub":
			newSrcs = stubImpls()
		}
		for _, name := range []string{"impl=vendoroauth", "impl=x-oauth2"} {
			newSrc := newSrcs[name]
			b.Run("client="+client+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					src := newSrc()
					if _, err := src.Token(); err != nil {
						b.Fatal(err)
					}
					closeSource(src)
				}
			})
		}
	}
}

// noClientImpls is impls with no HTTP client given to either.
func noClientImpls(srv *vendoroauthtest.Formlabs) map[string]func() oauth2.TokenSource {
	return map[string]func() oauth2.TokenSource{
		"impl=vendoroauth": func() oauth2.TokenSource {
			return vendoroauth.FormlabsTokenSource(context.Background(), flClientID, flSecret, vendoroauth.WithBaseURL(srv.URL))
		},
		"impl=x-oauth2": xoauth2Factory(context.Background(), srv.URL),
	}
}

// stubImpls is impls over tokenStub instead of a fake.
func stubImpls() map[string]func() oauth2.TokenSource {
	const base = "https://api.formlabs.example"
	hc := &http.Client{Transport: tokenStub{}}
	ctx := contextWithClient(context.Background(), hc)
	return map[string]func() oauth2.TokenSource{
		"impl=vendoroauth": func() oauth2.TokenSource {
			return vendoroauth.FormlabsTokenSource(ctx, flClientID, flSecret, at(base, hc)...)
		},
		"impl=x-oauth2": xoauth2Factory(ctx, base),
	}
}

// tokenStub answers every request 200 with a canned Formlabs token
// response, after reading the request body, with no network.
type tokenStub struct{}

func (tokenStub) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	const body = `{"access_token":"stub-access-token-0123456789abcdefghijklmnopqrstuvwxyz","token_type":"Bearer","expires_in":86400,"scope":"developer-api"}`
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Request: r,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
	}, nil
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
