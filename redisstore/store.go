package redisstore

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vendoroauth/vendoroauth"
)

// Defaults and bounds, as documented on the options.
const (
	defaultTTL     = 31 * 24 * time.Hour // a little past EnduroSat's 30-day refresh tokens
	defaultLockTTL = 10 * time.Second
	minLockTTL     = 100 * time.Millisecond
	sealPrefix     = "sealed.v1."
)

// A Store keeps one token source's record under one Redis key. Make one
// with [New]. Its methods are safe for concurrent use by multiple
// goroutines, and return soon after their ctx is done.
type Store struct {
	rdb     redis.Cmdable
	key     string
	lockKey string
	ttl     time.Duration
	lockTTL time.Duration
	sealKey []byte      // WithSealKey's copy; nil: no seal key given
	aead    cipher.AEAD // nil: the record is stored as it is
	err     error       // an unusable argument or option, returned by every call
}

// An Option configures a [Store].
type Option func(*Store)

// WithTTL returns an [Option] that makes the stored record expire from
// Redis d after it was saved. d must be positive. Passing it again
// overrides the earlier value.
//
// Default: 31 days, a little past the 30-day life of an EnduroSat refresh
// token.
func WithTTL(d time.Duration) Option {
	return func(s *Store) { s.ttl = d }
}

// WithLockTTL returns an [Option] that sets how long the refresh lock lives
// without renewal: how long a crashed holder can block the others. The
// holder renews it every third of d. A lock key found with no TTL, or with
// a TTL longer than d, is taken as left behind and broken, so every Store
// sharing a key should use the same lock TTL. d must be at least 100ms.
// Passing it again overrides the earlier value.
//
// Default: 10 seconds.
func WithLockTTL(d time.Duration) Option {
	return func(s *Store) { s.lockTTL = d }
}

// WithSealKey returns an [Option] that encrypts the stored record with
// AES-GCM under key, which must be 16, 24 or 32 bytes, bound to the Redis
// key name. A record sealed under another seal key or key name fails to
// load, and the token source then fetches a new token and replaces it. The
// Store keeps its own copy of key. Passing it again overrides the earlier
// key.
//
// Default: no sealing.
func WithSealKey(key []byte) Option {
	return func(s *Store) { s.sealKey = append([]byte{}, key...) }
}

// New returns a Store that keeps the record under key in rdb (a
// *redis.Client, *redis.ClusterClient or any redis.Cmdable) and the lock
// under key + ":lock". Nil options are skipped.
//
// New returns no error: if rdb is nil, key is empty or an option's value is
// unusable, every call of the Store returns an error, matching
// [vendoroauth.ErrInvalidConfig], that says which.
func New(rdb redis.Cmdable, key string, opts ...Option) *Store {
	s := &Store{rdb: rdb, key: key, lockKey: key + ":lock", ttl: defaultTTL, lockTTL: defaultLockTTL}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	s.err = s.validate()
	return s
}

// validate checks s's arguments and options, and makes its cipher. It
// returns the first problem, matching vendoroauth.ErrInvalidConfig.
func (s *Store) validate() error {
	var problem string
	switch {
	case isNil(s.rdb):
		problem = "the Redis client is nil"
	case s.key == "":
		problem = "the key is empty"
	case s.ttl <= 0:
		problem = fmt.Sprintf("TTL %v is not positive", s.ttl)
	case s.lockTTL < minLockTTL:
		problem = fmt.Sprintf("lock TTL %v is under %v", s.lockTTL, minLockTTL)
	case s.sealKey != nil:
		block, err := aes.NewCipher(s.sealKey)
		if err != nil {
			problem = fmt.Sprintf("seal key is %d bytes, want 16, 24 or 32", len(s.sealKey)) // never the key
			break
		}
		s.aead, _ = cipher.NewGCM(block) // cannot fail for AES
	}
	if problem == "" {
		return nil
	}
	return fmt.Errorf("redisstore: %s: %w", problem, vendoroauth.ErrInvalidConfig)
}

// isNil reports whether rdb is nil, or a nil pointer to one of go-redis's
// clients, whose methods would panic.
func isNil(rdb redis.Cmdable) bool {
	switch c := rdb.(type) {
	case nil:
		return true
	case *redis.Client:
		return c == nil
	case *redis.ClusterClient:
		return c == nil
	case *redis.Ring:
		return c == nil
	}
	return false
}

// Format prints the key only: a Store holds a seal key.
func (s *Store) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "redisstore.Store{key: %q}", s.key) }

// Load implements [vendoroauth.TokenStore]: it returns the stored record,
// unsealed, or nil and no error when the key does not exist. A record that
// is sealed under another key, or sealed when the Store has no seal key (or
// the other way round), is an error that does not match
// [vendoroauth.ErrInvalidConfig]: the source fetches a new token and
// replaces it.
func (s *Store) Load(ctx context.Context) ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	val, err := await(ctx, func(ctx context.Context) ([]byte, error) {
		return s.rdb.Get(ctx, s.key).Bytes()
	}, nil)
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("redisstore: load %s: %w", s.key, err)
	}
	return s.unseal(val)
}

// Save implements [vendoroauth.TokenStore]: it stores data, sealed if a
// seal key is set, with the Store's TTL. A nil data deletes the key. If ctx ends first, Save
// returns its error, and the command may still be carried out.
func (s *Store) Save(ctx context.Context, data []byte) error {
	if s.err != nil {
		return s.err
	}
	if data == nil {
		_, err := await(ctx, func(ctx context.Context) (int64, error) {
			return s.rdb.Del(ctx, s.key).Result()
		}, nil)
		if err != nil {
			return fmt.Errorf("redisstore: clear %s: %w", s.key, err)
		}
		return nil
	}
	val := s.seal(data)
	_, err := await(ctx, func(ctx context.Context) (string, error) {
		return s.rdb.Set(ctx, s.key, val, s.ttl).Result()
	}, nil)
	if err != nil {
		return fmt.Errorf("redisstore: save %s: %w", s.key, err)
	}
	return nil
}

// seal encrypts data when a seal key is set.
func (s *Store) seal(data []byte) []byte {
	if s.aead == nil {
		return bytes.Clone(data) // an abandoned Save may send it after Save returned
	}
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce) // never fails
	sealed := s.aead.Seal(nonce, nonce, data, []byte(s.key))
	return append([]byte(sealPrefix), base64.RawURLEncoding.AppendEncode(nil, sealed)...)
}

// unseal reverses seal; it refuses plain data when a seal key is set, and
// sealed data when none is. Its errors never hold the data.
func (s *Store) unseal(val []byte) ([]byte, error) {
	sealed, isSealed := strings.CutPrefix(string(val), sealPrefix)
	switch {
	case s.aead == nil && isSealed:
		return nil, fmt.Errorf("redisstore: load %s: the record is sealed and no seal key is set", s.key)
	case s.aead == nil:
		return val, nil
	case !isSealed:
		return nil, fmt.Errorf("redisstore: load %s: the record is not sealed", s.key)
	}
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	n := s.aead.NonceSize()
	if err != nil || len(raw) < n {
		return nil, fmt.Errorf("redisstore: load %s: the sealed record is corrupt", s.key)
	}
	data, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(s.key))
	if err != nil {
		return nil, fmt.Errorf("redisstore: load %s: the record was sealed with another seal key or key name, or altered", s.key)
	}
	return data, nil
}
