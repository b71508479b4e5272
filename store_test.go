package vendoroauth_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// storeFile returns a token file path in a fresh folder.
func storeFile(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "token.json")
}

func TestFileStoreSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := storeFile(t)
		srv := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
		opts := append(at(srv.URL, srv.InProcessClient()), vendoroauth.WithStore(vendoroauth.FileStore(path)))
		first := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, opts...)
		tok, err := first.Token()
		if err != nil {
			t.Fatalf("Token() error = %v", err)
		}
		first.Close()
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("token file = %v, %v; want mode 0600", fi, err)
		}

		// A restart: a new source on the same file makes no request.
		second := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, opts...)
		defer second.Close()
		got, err := second.Token()
		if err != nil || got.AccessToken != tok.AccessToken {
			t.Fatalf("Token() after restart = %v, %v; want the stored token", got, err)
		}
		if n := srv.TokenRequests(); n != 1 {
			t.Errorf("token requests = %d, want 1", n)
		}

		// Revoke clears the store.
		if err := second.Revoke(t.Context()); err != nil {
			t.Fatalf("Revoke() error = %v", err)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("token file after Revoke: %v, want it removed", err)
		}
	})
}

func TestFileStoreRefreshesFromStoredRefreshToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := storeFile(t)
		srv := vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword)
		srv.SetRotateRefreshTokens(true)
		opts := append(at(srv.URL, srv.InProcessClient()), vendoroauth.WithStore(vendoroauth.FileStore(path)))
		login := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, esPassword, opts...)
		if _, err := login.Token(); err != nil {
			t.Fatalf("Token() error = %v", err)
		}
		login.Close()
		time.Sleep(2 * time.Hour) // the stored access token is dead; its refresh token is not

		// A refresh-only source with no refresh token of its own would fail;
		// with the store it refreshes from the stored one.
		src := vendoroauth.EnduroSatRefreshTokenSource(t.Context(), esClientID, "placeholder", opts...)
		defer src.Close()
		if _, err := src.Token(); err != nil {
			t.Fatalf("Token() from the stored refresh token: %v", err)
		}
		if p, r := srv.TokenRequestsByGrant("password"), srv.TokenRequestsByGrant("refresh_token"); p != 1 || r != 1 {
			t.Errorf("grants: password %d, refresh %d; want 1 and 1", p, r)
		}
	})
}

func TestFileStoreBadContent(t *testing.T) {
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		wantLog string
		wantNew bool // the file is rewritten with the new token
	}{
		{"corrupt JSON", "{not json", 0o600, "corrupt", true},
		{"another client's token", `{"access_token":"x","expiry":"2100-01-01T00:00:00Z","owner":"formlabs:someone-else"}`, 0o600, "another vendor or client", true},
		{"readable by others", `{"access_token":"x","expiry":"2100-01-01T00:00:00Z"}`, 0o644, "chmod 600", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				path := storeFile(t)
				if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
					t.Fatal(err)
				}
				os.Chmod(path, tt.mode)
				logger, logs := newLogger()
				srv, src := bubbleFormlabs(t, vendoroauth.WithStore(vendoroauth.FileStore(path)), vendoroauth.WithLogger(logger))
				tok, err := src.Token()
				if err != nil || tok.AccessToken == "x" {
					t.Fatalf("Token() = %v, %v; want a fetched token, never the bad stored one", tok, err)
				}
				if srv.TokenRequests() != 1 || !strings.Contains(logs.String(), tt.wantLog) {
					t.Errorf("requests %d, log %q; want 1 request and a warning saying %q", srv.TokenRequests(), logs.String(), tt.wantLog)
				}
				data, _ := os.ReadFile(path)
				if rewritten := strings.Contains(string(data), tok.AccessToken); rewritten != tt.wantNew {
					t.Errorf("file rewritten = %v, want %v", rewritten, tt.wantNew)
				}
			})
		})
	}
}

// failingStore fails every call.
type failingStore struct{}

func (failingStore) Load(context.Context) (*oauth2.Token, error) {
	return nil, errors.New("store unreachable")
}
func (failingStore) Save(context.Context, *oauth2.Token) error {
	return errors.New("store unreachable")
}
func (failingStore) Lock(context.Context) (func(), error) {
	return nil, errors.New("store unreachable")
}

func TestFailingStoreDoesNotBreakSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logger, logs := newLogger()
		srv, src := bubbleEnduroSat(t, vendoroauth.WithStore(failingStore{}), vendoroauth.WithLogger(logger))
		for range 3 {
			if _, err := src.Token(); err != nil {
				t.Fatalf("Token() with a failing store: %v", err)
			}
			time.Sleep(time.Hour)
		}
		if p := srv.TokenRequestsByGrant("password"); p != 1 {
			t.Errorf("password grants = %d, want 1: the source keeps its refresh token in memory", p)
		}
		if !strings.Contains(logs.String(), "store unreachable") {
			t.Errorf("no store failure was logged")
		}
	})
}

func TestFileStoreLockOneRefreshForManySources(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := storeFile(t)
		srv := vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword)
		srv.SetRotateRefreshTokens(true)
		srv.SetLatency(time.Second)
		opts := append(at(srv.URL, srv.InProcessClient()), vendoroauth.WithStore(vendoroauth.FileStore(path)))
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
					if _, err := s.Token(); err != nil {
						t.Errorf("round %d: Token() error = %v", round, err)
					}
				})
			}
			wg.Wait()
			time.Sleep(2 * time.Hour)
		}
		// One login, then one refresh per round for all five; a rotated
		// refresh token used twice would have forced a second login.
		if p, r := srv.TokenRequestsByGrant("password"), srv.TokenRequestsByGrant("refresh_token"); p != 1 || r != 2 {
			t.Errorf("grants: password %d, refresh %d; want 1 and 2", p, r)
		}
	})
}

func TestEncodeDecodeToken(t *testing.T) {
	t.Parallel()
	in := (&oauth2.Token{AccessToken: "a", TokenType: "Bearer", RefreshToken: "r", Expiry: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}).
		WithExtra(map[string]any{"id_token": "i"})
	data, err := vendoroauth.EncodeToken(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := vendoroauth.DecodeToken(data)
	if err != nil {
		t.Fatalf("DecodeToken() error = %v", err)
	}
	if out.AccessToken != "a" || out.RefreshToken != "r" || !out.Expiry.Equal(in.Expiry) || out.Extra("id_token") != "i" || out.TokenType != "Bearer" {
		t.Errorf("DecodeToken(EncodeToken(t)) = %+v, want the same token", out)
	}
	for _, bad := range []string{"", "{", "[]", `{"token_type":"x"}`} {
		if _, err := vendoroauth.DecodeToken([]byte(bad)); err == nil {
			t.Errorf("DecodeToken(%q) = nil error", bad)
		}
	}
}

func TestStaleStoreDoesNotRollBackRefreshToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := storeFile(t)
		store := vendoroauth.FileStore(path)
		srv, src := bubbleEnduroSat(t, vendoroauth.WithStore(store))
		srv.SetRotateRefreshTokens(true)
		first, err := src.Token()
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Hour)
		if _, err := src.Token(); err != nil { // rotates the refresh token
			t.Fatal(err)
		}
		// The store loses that save and hands back the first, rotated-out
		// refresh token, as a store restored from an old snapshot would.
		if err := store.Save(t.Context(), first); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Hour)
		if _, err := src.Token(); err != nil {
			t.Fatalf("Token() with a stale store: %v", err)
		}
		if p := srv.TokenRequestsByGrant("password"); p != 1 {
			t.Errorf("password grants = %d, want 1: the source took the stale refresh token and was refused", p)
		}
	})
}
