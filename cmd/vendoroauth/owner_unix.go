//go:build unix

package main

import (
	"io/fs"
	"os"
	"syscall"
)

// ownedByUs reports whether fi is owned by the effective user.
func ownedByUs(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}
