// Command vendoroauth gets, caches and revokes EnduroSat and Formlabs OAuth2
// tokens, runs the fake vendors locally, and demonstrates the token
// lifecycle.
//
// Usage:
//
//	vendoroauth token -vendor endurosat|formlabs [-base-url URL] [-cache FILE|off] [-json]
//	vendoroauth status -vendor endurosat|formlabs [-base-url URL] [-cache FILE] [-json]
//	vendoroauth revoke -vendor endurosat|formlabs [-base-url URL] [-cache FILE|off] [-token-stdin]
//	vendoroauth serve-fake [-addr 127.0.0.1:0] [-token-lifetime 1h] [-env-file FILE]
//	vendoroauth wait-fake -env-file FILE [-timeout 10s]
//	vendoroauth demo
//	vendoroauth version
//	vendoroauth help [COMMAND]
//
// Credentials come from the environment, never from flags:
// ENDUROSAT_CLIENT_ID with ENDUROSAT_USERNAME and ENDUROSAT_PASSWORD, or with
// ENDUROSAT_REFRESH_TOKEN; FORMLABS_CLIENT_ID and FORMLABS_CLIENT_SECRET.
// VENDOROAUTH_BASE_URL replaces the vendors' base URL when -base-url is not
// given.
//
// Tokens are cached by default in a 0600 file per vendor, client id, base
// URL and EnduroSat user under the user's cache folder ($XDG_CACHE_HOME/vendoroauth, else
// $HOME/.cache/vendoroauth on Linux); -cache FILE picks another file and
// -cache off turns the cache off.
//
// Status reads the cache file alone: it prints the cached token's expiry,
// refresh time and age, never the token, and needs only the client id (and
// ENDUROSAT_USERNAME for a password login), no secret.
//
// Exit status: 0 on success, 1 when the vendor or the network failed,
// standard output could not be written, or status found no valid cached
// token (it has expired, or there is none), 2 on a usage or configuration
// error.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(report(err, os.Stderr))
}
