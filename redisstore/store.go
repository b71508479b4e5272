// Package redisstore keeps a vendoroauth token in Redis, so that many
// replicas of a service share one vendor identity: one of them refreshes,
// the others load what it saved.
//
// A [Store] is a [vendoroauth.TokenStore] and a [vendoroauth.Locker]:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	store := redisstore.New(rdb, "vendoroauth:endurosat:prod", redisstore.WithSealKey(key))
//	src := vendoroauth.EnduroSatPasswordTokenSource(ctx, id, user, pw, vendoroauth.WithStore(store))
//
// The lock is a SET NX PX key whose value only its holder knows; it is
// renewed while the holder fetches and released with a compare-and-delete
// script, so a holder can never release another's lock, and a crashed
// holder's lock expires after the lock TTL. With a seal key, the stored
// token is encrypted with AES-GCM, so that a reader of Redis alone cannot
// use it.
//
// This package is its own module, so that importing vendoroauth never
// pulls in a Redis client.
package redisstore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
)

// Defaults, as documented on the options.
const (
	defaultTTL     = 31 * 24 * time.Hour // a little past EnduroSat's 30-day refresh tokens
	defaultLockTTL = 10 * time.Second
	lockPoll       = 50 * time.Millisecond
	sealPrefix     = "sealed.v1."
)

// A Store keeps one token under one Redis key. Make one with [New]. Its
// methods are safe for concurrent use.
type Store struct {
	rdb     redis.Cmdable
	key     string
	ttl     time.Duration
	lockTTL time.Duration
	aead    cipher.AEAD // nil: the token is stored as plain JSON
	err     error       // an unusable option, reported by every call
}

// An Option configures a [Store].
type Option func(*Store)

// WithTTL returns an [Option] that makes the stored token expire from Redis
// d after it was saved. Default: 31 days, a little past the 30-day life of
// an EnduroSat refresh token. d must be positive.
func WithTTL(d time.Duration) Option {
	return func(s *Store) {
		if d <= 0 {
			s.err = fmt.Errorf("redisstore: TTL %v is not positive", d)
		}
		s.ttl = d
	}
}

// WithLockTTL returns an [Option] that sets how long the refresh lock lives
// without renewal: how long a crashed holder can block the others. The
// holder renews it every third of d. Default: 10 seconds. d must be at least
// 100ms.
func WithLockTTL(d time.Duration) Option {
	return func(s *Store) {
		if d < 100*time.Millisecond {
			s.err = fmt.Errorf("redisstore: lock TTL %v is under 100ms", d)
		}
		s.lockTTL = d
	}
}

// WithSealKey returns an [Option] that encrypts the stored token with
// AES-GCM under key (16, 24 or 32 bytes), bound to the Redis key name. A
// token sealed under another key fails to load, and the token source then
// fetches a new one and replaces it. The Store keeps its own copy of key.
func WithSealKey(key []byte) Option {
	return func(s *Store) {
		block, err := aes.NewCipher(append([]byte(nil), key...))
		if err != nil {
			s.err = fmt.Errorf("redisstore: seal key: %w", err)
			return
		}
		s.aead, _ = cipher.NewGCM(block) // cannot fail for AES
	}
}

// New returns a Store that keeps the token under key in rdb (a
// *redis.Client, *redis.ClusterClient or any redis.Cmdable). The lock lives
// under key + ":lock".
func New(rdb redis.Cmdable, key string, opts ...Option) *Store {
	s := &Store{rdb: rdb, key: key, ttl: defaultTTL, lockTTL: defaultLockTTL}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	if key == "" && s.err == nil {
		s.err = errors.New("redisstore: key is empty")
	}
	return s
}

// Format prints the key only: a Store holds a seal key.
func (s *Store) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "redisstore.Store{key: %q}", s.key) }

// Load implements [vendoroauth.TokenStore].
func (s *Store) Load(ctx context.Context) (*oauth2.Token, error) {
	if s.err != nil {
		return nil, s.err
	}
	val, err := s.rdb.Get(ctx, s.key).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: load %s: %w", s.key, err)
	}
	data, err := s.unseal(val)
	if err != nil {
		return nil, err
	}
	tok, err := vendoroauth.DecodeToken(data)
	if err != nil {
		return nil, fmt.Errorf("redisstore: load %s: %w", s.key, err)
	}
	return tok, nil
}

// Save implements [vendoroauth.TokenStore]. A nil tok deletes the key.
func (s *Store) Save(ctx context.Context, tok *oauth2.Token) error {
	if s.err != nil {
		return s.err
	}
	if tok == nil {
		if err := s.rdb.Del(ctx, s.key).Err(); err != nil {
			return fmt.Errorf("redisstore: clear %s: %w", s.key, err)
		}
		return nil
	}
	data, err := vendoroauth.EncodeToken(tok)
	if err != nil {
		return err
	}
	if err := s.rdb.Set(ctx, s.key, s.seal(data), s.ttl).Err(); err != nil {
		return fmt.Errorf("redisstore: save %s: %w", s.key, err)
	}
	return nil
}

// seal encrypts data when a seal key is set.
func (s *Store) seal(data []byte) string {
	if s.aead == nil {
		return string(data)
	}
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	return sealPrefix + base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, data, []byte(s.key)))
}

// unseal reverses seal; it refuses plain data when a key is set, and sealed
// data when none is.
func (s *Store) unseal(val string) ([]byte, error) {
	sealed, isSealed := strings.CutPrefix(val, sealPrefix)
	switch {
	case s.aead == nil && isSealed:
		return nil, fmt.Errorf("redisstore: load %s: the token is sealed and no seal key is set", s.key)
	case s.aead == nil:
		return []byte(val), nil
	case !isSealed:
		return nil, fmt.Errorf("redisstore: load %s: the token is not sealed", s.key)
	}
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return nil, fmt.Errorf("redisstore: load %s: the sealed token is corrupt", s.key)
	}
	n := s.aead.NonceSize()
	data, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(s.key))
	if err != nil {
		return nil, fmt.Errorf("redisstore: load %s: the token was sealed with another key, or altered", s.key)
	}
	return data, nil
}

// Scripts that act only if the lock still holds the caller's value.
var (
	releaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)
	renewScript   = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0`)
)

// Lock implements [vendoroauth.Locker]. It waits until the lock is free or
// ctx is done; a Redis error ends the wait at once. While held, the lock is
// renewed every third of the lock TTL; unlock stops the renewal and releases
// the lock if it is still ours.
func (s *Store) Lock(ctx context.Context) (func(), error) {
	if s.err != nil {
		return nil, s.err
	}
	lockKey := s.key + ":lock"
	b := make([]byte, 16)
	rand.Read(b)
	value := base64.RawURLEncoding.EncodeToString(b)
	for {
		ok, err := s.rdb.SetNX(ctx, lockKey, value, s.lockTTL).Result()
		if err != nil {
			return nil, fmt.Errorf("redisstore: lock %s: %w", lockKey, err)
		}
		if ok {
			break
		}
		t := time.NewTimer(lockPoll)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("redisstore: lock %s: %w", lockKey, ctx.Err())
		}
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(s.lockTTL / 3)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				rctx, cancel := context.WithTimeout(context.Background(), s.lockTTL/3)
				renewScript.Run(rctx, s.rdb, []string{lockKey}, value, s.lockTTL.Milliseconds())
				cancel()
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			wg.Wait()
			rctx, cancel := context.WithTimeout(context.Background(), s.lockTTL)
			defer cancel()
			releaseScript.Run(rctx, s.rdb, []string{lockKey}, value)
		})
	}, nil
}
