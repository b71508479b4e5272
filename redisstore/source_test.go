package redisstore_test

import (
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/redisstore"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

func TestSourceSurvivesBadStore(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	fake := vendoroauthtest.NewEnduroSat(esClientID, esUsername, esPassword)
	t.Cleanup(fake.Close)
	ctx := t.Context()
	keyA := []byte("key-A-0123456789abcdef0123456789")
	keyB := []byte("key-B-0123456789abcdef0123456789")

	// A token sealed with another key is ignored and replaced.
	key := uniqueKey(t)
	planted := &oauth2.Token{AccessToken: "planted", Expiry: time.Now().Add(time.Hour)}
	if err := redisstore.New(r.client(), key, redisstore.WithSealKey(keyA)).Save(ctx, planted); err != nil {
		t.Fatal(err)
	}
	storeB := redisstore.New(r.client(), key, redisstore.WithSealKey(keyB))
	src := vendoroauth.EnduroSatPasswordTokenSource(ctx, esClientID, esUsername, esPassword,
		vendoroauth.WithBaseURL(fake.URL), vendoroauth.WithHTTPClient(fake.Client()), vendoroauth.WithStore(storeB))
	defer src.Close()
	tok, err := src.Token()
	if err != nil || tok.AccessToken == "planted" {
		t.Fatalf("Token() with a token sealed under another key = %v, %v; want a fetched token", tok, err)
	}
	if got, err := storeB.Load(ctx); err != nil || got.AccessToken != tok.AccessToken {
		t.Errorf("store after the fetch = %v, %v; want the new token sealed with our key", got, err)
	}

	// Redis unreachable from the start: the source still works.
	dead := startRedis(t)
	rdb := dead.client()
	dead.stop()
	down := vendoroauth.EnduroSatPasswordTokenSource(ctx, esClientID, esUsername, esPassword,
		vendoroauth.WithBaseURL(fake.URL), vendoroauth.WithHTTPClient(fake.Client()),
		vendoroauth.WithStore(redisstore.New(rdb, uniqueKey(t))))
	defer down.Close()
	if _, err := down.Token(); err != nil {
		t.Errorf("Token() with Redis down from the start: %v", err)
	}
}
