package redisstore

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vendoroauth/vendoroauth"
)

// Defaults and bounds, as documented on the options.
const (
	defaultTTL         = 31 * 24 * time.Hour // a little past EnduroSat's 30-day refresh tokens
	defaultLockTTL     = 10 * time.Second
	minLockTTL         = 100 * time.Millisecond
	defaultReplicaWait = time.Second
	sealPrefix         = "sealed.v1."
)

// Scripts on the record, a hash with the fields d (the record) and v (its
// revision, 20 decimal digits, so that Lua compares them as strings). A
// script touches one key, and a write script goes to the key's master,
// whatever the client's replica-read options: the reads that decide a
// refresh see what the master holds.
const (
	// loadScript returns the record, or nil.
	loadScript = `
if redis.call("TYPE", KEYS[1]).ok ~= "hash" then return false end
return redis.call("HGET", KEYS[1], "d")`

	// saveScript stores ARGV[1] as revision ARGV[2] with a TTL of ARGV[3]
	// ms, unless the record's revision is later; it returns 1 when it
	// stored it. ARGV[2] of "" is an unfenced save, which keeps the
	// revision.
	saveScript = `
if redis.call("TYPE", KEYS[1]).ok ~= "hash" then redis.call("DEL", KEYS[1]) end
local v = redis.call("HGET", KEYS[1], "v")
if ARGV[2] ~= "" and v and v > ARGV[2] then return 0 end
redis.call("HSET", KEYS[1], "d", ARGV[1])
if ARGV[2] ~= "" then redis.call("HSET", KEYS[1], "v", ARGV[2]) end
redis.call("PEXPIRE", KEYS[1], ARGV[3])
return 1`

	// clearScript deletes the record.
	clearScript = `redis.call("DEL", KEYS[1]) return 1`
)

// load runs loadScript.
var load = redis.NewScript(loadScript)

// A Store keeps one token source's record under one Redis key, fenced and
// replicated. Make one with [New]. Its methods are safe for concurrent use
// by multiple goroutines, and return soon after their ctx is done.
type Store struct {
	rdb         redis.Cmdable
	key         string // the caller's key: the seal's associated data, and errors
	recKey      string // the record's key: key, with a hash tag
	lockKey     string // the lock's key, in the record's hash slot
	ttl         time.Duration
	lockTTL     time.Duration
	replicaWait time.Duration
	sealKey     []byte      // WithSealKey's copy; nil: no seal key given
	aead        cipher.AEAD // nil: the record is stored as it is
	err         error       // an unusable argument or option, returned by every call

	replicas replicaCount // how many replicas a write must reach
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
// without renewal: how long a crashed holder can block the others, and how
// long a holder's lock outlives a failover that lost its renewals. The
// holder renews it every third of d. Set it above the time your deployment
// takes to fail over (Sentinel's down-after-milliseconds plus the
// election, or a Cluster's node timeout plus the election), so that the
// holder keeps the lock on the promoted replica and saves its token there
// before anyone else refreshes. A lock key found with no TTL, or with a TTL
// longer than d, is taken as left behind and broken, so every Store sharing
// a key should use the same lock TTL. d must be at least 100ms. Passing it
// again overrides the earlier value.
//
// Default: 10 seconds.
func WithLockTTL(d time.Duration) Option {
	return func(s *Store) { s.lockTTL = d }
}

// WithReplicaWait returns an [Option] that bounds how long a save, or the
// taking of the lock, waits for the replicas to acknowledge it (WAIT). d
// must be positive. Passing it again overrides the earlier value.
//
// Default: 1 second.
func WithReplicaWait(d time.Duration) Option {
	return func(s *Store) { s.replicaWait = d }
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

// New returns a Store that keeps the record under key in rdb and the lock
// beside it, in the same hash slot: if key has a hash tag ({…}), the record
// is key and the lock key + ":lock"; otherwise they are "{" + key + "}" and
// "{" + key + "}:lock". rdb is a [*redis.Client] (one server, or a Sentinel
// [redis.NewFailoverClient]), a [*redis.ClusterClient] (a Cluster, or
// [redis.NewFailoverClusterClient]), any of them as a
// [redis.UniversalClient], or another [redis.Cmdable]. Nil options are
// skipped.
//
// New returns no error: if rdb is nil, key is empty or an option's value is
// unusable, every call of the Store returns an error, matching
// [vendoroauth.ErrInvalidConfig], that says which.
func New(rdb redis.Cmdable, key string, opts ...Option) *Store {
	s := &Store{rdb: rdb, key: key, ttl: defaultTTL, lockTTL: defaultLockTTL, replicaWait: defaultReplicaWait}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	s.recKey, s.lockKey = slotKeys(key)
	s.err = s.validate()
	return s
}

// slotKeys returns the record and lock keys for key, in one hash slot.
func slotKeys(key string) (rec, lock string) {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key, key + ":lock" // key has a hash tag of its own
		}
	}
	tagged := "{" + key + "}"
	return tagged, tagged + ":lock"
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
	case s.replicaWait <= 0:
		problem = fmt.Sprintf("replica wait %v is not positive", s.replicaWait)
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
	return &storeError{op: "new", key: s.key, msg: problem, kind: vendoroauth.ErrInvalidConfig}
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
// unsealed, or nil and no error when there is none. It reads from the
// key's master, whatever the client's replica-read options. A record that
// is sealed under another key, or sealed when the Store has no seal key (or
// the other way round), is an error matching [vendoroauth.ErrCorruptRecord]:
// the source fetches a new token and replaces it.
func (s *Store) Load(ctx context.Context) ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	val, err := await(ctx, func(ctx context.Context) (any, error) {
		return load.Run(ctx, s.rdb, []string{s.recKey}).Result()
	}, nil)
	switch {
	case err == redis.Nil:
		return nil, nil
	case err != nil:
		return nil, s.fail("load", err)
	}
	str, ok := val.(string)
	if !ok {
		return nil, nil
	}
	return s.unseal([]byte(str))
}

// Save implements [vendoroauth.TokenStore]: it stores data, sealed if a
// seal key is set, with the Store's TTL, unfenced, and waits for the
// replicas as SaveVersion does; a nil data deletes the record. If ctx ends
// first, Save returns its error, and the command may still be carried out.
func (s *Store) Save(ctx context.Context, data []byte) error {
	if s.err != nil {
		return s.err
	}
	if data == nil {
		_, err := await(ctx, func(ctx context.Context) (bool, error) {
			return s.onMaster(ctx, func(ctx context.Context, p redis.Pipeliner) *redis.Cmd {
				return p.Eval(ctx, clearScript, []string{s.recKey})
			})
		}, nil)
		return s.failed("clear", err)
	}
	_, err := s.save(ctx, "save", data, "")
	return err
}

// SaveVersion implements [vendoroauth.VersionedStore]: it stores data as
// revision version unless the record's revision is later, in one script on
// the key's master, and then waits, up to the replica wait, until the
// replicas Redis has acknowledged the write (WAIT). A write stored but not
// acknowledged by them all is an error, which makes the source save again.
// The replicas counted are those the master reports, or, for a minute after
// it reports fewer, as many as it reported before: a replica cut off just
// before a failover must not make a save count that it never got.
func (s *Store) SaveVersion(ctx context.Context, data []byte, version int64) (bool, error) {
	if s.err != nil {
		return false, s.err
	}
	if data == nil || version < 0 {
		return false, &storeError{op: "save", key: s.key, msg: "no record, or a negative revision", kind: vendoroauth.ErrInvalidConfig}
	}
	return s.save(ctx, "save", data, fmt.Sprintf("%020d", version))
}

// save runs saveScript for data at revision rev ("" unfenced) and waits for
// the replicas.
func (s *Store) save(ctx context.Context, op string, data []byte, rev string) (bool, error) {
	val := s.seal(data)
	ttl := s.ttl.Milliseconds()
	saved, err := await(ctx, func(ctx context.Context) (bool, error) {
		return s.onMaster(ctx, func(ctx context.Context, p redis.Pipeliner) *redis.Cmd {
			return p.Eval(ctx, saveScript, []string{s.recKey}, val, rev, ttl)
		})
	}, nil)
	return saved, s.failed(op, err)
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
		return nil, &storeError{op: "load", key: s.key, msg: "the record is sealed and no seal key is set", kind: vendoroauth.ErrCorruptRecord}
	case s.aead == nil:
		return val, nil
	case !isSealed:
		return nil, &storeError{op: "load", key: s.key, msg: "the record is not sealed", kind: vendoroauth.ErrCorruptRecord}
	}
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	n := s.aead.NonceSize()
	if err != nil || len(raw) < n {
		return nil, &storeError{op: "load", key: s.key, msg: "the sealed record is corrupt", kind: vendoroauth.ErrCorruptRecord}
	}
	data, err := s.aead.Open(nil, raw[:n], raw[n:], []byte(s.key))
	if err != nil {
		return nil, &storeError{op: "load", key: s.key, msg: "the record was sealed with another seal key or key name, or altered", kind: vendoroauth.ErrCorruptRecord}
	}
	return data, nil
}

// A storeError is every error a Store makes: the operation, the key, what
// went wrong, the vendoroauth sentinel it matches, and the error behind it.
// Its text never repeats the sentinel's, nor holds the record or a key.
type storeError struct {
	op    string // "load", "save", "lock"
	key   string
	msg   string
	kind  error // vendoroauth.ErrInvalidConfig, ErrLocked or ErrCorruptRecord, or nil
	cause error
}

func (e *storeError) Error() string {
	s := "redisstore: " + e.op + " " + e.key
	if e.msg != "" {
		s += ": " + e.msg
	}
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

// Is reports whether target is e's sentinel.
func (e *storeError) Is(target error) bool { return target != nil && target == e.kind }

// Unwrap returns the error behind e: Redis's, or ctx's.
func (e *storeError) Unwrap() error { return e.cause }

// fail wraps a Redis or ctx error of op.
func (s *Store) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(*storeError); ok {
		return e
	}
	return &storeError{op: op, key: s.key, cause: err}
}

// failed is fail for a result of onMaster.
func (s *Store) failed(op string, err error) error { return s.fail(op, err) }

// A replicaCount is how many replicas a write must reach: the most the
// master reported, kept for replicaGrace after it reports fewer, and
// forgotten when the master changes (its replication id).
type replicaCount struct {
	mu     sync.Mutex
	replid string
	most   int
	fewer  time.Time // since when the master reports fewer than most; zero: it does not
}

// replicaGrace is how long a Store keeps counting a replica the master no
// longer reports.
const replicaGrace = time.Minute

// want returns how many replicas a write must reach, given what the master
// reports: its replication id and connected replicas.
func (r *replicaCount) want(replid string, connected int, now time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case replid != r.replid:
		r.replid, r.most, r.fewer = replid, connected, time.Time{}
	case connected >= r.most:
		r.most, r.fewer = connected, time.Time{}
	case r.fewer.IsZero():
		r.fewer = now
	case now.Sub(r.fewer) > replicaGrace:
		r.most, r.fewer = connected, time.Time{}
	}
	return r.most
}
