package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vendoroauth/vendoroauth"
)

// releaseTimeout bounds unlock: a lock it fails to release expires after
// the lock TTL anyway.
const releaseTimeout = 500 * time.Millisecond

// Scripts on the lock key. KEYS[1] is the lock key, ARGV[1] the holder's
// value, ARGV[2] the lock TTL in milliseconds.
const (
	// acquireScript takes the lock if it is free, or if it was left
	// behind: with no TTL (a PTTL of -1), which would never expire, or
	// with a TTL longer than any holder with our lock TTL sets. It
	// returns 1 when it took a free lock, 2 when it broke one, 0 when
	// another holder has it.
	acquireScript = `
if redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then return 1 end
local ttl = redis.call("PTTL", KEYS[1])
if ttl == -1 or ttl > tonumber(ARGV[2]) then
	redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
	return 2
end
return 0`
	// renewScript and releaseScript act only while the lock holds the
	// caller's value.
	renewScript   = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0`
	releaseScript = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`
)

// renewal runs renewScript.
var renewal = redis.NewScript(renewScript)

// Lock implements [vendoroauth.Locker]. It does not wait for another
// holder: it takes the lock if it is free (or left behind: a lock key with
// no TTL, or with a TTL longer than the lock TTL, is broken), and returns
// an error matching [vendoroauth.ErrLocked] at once if another holder has
// it. A lock it takes counts once the replicas have acknowledged it (WAIT,
// up to the replica wait); one they have not is released again and is an
// error, for a lock that a failover can lose lets another process refresh
// too. If ctx ends while an attempt is under way, Lock returns ctx's error,
// and a lock that attempt takes later is released.
//
// While held, the lock is renewed every third of the lock TTL, until
// unlock, not until ctx is done. unlock stops the renewal and releases the
// lock if it is still ours; it waits at most 500ms for Redis and does
// nothing a second time.
func (s *Store) Lock(ctx context.Context) (unlock func(), err error) {
	if s.err != nil {
		return nil, s.err
	}
	b := make([]byte, 16)
	rand.Read(b) // never fails
	value := base64.RawURLEncoding.EncodeToString(b)
	ttl := s.lockTTL.Milliseconds()
	got, err := await(ctx, func(ctx context.Context) (bool, error) {
		return s.onMaster(ctx, func(ctx context.Context, p redis.Pipeliner) *redis.Cmd {
			return p.Eval(ctx, acquireScript, []string{s.lockKey}, value, ttl)
		})
	}, func(got bool, _ error) {
		if got {
			s.release(ctx, value) // taken after the caller left
		}
	})
	switch {
	case got && err != nil:
		s.release(ctx, value) // taken, but a failover could lose it
		return nil, &storeError{op: "lock", key: s.key, msg: "not replicated", cause: err}
	case err != nil:
		return nil, s.fail("lock", err)
	case !got:
		return nil, &storeError{op: "lock", key: s.key, msg: "another holder has it", kind: vendoroauth.ErrLocked}
	}

	// The renewal outlives ctx, which may end as soon as Lock returns;
	// unlock ends it.
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { s.renew(rctx, value) })
	var once sync.Once
	return func() {
		once.Do(func() {
			stop()
			wg.Wait() // prompt: renew's commands stop waiting once rctx is done
			s.release(ctx, value)
		})
	}, nil
}

// renew extends the lock every third of the lock TTL until ctx is done or
// the lock is no longer ours. Each renewal waits at most a third of the
// lock TTL.
func (s *Store) renew(ctx context.Context, value string) {
	every := s.lockTTL / 3
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		actx, cancel := context.WithTimeout(ctx, every)
		n, err := await(actx, func(ctx context.Context) (int64, error) {
			return renewal.Run(ctx, s.rdb, []string{s.lockKey}, value, s.lockTTL.Milliseconds()).Int64()
		}, nil)
		cancel()
		if err == nil && n == 0 {
			return // expired, and maybe taken: renewing it again would do nothing
		}
	}
}

// release deletes the lock if it still holds value, and waits for the
// replicas to see it gone, together at most releaseTimeout; ctx gives
// values only. A failure is ignored: the lock expires by itself.
func (s *Store) release(ctx context.Context, value string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	await(rctx, func(ctx context.Context) (bool, error) {
		return s.onMaster(ctx, func(ctx context.Context, p redis.Pipeliner) *redis.Cmd {
			return p.Eval(ctx, releaseScript, []string{s.lockKey}, value)
		})
	}, nil)
}
