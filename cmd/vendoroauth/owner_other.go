//go:build !unix

package main

import (
	"io/fs"
	"os"
)

// ownedByUs reports true: there is no file owner to check here, as
// FileStore checks none either.
func ownedByUs(fs.FileInfo) bool { return true }

// processAlive reports whether the process pid exists. On Windows,
// [os.FindProcess] fails for one that does not; elsewhere it always
// succeeds, so that an env file's owner is taken to run until its file is
// removed by hand.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}

// lockDir takes no lock here, where this command uses no file locking:
// two serve-fakes starting at once on one stale env file may both replace
// it.
func lockDir(string) (unlock func(), err error) { return func() {}, nil }
