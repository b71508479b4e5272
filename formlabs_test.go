package vendoroauth_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
)

func TestFormlabsWire(t *testing.T) {
	t.Parallel()
	srv := newFormlabs(t)
	src := flSource(t, srv)
	start := time.Now()
	tok, err := src.Token()
	if err != nil {
		t.Fatalf("Token() error = %v", err)
	}
	wantForm := map[string][]string{
		"grant_type": {"client_credentials"}, "client_id": {flClientID}, "client_secret": {flSecret},
	}
	if diff := cmp.Diff(wantForm, map[string][]string(srv.LastTokenForm())); diff != "" {
		t.Errorf("token form mismatch (-want +got):\n%s", diff)
	}
	if h := srv.LastTokenHeader(); h.Get("Authorization") != "" || h.Get("Accept") != "application/json" {
		t.Errorf("token request headers = %v; want no Authorization, Accept JSON", h)
	}
	if life := tok.Expiry.Sub(start); life < 24*time.Hour-time.Minute || life > 24*time.Hour+time.Second {
		t.Errorf("token lifetime = %v, want about 24h", life)
	}
	if tok.Extra("scope") != "developer-api" {
		t.Errorf("Token().Extra(scope) = %v, want developer-api", tok.Extra("scope"))
	}
}

func TestFormlabsConfig(t *testing.T) {
	t.Parallel()
	srv := newFormlabs(t)
	cfg := vendoroauth.FormlabsConfig(flClientID, flSecret, vendoroauth.WithBaseURL(srv.URL))
	if cfg.AuthStyle != oauth2.AuthStyleInParams {
		t.Errorf("FormlabsConfig().AuthStyle = %v, want AuthStyleInParams", cfg.AuthStyle)
	}
	if _, err := cfg.Token(contextWithClient(t.Context(), srv.Client())); err != nil {
		t.Fatalf("clientcredentials Token() error = %v", err)
	}
	if srv.TokenRequests() != 1 || srv.LastTokenHeader().Get("Authorization") != "" {
		t.Errorf("FormlabsConfig: %d requests, Authorization %q; want 1 request with body credentials only",
			srv.TokenRequests(), srv.LastTokenHeader().Get("Authorization"))
	}
	if got, want := vendoroauth.FormlabsEndpoint.TokenURL, "https://api.formlabs.com/developer/v1/o/token/"; got != want {
		t.Errorf("FormlabsEndpoint.TokenURL = %q, want %q", got, want)
	}
}
