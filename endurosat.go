package vendoroauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	"golang.org/x/oauth2"
)

// EnduroSatBaseURL is the base URL of the EnduroSat ground-station API.
const EnduroSatBaseURL = "https://api.ground-station.endurosat.com"

// EnduroSatEndpoint is the OAuth2 endpoint of the EnduroSat ground-station
// API. It is a public client: the client id goes in the form body and there
// is no secret.
var EnduroSatEndpoint = oauth2.Endpoint{
	TokenURL:  EnduroSatBaseURL + enduroSatTokenPath,
	AuthStyle: oauth2.AuthStyleInParams,
}

const (
	enduroSatTokenPath  = "/oauth2/token"
	enduroSatRevokePath = "/oauth2/revoke"
)

var enduroSat = vendorInfo{
	name:       "endurosat",
	baseURL:    EnduroSatBaseURL,
	tokenPath:  enduroSatTokenPath,
	revokePath: enduroSatRevokePath,
}

// EnduroSatConfig returns a plain x/oauth2 configuration for the EnduroSat
// API, for callers who want x/oauth2 alone: use its PasswordCredentialsToken
// to log in and its TokenSource to refresh. Of the options only
// [WithBaseURL] applies; an invalid base URL leaves TokenURL empty, so that
// the first request fails.
//
// Plain x/oauth2 lacks what [EnduroSatPasswordTokenSource] adds: a fetch
// that callers can leave, retries, early refresh, logging in again when the
// refresh token dies, and redacted errors.
func EnduroSatConfig(clientID string, opts ...Option) *oauth2.Config {
	cfg := newConfig(context.Background(), enduroSat, opts)
	return &oauth2.Config{
		ClientID: clientID,
		Endpoint: oauth2.Endpoint{TokenURL: cfg.tokenURL, AuthStyle: oauth2.AuthStyleInParams},
	}
}

// EnduroSatPasswordTokenSource returns a [TokenSource] that logs in to the
// EnduroSat API with the password grant, then renews the access token with
// the refresh grant. It keeps the old refresh token when a refresh returns
// none and takes the new one when it rotates. When the vendor rejects the
// refresh token (it expired or was revoked), it logs in again with the
// password, once per fetch; if that is rejected too, Token returns an error
// matching [ErrInvalidCredentials]. The id_token is in Token().Extra("id_token").
//
// ctx supplies values only (an [oauth2.HTTPClient]); cancelling it does not
// affect the source. An empty clientID, username or password, or an
// unusable option, makes the first Token call return an error matching
// [ErrInvalidConfig]. Call Close when done.
func EnduroSatPasswordTokenSource(ctx context.Context, clientID, username, password string, opts ...Option) *TokenSource {
	cfg := newConfig(ctx, enduroSat, opts)
	if cfg.err == nil {
		cfg.err = requireFields("endurosat", "client id", clientID, "username", username, "password", password)
	}
	return newEnduroSatSource(ctx, cfg, clientID, username, password, "")
}

// EnduroSatRefreshTokenSource returns a [TokenSource] that obtains EnduroSat
// access tokens with the refresh grant alone, starting from refreshToken
// (or from the refresh token of a [WithToken] token when refreshToken is
// empty). It follows rotation like [EnduroSatPasswordTokenSource]; having no
// password, it reports a rejected refresh token as an error matching
// [ErrInvalidCredentials].
//
// With [WithStore], refreshToken may be empty: the source then takes the
// stored refresh token.
//
// ctx supplies values only. An empty clientID, no refresh token at all, or
// an unusable option, makes the first Token call return an error matching
// [ErrInvalidConfig]. Call Close when done.
func EnduroSatRefreshTokenSource(ctx context.Context, clientID, refreshToken string, opts ...Option) *TokenSource {
	cfg := newConfig(ctx, enduroSat, opts)
	if refreshToken == "" && cfg.token != nil {
		refreshToken = cfg.token.RefreshToken
	}
	if cfg.err == nil {
		cfg.err = requireFields("endurosat", "client id", clientID)
	}
	if cfg.err == nil && refreshToken == "" && cfg.store == nil {
		cfg.err = requireFields("endurosat", "refresh token", "")
	}
	return newEnduroSatSource(ctx, cfg, clientID, "", "", refreshToken)
}

// newEnduroSatSource wires the EnduroSat grants into a TokenSource.
func newEnduroSatSource(ctx context.Context, cfg *config, clientID, username, password, refreshToken string) *TokenSource {
	red := newRedactor(password)
	rev := enduroSatRevoker(cfg, clientID)
	s := newTokenSource(ctx, cfg, clientID, rev)
	s.usesRefreshTokens = true
	if refreshToken == "" && cfg.token != nil {
		refreshToken = cfg.token.RefreshToken
	}
	s.refreshToken = refreshToken
	s.revokeTarget = func(refresh string, _ *oauth2.Token) string { return refresh }
	s.fetch = func(ctx context.Context) (*oauth2.Token, error) {
		s.mu.Lock()
		rt := s.refreshToken
		s.mu.Unlock()
		if rt != "" {
			form := url.Values{
				"grant_type":    {"refresh_token"},
				"client_id":     {clientID},
				"refresh_token": {rt},
			}
			tok, err := cfg.exchange(ctx, "endurosat refresh_token grant", form, red.with(rt))
			if err == nil {
				if tok.RefreshToken == "" {
					tok.RefreshToken = rt // no rotation: keep the old one
				}
				return tok, nil
			}
			if password == "" || !errors.Is(err, ErrInvalidCredentials) {
				return nil, err
			}
			cfg.logger.LogAttrs(ctx, slog.LevelWarn, "vendoroauth: refresh token rejected; logging in again",
				slog.String("vendor", cfg.vendor), slog.Any("err", err))
			s.mu.Lock()
			if s.refreshToken == rt {
				s.refreshToken = ""
			}
			s.mu.Unlock()
		}
		if password == "" {
			return nil, fmt.Errorf("vendoroauth: endurosat refresh_token grant: no refresh token left (revoked or rejected): %w", ErrInvalidCredentials)
		}
		form := url.Values{
			"grant_type": {"password"},
			"client_id":  {clientID},
			"username":   {username},
			"password":   {password},
		}
		return cfg.exchange(ctx, "endurosat password grant", form, red)
	}
	return s
}

// requireFields returns an ErrInvalidConfig error naming the first empty
// value among name/value pairs.
func requireFields(vendor string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			return fmt.Errorf("vendoroauth: %s: %s is empty: %w", vendor, pairs[i], ErrInvalidConfig)
		}
	}
	return nil
}
