package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/redisstore"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// The tests in this file time a Store against a paused (SIGSTOP)
// redis-server, through a client with go-redis's default options, which
// would wait 5 s for each answer. They are not parallel, so that other
// tests' load does not blur their timing.

// TestPausedRedis: each call returns once its ctx is done.
func TestPausedRedis(t *testing.T) {
	r := startRedis(t)
	store := redisstore.New(r.defaultClient(), uniqueKey(t), redisstore.WithSealKey(sealKey))
	require.NoError(t, store.Save(t.Context(), []byte("record")), "Save() before the pause")
	r.pause()

	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Load", func(ctx context.Context) error { _, err := store.Load(ctx); return err }},
		{"Save", func(ctx context.Context) error { return store.Save(ctx, []byte("record")) }},
		{"Save(nil)", func(ctx context.Context) error { return store.Save(ctx, nil) }},
		{"Lock", func(ctx context.Context) error { _, err := store.Lock(ctx); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := tt.call(ctx)
			took := time.Since(start)
			assert.ErrorIs(t, err, context.DeadlineExceeded, "%s() on a paused Redis", tt.name)
			assert.NotErrorIs(t, err, vendoroauth.ErrInvalidConfig, "%s() on a paused Redis", tt.name)
			assert.Less(t, took, 300*time.Millisecond, "%s() with a 200ms ctx on a paused Redis", tt.name)
		})
	}
}

// TestPausedRedisUnlock: unlock returns within its 500ms bound when Redis
// hangs, also while a renewal is waiting for Redis.
func TestPausedRedisUnlock(t *testing.T) {
	tests := []struct {
		name    string
		lockTTL time.Duration
		renewal bool // pause until a renewal is under way before unlock
	}{
		{"release", 10 * time.Second, false},
		{"release during a renewal", 300 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startRedis(t)
			rdb := r.defaultClient()
			hook := writeHook{wrote: make(chan struct{}, 1)}
			rdb.AddHook(hook)
			store := redisstore.New(rdb, uniqueKey(t), redisstore.WithLockTTL(tt.lockTTL))
			unlock, err := store.Lock(t.Context())
			require.NoError(t, err, "Lock()")
			r.pause()
			select {
			case <-hook.wrote: // the acquire's
			default:
			}
			if tt.renewal {
				select {
				case <-hook.wrote: // a renewal is on the socket, waiting for Redis
				case <-time.After(5 * time.Second):
					t.Fatal("no renewal sent within 5s")
				}
			}
			start := time.Now()
			unlock()
			assert.Less(t, time.Since(start), 700*time.Millisecond, "unlock() on a paused Redis, want the 500ms release bound")
		})
	}
}

// TestPausedRedisLeavesNoLock: a Lock abandoned while Redis hangs leaves
// no lock behind once Redis answers again: either its attempt never ran, or
// the lock it took late is released, not left to block the others for the
// lock TTL.
func TestPausedRedisLeavesNoLock(t *testing.T) {
	r := startRedis(t)
	rdb := r.defaultClient()
	key := uniqueKey(t)
	store := redisstore.New(rdb, key)
	// Warm up: a connection and the scripts, as in a running service.
	unlock, err := store.Lock(t.Context())
	require.NoError(t, err, "Lock() before the pause")
	unlock()
	r.pause()
	pid := r.cmd.Process.Pid
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err = store.Lock(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded, "Lock() on a paused Redis")
	r.resume(pid)

	// The abandoned attempt gets its answers as soon as Redis resumes, and
	// releases what it took within 500ms; a lock it left would block a new
	// Lock for the 10s lock TTL.
	time.Sleep(time.Second)
	unlock, err = store.Lock(t.Context())
	require.NoError(t, err, "Lock() after Redis answered again")
	unlock()
}

// TestPausedRedisSource: a token source whose store hangs spends at most
// its 2s store budget before the fetch, and Close does not wait for the
// store either.
func TestPausedRedisSource(t *testing.T) {
	r := startRedis(t)
	srv := vendoroauthtest.NewFormlabs(flClientID, flSecret)
	t.Cleanup(srv.Close)
	const latency = time.Second
	srv.SetLatency(latency)
	store := redisstore.New(r.defaultClient(), uniqueKey(t), redisstore.WithSealKey(sealKey))
	r.pause()

	src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret,
		vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithHTTPClient(srv.Client()), vendoroauth.WithStore(store))
	start := time.Now()
	tok, err := src.Token()
	took := time.Since(start)
	require.NoError(t, err, "Token() with the store paused")
	assert.NotEmpty(t, tok.AccessToken, "Token() with the store paused")
	assert.Less(t, took, 2*time.Second+latency+500*time.Millisecond,
		"Token() with the store paused, want at most the 2s store budget + the vendor's 1s + slack")
	assert.Equal(t, 1, srv.TokenRequests(), "token requests")

	start = time.Now()
	require.NoError(t, src.Close(), "Close()")
	assert.Less(t, time.Since(start), time.Second, "Close() while the save waits for a paused Redis")
}
