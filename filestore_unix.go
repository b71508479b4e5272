//go:build unix && !aix && !(solaris && !illumos)

package vendoroauth

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"sync"
	"syscall"
)

// checkPerm says whether the permission bits mean what they say here.
const checkPerm = true

// Lock implements [Locker] with an exclusive flock(2) on the token file's
// path+".lock", an advisory lock that the kernel releases when its holder
// exits, so a crashed holder cannot block the others. It excludes other
// processes and, as each call opens the file anew, other goroutines and
// TokenFiles of this process too. It creates the lock file (mode 0600) and
// its folder (mode 0700) if they are missing, never through a symbolic link,
// and refuses a lock file that [TokenFile] does not trust, as it refuses
// the token file, since anyone who can open it can hold the lock.
//
// Lock does not wait: while another holder has the lock it returns an error
// matching [ErrLocked] at once (a source then re-reads the token file). If
// ctx is already done, it returns ctx's error, wrapped. unlock releases the
// lock; calling it again does nothing.
func (f *TokenFile) Lock(ctx context.Context) (unlock func(), err error) {
	name := f.path + ".lock"
	if err := ctx.Err(); err != nil {
		return nil, wrapErr(lockKind+" "+name, nil, err, "")
	}
	if err := f.makeDir(); err != nil {
		return nil, err
	}
	lf, err := openChecked(name, lockKind, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			var once sync.Once
			return func() {
				once.Do(func() {
					syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
					lf.Close()
				})
			}, nil
		case errors.Is(err, syscall.EINTR):
			continue
		}
		lf.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errorf(lockKind+" "+name, ErrLocked, "held by another process or TokenFile")
		}
		return nil, wrapErr(lockKind+" "+name, nil, err, "")
	}
}

// openNoFollow opens name as os.OpenFile does, but fails on a symbolic link
// at name instead of following it (O_NOFOLLOW; with O_CREATE, it creates
// nothing then), never blocks in open(2) on a FIFO or device (O_NONBLOCK),
// and never takes a terminal as the controlling one (O_NOCTTY).
func openNoFollow(name string, flag int, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(name, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_NOCTTY, perm)
}

// owner returns the owner of fi and the effective uid, and whether they are
// the same.
func owner(fi fs.FileInfo) (uid, euid int, ok bool) {
	euid = os.Geteuid()
	st, isStat := fi.Sys().(*syscall.Stat_t)
	if !isStat {
		return -1, euid, false
	}
	return int(st.Uid), euid, int(st.Uid) == euid
}

// isConfigErr reports whether err, from opening a file, says the path can
// never work: no permission, a file where a folder should be, a folder where
// a file should be, a loop of symbolic links.
func isConfigErr(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.ENOTDIR) ||
		errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.ELOOP)
}

// staleTemp reports whether the temporary file e, written by process pid
// (not this one), is stale: its writer no longer exists. A process that
// exists but is not ours (EPERM) keeps its file. kill(2) with signal 0
// sends nothing; a pid of 0 or less, which would name a process group, is
// never stale.
func staleTemp(pid int, _ fs.DirEntry) bool {
	return pid > 0 && errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
