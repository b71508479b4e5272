package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	lockPoll = 50 * time.Millisecond // how often a waiter tries again
	// releaseTimeout bounds unlock: a lock it fails to release expires
	// after the lock TTL anyway.
	releaseTimeout = 500 * time.Millisecond
)

// Scripts on the lock key. KEYS[1] is the lock key, ARGV[1] the holder's
// value, ARGV[2] the lock TTL in milliseconds.
var (
	// acquireScript takes the lock if it is free, or if it was left
	// behind: with no TTL (a PTTL of -1), which would never expire, or
	// with a TTL longer than any holder with our lock TTL sets. It
	// returns 1 when it took a free lock, 2 when it broke one, 0 when
	// another holder has it.
	acquireScript = redis.NewScript(`
if redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then return 1 end
local ttl = redis.call("PTTL", KEYS[1])
if ttl == -1 or ttl > tonumber(ARGV[2]) then
	redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
	return 2
end
return 0`)
	// renewScript and releaseScript act only while the lock holds the
	// caller's value.
	renewScript   = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0`)
	releaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)
)

// Lock implements [vendoroauth.Locker]. It waits until the lock is free or
// ctx is done, trying every 50ms; a Redis error ends the wait at once. A
// lock key with no TTL, or with a TTL longer than the lock TTL, is broken
// at once. If ctx ends while an attempt is under way, Lock returns ctx's
// error, and a lock that attempt takes later is released.
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
	for {
		got, err := await(ctx, func(ctx context.Context) (int64, error) {
			return acquireScript.Run(ctx, s.rdb, []string{s.lockKey}, value, s.lockTTL.Milliseconds()).Int64()
		}, func(got int64, err error) {
			if err == nil && got != 0 {
				s.release(ctx, value) // taken after the caller left
			}
		})
		if err != nil {
			return nil, fmt.Errorf("redisstore: lock %s: %w", s.lockKey, err)
		}
		if got != 0 {
			break
		}
		t := time.NewTimer(lockPoll)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("redisstore: lock %s: %w", s.lockKey, ctx.Err())
		}
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
			return renewScript.Run(ctx, s.rdb, []string{s.lockKey}, value, s.lockTTL.Milliseconds()).Int64()
		}, nil)
		cancel()
		if err == nil && n == 0 {
			return // expired, and maybe taken: renewing it again would do nothing
		}
	}
}

// release deletes the lock if it still holds value, waiting at most
// releaseTimeout; ctx gives values only. A failure is ignored: the lock
// expires by itself.
func (s *Store) release(ctx context.Context, value string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	await(rctx, func(ctx context.Context) (any, error) {
		return nil, releaseScript.Run(ctx, s.rdb, []string{s.lockKey}, value).Err()
	}, nil)
}
