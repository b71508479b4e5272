package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/vendoroauth/vendoroauth"
)

const revokeAbout = `Revoke revokes the token in the cache (EnduroSat: the refresh token, which ends
its access tokens; Formlabs: the access token) and removes the cache file and
its lock. With no cached token, an EnduroSat run revokes ENDUROSAT_REFRESH_TOKEN.
With -token-stdin it revokes the one token read from standard input instead
(at most 16 KiB, the token alone, without "Bearer "), and leaves the cache alone.`

const revokeExample = `  export ENDUROSAT_CLIENT_ID=...
  vendoroauth revoke -vendor endurosat
  vendoroauth token -vendor formlabs -cache off | vendoroauth revoke -vendor formlabs -token-stdin`

func runRevoke(ctx context.Context, args []string, e env) error {
	var f vendorFlags
	fs := newFlagSet("revoke", "-vendor endurosat|formlabs [-base-url URL] [-cache FILE|off] [-token-stdin]", revokeAbout, revokeExample)
	addVendorFlags(fs, &f)
	fromStdin := fs.Bool("token-stdin", false, "revoke the token read from standard input (EnduroSat: a refresh token; Formlabs: an access token)")
	if err := fs.parse(args, e.stdout); err != nil {
		return err
	}
	s, c, err := f.credentialSetup("revoke", e)
	if err != nil {
		return err
	}
	var r vendoroauth.Revoker
	if s.vendor == "formlabs" {
		r = vendoroauth.FormlabsRevoker(s.clientID, c.secret, s.options(e)...)
	} else {
		r = vendoroauth.EnduroSatRevoker(s.clientID, s.options(e)...)
	}

	if *fromStdin {
		token, err := readToken(e.stdin)
		if err != nil {
			return err
		}
		if err := r.Revoke(ctx, token); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "%s: revoked the token from standard input\n", s.vendor)
		return nil
	}

	path, err := f.cacheFile("revoke", e, s, c)
	if err != nil {
		return err
	}
	if path != "" {
		store := e.openStore(path)
		data, err := store.Load(ctx)
		if err != nil {
			return store.explain(err)
		}
		if data != nil {
			return revokeCached(ctx, e, s, c, store)
		}
	}
	if s.vendor == "endurosat" && c.refreshToken != "" {
		if err := r.Revoke(ctx, c.refreshToken); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "endurosat: revoked %s\n", envESRefreshToken)
		return nil
	}
	where := "the cache is off"
	if path != "" {
		where = "the cache holds no token (" + path + ")"
	}
	return usagef("revoke: %s: nothing to revoke: %s; give the token on standard input with -token-stdin", s.vendor, where)
}

// revokeCached revokes the token in the cache through a token source on
// it, which also clears the file, then removes the lock file.
func revokeCached(ctx context.Context, e env, s vendorSetup, c credential, store *watchedStore) error {
	src := tokenSource(ctx, s, c, append(s.options(e), vendoroauth.WithStore(store)))
	defer src.Close()
	if err := src.Revoke(ctx); err != nil {
		return store.explain(err)
	}
	src.Close()
	if _, err := os.Lstat(store.path); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("vendoroauth: revoke: %s: revoked, but the cache %s could not be removed (see the warnings above); remove it", s.vendor, store.path)
	}
	removeLock(ctx, store)
	fmt.Fprintf(e.stderr, "%s: revoked what the cache held and removed it (%s)\n", s.vendor, store.path)
	return nil
}

// maxStdinToken bounds the token that revoke reads from standard input.
const maxStdinToken = 16 << 10

// readToken reads one token from r: its first line, without surrounding
// spaces. It reads at most a little over maxStdinToken bytes whatever r
// holds, and refuses what is not an RFC 6750 b64token. Its errors never
// show what was read.
func readToken(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, maxStdinToken+2), 4096)
	var line []byte
	for {
		b, err := br.ReadByte()
		if err == io.EOF || b == '\n' {
			break
		}
		if err != nil {
			return "", fmt.Errorf("vendoroauth: revoke: read standard input: %w", err)
		}
		if (b < 0x20 && b != '\t' && b != '\r') || b > 0x7e {
			// Binary input is refused at its first such byte, unread further.
			return "", usagef("revoke: the token on standard input has a byte that is not printable ASCII at position %d", len(line)+1)
		}
		if len(line) == maxStdinToken+1 {
			return "", usagef("revoke: the token on standard input is longer than %d KiB", maxStdinToken>>10)
		}
		line = append(line, b)
	}
	token := strings.Trim(string(line), " \t\r")
	if token == "" {
		return "", usagef("revoke: standard input holds no token")
	}
	if len(token) > maxStdinToken {
		return "", usagef("revoke: the token on standard input is longer than %d KiB", maxStdinToken>>10)
	}
	if len(token) > 7 && strings.EqualFold(token[:7], "bearer ") {
		return "", usagef(`revoke: the token on standard input starts with "Bearer "; give the token alone`)
	}
	if i, printable := badTokenByte(token); i >= 0 {
		what := "a character that a token cannot hold (RFC 6750: letters, digits, - . _ ~ + / and = at the end)"
		if !printable {
			what = "a byte that is not printable ASCII"
		}
		return "", usagef("revoke: the token on standard input has %s at position %d", what, i+1)
	}
	return token, nil
}

// badTokenByte returns the index of the first byte of s that breaks the
// RFC 6750 b64token syntax, 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
// "+" / "/" ) *"=", and whether that byte is printable ASCII; or -1.
func badTokenByte(s string) (int, bool) {
	padding := false
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b < 0x20 || b > 0x7e:
			return i, false
		case b == '=':
			if i == 0 {
				return i, true
			}
			padding = true
		case padding:
			return i, true
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9',
			b == '-', b == '.', b == '_', b == '~', b == '+', b == '/':
		default:
			return i, true
		}
	}
	return -1, true
}
