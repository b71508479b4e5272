package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/redisstore"
)

func TestLock(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	rdb := r.client()
	key := uniqueKey(t)
	store := redisstore.New(rdb, key, redisstore.WithLockTTL(300*time.Millisecond))
	ctx := t.Context()

	lockKey := "{" + key + "}:lock" // in the record's hash slot
	unlock, err := store.Lock(ctx)
	require.NoError(t, err, "Lock()")
	// Held and renewed: another holder cannot take it, even past the TTL,
	// and is told so at once.
	time.Sleep(time.Second)
	start := time.Now()
	_, err = store.Lock(ctx)
	assert.ErrorIs(t, err, vendoroauth.ErrLocked, "second Lock() while held")
	assert.Less(t, time.Since(start), 200*time.Millisecond, "second Lock() while held: want an answer at once")
	unlock()
	unlock() // a second call does nothing
	assert.Zero(t, rdb.Exists(ctx, lockKey).Val(), "lock key exists after unlock")
	unlock2, err := store.Lock(ctx)
	require.NoError(t, err, "Lock() after unlock")
	unlock2()

	// A crashed holder: the lock is there, nobody renews it.
	rdb.Set(ctx, lockKey, "crashed-holder", 300*time.Millisecond)
	_, err = store.Lock(ctx)
	assert.ErrorIs(t, err, vendoroauth.ErrLocked, "Lock() before a crashed holder's lock expired")
	time.Sleep(300 * time.Millisecond)
	unlock3, err := store.Lock(ctx)
	require.NoError(t, err, "Lock() once a crashed holder's lock expired")
	// Our unlock must not delete a lock that is no longer ours.
	rdb.Set(ctx, lockKey, "someone-else", time.Minute)
	unlock3()
	assert.Equal(t, "someone-else", rdb.Get(ctx, lockKey).Val(), "unlock deleted another holder's lock")
}

// TestLockBreaksLeftBehindLock: a lock key that would never expire, or not
// for longer than any holder of ours sets, is broken on the first Lock.
func TestLockBreaksLeftBehindLock(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	rdb := r.client()
	const lockTTL = 500 * time.Millisecond
	tests := []struct {
		name string
		ttl  time.Duration // of the planted key; 0: none
	}{
		{"no TTL", 0},
		{"TTL of an hour", time.Hour},
		{"TTL just over the lock TTL", lockTTL + 200*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			key := uniqueKey(t)
			lockKey := "{" + key + "}:lock"
			require.NoError(t, rdb.Set(ctx, lockKey, "left-behind", tt.ttl).Err(), "plant the lock")
			store := redisstore.New(rdb, key, redisstore.WithLockTTL(lockTTL))

			wait, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			start := time.Now()
			unlock, err := store.Lock(wait)
			took := time.Since(start)
			require.NoError(t, err, "Lock() over a left-behind lock")
			assert.Less(t, took, 200*time.Millisecond, "Lock() over a left-behind lock waited; want it broken at once")
			assert.NotEqual(t, "left-behind", rdb.Get(ctx, lockKey).Val(), "lock value after Lock()")
			ttl := rdb.PTTL(ctx, lockKey).Val()
			assert.True(t, ttl > 0 && ttl <= lockTTL, "lock PTTL after Lock() = %v, want (0, %v]", ttl, lockTTL)
			unlock()
			assert.Zero(t, rdb.Exists(ctx, lockKey).Val(), "lock key exists after unlock")
		})
	}

	// A lock within the lock TTL is a live holder's: it is not broken.
	ctx := t.Context()
	key := uniqueKey(t)
	lockKey := "{" + key + "}:lock"
	rdb.Set(ctx, lockKey, "live-holder", lockTTL)
	_, err := redisstore.New(rdb, key, redisstore.WithLockTTL(lockTTL)).Lock(ctx)
	assert.ErrorIs(t, err, vendoroauth.ErrLocked, "Lock() while a live holder has it")
	assert.Equal(t, "live-holder", rdb.Get(ctx, lockKey).Val(), "a live holder's lock was broken")
}
