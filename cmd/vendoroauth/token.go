package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vendoroauth/vendoroauth"
)

const tokenAbout = `Token prints the access token alone on standard output, for curl and scripts,
or with -json the whole token, refresh and id tokens included. Credentials come
from the environment (see: vendoroauth help). The token is cached between runs:
a run within its lifetime makes no request. A refresh-only EnduroSat run
(ENDUROSAT_REFRESH_TOKEN, no password) keeps the rotated refresh token in the
cache; with -cache off it needs -json, which prints the new refresh token, since
EnduroSat may kill the old one on any refresh.

With -refresh it fetches a new token even when the cached one is valid, and
caches it in its place, in one token request: after the vendor restarted, or
when its API refused the cached token. (With -cache off every run fetches.)`

const tokenExample = `  export FORMLABS_CLIENT_ID=... FORMLABS_CLIENT_SECRET=...
  curl -H "Authorization: Bearer $(vendoroauth token -vendor formlabs)" \
      https://api.formlabs.com/developer/v1/printers/`

func runToken(ctx context.Context, args []string, e env) error {
	var f vendorFlags
	fs := newFlagSet("token", "-vendor endurosat|formlabs [-base-url URL] [-cache FILE|off] [-refresh] [-json]", tokenAbout, tokenExample)
	addVendorFlags(fs, &f)
	asJSON := fs.Bool("json", false, "print the whole token as JSON, refresh token included")
	refresh := fs.Bool("refresh", false, "fetch a new token even if the cached one is valid, and cache it in its place")
	if err := fs.parse(args, e.stdout); err != nil {
		return err
	}
	s, c, err := f.credentialSetup("token", e)
	if err != nil {
		return err
	}
	path, err := f.cacheFile("token", e, s, c)
	if err != nil {
		return err
	}
	opts := s.options(e)
	var store *watchedStore
	if path != "" {
		store = e.openStore(path)
		opts = append(opts, vendoroauth.WithStore(store))
	}
	if c.refreshOnly(s.vendor) {
		switch {
		case path == "" && c.refreshToken == "":
			return errNoEnduroSatCredential("token", "")
		case path == "" && !*asJSON:
			return usagef("token: endurosat: with -cache off, a refresh-only run would lose the refresh token when EnduroSat rotates it; " +
				"add -json to get the new refresh token on standard output, or leave the cache on")
		case c.refreshToken == "":
			data, err := store.Load(ctx)
			if err != nil {
				return store.explain(err)
			}
			if data == nil {
				return errNoEnduroSatCredential("token", " (the cache holds no token yet)")
			}
		}
	}

	src := tokenSource(ctx, s, c, opts)
	defer src.Close()
	tok, err := src.TokenContext(ctx)
	if err == nil && *refresh && src.Status().Origin == vendoroauth.OriginStore {
		// The token came from the cache: forget it, so that the store
		// never hands it out again, and fetch its successor, which
		// replaces it in the cache.
		src.Invalidate()
		tok, err = src.TokenContext(ctx)
	}
	if err != nil {
		return store.explain(err)
	}
	src.Close() // lets the save to the cache finish

	// The rotated refresh token of a refresh-only run is in the cache, or
	// in the JSON; if it is in neither, say so and print it, since the old
	// one is dead.
	lost := c.refreshOnly(s.vendor) && store != nil && !*asJSON &&
		tok.RefreshToken != "" && tok.RefreshToken != c.refreshToken && !store.holds(ctx, tok.RefreshToken)
	if lost {
		savedWarning(e.stderr, path, tok.RefreshToken)
	}

	if *asJSON {
		out := map[string]any{
			"access_token": tok.AccessToken,
			"token_type":   tok.Type(),
			"expiry":       tok.Expiry.Round(0).Format(time.RFC3339),
			"expires_in":   int64(time.Until(tok.Expiry).Seconds()),
		}
		if tok.RefreshToken != "" {
			out["refresh_token"] = tok.RefreshToken
		}
		if id, ok := tok.Extra("id_token").(string); ok {
			out["id_token"] = id
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return fmt.Errorf("vendoroauth: write standard output: %w", err)
		}
	} else if _, err := fmt.Fprintln(e.stdout, tok.AccessToken); err != nil {
		return fmt.Errorf("vendoroauth: write standard output: %w", err)
	}
	if lost {
		return fmt.Errorf("vendoroauth: token: endurosat: the cache %s did not keep the rotated refresh token; it is printed above, on standard error", path)
	}
	return nil
}
