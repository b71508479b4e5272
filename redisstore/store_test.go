package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth/redisstore"
)

func TestLoadSave(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	rdb := r.client()
	key := uniqueKey(t)
	store := redisstore.New(rdb, key, redisstore.WithTTL(time.Hour))
	ctx := t.Context()
	if tok, err := store.Load(ctx); tok != nil || err != nil {
		t.Fatalf("Load() on an empty key = %v, %v; want nil, nil", tok, err)
	}
	in := (&oauth2.Token{AccessToken: "ACCESS-x", RefreshToken: "REFRESH-y", Expiry: time.Now().Add(time.Hour)}).
		WithExtra(map[string]any{"id_token": "ID-z"})
	if err := store.Save(ctx, in); err != nil {
		t.Fatalf("Save() error = %v", err)
	}
	out, err := store.Load(ctx)
	if err != nil || out.AccessToken != in.AccessToken || out.RefreshToken != in.RefreshToken || out.Extra("id_token") != "ID-z" {
		t.Fatalf("Load() = %+v, %v; want the saved token", out, err)
	}
	if ttl := rdb.PTTL(ctx, key).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("PTTL = %v, want about 1h", ttl)
	}
	if err := store.Save(ctx, nil); err != nil {
		t.Fatalf("Save(nil) error = %v", err)
	}
	if n := rdb.Exists(ctx, key).Val(); n != 0 {
		t.Errorf("key exists after Save(nil)")
	}
}

func TestSealing(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	rdb := r.client()
	key := uniqueKey(t)
	ctx := t.Context()
	sealed := redisstore.New(rdb, key, redisstore.WithSealKey([]byte("0123456789abcdef0123456789abcdef")))
	tok := &oauth2.Token{AccessToken: "ACCESS-sealed", RefreshToken: "REFRESH-sealed", Expiry: time.Now().Add(time.Hour)}
	if err := sealed.Save(ctx, tok); err != nil {
		t.Fatalf("Save() error = %v", err)
	}
	raw := rdb.Get(ctx, key).Val()
	if strings.Contains(raw, "ACCESS-sealed") || strings.Contains(raw, "REFRESH-sealed") {
		t.Errorf("Redis holds the token in clear: %.60s", raw)
	}
	if got, err := sealed.Load(ctx); err != nil || got.AccessToken != tok.AccessToken {
		t.Errorf("Load() with the right key = %v, %v", got, err)
	}
	for name, s := range map[string]*redisstore.Store{
		"wrong key":                     redisstore.New(rdb, key, redisstore.WithSealKey([]byte("fedcba9876543210fedcba9876543210"))),
		"no key":                        redisstore.New(rdb, key),
		"other key name, same seal key": redisstore.New(rdb, key+"x", redisstore.WithSealKey([]byte("0123456789abcdef0123456789abcdef"))),
	} {
		if name == "other key name, same seal key" {
			rdb.Set(ctx, key+"x", raw, time.Hour) // copied under another name
		}
		if got, err := s.Load(ctx); err == nil {
			t.Errorf("%s: Load() = %v, nil error; want an error", name, got)
		}
	}
	if err := redisstore.New(rdb, key, redisstore.WithSealKey([]byte("short"))).Save(ctx, tok); err == nil {
		t.Errorf("Save() with a 5-byte seal key = nil error")
	}
}

func TestLock(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	rdb := r.client()
	key := uniqueKey(t)
	store := redisstore.New(rdb, key, redisstore.WithLockTTL(300*time.Millisecond))
	ctx := t.Context()

	unlock, err := store.Lock(ctx)
	if err != nil {
		t.Fatalf("Lock() error = %v", err)
	}
	// Held and renewed: another holder cannot take it, even past the TTL.
	short, cancel := context.WithTimeout(ctx, time.Second)
	if _, err := store.Lock(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("second Lock() while held = %v, want DeadlineExceeded", err)
	}
	cancel()
	unlock()
	unlock() // a second call does nothing
	unlock2, err := store.Lock(ctx)
	if err != nil {
		t.Fatalf("Lock() after unlock = %v", err)
	}
	unlock2()

	// A crashed holder: the lock is there, nobody renews it.
	rdb.Set(ctx, key+":lock", "crashed-holder", 300*time.Millisecond)
	start := time.Now()
	unlock3, err := store.Lock(ctx)
	if err != nil {
		t.Fatalf("Lock() after a crash = %v", err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Errorf("taking over a crashed holder's lock took %v, want about the lock TTL", waited)
	}
	// Our unlock must not delete a lock that is no longer ours.
	rdb.Set(ctx, key+":lock", "someone-else", time.Minute)
	unlock3()
	if v := rdb.Get(ctx, key+":lock").Val(); v != "someone-else" {
		t.Errorf("unlock deleted another holder's lock (now %q)", v)
	}
}

func TestUnreachableRedis(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	rdb := r.client()
	r.stop()
	store := redisstore.New(rdb, uniqueKey(t))
	if _, err := store.Load(t.Context()); err == nil {
		t.Errorf("Load() with Redis down = nil error")
	}
	if _, err := store.Lock(t.Context()); err == nil {
		t.Errorf("Lock() with Redis down = nil error")
	}
}

func TestStoreFormatHidesSealKey(t *testing.T) {
	t.Parallel()
	s := redisstore.New(nil, "k", redisstore.WithSealKey([]byte("SEALKEY-0123456789abcdef01234567")))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, s); strings.Contains(out, "SEALKEY") {
			t.Errorf("Sprintf(%s) leaks the seal key: %s", verb, out)
		}
	}
}
