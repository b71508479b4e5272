package vendoroauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// A TokenFile is a [TokenStore] and [Locker] that keeps one token in a
// file. Make one with [FileStore]. Its methods are safe for concurrent use,
// also by several processes on one machine.
type TokenFile struct {
	path string
}

// FileStore returns a [TokenFile] that keeps the token in the file at path,
// as JSON ([EncodeToken]) with mode 0600. Writes are atomic: a temporary
// file in the same folder, synced, then renamed over the old one, so a
// reader sees the old token or the new one, never half of one. A file that
// others may read or write is refused, on Load and Save, with the chmod to
// run. Lock takes an advisory lock on path+".lock" where the operating
// system has one (flock on Unix); elsewhere it only serializes nothing and
// returns at once.
func FileStore(path string) *TokenFile {
	return &TokenFile{path: path}
}

// Load implements [TokenStore]. A missing file is no token.
func (f *TokenFile) Load(context.Context) ([]byte, error) {
	file, err := os.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("vendoroauth: token file: %w", err)
	}
	defer file.Close()
	if err := f.checkMode(file.Stat()); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(file, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("vendoroauth: token file: %w", err)
	}
	return data, nil
}

// Save implements [TokenStore]. A nil tok removes the file.
func (f *TokenFile) Save(_ context.Context, data []byte) error {
	if err := f.checkMode(os.Stat(f.path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if data == nil {
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("vendoroauth: token file: %w", err)
		}
		return nil
	}
	if err := writeFileAtomic(f.path, data); err != nil {
		return fmt.Errorf("vendoroauth: token file: %w", err)
	}
	return nil
}

// checkMode refuses a file that others may read or write.
func (f *TokenFile) checkMode(fi fs.FileInfo, err error) error {
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return fmt.Errorf("vendoroauth: token file: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("vendoroauth: token file %s is open to others (mode %04o); run: chmod 600 %s", f.path, perm, f.path)
	}
	return nil
}

// writeFileAtomic writes data to path through a synced temporary file in
// the same folder, with mode 0600, renamed into place.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil { // make the rename durable; best effort
		d.Sync()
		d.Close()
	}
	return nil
}
