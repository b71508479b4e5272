package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"
)

const tokenExample = `  export FORMLABS_CLIENT_ID=... FORMLABS_CLIENT_SECRET=...
  curl -H "Authorization: Bearer $(vendoroauth token -vendor formlabs -cache ~/.cache/formlabs-token.json)" \
      https://api.formlabs.com/developer/v1/printers/`

// addVendorFlags defines -vendor, -base-url and -cache on fs.
func addVendorFlags(fs *flag.FlagSet, f *vendorFlags) {
	fs.StringVar(&f.vendor, "vendor", "", "`vendor`: endurosat or formlabs (required)")
	fs.StringVar(&f.baseURL, "base-url", "", "base `URL` of the vendor API (default: the vendor's production URL)")
	fs.StringVar(&f.cache, "cache", "", "`file` that keeps the token between runs (created with mode 0600)")
}

func runToken(ctx context.Context, args []string, e env) error {
	var f vendorFlags
	fs := newFlagSet("token", "-vendor endurosat|formlabs [-base-url URL] [-json] [-cache FILE]", tokenExample, e.stderr)
	addVendorFlags(fs, &f)
	asJSON := fs.Bool("json", false, "print the whole token as JSON, refresh token included")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := f.checkVendor("token"); err != nil {
		return err
	}
	opts, err := cacheOptions(f, e)
	if err != nil {
		return err
	}
	src, err := tokenSource(ctx, e, f, opts)
	if err != nil {
		return err
	}
	defer src.Close()
	tok, err := src.TokenContext(ctx) // with -cache, the source loads and saves the file
	if err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintln(e.stdout, tok.AccessToken)
		return nil
	}
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
	return enc.Encode(out)
}
