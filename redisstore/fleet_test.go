package redisstore_test

import (
	"context"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/redisstore"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

const (
	esClientID = "fleet-client"
	esUsername = "fleet-operator"
	esPassword = "PASSWORD-fleet-31c7"
	lifetime   = time.Second // of the fake's access tokens
)

// A fleet is n replicas, each its own TokenSource (and Redis client when it
// uses a store), serving requests to the fake's resource.
type fleet struct {
	fake     *vendoroauthtest.EnduroSat
	replicas []*vendoroauth.TokenSource
	clients  []*http.Client
	ok       atomic.Int64
	failed   atomic.Int64
	why      atomic.Value // string: how the first failed request failed
	stop     chan struct{}
	wg       sync.WaitGroup
}

// newFleet starts n replicas on fake; with r not nil they share a store.
func newFleet(t *testing.T, fake *vendoroauthtest.EnduroSat, n int, r *redisServer) *fleet {
	t.Helper()
	f := &fleet{fake: fake, stop: make(chan struct{})}
	key := uniqueKey(t)
	ctx := context.WithoutCancel(t.Context())
	for range n {
		opts := []vendoroauth.Option{vendoroauth.WithBaseURL(fake.URL), vendoroauth.WithHTTPClient(fake.Client())}
		if r != nil {
			store := redisstore.New(r.client(), key, redisstore.WithLockTTL(500*time.Millisecond),
				redisstore.WithSealKey([]byte("fleet-seal-key-0123456789abcdef!")))
			opts = append(opts, vendoroauth.WithStore(store))
		}
		src := vendoroauth.EnduroSatPasswordTokenSource(ctx, esClientID, esUsername, esPassword, opts...)
		t.Cleanup(func() { src.Close() })
		f.replicas = append(f.replicas, src)
		f.clients = append(f.clients, src.Client(ctx)) // the default transport reaches the fake over loopback
	}
	return f
}

// serve makes every replica request the resource every 50ms until halt.
func (f *fleet) serve() {
	for _, c := range f.clients {
		f.wg.Go(func() {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-f.stop:
					return
				case <-tick.C:
				}
				resp, err := c.Get(f.fake.ResourceURL())
				if err == nil {
					resp.Body.Close()
				}
				switch {
				case err != nil:
					f.failed.Add(1)
					f.why.CompareAndSwap(nil, "error: "+err.Error())
				case resp.StatusCode != http.StatusOK:
					f.failed.Add(1)
					f.why.CompareAndSwap(nil, "status "+resp.Status)
				default:
					f.ok.Add(1)
				}
			}
		})
	}
}

func (f *fleet) halt() {
	close(f.stop)
	f.wg.Wait()
}

func newFleetFake(t *testing.T) *vendoroauthtest.EnduroSat {
	fake := vendoroauthtest.NewEnduroSat(esClientID, esUsername, esPassword)
	t.Cleanup(fake.Close)
	fake.SetTokenLifetime(lifetime)
	fake.SetRotateRefreshTokens(true)
	return fake
}

func TestFleetSharesOneIdentity(t *testing.T) {
	r := startRedis(t)
	fake := newFleetFake(t)
	f := newFleet(t, fake, 20, r)
	f.serve()
	defer f.halt()

	// Ten token lifetimes with Redis up.
	time.Sleep(10 * lifetime)
	up := fake.TokenRequests()
	logins := fake.TokenRequestsByGrant("password")
	t.Logf("20 replicas, 10 lifetimes, Redis up: %d token requests (%d logins), %d requests served, %d failed",
		up, logins, f.ok.Load(), f.failed.Load())
	if up > 16 {
		t.Errorf("token requests for 10 lifetimes = %d, want about 10-13 (one per lifetime, refreshed early)", up)
	}
	if logins != 1 {
		t.Errorf("password logins = %d, want 1: any invalid_grant from a reused rotated refresh token forces a login", logins)
	}

	// Redis dies: every replica keeps serving, from memory, then on its own.
	r.stop()
	time.Sleep(3 * lifetime)
	down := fake.TokenRequests() - up
	t.Logf("Redis down for 3 lifetimes: %d token requests, %d failed resource requests so far", down, f.failed.Load())

	// Redis returns (empty, as after a crash): the replicas join again.
	r.start()
	time.Sleep(3 * lifetime)
	rejoin := fake.TokenRequests()
	time.Sleep(3 * lifetime)
	after := fake.TokenRequests() - rejoin
	t.Logf("Redis back: %d token requests in the last 3 lifetimes", after)
	if after > 6 {
		t.Errorf("token requests in 3 lifetimes after Redis returned = %d, want at most 6 (the fleet shares again)", after)
	}
	if n := f.failed.Load(); n != 0 {
		t.Errorf("%d resource requests failed, want 0; the first: %v", n, f.why.Load())
	}
}

// TestFleetFigures prints the README's table: token requests for 1, 5 and
// 20 replicas over 10 lifetimes, with and without the store. It is slow,
// so it runs only with VENDOROAUTH_FLEET_FIGURES=1.
func TestFleetFigures(t *testing.T) {
	if os.Getenv("VENDOROAUTH_FLEET_FIGURES") == "" {
		t.Skip("set VENDOROAUTH_FLEET_FIGURES=1 to print the figures")
	}
	r := startRedis(t)
	for _, n := range []int{1, 5, 20} {
		for _, shared := range []bool{false, true} {
			fake := newFleetFake(t)
			var rs *redisServer
			if shared {
				rs = r
			}
			f := newFleet(t, fake, n, rs)
			f.serve()
			time.Sleep(10 * lifetime)
			f.halt()
			t.Logf("| %d | %v | %d | %d | %d |", n, shared, fake.TokenRequests(), fake.TokenRequestsByGrant("password"), f.failed.Load())
		}
	}
}
