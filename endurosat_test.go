package vendoroauth_test

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

func TestEnduroSatWire(t *testing.T) {
	t.Parallel()
	srv := newEnduroSat(t)
	src := esSource(t, srv)
	tok, err := src.Token()
	if err != nil {
		t.Fatalf("Token() error = %v", err)
	}
	wantForm := map[string][]string{
		"grant_type": {"password"}, "client_id": {esClientID}, "username": {esUsername}, "password": {esPassword},
	}
	if diff := cmp.Diff(wantForm, map[string][]string(srv.LastTokenForm())); diff != "" {
		t.Errorf("password grant form mismatch (-want +got):\n%s", diff)
	}
	h := srv.LastTokenHeader()
	if h.Get("Authorization") != "" || h.Get("Accept") != "application/json" || h.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("token request headers = %v; want form content type, JSON accept, no Authorization", h)
	}
	if tok.RefreshToken == "" || tok.Extra("id_token") == nil || tok.Type() != "Bearer" {
		t.Errorf("Token() = type %q, refresh token set %v, id_token %v; want Bearer with both", tok.Type(), tok.RefreshToken != "", tok.Extra("id_token") != nil)
	}

	src.Invalidate()
	if _, err := src.Token(); err != nil {
		t.Fatalf("Token() after Invalidate: %v", err)
	}
	wantForm = map[string][]string{
		"grant_type": {"refresh_token"}, "client_id": {esClientID}, "refresh_token": {tok.RefreshToken},
	}
	if diff := cmp.Diff(wantForm, map[string][]string(srv.LastTokenForm())); diff != "" {
		t.Errorf("refresh grant form mismatch (-want +got):\n%s", diff)
	}
}

func TestEnduroSatLifecycle(t *testing.T) {
	tests := []struct {
		name         string
		rotate       bool
		expireRT     bool // the refresh token dies before the second refresh
		wantPassword int
		wantRefresh  int
	}{
		// Four calls 61 minutes apart on 1-hour tokens: each handed-out
		// token is refreshed at its refresh time, with no call needed.
		{"no rotation keeps the refresh token", false, false, 1, 3},
		{"rotation takes the new refresh token", true, false, 1, 3},
		{"dead refresh token logs in again", false, true, 2, 3},
		{"dead rotated refresh token logs in again", true, true, 2, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, src := bubbleEnduroSat(t)
				srv.SetRotateRefreshTokens(tt.rotate)
				var prev *oauth2.Token
				for i := range 4 {
					if i == 2 && tt.expireRT {
						srv.ExpireRefreshTokens()
					}
					tok, err := src.Token()
					if err != nil {
						t.Fatalf("Token() #%d error = %v", i, err)
					}
					if prev != nil && tok.AccessToken == prev.AccessToken {
						t.Fatalf("Token() #%d returned the previous token after expiry", i)
					}
					if tok.RefreshToken == "" {
						t.Fatalf("Token() #%d has no refresh token", i)
					}
					prev = tok
					if i < 3 {
						time.Sleep(61 * time.Minute)
					}
				}
				if got := srv.TokenRequestsByGrant("password"); got != tt.wantPassword {
					t.Errorf("password grants = %d, want %d", got, tt.wantPassword)
				}
				if got := srv.TokenRequestsByGrant("refresh_token"); got != tt.wantRefresh {
					t.Errorf("refresh grants = %d, want %d", got, tt.wantRefresh)
				}
			})
		})
	}
}

func TestEnduroSatRefreshOnlyRejected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword)
		login := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, esPassword, at(srv.URL, srv.InProcessClient())...)
		tok, err := login.Token()
		login.Close()
		if err != nil {
			t.Fatalf("Token() error = %v", err)
		}
		src := vendoroauth.EnduroSatRefreshTokenSource(t.Context(), esClientID, tok.RefreshToken, at(srv.URL, srv.InProcessClient())...)
		defer src.Close()
		if _, err := src.Token(); err != nil {
			t.Fatalf("refresh-only Token() error = %v", err)
		}
		srv.ExpireRefreshTokens()
		src.Invalidate()
		_, err = src.Token()
		if !errors.Is(err, vendoroauth.ErrInvalidCredentials) {
			t.Fatalf("Token() with a dead refresh token = %v, want ErrInvalidCredentials", err)
		}
		if re, ok := errors.AsType[*oauth2.RetrieveError](err); !ok || re.ErrorCode != "invalid_grant" {
			t.Errorf("errors.As(*oauth2.RetrieveError) = %v, %v; want invalid_grant", re, ok)
		}
		if got := srv.TokenRequestsByGrant("password"); got != 1 {
			t.Errorf("password grants = %d, want 1 (a refresh-only source has no password)", got)
		}
		// The rejection is remembered: no new request for a while.
		before := srv.TokenRequests()
		if _, err := src.Token(); !errors.Is(err, vendoroauth.ErrInvalidCredentials) {
			t.Errorf("second Token() = %v, want ErrInvalidCredentials", err)
		}
		if got := srv.TokenRequests(); got != before {
			t.Errorf("second Token() after a rejection made %d requests, want 0", got-before)
		}
	})
}

func TestEnduroSatWrongPasswordOneAttempt(t *testing.T) {
	t.Parallel()
	srv := newEnduroSat(t)
	src := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, "wrong-"+esPassword, at(srv.URL, srv.Client())...)
	defer src.Close()
	for range 5 {
		_, err := src.Token()
		if !errors.Is(err, vendoroauth.ErrInvalidCredentials) {
			t.Fatalf("Token() with a wrong password = %v, want ErrInvalidCredentials", err)
		}
	}
	// Never retried, and not asked again within the hold-down: a wrong
	// password is sent once, not once per call (account lockout).
	if got := srv.TokenRequests(); got != 1 {
		t.Errorf("token requests = %d, want 1", got)
	}
}

func TestEnduroSatConfig(t *testing.T) {
	t.Parallel()
	srv := newEnduroSat(t)
	cfg := vendoroauth.EnduroSatConfig(esClientID, vendoroauth.WithBaseURL(srv.URL))
	ctx := t.Context()
	ctx = contextWithClient(ctx, srv.Client())
	tok, err := cfg.PasswordCredentialsToken(ctx, esUsername, esPassword)
	if err != nil {
		t.Fatalf("PasswordCredentialsToken() error = %v", err)
	}
	if tok.RefreshToken == "" {
		t.Errorf("PasswordCredentialsToken() gave no refresh token")
	}
	if got := cfg.Endpoint.AuthStyle; got != oauth2.AuthStyleInParams {
		t.Errorf("EnduroSatConfig().Endpoint.AuthStyle = %v, want AuthStyleInParams", got)
	}
	if got, want := vendoroauth.EnduroSatConfig("x").Endpoint, vendoroauth.EnduroSatEndpoint; got != want {
		t.Errorf("EnduroSatConfig() endpoint = %v, want %v", got, want)
	}
	if got, want := vendoroauth.EnduroSatEndpoint.TokenURL, "https://api.ground-station.endurosat.com/oauth2/token"; got != want {
		t.Errorf("EnduroSatEndpoint.TokenURL = %q, want %q", got, want)
	}
}
