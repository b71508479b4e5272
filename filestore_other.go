//go:build !unix || aix || (solaris && !illumos)

package vendoroauth

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"runtime"
	"time"
)

// checkPerm says whether the permission bits mean what they say here; on
// Windows they only tell whether the file is read-only.
const checkPerm = runtime.GOOS != "windows"

// staleAfter is how old a temporary file of another process must be to be
// taken as stale, where this package cannot ask whether its writer exists.
const staleAfter = time.Minute

// Lock implements [Locker]. This system has no flock(2) that this package
// uses, so Lock locks nothing: it returns ctx's error, wrapped, if ctx is
// already done, and otherwise returns at once. Processes sharing the file
// may then refresh at the same time; each Save is still atomic. unlock does
// nothing.
func (f *TokenFile) Lock(ctx context.Context) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, wrapErr(lockKind+" "+f.path+".lock", nil, err, "")
	}
	return func() {}, nil
}

// openNoFollow opens name as os.OpenFile does, but fails on a symbolic link
// at name. This system cannot open without following one, so it checks with
// Lstat first and then that it opened the file it checked; a symbolic link
// made between the two checks can still be followed.
func openNoFollow(name string, flag int, perm fs.FileMode) (*os.File, error) {
	before, err := os.Lstat(name)
	switch {
	case err == nil && before.Mode()&fs.ModeSymlink != 0:
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("is a symbolic link")}
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, err
	case err != nil:
		before = nil
	}
	file, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	if before != nil {
		if after, err := file.Stat(); err != nil || !os.SameFile(before, after) {
			file.Close()
			return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("changed while it was opened")}
		}
	}
	return file, nil
}

// owner reports every file as the user's: this package does not read file
// owners on this system.
func owner(fs.FileInfo) (uid, euid int, ok bool) { return 0, 0, true }

// isConfigErr reports whether err, from opening a file, says the path can
// never work.
func isConfigErr(err error) bool { return errors.Is(err, fs.ErrPermission) }

// staleTemp reports whether the temporary file e of process pid (not this
// one) is stale: older than staleAfter, since this package cannot ask here
// whether pid exists.
func staleTemp(_ int, e fs.DirEntry) bool {
	fi, err := e.Info()
	return err == nil && time.Since(fi.ModTime()) > staleAfter
}
