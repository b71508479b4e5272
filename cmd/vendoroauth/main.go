// Command vendoroauth gets, caches and revokes EnduroSat and Formlabs OAuth2
// tokens, runs the fake vendors locally, and demonstrates the token
// lifecycle.
//
// Usage:
//
//	vendoroauth token -vendor endurosat|formlabs [-base-url URL] [-cache FILE|off] [-refresh] [-json]
//	vendoroauth status -vendor endurosat|formlabs [-base-url URL] [-cache FILE] [-json]
//	vendoroauth revoke -vendor endurosat|formlabs [-base-url URL] [-cache FILE|off] [-token-stdin]
//	vendoroauth serve-fake [-addr 127.0.0.1:0] [-token-lifetime 1h] [-env-file FILE]
//	vendoroauth wait-fake -env-file FILE [-timeout 10s]
//	vendoroauth demo
//	vendoroauth version (or: vendoroauth -v, vendoroauth --version)
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
// -cache off turns the cache off. Token -refresh fetches a new token even
// when the cached one is valid, and caches it in its place: after the
// vendor restarted, or when its API refused the cached token.
//
// Serve-fake -env-file FILE marks the file with its process id: a second
// serve-fake refuses a file whose serve-fake still runs, and a serve-fake
// removes the file when it stops only if it is still its own. Wait-fake
// fails within a second when the serve-fake that wrote FILE is gone.
//
// Status reads the cache file alone: it prints the cached token's expiry,
// refresh time and age, never the token, and needs only the client id (and
// ENDUROSAT_USERNAME for a password login), no secret.
//
// Exit status, for scripts to branch on: 0 on success; 1 when the vendor or
// the network failed, standard output could not be written, or status
// found no valid cached token (it has expired, or there is none); 2 on a
// usage or configuration error; 4 when the vendor rejected the
// credentials (a wrong client secret or password, a refresh token that was
// revoked or has expired), which retrying will not fix. 4 is what gh uses
// for authentication errors.
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
