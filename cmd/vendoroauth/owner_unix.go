//go:build unix

package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"syscall"
)

// ownedByUs reports whether fi is owned by the effective user.
func ownedByUs(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// processAlive reports whether the process pid runs, this user's or
// another's. A process that has exited but that its parent has not waited
// for yet (a zombie, as a SIGKILLed serve-fake is until then) does not
// count where /proc tells, as on Linux.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false // kill would signal a process group
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	return !exited(pid)
}

// exited reports whether /proc says that the process pid has exited and
// waits to be reaped: its state, the field after the command name in
// parentheses in /proc/PID/stat, is Z (zombie) or X (dead). Without /proc,
// it reports false.
func exited(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')') // the command name may hold spaces and parentheses
	if i < 0 || i+2 >= len(b) {
		return false
	}
	state := b[i+2]
	return state == 'Z' || state == 'X'
}

// lockDir takes an exclusive flock(2) on the folder dir, waiting for it,
// and returns its release. Serve-fakes claim env files under it, one at a
// time; it leaves no file behind.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil // closing the last descriptor releases the lock
}
