// Package redisstore keeps a vendoroauth token in Redis, so that many
// replicas of a service share one vendor identity: one of them refreshes,
// the others load what it saved. It holds up when Redis fails over.
//
// A [Store] is a [vendoroauth.TokenStore], a [vendoroauth.Locker] and a
// [vendoroauth.VersionedStore]:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	store := redisstore.New(rdb, "vendoroauth:endurosat:prod", redisstore.WithSealKey(key))
//	src := vendoroauth.EnduroSatPasswordTokenSource(ctx, id, user, pw, vendoroauth.WithStore(store))
//
// The stored value is the token source's own record, opaque to this
// package; it holds live tokens. With a seal key it is encrypted with
// AES-GCM, bound to the key name, so that a reader of Redis alone cannot use
// it.
//
// # Clients
//
// New takes any of go-redis's clients, or a [redis.UniversalClient] made by
// [redis.NewUniversalClient], which is one of them:
//   - [*redis.Client] for one server ([redis.NewClient]) or for a master
//     watched by Sentinels ([redis.NewFailoverClient]), which follows a
//     failover to the promoted replica;
//   - [*redis.ClusterClient] for a Redis Cluster ([redis.NewClusterClient])
//     or for Sentinels with reads from replicas
//     ([redis.NewFailoverClusterClient]).
//
// The record and its lock share one hash slot (a hash tag), so in a Cluster
// one master owns both, and no script touches keys of two slots. Every
// read and write is a script on the key's master, so the reads that decide
// a refresh see the master's record whatever the client's replica-read
// options (ReadOnly, RouteByLatency, RouteRandomly).
//
// # Failover
//
// A replicated Redis acknowledges a write before its replicas have it, and
// a failover can lose it. An EnduroSat refresh token rotates when it is
// used, and a vendor with reuse detection (Ory Hydra, oidc-provider)
// answers a rotated-out refresh token by revoking every token of its
// family, every replica's. So a Store counts a write only once the replicas
// have acknowledged it (WAIT on the same connection, bounded by
// [WithReplicaWait]): the lock, before its holder may present the refresh
// token, and the save of what it got, which the holder repeats, keeping
// the lock, until it is acknowledged, on the promoted master if need be.
// Saves are fenced by the record's revision (when its newest token was
// issued), so an older record never replaces a newer one; a replica that
// holds a newer refresh token than the store writes it back (vendoroauth's
// read repair). The replicas counted are those the master reports, and,
// for a minute after it reports fewer, as many as it reported before, so
// that a replica cut off just before a failover does not make a save count
// that it never got.
//
// The lock is a key whose value only its holder knows, taken by a script
// that also breaks a lock left without a TTL or with a TTL longer than the
// lock TTL. Lock never waits for another holder: the source re-reads the
// record instead. The holder renews the lock while it fetches and saves,
// and releases it with a compare-and-delete script, so a holder can never
// release another's lock, and a crashed holder's lock expires after the
// lock TTL. Set [WithLockTTL] above the time your Redis takes to fail over,
// so that a holder keeps its lock on the promoted replica.
//
// # Errors
//
// A Store made with an unusable argument or option (a nil client, an empty
// key, a seal key that is not 16, 24 or 32 bytes, a TTL, lock TTL or
// replica wait out of range) returns an error matching
// [vendoroauth.ErrInvalidConfig] from every call, and a token source then
// returns it from Token. Lock reports another holder with an error
// matching [vendoroauth.ErrLocked], and Load a record sealed under another
// key with one matching [vendoroauth.ErrCorruptRecord]. Any other error
// (Redis unreachable, a write the replicas did not acknowledge) tells the
// source that the store is unavailable for now. Errors never hold the
// stored record.
//
// # Deadlines
//
// Every method returns soon after its ctx is done, whatever the
// [redis.Options]: go-redis applies a ctx deadline to socket reads only with
// ContextTimeoutEnabled, so without it a command to a Redis that stopped
// answering would wait for the client's ReadTimeout (5 s by default) and its
// retries. The Store leaves such a command behind, and it ends by itself
// once the read times out (with a ReadTimeout of -1 or -2, only when the
// connection breaks).
//
// This package is its own module, so that importing vendoroauth never
// pulls in a Redis client.
package redisstore
