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
// The stored value is the token source's own record, opaque to this
// package; it holds live tokens. With a seal key it is encrypted with
// AES-GCM, bound to the key name, so that a reader of Redis alone cannot use
// it.
//
// The lock is a key whose value only its holder knows, taken by a script
// that also breaks a lock left without a TTL or with a TTL longer than the
// lock TTL. It is renewed while the holder fetches and released with a
// compare-and-delete script, so a holder can never release another's lock,
// and a crashed holder's lock expires after the lock TTL.
//
// # Errors
//
// A Store made with an unusable argument or option (a nil client, an empty
// key, a seal key that is not 16, 24 or 32 bytes, a TTL that is not
// positive, a lock TTL under 100ms) returns an error matching
// [vendoroauth.ErrInvalidConfig] from every call, and a token source then
// returns it from Token. Redis errors and a record sealed under
// another key are passing failures, which the source logs and survives.
// Errors never hold the stored record.
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
