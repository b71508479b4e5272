package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/oauth2"
)

// A cacheFile keeps one token between runs, for one vendor and client id.
// It is JSON in a file of mode 0600, written atomically.
type cacheFile struct {
	path     string
	vendor   string
	clientID string
}

// cacheEntry is the file's content.
type cacheEntry struct {
	Vendor       string    `json:"vendor"`
	ClientID     string    `json:"client_id"`
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
}

// errLoosePermissions is a usage error: the user must fix the file.
func errLoosePermissions(path string, mode fs.FileMode) error {
	return usagef("cache file %s is readable or writable by others (mode %04o); run: chmod 600 %s", path, mode.Perm(), path)
}

// load returns the cached token, or nil when there is none usable. A
// missing file is no token; a corrupt one, or one for another vendor or
// client, is reported to warn and ignored (the next save replaces it). A
// file others may read is an error.
func (c cacheFile) load(warn io.Writer) (*oauth2.Token, error) {
	f, err := os.Open(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		fmt.Fprintf(warn, "vendoroauth: warning: cannot read cache file %s: %v; ignoring it\n", c.path, errors.Unwrap(err))
		return nil, nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cache file %s: %w", c.path, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, errLoosePermissions(c.path, st.Mode())
	}
	var e cacheEntry
	if err := json.NewDecoder(io.LimitReader(f, 1<<20)).Decode(&e); err != nil || e.AccessToken == "" && e.RefreshToken == "" {
		fmt.Fprintf(warn, "vendoroauth: warning: cache file %s is corrupt; ignoring it and writing a new one\n", c.path)
		return nil, nil
	}
	if e.Vendor != c.vendor || e.ClientID != c.clientID {
		fmt.Fprintf(warn, "vendoroauth: warning: cache file %s holds a token for another vendor or client; ignoring it\n", c.path)
		return nil, nil
	}
	return &oauth2.Token{AccessToken: e.AccessToken, TokenType: e.TokenType, RefreshToken: e.RefreshToken, Expiry: e.Expiry}, nil
}

// save writes tok to the file atomically: a temporary file in the same
// folder, mode 0600, synced, then renamed over the old one.
func (c cacheFile) save(tok *oauth2.Token) error {
	data, err := json.Marshal(cacheEntry{
		Vendor: c.vendor, ClientID: c.clientID,
		AccessToken: tok.AccessToken, TokenType: tok.TokenType,
		RefreshToken: tok.RefreshToken, Expiry: tok.Expiry.Round(0),
	})
	if err != nil {
		return fmt.Errorf("cache file %s: %w", c.path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), "."+filepath.Base(c.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("cache file %s: %w", c.path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this fails harmlessly
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("cache file %s: %w", c.path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("cache file %s: %w", c.path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("cache file %s: %w", c.path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cache file %s: %w", c.path, err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("cache file %s: %w", c.path, err)
	}
	return nil
}

// remove deletes the file; a missing file is fine.
func (c cacheFile) remove() error {
	if err := os.Remove(c.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cache file %s: %w", c.path, err)
	}
	return nil
}
