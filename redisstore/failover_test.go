package redisstore_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/redisstore"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// The failover tests run a fleet of replicas, each its own token source on
// its own Store over one client, against a real Redis topology and an
// EnduroSat that rotates refresh tokens and, like Ory Hydra, revokes a
// token family when a rotated-out refresh token comes back. They count
// reuses and revoked families, and when each replica served again.

const (
	failoverLifetime = 2 * time.Second // of the fake's access tokens
	failoverLockTTL  = 8 * time.Second // above the topologies' failover time
	recoveryBound    = 10 * time.Second
)

// A failoverFleet is n replicas serving requests to the fake's resource
// every 50ms through their token source's Client.
type failoverFleet struct {
	fake      *vendoroauthtest.EnduroSat
	replicas  []*vendoroauth.TokenSource
	clients   []*http.Client
	newSource func() *vendoroauth.TokenSource // another replica, as a deploy would start it

	since     atomic.Int64   // unix nanos from which served records the first success; 0: none
	served    []atomic.Int64 // per replica: unix nanos of its first success since since
	mu        sync.Mutex
	failures  []time.Time // when each failed request was made
	firstFail string

	stop chan struct{}
	wg   sync.WaitGroup
}

// newStrictFake returns an EnduroSat fake that rotates refresh tokens and
// revokes a family on reuse, with short tokens.
func newStrictFake(t *testing.T) *vendoroauthtest.EnduroSat {
	t.Helper()
	fake := vendoroauthtest.NewEnduroSat(esClientID, esUsername, esPassword)
	t.Cleanup(fake.Close)
	fake.SetTokenLifetime(failoverLifetime)
	fake.SetRotateRefreshTokens(true)
	fake.SetReuseDetection(true)
	return fake
}

// startFailoverFleet starts n replicas on key in rdb, password sources or
// refresh-only ones started from one refresh token, whose token requests go
// through hc.
func startFailoverFleet(t *testing.T, fake *vendoroauthtest.EnduroSat, n int, rdb redis.Cmdable, key string, refreshOnly bool, hc *http.Client) *failoverFleet {
	t.Helper()
	f := &failoverFleet{fake: fake, served: make([]atomic.Int64, n), stop: make(chan struct{})}
	ctx := context.WithoutCancel(t.Context())
	opts := []vendoroauth.Option{vendoroauth.WithBaseURL(fake.URL), vendoroauth.WithHTTPClient(hc)}
	var rt string
	if refreshOnly {
		login := vendoroauth.EnduroSatPasswordTokenSource(ctx, esClientID, esUsername, esPassword, opts...)
		tok, err := login.Token()
		require.NoError(t, err, "the login that gives the fleet its refresh token")
		login.Close()
		rt = tok.RefreshToken
	}
	f.newSource = func() *vendoroauth.TokenSource {
		store := redisstore.New(rdb, key, redisstore.WithLockTTL(failoverLockTTL), redisstore.WithReplicaWait(300*time.Millisecond))
		sopts := append(opts, vendoroauth.WithStore(store))
		var src *vendoroauth.TokenSource
		if refreshOnly {
			src = vendoroauth.EnduroSatRefreshTokenSource(ctx, esClientID, rt, sopts...)
		} else {
			src = vendoroauth.EnduroSatPasswordTokenSource(ctx, esClientID, esUsername, esPassword, sopts...)
		}
		t.Cleanup(func() { src.Close() })
		return src
	}
	for range n {
		src := f.newSource()
		f.replicas = append(f.replicas, src)
		f.clients = append(f.clients, src.Client(ctx))
	}
	for i, c := range f.clients {
		f.wg.Go(func() { f.serve(i, c) })
	}
	t.Cleanup(f.halt)
	return f
}

// serve makes replica i request the resource every 50ms until halt.
func (f *failoverFleet) serve(i int, c *http.Client) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		at := time.Now()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.fake.ResourceURL(), nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		cancel()
		if err == nil && resp.StatusCode == http.StatusOK {
			if since := f.since.Load(); since != 0 && f.served[i].Load() == 0 {
				f.served[i].Store(time.Now().UnixNano())
			}
			continue
		}
		f.mu.Lock()
		f.failures = append(f.failures, at)
		if f.firstFail == "" {
			if err != nil {
				f.firstFail = err.Error()
			} else {
				f.firstFail = resp.Status
			}
		}
		f.mu.Unlock()
	}
}

// markServed starts recording, per replica, its first success from now.
func (f *failoverFleet) markServed() {
	for i := range f.served {
		f.served[i].Store(0)
	}
	f.since.Store(time.Now().UnixNano())
}

// waitServed waits until every replica served since markServed, or bound
// passed; it returns the slowest replica's time and how many never served.
func (f *failoverFleet) waitServed(bound time.Duration) (slowest time.Duration, missing int) {
	since := f.since.Load()
	deadline := time.Now().Add(bound)
	for {
		slowest, missing = 0, 0
		for i := range f.served {
			at := f.served[i].Load()
			if at == 0 {
				missing++
				continue
			}
			slowest = max(slowest, time.Duration(at-since))
		}
		if missing == 0 || time.Now().After(deadline) {
			return slowest, missing
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// failedOutside returns how many requests failed outside the windows
// given as start, end pairs, and the first failure's text.
func (f *failoverFleet) failedOutside(windows ...time.Time) (int, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, at := range f.failures {
		inside := false
		for i := 0; i+1 < len(windows); i += 2 {
			inside = inside || !at.Before(windows[i]) && !at.After(windows[i+1])
		}
		if !inside {
			n++
		}
	}
	return n, f.firstFail
}

// failed returns how many requests failed in all.
func (f *failoverFleet) failed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.failures)
}

// halt stops the replicas' requests; calling it again does nothing.
func (f *failoverFleet) halt() {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	f.wg.Wait()
}

// A tokenTap passes token requests on to base, first running the func armed
// by arm, once, on the next refresh grant.
type tokenTap struct {
	base  http.RoundTripper
	armed atomic.Pointer[func()]
}

func (tt *tokenTap) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/oauth2/token" && r.Body != nil {
		if r.GetBody != nil {
			if body, err := r.GetBody(); err == nil {
				buf := make([]byte, 512)
				n, _ := body.Read(buf)
				body.Close()
				if bytes.Contains(buf[:n], []byte("grant_type=refresh_token")) {
					if f := tt.armed.Swap(nil); f != nil {
						(*f)()
					}
				}
			}
		}
	}
	return tt.base.RoundTrip(r)
}

// arm makes the next refresh grant run f before it is sent, and returns a
// channel closed once f has run.
func (tt *tokenTap) arm(f func()) <-chan struct{} {
	done := make(chan struct{})
	g := func() { f(); close(done) }
	tt.armed.Store(&g)
	return done
}

// TestClusterFailover: 20 replicas share one identity through a six-node
// Redis Cluster. The master that owns the key's slot is killed (kill -9)
// mid-run and its replica promoted: no refresh token is presented twice, no
// family is revoked, and every replica serves again within 10s of the
// promotion.
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("a Redis Cluster failover; skipped with -short")
	}
	c := startCluster(t)
	fake := newStrictFake(t)
	key := uniqueKey(t)
	rdb := c.client()
	f := startFailoverFleet(t, fake, 20, rdb, key, false, fake.Client())
	time.Sleep(3 * failoverLifetime)
	before := fake.TokenRequests()
	require.Zero(t, f.failed(), "failed requests before the failover: %s", f.firstFail)

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	old := c.masterOf(ctx, "{"+key+"}")
	killed := time.Now()
	c.kill(old)
	promoted, err := c.waitFailover(ctx, "{"+key+"}", old)
	require.NoError(t, err, "the promotion of the killed master's replica")
	promotedAt := time.Now()
	f.markServed()
	slowest, missing := f.waitServed(recoveryBound)
	time.Sleep(3 * failoverLifetime)
	f.halt()

	outside, first := f.failedOutside(killed, promotedAt.Add(recoveryBound))
	t.Logf("Cluster, 20 replicas: master %s killed, %s promoted %v later; every replica served again within %v of the promotion (%d did not); %d token requests before, %d in all (%d logins); %d failed requests, %d outside the failover; %d reuses, %d revoked families",
		old, promoted, promotedAt.Sub(killed).Round(time.Millisecond), slowest.Round(time.Millisecond), missing,
		before, fake.TokenRequests(), fake.TokenRequestsByGrant("password"), f.failed(), outside, fake.RefreshTokenReuses(), fake.RevokedFamilies())
	if os.Getenv("VENDOROAUTH_FLEET_FIGURES") != "" {
		t.Logf("| Cluster, 20 replicas, the key's master killed (kill -9) | %v | %v | %d | %d | %d | %d |",
			promotedAt.Sub(killed).Round(100*time.Millisecond), slowest.Round(100*time.Millisecond), fake.RefreshTokenReuses(),
			fake.RevokedFamilies(), fake.TokenRequestsByGrant("password"), outside)
	}
	assert.Zero(t, fake.RefreshTokenReuses(), "refresh tokens presented twice")
	assert.Zero(t, fake.RevokedFamilies(), "token families revoked")
	assert.Zero(t, missing, "replicas that did not serve within %v of the promotion", recoveryBound)
	assert.Zero(t, outside, "requests that failed outside the failover; the first failure: %s", first)
	c.restart(old)
}

// TestSentinelLostSave: 10 replicas share one identity through a Redis
// master with one replica, watched by three Sentinels. Five times, the
// replica is stopped and its replication link cut just as a replica
// presents the refresh token, so that the save of the rotated one reaches
// the master only; then the master is killed (kill -9), the replica resumes
// and is promoted without that save, and a new replica starts at once, as
// a deploy would, and knows only the store. No refresh token is presented
// twice, no family is revoked, and no request fails outside the failover
// window: from the cut to 10s after the promotion. Password and
// refresh-only fleets alike.
func TestSentinelLostSave(t *testing.T) {
	if testing.Short() {
		t.Skip("five Sentinel failovers; skipped with -short")
	}
	for _, refreshOnly := range []bool{false, true} {
		name := map[bool]string{false: "password", true: "refresh-only"}[refreshOnly]
		t.Run(name, func(t *testing.T) {
			s := startSentinel(t)
			fake := newStrictFake(t)
			// Tokens that outlive a round, so that the fleet holds valid
			// ones through each failover and the one refresh of a round is
			// the one the test makes.
			fake.SetTokenLifetime(time.Minute)
			tap := &tokenTap{base: fake.Client().Transport}
			key := uniqueKey(t)
			f := startFailoverFleet(t, fake, 10, s.client(), key, refreshOnly, &http.Client{Transport: tap})
			time.Sleep(time.Second)
			require.Zero(t, f.failed(), "failed requests before the failovers: %s", f.firstFail)

			var windows []time.Time
			var took []time.Duration
			for round := range 5 {
				ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
				master, replica := s.master(ctx), s.replica(ctx)
				var cutAt time.Time
				cut := tap.arm(func() {
					cutAt = time.Now()
					s.pause(replica)
					s.cutReplicas(ctx, master)
				})
				f.replicas[round].Invalidate() // its next request refreshes, under the lock
				select {
				case <-cut:
				case <-ctx.Done():
					t.Fatalf("round %d: no refresh within 60s", round)
				}
				time.Sleep(500 * time.Millisecond) // the holder saves, to the master alone
				s.kill(master)
				s.resume(replica)
				promoted, err := s.waitFailover(ctx, master)
				require.NoError(t, err, "round %d: the promotion", round)
				promotedAt := time.Now()
				windows = append(windows, cutAt, promotedAt.Add(recoveryBound))
				newcomer := f.newSource()
				nctx, ncancel := context.WithTimeout(ctx, recoveryBound)
				_, err = newcomer.TokenContext(nctx)
				ncancel()
				assert.NoError(t, err, "round %d: a new replica's token, just after the promotion", round)
				newcomer.Close()
				took = append(took, promotedAt.Sub(cutAt).Round(100*time.Millisecond))
				f.markServed()
				slowest, missing := f.waitServed(recoveryBound)
				assert.Zero(t, missing, "round %d: replicas that did not serve within %v of the promotion", round, recoveryBound)
				t.Logf("round %d: cut at the refresh, %s promoted %v later; all served again within %v", round, promoted,
					promotedAt.Sub(cutAt).Round(time.Millisecond), slowest.Round(time.Millisecond))
				s.restartAsReplica(ctx, master)
				cancel()
			}
			f.halt()
			outside, first := f.failedOutside(windows...)
			t.Logf("Sentinel, 10 %s replicas, 5 lost saves: %d token requests (%d logins), %d reuses, %d revoked families, %d failed requests, %d outside the failover windows",
				name, fake.TokenRequests(), fake.TokenRequestsByGrant("password"), fake.RefreshTokenReuses(), fake.RevokedFamilies(), f.failed(), outside)
			if os.Getenv("VENDOROAUTH_FLEET_FIGURES") != "" {
				t.Logf("| Sentinel, 10 %s replicas, the last save lost, 5 times | %v | %d | %d | %d | %d |",
					name, took, fake.RefreshTokenReuses(), fake.RevokedFamilies(), fake.TokenRequestsByGrant("password"), outside)
			}
			assert.Zero(t, fake.RefreshTokenReuses(), "refresh tokens presented twice")
			assert.Zero(t, fake.RevokedFamilies(), "token families revoked")
			assert.Zero(t, outside, "requests that failed outside the failover windows; the first failure: %s", first)
		})
	}
}
