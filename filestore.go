package vendoroauth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// A TokenFile is a [TokenStore] and [Locker] that keeps a token source's
// record in one file on the local machine. Make one with [FileStore]. Its
// methods are safe for concurrent use by multiple goroutines, and by several
// processes that share the file; any number of TokenFile values may name the
// same file.
//
// The record holds live tokens, so a TokenFile trusts only a file it could
// have written itself. Load, Save and Lock refuse, with an error matching
// [ErrInvalidConfig] that says what to do:
//   - a symbolic link at the token path or the lock path (symbolic links in
//     the folders above it are followed);
//   - anything that is not a regular file: a folder, a FIFO, a socket, a
//     device;
//   - a file not owned by the process's effective user id, as OpenSSH
//     refuses such a key (on Unix: see [FileStore]);
//   - a file that others may read or write (any of the mode bits 0077; not
//     on Windows);
//   - a path that cannot work at all: a folder that cannot be created, or
//     one the process may not enter.
//
// Errors never hold the file's content. Other errors (a read or write
// failure, a file larger than 1 MiB) do not match ErrInvalidConfig, so a
// token source logs them and carries on without the store.
type TokenFile struct {
	path string
}

// FileStore returns a [TokenFile] that keeps the record in the file at
// path, with mode 0600, and locks with the file path+".lock". It touches no
// file until a method is called.
//
// Save writes atomically: the record goes to a temporary file in the same
// folder, named ".<name>.tmp-<pid>-<random>" with mode 0600, which is
// synced and renamed over path, and the folder is synced. A reader sees the
// old record or the new one, never part of one, even if the writer is
// killed. After each successful Save, temporary files of path that a
// crashed writer left behind are removed: on Unix those of processes that no
// longer exist, elsewhere those older than a minute. Save, and Lock where it
// locks, create path's folder, with mode 0700, if it is missing.
//
// Lock takes an exclusive flock(2) on path+".lock" on Linux, Android, macOS,
// iOS, the BSDs and illumos; the kernel drops it when its holder exits, so a
// crashed holder blocks nobody. Elsewhere (Windows, Solaris, AIX, Plan 9,
// Wasm) Lock locks nothing and returns at once: processes that share the
// file may then refresh at the same time, and each Save is still atomic.
//
// On the systems where Lock locks, the checks that TokenFile documents are
// made on the opened file (fstat), not on the path, and a symbolic link is
// never followed (O_NOFOLLOW). Elsewhere they are made with Lstat just
// before opening, which a local user who may write the folder could race;
// no file owner is checked, and on Windows no mode either, since its mode
// bits only say whether a file is read-only.
func FileStore(path string) *TokenFile {
	return &TokenFile{path: path}
}

// Names of the files a TokenFile uses, for error messages.
const (
	tokenKind = "token file"
	lockKind  = "token lock file"
)

// Load implements [TokenStore]. It returns the file's content, or nil and
// no error when the file does not exist; it never creates a file or a
// folder. A file larger than 1 MiB is an error. If ctx is already done,
// Load returns ctx's error, wrapped, and reads nothing. Load does not block:
// a FIFO or device at the path is refused without waiting for a writer. The
// returned slice is the caller's.
func (f *TokenFile) Load(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, wrapErr(tokenKind+" "+f.path, nil, err, "")
	}
	file, err := openChecked(f.path, tokenKind, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxResponseBytes+1))
	if err != nil {
		return nil, wrapErr(tokenKind+" "+f.path, nil, pathErr(err), "")
	}
	if len(data) > maxResponseBytes {
		return nil, errorf(tokenKind+" "+f.path, ErrCorruptRecord, "larger than %d bytes", maxResponseBytes)
	}
	return data, nil
}

// Save implements [TokenStore]. It replaces the file atomically with data,
// mode 0600, creating the folder (mode 0700) if needed; a nil data removes
// the file, and a missing file is then no error. Either way it first
// refuses, leaving it as it is, an existing file that [TokenFile] does not
// trust, and afterwards removes stale temporary files (see [FileStore]).
// Concurrent Saves, in one process or several, each write a whole record;
// the last rename wins. If ctx is already done, Save returns ctx's error,
// wrapped, and changes nothing; once started, a Save runs to the end (it
// only writes a local file).
func (f *TokenFile) Save(ctx context.Context, data []byte) error {
	if err := ctx.Err(); err != nil {
		return wrapErr(tokenKind+" "+f.path, nil, err, "")
	}
	old, err := openChecked(f.path, tokenKind, os.O_RDONLY, 0)
	switch {
	case err == nil:
		old.Close()
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if data == nil {
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return wrapErr(tokenKind+" "+f.path, nil, pathErr(err), "")
		}
		f.removeStaleTemps()
		return nil
	}
	if err := f.makeDir(); err != nil {
		return err
	}
	if err := f.write(data); err != nil {
		return wrapErr(tokenKind+" "+f.path, nil, pathErr(err), "")
	}
	f.removeStaleTemps()
	return nil
}

// openChecked opens name (the token file or its lock file, as kind says)
// with flag, without following a symbolic link, and refuses what it opened
// unless it is a regular file of this user that others may not read or
// write. A missing file is an error matching fs.ErrNotExist.
func openChecked(name, kind string, flag int, perm fs.FileMode) (*os.File, error) {
	file, err := openNoFollow(name, flag, perm)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		// What is at name, for a clearer message (a folder or socket that
		// open refuses, another user's file); the open has failed anyway.
		if fi, lerr := os.Lstat(name); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, refuse(kind, name, "is a symbolic link; replace it with the file itself, or point FileStore at the real path")
		} else if lerr == nil && trust(name, kind, fi) != nil {
			return nil, trust(name, kind, fi)
		}
		if isConfigErr(err) {
			return nil, wrapErr(kind+" "+name, ErrInvalidConfig, pathErr(err), "cannot be opened")
		}
		return nil, wrapErr(kind+" "+name, nil, pathErr(err), "")
	}
	fi, err := file.Stat()
	if err == nil {
		err = trust(name, kind, fi)
	} else {
		err = wrapErr(kind+" "+name, nil, pathErr(err), "")
	}
	if err != nil {
		file.Close()
		return nil, err
	}
	return file, nil
}

// trust returns nil if fi, the opened file name, is a regular file of this
// user that others may not read or write, and otherwise an ErrInvalidConfig
// error saying what is wrong and what to do.
func trust(name, kind string, fi fs.FileInfo) error {
	switch mode := fi.Mode(); {
	case mode.IsDir() && kind == tokenKind:
		return refuse(kind, name, "is a folder, not a file; point FileStore at a file inside it")
	case mode.IsDir():
		return refuse(kind, name, "is a folder, not a file; remove it")
	case !mode.IsRegular():
		return refuse(kind, name, fmt.Sprintf("is not a regular file (mode %v); remove it", mode.Type()))
	}
	if uid, euid, ok := owner(fi); !ok {
		return refuse(kind, name, fmt.Sprintf("is owned by uid %d, not by uid %d that runs this process; remove it, or run: chown %d %s", uid, euid, euid, name))
	}
	if perm := fi.Mode().Perm(); checkPerm && perm&0o077 != 0 {
		return refuse(kind, name, fmt.Sprintf("is open to others (mode %04o); run: chmod 600 %s", perm, name))
	}
	return nil
}

// refuse returns the ErrInvalidConfig error for a file that is not to be
// trusted.
func refuse(kind, name, problem string) error {
	return errorf(kind+" "+name, ErrInvalidConfig, "%s", problem)
}

// pathErr returns the cause inside a *fs.PathError or *os.LinkError, whose
// own text repeats the path, or err itself.
func pathErr(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	if le, ok := errors.AsType[*os.LinkError](err); ok {
		return le.Err
	}
	return err
}

// makeDir creates the token file's folder, mode 0700, if it is missing. A
// folder that cannot be created is an ErrInvalidConfig error.
func (f *TokenFile) makeDir() error {
	dir := filepath.Dir(f.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return wrapErr(tokenKind+" "+f.path, ErrInvalidConfig, pathErr(err), "cannot create its folder %s", dir)
	}
	return nil
}

// write replaces the file with data through a synced temporary file in the
// same folder, with mode 0600, renamed into place; then it syncs the folder,
// so that the rename survives a crash.
func (f *TokenFile) write(data []byte) (err error) {
	dir := filepath.Dir(f.path)
	name := tempName(filepath.Base(f.path))
	tmpPath := filepath.Join(dir, name)
	writing.add(name)
	defer writing.remove(name) // after the failed file is removed, below
	tmp, err := openNoFollow(tmpPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmpPath)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil { // whatever the umask
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
	if err := os.Rename(tmpPath, f.path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil { // best effort: not every system syncs a folder
		d.Sync()
		d.Close()
	}
	return nil
}

// tempLen is the length of the random part of a temporary file's name.
const tempLen = 16

// tempName returns a fresh name for a temporary file of the token file
// base: ".<base>.tmp-<pid>-<16 hex digits>". The pid says whose it is.
func tempName(base string) string {
	var b [tempLen / 2]byte
	rand.Read(b[:])
	return "." + base + ".tmp-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:])
}

// tempPID returns the pid in name if name is a temporary file name that
// tempName makes for base.
func tempPID(name, base string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "."+base+".tmp-")
	if !ok {
		return 0, false
	}
	digits, random, ok := strings.Cut(rest, "-")
	if !ok || len(random) != tempLen {
		return 0, false
	}
	if _, err := hex.DecodeString(random); err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(digits)
	if err != nil || pid <= 0 || strconv.Itoa(pid) != digits {
		return 0, false
	}
	return pid, true
}

// writing holds the names of the temporary files that this process's Saves
// are writing, of any TokenFile, so that one Save never removes the file
// another one is writing. The names hold the pid and a random part, so they
// never collide.
var writing tempSet

// A tempSet is a set of temporary file names. Its zero value is empty and
// ready to use.
type tempSet struct {
	mu    sync.Mutex          // protects names
	names map[string]struct{} // lazily initialized
}

func (s *tempSet) add(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.names == nil {
		s.names = make(map[string]struct{})
	}
	s.names[name] = struct{}{}
}

func (s *tempSet) remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.names, name)
}

func (s *tempSet) has(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.names[name]
	return ok
}

// removeStaleTemps removes the temporary files of the token file that no
// Save is writing: this process's, unless a Save of it is writing the file,
// and those whose writer is gone (staleTemp). It is best effort: it reports
// nothing.
func (f *TokenFile) removeStaleTemps() {
	dir, base := filepath.Dir(f.path), filepath.Base(f.path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	self := os.Getpid()
	for _, e := range entries {
		pid, ok := tempPID(e.Name(), base)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if pid == self && writing.has(e.Name()) || pid != self && !staleTemp(pid, e) {
			continue
		}
		os.Remove(filepath.Join(dir, e.Name()))
	}
}
