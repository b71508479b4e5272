package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vendoroauth/vendoroauth"
)

// cacheOff is the -cache value that turns the cache off.
const cacheOff = "off"

// userCacheDir is [os.UserCacheDir] reading the environment through getenv.
func userCacheDir(getenv func(string) string) (string, error) {
	switch runtime.GOOS {
	case "windows":
		if dir := getenv("LocalAppData"); dir != "" {
			return dir, nil
		}
		return "", errors.New("%LocalAppData% is not set")
	case "darwin", "ios":
		if dir := getenv("HOME"); dir != "" {
			return dir + "/Library/Caches", nil
		}
		return "", errors.New("$HOME is not set")
	case "plan9":
		if dir := getenv("home"); dir != "" {
			return dir + "/lib/cache", nil
		}
		return "", errors.New("$home is not set")
	}
	if dir := getenv("XDG_CACHE_HOME"); dir != "" {
		if !filepath.IsAbs(dir) {
			return "", errors.New("$XDG_CACHE_HOME is a relative path")
		}
		return dir, nil
	}
	if dir := getenv("HOME"); dir != "" {
		return dir + "/.cache", nil
	}
	return "", errors.New("neither $XDG_CACHE_HOME nor $HOME is set")
}

// defaultCacheFile returns the cache file of a vendor, client id, base URL
// and EnduroSat username (empty for a refresh-only run):
// <cache>/vendoroauth/<vendor>-<16 hex digits>.json. The name hashes the
// client id, base URL and username, so that a token cached for one is never
// offered to another and the file name shows none of them; no secret goes
// into it. The record inside names its owner too, which the library checks
// on every load.
func defaultCacheFile(getenv func(string) string, s vendorSetup, username string) (string, error) {
	dir, err := userCacheDir(getenv)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(s.clientID + "\n" + s.base + "\n" + username))
	return filepath.Join(dir, "vendoroauth", s.vendor+"-"+hex.EncodeToString(sum[:])[:16]+".json"), nil
}

// cacheFile returns the cache file the -cache flag asks for, or "" when
// the cache is off.
func (f vendorFlags) cacheFile(cmd string, e env, s vendorSetup, c credential) (string, error) {
	switch f.cache {
	case cacheOff:
		return "", nil
	case "":
		path, err := defaultCacheFile(e.getenv, s, c.username)
		if err != nil {
			off := ", or turn the cache off with -cache off"
			if cmd == "status" {
				off = "" // status shows the cache; it has no use without one
			}
			return "", usagef("%s: no cache folder: %v; set XDG_CACHE_HOME or HOME, or choose a file with -cache FILE%s", cmd, err, off)
		}
		return path, nil
	}
	return f.cache, nil
}

// A cacheStore is the token store of the cache file.
type cacheStore interface {
	vendoroauth.Locker
}

// openStore returns the store of the cache file at path.
func (e env) openStore(path string) *watchedStore {
	var s cacheStore
	if e.cacheOpener != nil {
		s = e.cacheOpener(path)
	} else {
		s = vendoroauth.FileStore(path)
	}
	return &watchedStore{cacheStore: s, path: path}
}

// A watchedStore is a cache store that remembers whether it refused its
// file (an ErrInvalidConfig), so that the error can say how to choose
// another file.
type watchedStore struct {
	cacheStore
	path string

	mu      sync.Mutex // protects refused
	refused bool
}

func (s *watchedStore) Load(ctx context.Context) ([]byte, error) {
	data, err := s.cacheStore.Load(ctx)
	s.watch(err)
	return data, err
}

func (s *watchedStore) Save(ctx context.Context, data []byte) error {
	err := s.cacheStore.Save(ctx, data)
	s.watch(err)
	return err
}

func (s *watchedStore) Lock(ctx context.Context) (func(), error) {
	unlock, err := s.cacheStore.Lock(ctx)
	s.watch(err)
	return unlock, err
}

func (s *watchedStore) watch(err error) {
	if errors.Is(err, vendoroauth.ErrInvalidConfig) {
		s.mu.Lock()
		s.refused = true
		s.mu.Unlock()
	}
}

// explain adds to err, if the store refused its file, how to get past it.
func (s *watchedStore) explain(err error) error {
	if s == nil || err == nil {
		return err
	}
	s.mu.Lock()
	refused := s.refused
	s.mu.Unlock()
	if !refused {
		return err
	}
	return &cacheError{err: err}
}

// holds reports whether the cache file holds the refresh token rt. The
// record is the library's, and opaque; a JSON string of rt in it is enough
// to know that the token was saved.
func (s *watchedStore) holds(ctx context.Context, rt string) bool {
	data, err := s.cacheStore.Load(ctx)
	if err != nil || data == nil {
		return false
	}
	quoted, _ := json.Marshal(rt)
	return bytes.Contains(data, quoted)
}

// A cacheError is a refused cache file, with the way out.
type cacheError struct{ err error }

func (e *cacheError) Error() string {
	return e.err.Error() + " (that is the token cache: -cache FILE picks another file, -cache off turns it off)"
}

func (e *cacheError) Unwrap() error { return e.err }

// removeLock removes the cache's lock file once the cache file is gone,
// best effort: only a regular file of this user, and only while holding
// the lock, so that no other run is refreshing meanwhile.
func removeLock(ctx context.Context, store *watchedStore) {
	if _, err := os.Lstat(store.path); !errors.Is(err, fs.ErrNotExist) {
		return // the cache file is still there, or unknown: keep its lock
	}
	lockPath := store.path + ".lock"
	fi, err := os.Lstat(lockPath)
	if err != nil || !fi.Mode().IsRegular() || !ownedByUs(fi) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	unlock, err := store.cacheStore.Lock(ctx)
	if err != nil {
		return
	}
	defer unlock()
	if fi2, err := os.Lstat(lockPath); err == nil && os.SameFile(fi, fi2) {
		_ = os.Remove(lockPath)
	}
}

// warnLogger returns the logger of the library's warnings: retries, a
// corrupt or foreign cache file. It prints each as one short line, each
// distinct line once (see lineHandler). Errors are left out: run returns
// them, and they are printed once.
func warnLogger(w io.Writer) *slog.Logger {
	return slog.New(&lineHandler{w: &onceWriter{w: w}})
}

// A lineHandler is a [slog.Handler] that writes each record of level Warn
// as one line for people, with no time, level or key=value fields:
//
//	vendoroauth: formlabs: retrying the token request (attempt 2, in 330ms): connection refused
//	vendoroauth: formlabs: token store failed (load): stored token: corrupt: not a stored record
//
// It reads the library's keys vendor, attempt, status, wait, op and err,
// and ignores the others, and groups. The library's records hold no
// secret, so neither do its lines.
type lineHandler struct {
	w     io.Writer
	attrs []slog.Attr // from WithAttrs
}

// Enabled implements [slog.Handler]: Warn only, for run returns errors.
func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && l < slog.LevelError
}

// Handle implements [slog.Handler], writing r as one line.
func (h *lineHandler) Handle(ctx context.Context, r slog.Record) error {
	if !h.Enabled(ctx, r.Level) {
		return nil
	}
	attrs := make(map[string]slog.Value, r.NumAttrs()+len(h.attrs))
	for _, a := range h.attrs {
		attrs[a.Key] = a.Value.Resolve()
	}
	r.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.Resolve()
		return true
	})
	_, err := io.WriteString(h.w, warnLine(r.Message, attrs)+"\n")
	return err
}

// WithAttrs implements [slog.Handler].
func (h *lineHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &lineHandler{w: h.w, attrs: append(slices.Clip(h.attrs), as...)}
}

// WithGroup implements [slog.Handler]; groups are ignored.
func (h *lineHandler) WithGroup(string) slog.Handler { return h }

// warnLine is the line of a library record with message msg and attributes
// attrs: "vendoroauth: VENDOR: " then, for a retry, the attempt coming, its
// wait and the short reason of the failure; for any other record, the
// message, the op and the error's text.
func warnLine(msg string, attrs map[string]slog.Value) string {
	var b strings.Builder
	b.WriteString("vendoroauth: ")
	if v, ok := attrs["vendor"]; ok {
		b.WriteString(v.String() + ": ")
	}
	what := strings.TrimPrefix(msg, "vendoroauth: ")
	failed, retrying := strings.CutSuffix(what, " failed; retrying") // "token request failed; retrying"
	attempt, counted := attrs["attempt"]
	if retrying && counted && attempt.Kind() == slog.KindInt64 {
		fmt.Fprintf(&b, "retrying the %s (attempt %d", failed, attempt.Int64()+1)
		if wait, ok := attrs["wait"]; ok && wait.Kind() == slog.KindDuration {
			fmt.Fprintf(&b, ", in %v", wait.Duration().Round(10*time.Millisecond))
		}
		b.WriteString(")")
		if reason := shortReason(attrs); reason != "" {
			b.WriteString(": " + reason)
		}
		return b.String()
	}
	b.WriteString(what)
	if op, ok := attrs["op"]; ok {
		b.WriteString(" (" + op.String() + ")")
	}
	if err, ok := attrs["err"]; ok {
		b.WriteString(": " + strings.TrimPrefix(err.String(), "vendoroauth: "))
	}
	return oneLine(b.String())
}

// shortReason says in a few words why a request failed: its HTTP status,
// else the last part of the error's text, such as "connection refused" or
// "i/o timeout".
func shortReason(attrs map[string]slog.Value) string {
	if st, ok := attrs["status"]; ok && st.Kind() == slog.KindInt64 && st.Int64() > 0 {
		code := int(st.Int64())
		return strings.TrimSpace(fmt.Sprintf("HTTP %d %s", code, http.StatusText(code)))
	}
	v, ok := attrs["err"]
	if !ok {
		return ""
	}
	text := v.String()
	if i := strings.LastIndex(text, ": "); i >= 0 {
		text = text[i+2:]
	}
	return oneLine(text)
}

// An onceWriter passes on each distinct write once: a slog handler writes
// one record per call, and the store may report a corrupt file on each of
// its loads.
type onceWriter struct {
	w    io.Writer
	mu   sync.Mutex
	seen map[string]bool
}

func (o *onceWriter) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen[string(p)] {
		return len(p), nil
	}
	if o.seen == nil {
		o.seen = make(map[string]bool)
	}
	o.seen[string(p)] = true
	return o.w.Write(p)
}

// savedWarning is printed when a rotated refresh token could not be
// cached; it is then the only copy.
func savedWarning(w io.Writer, path, rt string) {
	fmt.Fprintf(w, "vendoroauth: warning: EnduroSat rotated the refresh token, so the old one no longer works, "+
		"and the cache %s did not keep the new one (see the warnings above). "+
		"It is on the next line, and nowhere else; keep it, as %s, or it is lost:\n%s\n", path, envESRefreshToken, rt)
}

// oneLine returns s with each control character, a line break or a
// carriage return from a vendor's error text say, replaced by a space, so
// that a warning stays one line and cannot move the terminal's cursor.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return ' '
		}
		return r
	}, s)
}
