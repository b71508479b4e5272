package vendoroauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// storeFile returns a token file path in a fresh folder.
func storeFile(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "token.json")
}

// The stores the rules are checked against: a file, and memory.
var stores = []struct {
	name string
	new  func(t *testing.T) vendoroauth.TokenStore
}{
	{"FileStore", func(t *testing.T) vendoroauth.TokenStore { return vendoroauth.FileStore(storeFile(t)) }},
	{"memStore", func(*testing.T) vendoroauth.TokenStore { return &memStore{} }},
}

func TestStoreSurvivesRestart(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := st.new(t)
				srv := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
				opts := append(at(srv.URL, srv.InProcessClient()), vendoroauth.WithStore(store))
				first := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, opts...)
				tok, err := first.Token()
				require.NoError(t, err)
				first.Close()

				// A restart: a new source on the same store makes no request.
				second := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, opts...)
				defer second.Close()
				got, err := second.Token()
				require.NoError(t, err)
				assert.Equal(t, tok.AccessToken, got.AccessToken, "Token() after restart is the stored token")
				assert.Equal(t, 1, srv.TokenRequests(), "token requests")

				// Revoke clears the store.
				require.NoError(t, second.Revoke(t.Context()))
				data, err := store.Load(t.Context())
				require.NoError(t, err)
				assert.Nil(t, data, "stored record after Revoke")
			})
		})
	}
}

func TestFileStoreMode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := storeFile(t)
		_, src := bubbleFormlabs(t, vendoroauth.WithStore(vendoroauth.FileStore(path)))
		_, err := src.Token()
		require.NoError(t, err)
		src.Close() // the save runs after the token is handed out; Close waits for it
		fi, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	})
}

// TestStoreLoadedTokenIsTheFetchedToken checks that a token loaded from a
// store has exactly the vendor's response members, and none of ours.
func TestStoreLoadedTokenIsTheFetchedToken(t *testing.T) {
	members := []string{"access_token", "token_type", "expires_in", "scope", "id_token", "refresh_token", "vendoroauth_owner", "owner"}
	extras := func(tok interface{ Extra(string) any }) map[string]any {
		m := map[string]any{}
		for _, k := range members {
			if v := tok.Extra(k); v != nil {
				m[k] = v
			}
		}
		return m
	}
	tests := []struct {
		name string
		open func(t *testing.T, opts ...vendoroauth.Option) *vendoroauth.TokenSource
	}{
		{"formlabs", func(t *testing.T, opts ...vendoroauth.Option) *vendoroauth.TokenSource {
			_, src := bubbleFormlabs(t, opts...)
			return src
		}},
		{"endurosat", func(t *testing.T, opts ...vendoroauth.Option) *vendoroauth.TokenSource {
			_, src := bubbleEnduroSat(t, opts...)
			return src
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := &memStore{}
				fetched, err := tt.open(t, vendoroauth.WithStore(store)).Token()
				require.NoError(t, err)
				synctest.Wait() // the save
				loaded, err := tt.open(t, vendoroauth.WithStore(store)).Token()
				require.NoError(t, err)
				require.Equal(t, fetched.AccessToken, loaded.AccessToken, "the second source loads the stored token")
				if diff := cmp.Diff(extras(fetched), extras(loaded)); diff != "" {
					t.Errorf("Extra of the loaded token mismatch (-want +got):\n%s", diff)
				}
				assert.Nil(t, loaded.Extra("vendoroauth_owner"), "an internal key in Extra")
				assert.Equal(t, fetched.RefreshToken, loaded.RefreshToken)
				assert.Equal(t, fetched.TokenType, loaded.TokenType)
				assert.True(t, fetched.Expiry.Equal(loaded.Expiry), "expiry %v, want %v", loaded.Expiry, fetched.Expiry)
			})
		})
	}
	t.Run("formlabs has its scope", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			store := &memStore{}
			_, err := tests[0].open(t, vendoroauth.WithStore(store)).Token()
			require.NoError(t, err)
			synctest.Wait()
			loaded, err := tests[0].open(t, vendoroauth.WithStore(store)).Token()
			require.NoError(t, err)
			assert.Equal(t, "developer-api", loaded.Extra("scope"))
		})
	})
}

// TestStoreRevokedAtVendor: the vendor revokes the stored token. Requests
// through Client recover with one new token, a fresh replica too, and the
// forgotten token is never loaded back.
func TestStoreRevokedAtVendor(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := st.new(t)
				srv := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
				opts := append(at(srv.URL, srv.InProcessClient()), vendoroauth.WithStore(store))
				open := func() *vendoroauth.TokenSource {
					s := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, opts...)
					t.Cleanup(func() { s.Close() })
					return s
				}
				ctx := contextWithClient(t.Context(), srv.InProcessClient())
				a := open()
				dead, err := a.Token()
				require.NoError(t, err)
				synctest.Wait()
				srv.RevokeAccessTokens()

				// A fresh replica loads the dead token, is refused, and
				// recovers with one token request.
				b := open()
				assert.Equal(t, http.StatusOK, get(t, b.Client(ctx), srv.ResourceURL()), "replica B through Client")
				assert.Equal(t, 2, srv.TokenRequests(), "token requests after B recovered")
				synctest.Wait()

				// A still holds the dead token: refused, it loads B's new one.
				assert.Equal(t, http.StatusOK, get(t, a.Client(ctx), srv.ResourceURL()), "replica A through Client")
				assert.Equal(t, 2, srv.TokenRequests(), "A takes B's token from the store")

				// Invalidate, then Token, never hands out what was forgotten.
				cur, err := a.Token()
				require.NoError(t, err)
				require.NotEqual(t, dead.AccessToken, cur.AccessToken)
				a.Invalidate()
				next, err := a.Token()
				require.NoError(t, err)
				assert.NotEqual(t, cur.AccessToken, next.AccessToken, "Token() after Invalidate returned the forgotten token")
				assert.Equal(t, 3, srv.TokenRequests())
			})
		})
	}
}

// TestStoreRevocationScenario simulates 30 hours of one request a minute
// through Client with 24-hour Formlabs tokens, revoked at the vendor at
// hour 1: at most one request fails after the revocation.
func TestStoreRevocationScenario(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := vendoroauth.FileStore(storeFile(t))
		srv, src := bubbleFormlabs(t, vendoroauth.WithStore(store))
		c := src.Client(contextWithClient(t.Context(), srv.InProcessClient()))
		failed := 0
		for minute := range 30 * 60 {
			if minute == 60 {
				srv.RevokeAccessTokens()
			}
			if get(t, c, srv.ResourceURL()) != http.StatusOK {
				failed++
			}
			time.Sleep(time.Minute)
		}
		assert.LessOrEqual(t, failed, 1, "failed requests of 1,800")
		assert.LessOrEqual(t, srv.TokenRequests(), 3, "token requests: the first, one after the revocation, one at hour 24")
	})
}

// TestStoreMissedRotationSave: the store missed one rotation save, so it
// holds a rotated-out refresh token. Invalidate must not make the source
// adopt it.
func TestStoreMissedRotationSave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &memStore{}
		srv := vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword)
		srv.SetRotateRefreshTokens(true)
		opts := append(at(srv.URL, srv.InProcessClient()), vendoroauth.WithStore(store))

		login := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, esPassword, opts...)
		first, err := login.Token()
		require.NoError(t, err)
		login.Close()

		src := vendoroauth.EnduroSatRefreshTokenSource(t.Context(), esClientID, first.RefreshToken, opts...)
		defer src.Close()
		_, err = src.Token()
		require.NoError(t, err)
		time.Sleep(2 * time.Hour)
		store.configure(func(m *memStore) { m.failSaves = 1 })
		rotated, err := src.Token() // refreshes and rotates; the save is lost
		require.NoError(t, err)
		synctest.Wait()
		require.NotEqual(t, first.RefreshToken, rotated.RefreshToken, "the fake rotates")

		src.Invalidate()
		_, err = src.Token()
		require.NoError(t, err, "Token() after Invalidate with a stale store")
		time.Sleep(2 * time.Hour)
		_, err = src.Token()
		require.NoError(t, err, "Token() a lifetime later")
		assert.Equal(t, 1, srv.TokenRequestsByGrant("password"))
	})
}

func TestStoreStaleSnapshotDoesNotRollBackRefreshToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := vendoroauth.FileStore(storeFile(t))
		srv, src := bubbleEnduroSat(t, vendoroauth.WithStore(store))
		srv.SetRotateRefreshTokens(true)
		_, err := src.Token()
		require.NoError(t, err)
		synctest.Wait()
		snapshot, err := store.Load(t.Context())
		require.NoError(t, err)
		time.Sleep(2 * time.Hour)
		_, err = src.Token() // rotates the refresh token
		require.NoError(t, err)
		synctest.Wait()

		// The store is restored from the old snapshot, holding the first,
		// rotated-out refresh token.
		require.NoError(t, store.Save(t.Context(), snapshot))
		time.Sleep(2 * time.Hour)
		_, err = src.Token()
		require.NoError(t, err, "Token() with a stale store")
		assert.Equal(t, 1, srv.TokenRequestsByGrant("password"), "password grants: the source took the stale refresh token and was refused")
	})
}

func TestStoreRefreshesFromStoredRefreshToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := vendoroauth.FileStore(storeFile(t))
		srv := vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword)
		srv.SetRotateRefreshTokens(true)
		opts := append(at(srv.URL, srv.InProcessClient()), vendoroauth.WithStore(store))
		login := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, esPassword, opts...)
		first, err := login.Token()
		require.NoError(t, err)
		login.Close()
		time.Sleep(2 * time.Hour) // the stored access token is dead; its refresh token is not

		// A refresh-only source given a refresh token of the stored chain
		// takes the stored one, also once its own was rotated out; one
		// given none at all takes the stored one too.
		for i, given := range []string{first.RefreshToken, first.RefreshToken, ""} {
			src := vendoroauth.EnduroSatRefreshTokenSource(t.Context(), esClientID, given, opts...)
			tok, err := src.Token()
			require.NoError(t, err, "source %d: Token() from the stored refresh token", i)
			assert.Equal(t, esUsername, srv.TokenOwner(tok.AccessToken), "source %d: the token's owner", i)
			src.Close()
			time.Sleep(2 * time.Hour)
		}
		assert.Equal(t, 1, srv.TokenRequestsByGrant("password"))
		assert.Equal(t, 3, srv.TokenRequestsByGrant("refresh_token"))
	})
}

// TestStoreHung: a store that never answers costs a fetch at most the
// store budget before it, nothing after it, and does not hold up Close.
func TestStoreHung(t *testing.T) {
	const budget, latency = 2 * time.Second, time.Second
	tests := []struct {
		name    string
		store   vendoroauth.TokenStore
		maxWait time.Duration
	}{
		{"hung from the start", &memStore{hang: true}, budget + latency},
		{"hung on save", saveHangs{&memStore{}}, latency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, src := bubbleFormlabs(t, vendoroauth.WithStore(tt.store))
				srv.SetLatency(latency)
				start := time.Now()
				_, err := src.Token()
				require.NoError(t, err)
				assert.LessOrEqual(t, time.Since(start), tt.maxWait, "Token() waited")
				start = time.Now()
				src.Close()
				assert.LessOrEqual(t, time.Since(start), 500*time.Millisecond, "Close() waited")
			})
		})
	}
}

// plainStore hides a store's Lock: it is a TokenStore, not a Locker.
type plainStore struct{ vendoroauth.TokenStore }

// saveHangs is a store whose Save blocks until its ctx is done.
type saveHangs struct{ *memStore }

func (s saveHangs) Save(ctx context.Context, _ []byte) error {
	<-ctx.Done()
	return ctx.Err()
}

func TestStoreOwner(t *testing.T) {
	// Two fakes on two ports: a token cached for one is never used for
	// the other, though vendor and client id are the same.
	path := storeFile(t)
	a, b := newFormlabs(t), newFormlabs(t)
	srcA := flSource(t, a, vendoroauth.WithStore(vendoroauth.FileStore(path)))
	tokA, err := srcA.Token()
	require.NoError(t, err)
	srcA.Close()
	srcB := flSource(t, b, vendoroauth.WithStore(vendoroauth.FileStore(path)))
	tokB, err := srcB.Token()
	require.NoError(t, err)
	assert.NotEqual(t, tokA.AccessToken, tokB.AccessToken, "B was handed A's token")
	assert.Equal(t, 1, b.TokenRequests(), "B asks its own vendor")
}

func TestStoreBadContent(t *testing.T) {
	tests := []struct {
		name    string
		content string
		wantLog string
	}{
		{"corrupt JSON", "{not json", "corrupt"},
		{"another format", `{"access_token":"x","expiry":"2100-01-01T00:00:00Z"}`, "format version"},
		{"another client's token", `{"version":1,"owner":{"vendor":"formlabs","client_id":"someone-else","token_url":"x"},"access_token":"x","expiry":"2100-01-01T00:00:00Z"}`, "another vendor, client id, token URL or user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				path := storeFile(t)
				require.NoError(t, os.WriteFile(path, []byte(tt.content), 0o600))
				logger, logs := newLogger()
				srv, src := bubbleFormlabs(t, vendoroauth.WithStore(vendoroauth.FileStore(path)), vendoroauth.WithLogger(logger))
				tok, err := src.Token()
				require.NoError(t, err)
				assert.NotEqual(t, "x", tok.AccessToken, "the bad stored token was handed out")
				assert.Equal(t, 1, srv.TokenRequests())
				assert.Contains(t, logs.String(), tt.wantLog)
				src.Close()
				data, err := os.ReadFile(path)
				require.NoError(t, err)
				assert.Contains(t, string(data), tok.AccessToken, "the file is rewritten with the new token")
			})
		})
	}
}

func TestStoreUnusableIsInvalidConfig(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notADir, nil, 0o600))
	loose := storeFile(t)
	require.NoError(t, os.WriteFile(loose, []byte("{}"), 0o644))
	tests := []struct {
		name  string
		store vendoroauth.TokenStore
	}{
		{"a store that says so", &memStore{err: fmt.Errorf("seal key is 8 bytes: %w", vendoroauth.ErrInvalidConfig)}},
		{"a store with no lock that says so", plainStore{&memStore{err: fmt.Errorf("seal key is 8 bytes: %w", vendoroauth.ErrInvalidConfig)}}},
		{"a file whose folder cannot be made", vendoroauth.FileStore(filepath.Join(notADir, "token.json"))},
		{"a file open to others", vendoroauth.FileStore(loose)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, src := bubbleFormlabs(t, vendoroauth.WithStore(tt.store))
				_, err := src.Token()
				assert.ErrorIs(t, err, vendoroauth.ErrInvalidConfig)
				assert.Zero(t, srv.TokenRequests(), "token requests with an unusable store")
			})
		})
	}
}

// TestStoreFailingDoesNotBreakSource: a password source whose store always
// fails keeps working, and never presents a refresh token it cannot lock:
// it logs in (a session of its own) each time it has no valid token.
func TestStoreFailingDoesNotBreakSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logger, logs := newLogger()
		store := &memStore{err: errors.New("store unreachable")}
		srv, src := bubbleEnduroSat(t, vendoroauth.WithStore(store), vendoroauth.WithLogger(logger))
		for i := range 3 {
			if i > 0 {
				time.Sleep(time.Hour)
			}
			_, err := src.Token()
			require.NoError(t, err, "Token() with a failing store")
		}
		assert.Equal(t, 3, srv.TokenRequestsByGrant("password"), "logins: one for each token, on its own")
		assert.Zero(t, srv.TokenRequestsByGrant("refresh_token"), "refresh grants without the store's lock")
		assert.Contains(t, logs.String(), "store unreachable")
	})
}

func TestStoreLockOneRefreshForManySources(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := st.new(t)
				srv := vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword)
				srv.SetRotateRefreshTokens(true)
				srv.SetLatency(time.Second)
				opts := append(at(srv.URL, srv.InProcessClient()), vendoroauth.WithStore(store))
				var sources []*vendoroauth.TokenSource
				for range 5 {
					s := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, esPassword, opts...)
					defer s.Close()
					sources = append(sources, s)
				}
				for round := range 3 {
					var wg sync.WaitGroup
					for _, s := range sources {
						wg.Go(func() {
							_, err := s.Token()
							assert.NoError(t, err, "round %d: Token()", round)
						})
					}
					wg.Wait()
					time.Sleep(2 * time.Hour)
				}
				// One login, then one refresh for all five each time the
				// token came due: in the early window of each round's token
				// (the five took it, so it is refreshed without a call),
				// and at the start of rounds 1 and 2, when that one had
				// expired too. A rotated refresh token used twice would have
				// forced a second login.
				assert.Equal(t, 1, srv.TokenRequestsByGrant("password"))
				assert.Equal(t, 5, srv.TokenRequestsByGrant("refresh_token"))
			})
		})
	}
}

// TestStoreSecrets: store failures are logged without the record.
func TestStoreSecrets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logger, logs := newLogger()
		store := &memStore{}
		_, src := bubbleEnduroSat(t, vendoroauth.WithStore(store), vendoroauth.WithLogger(logger))
		tok, err := src.Token()
		require.NoError(t, err)
		synctest.Wait()
		rec := store.get()
		store.set(append(rec[:len(rec)/2:len(rec)/2], "garbage"...)) // corrupt, half a token
		src.Invalidate()
		_, err = src.Token()
		require.NoError(t, err)
		for _, s := range []string{tok.AccessToken, tok.RefreshToken, esPassword} {
			assert.False(t, strings.Contains(logs.String(), s), "a secret in the logs")
		}
	})
}

// TestStoreRevokeLeavesAnotherOwnersRecord: Revoke clears the store only
// of the source's own record.
func TestStoreRevokeLeavesAnotherOwnersRecord(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		foreign := []byte(`{"version":1,"owner":{"vendor":"formlabs","client_id":"someone-else","token_url":"x"},"access_token":"x","expiry":"2100-01-01T00:00:00Z"}`)
		store := &memStore{data: foreign}
		_, src := bubbleFormlabs(t, vendoroauth.WithStore(store))
		require.NoError(t, src.Revoke(t.Context()))
		if diff := cmp.Diff(foreign, store.get()); diff != "" {
			t.Errorf("another owner's record after Revoke mismatch (-want +got):\n%s", diff)
		}
	})
}

// TestStoreRevokeSlowVendorStillClears: a revocation that takes longer
// than the store budget (a 503 after 3s, then success) still clears the
// store, and the revoked token is not handed out again.
func TestStoreRevokeSlowVendorStillClears(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := vendoroauth.FileStore(storeFile(t)) // honours ctx, as stores must
		srv, src := bubbleFormlabs(t, vendoroauth.WithStore(store))
		revoked, err := src.Token()
		require.NoError(t, err)
		synctest.Wait()
		srv.FailRevoke(1, vendoroauthtest.Fault{Status: 503, Latency: 3 * time.Second})
		require.NoError(t, src.Revoke(t.Context()))
		data, err := store.Load(t.Context())
		require.NoError(t, err)
		assert.Nil(t, data, "stored record after a slow Revoke")
		tok, err := src.Token()
		require.NoError(t, err)
		assert.NotEqual(t, revoked.AccessToken, tok.AccessToken)
	})
}

// TestStoreLoadedTokenKeepsItsSchedule: a token loaded from a store is
// refreshed at the point of its lifetime it was issued to be refreshed at,
// as without a store: a 1-hour token loaded 50 minutes after it was issued
// is refreshed in the background about 5 minutes later, in its early
// window, not in a window recomputed from the 10 minutes it has left.
func TestStoreLoadedTokenKeepsItsSchedule(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := st.new(t)
				srv := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
				srv.SetTokenLifetime(time.Hour)
				opts := append(at(srv.URL, srv.InProcessClient()), vendoroauth.WithStore(store))
				first := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, opts...)
				issued, err := first.Token()
				require.NoError(t, err)
				first.Close()

				time.Sleep(50 * time.Minute)
				src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, opts...)
				defer src.Close()
				loaded, err := src.Token()
				require.NoError(t, err)
				require.Equal(t, issued.AccessToken, loaded.AccessToken, "a restart loads the stored token")
				require.Equal(t, 1, srv.TokenRequests(), "token requests after the restart")

				time.Sleep(5*time.Minute + time.Second) // 55 minutes into the token's life: its refresh time
				synctest.Wait()
				assert.Equal(t, 2, srv.TokenRequests(), "token requests once the loaded token's early window began")
				tok, err := src.Token()
				require.NoError(t, err)
				assert.NotEqual(t, issued.AccessToken, tok.AccessToken, "the token after its refresh time")
			})
		})
	}
}

// TestStoreRefreshDoesNotTakeBackItsToken: a background refresh with a
// store makes a token request when the store holds the very token it is
// replacing, even when the record says that token is not due yet (here,
// saved by a process whose clock runs 30 minutes ahead), rather than load
// it again; it still takes a newer token another process stored.
func TestStoreRefreshDoesNotTakeBackItsToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &memStore{}
		srv := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
		srv.SetTokenLifetime(time.Hour)
		opts := append(at(srv.URL, srv.InProcessClient()), vendoroauth.WithStore(store))
		src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, opts...)
		defer src.Close()
		first, err := src.Token()
		require.NoError(t, err)
		synctest.Wait() // the save
		var rec map[string]any
		require.NoError(t, json.Unmarshal(store.get(), &rec))
		rec["issued"] = time.Now().Add(30 * time.Minute)
		data, err := json.Marshal(rec)
		require.NoError(t, err)
		store.set(data)

		time.Sleep(55*time.Minute + time.Second)
		synctest.Wait()
		second, err := src.Token()
		require.NoError(t, err)
		assert.Equal(t, 2, srv.TokenRequests(), "token requests by the refresh time")
		assert.NotEqual(t, first.AccessToken, second.AccessToken, "the token after its refresh time")

		// Another process refreshes first and stores a newer token: the
		// next refresh takes it, with no request.
		other := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, opts...)
		defer other.Close()
		time.Sleep(50 * time.Minute)
		_, err = other.Token() // loads src's token
		require.NoError(t, err)
		other.Invalidate() // and, not loading it again, fetches one
		newer, err := other.Token()
		require.NoError(t, err)
		require.Equal(t, 3, srv.TokenRequests(), "token requests after the other process refreshed")
		time.Sleep(5*time.Minute + time.Second)
		synctest.Wait()
		third, err := src.Token()
		require.NoError(t, err)
		assert.Equal(t, newer.AccessToken, third.AccessToken, "the token after the second refresh time")
		assert.Equal(t, 3, srv.TokenRequests(), "token requests: the newer stored token was taken")
	})
}

// TestStoreOutageAtRefreshTime: with a store, a vendor outage that begins
// at the token's refresh time and ends before it expires costs no request
// through Client a failure or a wait: the early window rides it out.
func TestStoreOutageAtRefreshTime(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				store := st.new(t)
				srv := vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword)
				srv.SetTokenLifetime(time.Hour)
				ctx := srv.Context(t.Context())
				src := vendoroauth.EnduroSatPasswordTokenSource(ctx, esClientID, esUsername, esPassword,
					vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithStore(store))
				defer src.Close()
				client := src.Client(ctx)
				start := time.Now()
				require.Equal(t, http.StatusOK, get(t, client, srv.ResourceURL()), "the first request")

				srv.FailTokenUntil(start.Add(59*time.Minute+30*time.Second), vendoroauthtest.Fault{Status: http.StatusServiceUnavailable})
				var failed, waited int
				for time.Since(start) < 2*time.Hour {
					time.Sleep(10 * time.Second)
					at := time.Now()
					if get(t, client, srv.ResourceURL()) != http.StatusOK {
						failed++
					}
					if time.Since(at) > 0 {
						waited++
					}
				}
				assert.Zero(t, failed, "failed requests")
				assert.Zero(t, waited, "requests that waited for a token")
			})
		})
	}
}

// TestStoreNeverRefreshesUnlocked: with a store whose lock cannot be had
// (it fails), no source presents the shared refresh token. A source with a
// valid token keeps serving it; with none, a password source logs in, a
// session of its own, and a refresh-only source waits for the store, as
// long as its caller lets it, and then fails with ErrStoreUnavailable. A
// Formlabs source, with no refresh token to share, fetches.
func TestStoreNeverRefreshesUnlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword)
		srv.SetRotateRefreshTokens(true)
		srv.SetReuseDetection(true)
		store := &memStore{}
		opts := append(at(srv.URL, srv.InProcessClient()), vendoroauth.WithStore(store))
		login := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, esPassword, opts...)
		first, err := login.Token()
		require.NoError(t, err, "the first login")
		login.Close()
		synctest.Wait()
		store.configure(func(m *memStore) { m.lockErr = errors.New("memStore: lock unreachable") })

		// A valid token is kept, and no refresh is made in its early window.
		keeper := vendoroauth.EnduroSatRefreshTokenSource(t.Context(), esClientID, first.RefreshToken, opts...)
		defer keeper.Close()
		kept, err := keeper.Token()
		require.NoError(t, err, "Token() from the store")
		time.Sleep(56 * time.Minute) // its refresh time, and some retries
		synctest.Wait()
		again, err := keeper.Token()
		require.NoError(t, err, "Token() in the early window, the store's lock unreachable")
		assert.Equal(t, kept.AccessToken, again.AccessToken, "the token kept in the early window")

		// With no valid token: the refresh-only source waits, then fails.
		time.Sleep(5 * time.Minute)
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err = keeper.TokenContext(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded, "a refresh-only source's wait, bounded by its caller")
		_, err = keeper.Token()
		assert.ErrorIs(t, err, vendoroauth.ErrStoreUnavailable, "a refresh-only source once the wait is over")

		// A password source logs in.
		pw := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, esPassword, opts...)
		defer pw.Close()
		_, err = pw.Token()
		require.NoError(t, err, "a password source's Token(), the lock unreachable")

		assert.Zero(t, srv.TokenRequestsByGrant("refresh_token"), "refresh grants without the lock")
		assert.Equal(t, 2, srv.TokenRequestsByGrant("password"), "logins: the first, and the password source's own")
		assert.Zero(t, srv.RefreshTokenReuses(), "refresh tokens presented twice")

		fl := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
		flSrc := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret,
			append(at(fl.URL, fl.InProcessClient()), vendoroauth.WithStore(store))...)
		defer flSrc.Close()
		_, err = flSrc.Token()
		assert.NoError(t, err, "a Formlabs source's Token(), the lock unreachable")
	})
}

// TestStoreWaitersRead: while one source holds the lock and fetches, for
// longer than the store budget, the others re-read the record, with a
// bounded number of loads and lock attempts each, and take the holder's
// token when it is saved: one token request for all, and no login of
// their own.
func TestStoreWaitersRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword)
		srv.SetLatency(3 * time.Second)
		store := &memStore{}
		opts := append(at(srv.URL, srv.InProcessClient()), vendoroauth.WithStore(store))
		const n = 50
		var wg sync.WaitGroup
		tokens := make([]string, n)
		for i := range n {
			src := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, esPassword, opts...)
			defer src.Close()
			wg.Go(func() {
				tok, err := src.Token()
				if assert.NoError(t, err, "source %d: Token()", i) {
					tokens[i] = tok.AccessToken
				}
			})
		}
		wg.Wait()
		assert.Equal(t, 1, srv.TokenRequests(), "token requests for all the sources")
		for i := range n {
			assert.Equal(t, tokens[0], tokens[i], "source %d's token", i)
		}
		loads, locks := store.counts()
		t.Logf("%d sources: %d loads, %d lock attempts", n, loads, locks)
		// About one load and one lock attempt a round, the rounds doubling
		// from 50ms to 1s apart over the holder's 3s.
		assert.LessOrEqual(t, loads, n*10, "loads: at most 10 a source")
		assert.LessOrEqual(t, locks, n*10, "lock attempts: at most 10 a source")
	})
}

// TestStoreDurableSave: a fetcher whose save the store does not confirm as
// durable saves again, holding the lock meanwhile, until it is; the others
// wait and take its token, and no refresh token is presented twice.
func TestStoreDurableSave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword)
		srv.SetRotateRefreshTokens(true)
		srv.SetReuseDetection(true)
		store := &versionedStore{memStore: &memStore{}, undurable: 3}
		opts := append(at(srv.URL, srv.InProcessClient()), vendoroauth.WithStore(store))
		src := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, esPassword, opts...)
		defer src.Close()
		_, err := src.Token()
		require.NoError(t, err)
		assert.True(t, store.isLocked(), "the lock, while the save is not durable")
		time.Sleep(time.Second) // the saves again, 50, 100 and 200ms apart
		assert.False(t, store.isLocked(), "the lock, once the save is durable")
		assert.Len(t, store.revisions(), 4, "SaveVersion calls: three not durable, then one")

		// Each fetch's record has a later revision.
		other := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, esPassword, opts...)
		defer other.Close()
		for range 3 {
			time.Sleep(2 * time.Hour)
			_, err := src.Token()
			require.NoError(t, err)
			synctest.Wait()
			_, err = other.Token()
			require.NoError(t, err)
		}
		revs := store.revisions()
		assert.True(t, slices.IsSorted(revs), "revisions %v, in the order saved", revs)
		assert.Zero(t, srv.RefreshTokenReuses(), "refresh tokens presented twice")
		assert.Equal(t, 1, srv.TokenRequestsByGrant("password"), "logins")
	})
}

// TestStoreReadRepair: the store loses the last save (a failover to a
// replica that missed it). A source that took the lost record's newer
// refresh token writes it back as soon as it reads the older one, even
// while another process holds the lock, so that a source still holding the
// rotated-out refresh token takes the newer one and never presents the old
// one, which a vendor with reuse detection answers by revoking the whole
// family.
func TestStoreReadRepair(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword)
		srv.SetRotateRefreshTokens(true)
		srv.SetReuseDetection(true)
		store := &versionedStore{memStore: &memStore{}}
		opts := append(at(srv.URL, srv.InProcessClient()), vendoroauth.WithStore(store))
		newSource := func() *vendoroauth.TokenSource {
			src := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, esPassword, opts...)
			t.Cleanup(func() { src.Close() })
			return src
		}
		a, b, c := newSource(), newSource(), newSource()
		_, err := a.Token() // the login: record 1
		require.NoError(t, err)
		synctest.Wait()
		_, err = c.Token() // c takes record 1's refresh token
		require.NoError(t, err)
		time.Sleep(2 * time.Hour)
		a.Invalidate()
		_, err = a.Token() // a refresh: record 2, with a rotated refresh token
		require.NoError(t, err)
		synctest.Wait()
		b.Invalidate()
		_, err = b.Token() // b takes record 2
		require.NoError(t, err)

		store.lose() // the store is back at record 1, whose refresh token is dead
		unlock, err := store.Lock(t.Context())
		require.NoError(t, err, "another process takes the lock")
		b.Invalidate()
		done := make(chan error, 1)
		go func() { _, err := b.Token(); done <- err }()
		synctest.Wait() // b read record 1, and waits for the lock
		unlock()
		c.Invalidate()
		_, err = c.Token()
		require.NoError(t, err, "c's Token() after the store lost a save")
		require.NoError(t, <-done, "b's Token() after the store lost a save")

		assert.Zero(t, srv.RefreshTokenReuses(), "refresh tokens presented twice")
		assert.Zero(t, srv.RevokedFamilies(), "token families revoked")
		assert.Equal(t, 1, srv.TokenRequestsByGrant("password"), "logins")
	})
}
