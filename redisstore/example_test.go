package redisstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"

	"github.com/redis/go-redis/v9"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/redisstore"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

func ExampleNew() {
	// A fake Formlabs API, and the redis-server the tests started.
	srv := vendoroauthtest.NewFormlabs("my-client-id", "my-client-secret")
	defer srv.Close()
	rdb := redis.NewClient(&redis.Options{Addr: exampleRedisAddr})
	defer rdb.Close()

	// A seal key of 32 bytes: a reader of Redis alone cannot use the token.
	key := make([]byte, 32)
	rand.Read(key)
	store := redisstore.New(rdb, "vendoroauth:example:formlabs", redisstore.WithSealKey(key))

	// Three replicas share one token: one request in all.
	for range 3 {
		src := vendoroauth.FormlabsTokenSource(srv.Context(context.Background()), "my-client-id", "my-client-secret",
			vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithStore(store))
		if _, err := src.Token(); err != nil {
			log.Fatal(err)
		}
		src.Close()
	}
	fmt.Println(srv.TokenRequests(), "token request")
	// Output: 1 token request
}

func ExampleNew_cluster() {
	srv := vendoroauthtest.NewFormlabs("my-client-id", "my-client-secret")
	defer srv.Close()
	// A Redis Cluster: the record and its lock share one hash slot.
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: exampleClusterAddrs})
	defer rdb.Close()
	store := redisstore.New(rdb, "vendoroauth:example:cluster")

	// Three replicas share one token: one request in all.
	for range 3 {
		src := vendoroauth.FormlabsTokenSource(srv.Context(context.Background()), "my-client-id", "my-client-secret",
			vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithStore(store))
		if _, err := src.Token(); err != nil {
			log.Fatal(err)
		}
		src.Close()
	}
	fmt.Println(srv.TokenRequests(), "token request")
	// Output: 1 token request
}

func ExampleNew_sentinel() {
	srv := vendoroauthtest.NewFormlabs("my-client-id", "my-client-secret")
	defer srv.Close()
	// A master and its replica, watched by Sentinels: the client follows
	// the master through a failover.
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    sentinelMaster,
		SentinelAddrs: exampleSentinelAddrs,
	})
	defer rdb.Close()
	store := redisstore.New(rdb, "vendoroauth:example:sentinel")

	// Three replicas share one token: one request in all.
	for range 3 {
		src := vendoroauth.FormlabsTokenSource(srv.Context(context.Background()), "my-client-id", "my-client-secret",
			vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithStore(store))
		if _, err := src.Token(); err != nil {
			log.Fatal(err)
		}
		src.Close()
	}
	fmt.Println(srv.TokenRequests(), "token request")
	// Output: 1 token request
}

func ExampleNew_universal() {
	srv := vendoroauthtest.NewFormlabs("my-client-id", "my-client-secret")
	defer srv.Close()
	// One Addr gives a *redis.Client, several a *redis.ClusterClient, and
	// a MasterName the Sentinel client of redis.NewFailoverClient: the
	// topology is a matter of configuration.
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: exampleClusterAddrs})
	defer rdb.Close()
	store := redisstore.New(rdb, "vendoroauth:example:universal")

	// Three replicas share one token: one request in all.
	for range 3 {
		src := vendoroauth.FormlabsTokenSource(srv.Context(context.Background()), "my-client-id", "my-client-secret",
			vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithStore(store))
		if _, err := src.Token(); err != nil {
			log.Fatal(err)
		}
		src.Close()
	}
	fmt.Println(srv.TokenRequests(), "token request")
	// Output: 1 token request
}
