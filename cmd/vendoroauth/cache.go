package main

import (
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"

	"github.com/vendoroauth/vendoroauth"
)

// checkCache refuses a cache file that others may read or write, with the
// chmod to run. A missing file is fine.
func checkCache(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return usagef("cache file %s: %v", path, errors.Unwrap(err))
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return usagef("cache file %s is open to others (mode %04o); run: chmod 600 %s", path, perm, path)
	}
	return nil
}

// warnLogger returns a logger that prints the library's warnings (a corrupt
// or foreign cache file, say) to w, one line each.
func warnLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// cacheOptions returns the options that keep the token in the -cache file.
func cacheOptions(f vendorFlags, e env) ([]vendoroauth.Option, error) {
	if f.cache == "" {
		return nil, nil
	}
	if err := checkCache(f.cache); err != nil {
		return nil, err
	}
	return []vendoroauth.Option{vendoroauth.WithStore(vendoroauth.FileStore(f.cache)), vendoroauth.WithLogger(warnLogger(e.stderr))}, nil
}
