package redisstore_test

import (
	"context"
	"math/rand/v2"
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

// A rttHook delays every command, alone or in a pipeline, by a round trip,
// and counts the commands a client sends.
type rttHook struct {
	rtt      time.Duration
	commands *atomic.Int64
}

func (h rttHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h rttHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.commands.Add(1)
		time.Sleep(h.rtt)
		return next(ctx, cmd)
	}
}
func (h rttHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.commands.Add(int64(len(cmds)))
		time.Sleep(h.rtt)
		return next(ctx, cmds)
	}
}

// TestThousandReplicas: a thousand replicas, goroutines sharing ten Redis
// clients with a simulated 1ms round trip, each its own token source on one
// key, using its token every 200ms or so, against an EnduroSat that rotates
// refresh tokens and revokes a family on reuse. Over five token lifetimes
// they make about one token request a lifetime between them, present no
// refresh token twice, and send Redis a bounded number of commands each.
func TestThousandReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("a thousand replicas for five token lifetimes; skipped with -short")
	}
	const (
		replicas  = 1000
		clients   = 10
		lifetimes = 5
		tokenLife = 2 * time.Second
	)
	r := startRedis(t)
	fake := vendoroauthtest.NewEnduroSat(esClientID, esUsername, esPassword)
	t.Cleanup(fake.Close)
	fake.SetTokenLifetime(tokenLife)
	fake.SetRotateRefreshTokens(true)
	fake.SetReuseDetection(true)
	fake.SetLatency(20 * time.Millisecond)

	var commands atomic.Int64
	rdbs := make([]*redis.Client, clients)
	for i := range rdbs {
		rdbs[i] = r.client()
		rdbs[i].AddHook(rttHook{rtt: time.Millisecond, commands: &commands})
	}
	key := uniqueKey(t)
	ctx := context.WithoutCancel(t.Context())
	sources := make([]*vendoroauth.TokenSource, replicas)
	for i := range sources {
		store := redisstore.New(rdbs[i%clients], key)
		sources[i] = vendoroauth.EnduroSatPasswordTokenSource(ctx, esClientID, esUsername, esPassword,
			vendoroauth.WithBaseURL(fake.URL), vendoroauth.WithHTTPClient(fake.Client()), vendoroauth.WithStore(store))
		t.Cleanup(func() { sources[i].Close() })
	}

	var failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, src := range sources {
		wg.Go(func() {
			for {
				if _, err := src.TokenContext(ctx); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
				select {
				case <-stop:
					return
				case <-time.After(150*time.Millisecond + rand.N(100*time.Millisecond)):
				}
			}
		})
	}
	time.Sleep(lifetimes * tokenLife)
	close(stop)
	wg.Wait()

	perReplica := float64(commands.Load()) / replicas / lifetimes
	t.Logf("%d replicas, %d lifetimes of %v, 1ms round trip: %d token requests (%d logins, %d refreshes), %d reuses, %d revoked families, %d Redis commands (%.1f per replica per lifetime), %d failed calls",
		replicas, lifetimes, tokenLife, fake.TokenRequests(), fake.TokenRequestsByGrant("password"), fake.TokenRequestsByGrant("refresh_token"),
		fake.RefreshTokenReuses(), fake.RevokedFamilies(), commands.Load(), perReplica, failed.Load())
	if os.Getenv("VENDOROAUTH_FLEET_FIGURES") != "" {
		t.Logf("| 1,000 replicas, one Redis, 1 ms round trip | %d | %d | %d | %.1f | %d |",
			fake.TokenRequests(), fake.TokenRequestsByGrant("password"), fake.RefreshTokenReuses(), perReplica, failed.Load())
	}
	assert.LessOrEqual(t, fake.TokenRequests(), lifetimes+2, "token requests for %d lifetimes", lifetimes)
	assert.Zero(t, fake.RefreshTokenReuses(), "refresh tokens presented twice")
	assert.Zero(t, fake.RevokedFamilies(), "token families revoked")
	assert.Equal(t, 1, fake.TokenRequestsByGrant("password"), "logins")
	assert.LessOrEqual(t, perReplica, 10.0, "Redis commands per replica per lifetime")
	require.Zero(t, failed.Load(), "failed calls; the first: %v", firstErr.Load())
}
