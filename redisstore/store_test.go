package redisstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/redisstore"
)

var (
	sealKey  = []byte("0123456789abcdef0123456789abcdef")
	otherKey = []byte("fedcba9876543210fedcba9876543210")
)

func TestLoadSave(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	rdb := r.client()
	key := uniqueKey(t)
	store := redisstore.New(rdb, key, redisstore.WithTTL(time.Hour))
	ctx := t.Context()

	got, err := store.Load(ctx)
	require.NoError(t, err, "Load() on an empty key")
	assert.Nil(t, got, "Load() on an empty key")

	record := []byte(`{"version":1,"access_token":"ACCESS-x"}`)
	require.NoError(t, store.Save(ctx, record), "Save()")
	got, err = store.Load(ctx)
	require.NoError(t, err, "Load()")
	assert.Equal(t, record, got, "Load() after Save()")
	recKey := "{" + key + "}" // the record's key: the caller's, as a hash tag
	assert.Equal(t, string(record), rdb.HGet(ctx, recKey, "d").Val(), "value in Redis without a seal key")
	ttl := rdb.PTTL(ctx, recKey).Val()
	assert.True(t, ttl > 59*time.Minute && ttl <= time.Hour, "PTTL = %v, want about 1h", ttl)

	require.NoError(t, store.Save(ctx, nil), "Save(nil)")
	assert.Zero(t, rdb.Exists(ctx, recKey).Val(), "key exists after Save(nil)")
	got, err = store.Load(ctx)
	assert.NoError(t, err, "Load() after Save(nil)")
	assert.Nil(t, got, "Load() after Save(nil)")
}

func TestSealing(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	rdb := r.client()
	key := uniqueKey(t)
	ctx := t.Context()
	record := []byte(`{"access_token":"ACCESS-sealed","refresh_token":"REFRESH-sealed"}`)

	sealed := redisstore.New(rdb, key, redisstore.WithSealKey(sealKey))
	require.NoError(t, sealed.Save(ctx, record), "Save()")
	raw := rdb.HGet(ctx, "{"+key+"}", "d").Val()
	assert.NotContains(t, raw, "ACCESS-sealed", "Redis holds the record in clear")
	assert.NotContains(t, raw, "REFRESH-sealed", "Redis holds the record in clear")
	got, err := sealed.Load(ctx)
	require.NoError(t, err, "Load() with the right seal key")
	assert.Equal(t, record, got, "Load() with the right seal key")

	rdb.HSet(ctx, "{"+key+"-copy}", "d", raw)     // the sealed value under another name
	rdb.HSet(ctx, "{"+key+"-plain}", "d", record) // a record stored in clear
	tests := []struct {
		name  string
		store *redisstore.Store
	}{
		{"other seal key", redisstore.New(rdb, key, redisstore.WithSealKey(otherKey))},
		{"no seal key", redisstore.New(rdb, key)},
		{"other key name, same seal key", redisstore.New(rdb, key+"-copy", redisstore.WithSealKey(sealKey))},
		{"plain record, seal key", redisstore.New(rdb, key+"-plain", redisstore.WithSealKey(sealKey))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.store.Load(ctx)
			require.Error(t, err, "Load()")
			assert.Nil(t, got, "Load()")
			// A passing failure: the source replaces the record.
			assert.NotErrorIs(t, err, vendoroauth.ErrInvalidConfig, "Load()")
			assert.NotContains(t, err.Error(), "ACCESS-sealed", "Load() error holds the record")
		})
	}
}

// TestInvalidConfig: a Store that cannot work says so on every call, with
// an error matching ErrInvalidConfig, and sends nothing to Redis.
func TestInvalidConfig(t *testing.T) {
	t.Parallel()
	// Nothing listens there: a call that reached Redis would fail otherwise.
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	tests := []struct {
		name  string
		store *redisstore.Store
		want  string
	}{
		{"8-byte seal key", redisstore.New(rdb, "k", redisstore.WithSealKey([]byte("8-bytes!"))), "seal key is 8 bytes, want 16, 24 or 32"},
		{"empty seal key", redisstore.New(rdb, "k", redisstore.WithSealKey(nil)), "seal key is 0 bytes"},
		{"empty key", redisstore.New(rdb, ""), "key is empty"},
		{"nil client", redisstore.New(nil, "k"), "Redis client is nil"},
		{"nil *redis.Client", redisstore.New((*redis.Client)(nil), "k"), "Redis client is nil"},
		{"zero TTL", redisstore.New(rdb, "k", redisstore.WithTTL(0)), "TTL 0s is not positive"},
		{"negative TTL", redisstore.New(rdb, "k", redisstore.WithTTL(-time.Hour)), "TTL -1h0m0s is not positive"},
		{"short lock TTL", redisstore.New(rdb, "k", redisstore.WithLockTTL(99*time.Millisecond)), "lock TTL 99ms is under 100ms"},
		{"zero replica wait", redisstore.New(rdb, "k", redisstore.WithReplicaWait(0)), "replica wait 0s is not positive"},
		{"a good value, then a bad one", redisstore.New(rdb, "k", redisstore.WithTTL(time.Hour), redisstore.WithTTL(-time.Second)), "TTL -1s is not positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			_, err := tt.store.Load(ctx)
			assert.ErrorIs(t, err, vendoroauth.ErrInvalidConfig, "Load()")
			assert.ErrorContains(t, err, tt.want, "Load()")
			err = tt.store.Save(ctx, []byte("record"))
			assert.ErrorIs(t, err, vendoroauth.ErrInvalidConfig, "Save()")
			assert.ErrorIs(t, tt.store.Save(ctx, nil), vendoroauth.ErrInvalidConfig, "Save(nil)")
			unlock, err := tt.store.Lock(ctx)
			assert.ErrorIs(t, err, vendoroauth.ErrInvalidConfig, "Lock()")
			assert.Nil(t, unlock, "Lock()")
		})
	}
}

// TestLastOptionWins: a later option replaces an earlier bad value.
func TestLastOptionWins(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { rdb.Close() })
	store := redisstore.New(rdb, "k",
		redisstore.WithTTL(-time.Second), redisstore.WithTTL(time.Hour),
		redisstore.WithLockTTL(0), redisstore.WithLockTTL(time.Second),
		redisstore.WithSealKey([]byte("short")), redisstore.WithSealKey(sealKey),
		nil)
	_, err := store.Load(t.Context())
	require.Error(t, err, "Load() with nothing listening")
	assert.NotErrorIs(t, err, vendoroauth.ErrInvalidConfig, "Load()")
}

func TestUnreachableRedis(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	rdb := r.client()
	r.stop()
	store := redisstore.New(rdb, uniqueKey(t))
	_, err := store.Load(t.Context())
	assert.Error(t, err, "Load() with Redis down")
	assert.NotErrorIs(t, err, vendoroauth.ErrInvalidConfig, "Load() with Redis down")
	assert.Error(t, store.Save(t.Context(), []byte("record")), "Save() with Redis down")
	_, err = store.Lock(t.Context())
	assert.Error(t, err, "Lock() with Redis down")
}

func TestStoreFormatHidesSealKey(t *testing.T) {
	t.Parallel()
	s := redisstore.New(nil, "k", redisstore.WithSealKey([]byte("SEALKEY-0123456789abcdef01234567")))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, s)
		assert.False(t, strings.Contains(out, "SEALKEY"), "Sprintf(%s) leaks the seal key: %s", verb, out)
	}
}

// TestClusterKeysShareASlot: in a Redis Cluster, the record and its lock
// live in one hash slot, so that one master owns both: for a key with no
// hash tag, and for one with a hash tag of its own.
func TestClusterKeysShareASlot(t *testing.T) {
	if testing.Short() {
		t.Skip("a Redis Cluster; skipped with -short")
	}
	c := startCluster(t)
	rdb := c.client()
	ctx := t.Context()
	for _, key := range []string{uniqueKey(t), "vendoroauth:{" + uniqueKey(t) + "}:endurosat"} {
		store := redisstore.New(rdb, key)
		require.NoError(t, store.Save(ctx, []byte("record")), "%s: Save()", key)
		unlock, err := store.Lock(ctx)
		require.NoError(t, err, "%s: Lock()", key)
		recKey, lockKey := key, key+":lock"
		if !strings.Contains(key, "{") {
			recKey, lockKey = "{"+key+"}", "{"+key+"}:lock"
		}
		assert.Equal(t, int64(1), rdb.Exists(ctx, recKey).Val(), "%s: the record's key", key)
		assert.Equal(t, int64(1), rdb.Exists(ctx, lockKey).Val(), "%s: the lock's key", key)
		assert.Equal(t, rdb.ClusterKeySlot(ctx, recKey).Val(), rdb.ClusterKeySlot(ctx, lockKey).Val(), "%s: the slots of the record and the lock", key)
		unlock()
	}
}

// TestReadsGoToTheMaster: with a Cluster client that reads from replicas
// (ReadOnly, RouteRandomly), the Store's reads still go to the key's
// master, where a refresh's save landed, rather than to a replica that may
// not have it yet: every command on the record's key is a script, which
// go-redis sends to the master whatever the client's read options, and
// none is a read-only command, which it may send to a replica.
func TestReadsGoToTheMaster(t *testing.T) {
	if testing.Short() {
		t.Skip("a Redis Cluster; skipped with -short")
	}
	c := startCluster(t)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.addrs(), ReadOnly: true, RouteRandomly: true})
	t.Cleanup(func() { rdb.Close() })
	var mu sync.Mutex
	served := map[string]int{}   // node address → commands on the record's key
	commands := map[string]int{} // command name → how many
	key := uniqueKey(t)
	rdb.OnNewNode(func(node *redis.Client) {
		addr := node.Options().Addr
		node.AddHook(keyHook{key: "{" + key + "}", seen: func(name string) {
			mu.Lock()
			served[addr]++
			commands[name]++
			mu.Unlock()
		}})
	})
	store := redisstore.New(rdb, key)
	ctx := t.Context()
	require.NoError(t, store.Save(ctx, []byte("record")), "Save()")
	for range 20 {
		got, err := store.Load(ctx)
		require.NoError(t, err, "Load()")
		require.Equal(t, []byte("record"), got, "Load()")
	}
	master := c.masterOf(ctx, "{"+key+"}")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, map[string]int{master: served[master]}, served, "the nodes that served the record's key")
	for name := range commands {
		assert.Contains(t, []string{"eval", "evalsha"}, name, "a command on the record's key")
	}
}

// A keyHook calls seen, with the command's name, for each command, alone
// or in a pipeline, whose arguments name key.
type keyHook struct {
	key  string
	seen func(name string)
}

func (h keyHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h keyHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.check(cmd)
		return next(ctx, cmd)
	}
}
func (h keyHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			h.check(cmd)
		}
		return next(ctx, cmds)
	}
}

func (h keyHook) check(cmd redis.Cmder) {
	for _, a := range cmd.Args() {
		if s, ok := a.(string); ok && s == h.key {
			h.seen(cmd.Name())
			return
		}
	}
}
