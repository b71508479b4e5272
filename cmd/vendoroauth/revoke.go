package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/vendoroauth/vendoroauth"
)

const revokeExample = `  export ENDUROSAT_CLIENT_ID=...
  vendoroauth revoke -vendor endurosat -cache ~/.cache/endurosat-token.json
  printf '%s' "$LEAKED_REFRESH_TOKEN" | vendoroauth revoke -vendor endurosat -token-stdin`

func runRevoke(ctx context.Context, args []string, e env) error {
	var f vendorFlags
	fs := newFlagSet("revoke", "-vendor endurosat|formlabs [-base-url URL] [-cache FILE] [-token-stdin]", revokeExample, e.stderr)
	addVendorFlags(fs, &f)
	fromStdin := fs.Bool("token-stdin", false, "read the token to revoke from standard input (EnduroSat: a refresh token; Formlabs: an access token)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := f.checkVendor("revoke"); err != nil {
		return err
	}
	if f.cache != "" && !*fromStdin {
		return revokeCached(ctx, f, e)
	}
	id, err := clientID(e, f.vendor)
	if err != nil {
		return err
	}
	var r vendoroauth.Revoker
	if f.vendor == "formlabs" {
		v, err := require(e, f.vendor, envFLClientSecret)
		if err != nil {
			return err
		}
		r = vendoroauth.FormlabsRevoker(id, v[0], f.options()...)
	} else {
		r = vendoroauth.EnduroSatRevoker(id, f.options()...)
	}

	var token string
	switch {
	case *fromStdin:
		line, err := bufio.NewReader(io.LimitReader(e.stdin, 64<<10)).ReadString('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("revoke: read standard input: %w", err)
		}
		token = strings.TrimSpace(line)
		if token == "" {
			return usagef("revoke: standard input holds no token")
		}
	case f.vendor == "endurosat" && e.getenv(envESRefreshToken) != "":
		token = e.getenv(envESRefreshToken)
	default:
		return usagef("revoke: give the token with -token-stdin or -cache FILE")
	}
	if err := r.Revoke(ctx, token); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "%s: token revoked\n", f.vendor)
	return nil
}

// revokeCached revokes the token in the -cache file through a token source
// on it, which also clears the file.
func revokeCached(ctx context.Context, f vendorFlags, e env) error {
	opts, err := cacheOptions(f, e)
	if err != nil {
		return err
	}
	data, err := vendoroauth.FileStore(f.cache).Load(ctx)
	if err != nil {
		return usagef("revoke: %v", err)
	}
	if data == nil {
		return usagef("revoke: cache file %s holds no token to revoke", f.cache)
	}
	src, err := tokenSource(ctx, e, f, opts)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := src.Revoke(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "%s: token revoked\n", f.vendor)
	return nil
}
