//go:build unix && !aix && !(solaris && !illumos)

package vendoroauth_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vendoroauth/vendoroauth"
)

// fileSecret is written into every file the tests plant: no error may show
// it.
const fileSecret = "TOKENFILE-s3cr3t-5e1f"

// hangGuard bounds each store call: a call that blocks (on a FIFO, say)
// fails the test instead of hanging it. It is never waited out when the code
// is right.
const hangGuard = 10 * time.Second

// A fileCase is a path with something (or nothing) planted at it, and what
// each TokenFile method must make of it.
type fileCase struct {
	name string
	// plant prepares root and returns the token file path.
	plant func(t *testing.T, root string) string
	// want is the outcome of Load, Save(data), Save(nil) and Lock: "" for
	// success, otherwise a phrase of the ErrInvalidConfig error.
	load, save, clear, lock string
	// loaded is what a successful Load returns.
	loaded []byte
}

func writeFile(t *testing.T, name string, data string, perm fs.FileMode) {
	t.Helper()
	require.NoError(t, os.WriteFile(name, []byte(data), perm))
	require.NoError(t, os.Chmod(name, perm)) // whatever the umask
}

func mkfifo(t *testing.T, name string) {
	t.Helper()
	require.NoError(t, syscall.Mknod(name, syscall.S_IFIFO|0o600, 0)) // mkfifo(3); illumos has no syscall.Mkfifo
}

// listen makes a Unix socket at name, which open(2) cannot open.
func listen(t *testing.T, name string) {
	t.Helper()
	l, err := net.Listen("unix", name)
	require.NoError(t, err)
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	t.Cleanup(func() { l.Close() })
}

var fileCases = []fileCase{
	{
		name:  "missing file",
		plant: func(t *testing.T, root string) string { return filepath.Join(root, "token.json") },
	},
	{
		name: "good file",
		plant: func(t *testing.T, root string) string {
			p := filepath.Join(root, "token.json")
			writeFile(t, p, fileSecret, 0o600)
			return p
		},
		loaded: []byte(fileSecret),
	},
	{
		name: "file open to others",
		plant: func(t *testing.T, root string) string {
			p := filepath.Join(root, "token.json")
			writeFile(t, p, fileSecret, 0o644)
			return p
		},
		load: "chmod 600", save: "chmod 600", clear: "chmod 600",
	},
	{
		name: "file writable by group",
		plant: func(t *testing.T, root string) string {
			p := filepath.Join(root, "token.json")
			writeFile(t, p, fileSecret, 0o620)
			return p
		},
		load: "mode 0620", save: "mode 0620", clear: "mode 0620",
	},
	{
		name: "lock file open to others",
		plant: func(t *testing.T, root string) string {
			p := filepath.Join(root, "token.json")
			writeFile(t, p, fileSecret, 0o600)
			writeFile(t, p+".lock", fileSecret, 0o604)
			return p
		},
		loaded: []byte(fileSecret),
		lock:   "chmod 600",
	},
	{
		name: "symlink to a good file",
		plant: func(t *testing.T, root string) string {
			target := filepath.Join(root, "elsewhere", "real.json")
			require.NoError(t, os.Mkdir(filepath.Dir(target), 0o700))
			writeFile(t, target, fileSecret, 0o600)
			p := filepath.Join(root, "token.json")
			require.NoError(t, os.Symlink(target, p))
			return p
		},
		load: "is a symbolic link", save: "is a symbolic link", clear: "is a symbolic link",
	},
	{
		name: "dangling symlink",
		plant: func(t *testing.T, root string) string {
			p := filepath.Join(root, "token.json")
			require.NoError(t, os.Symlink(filepath.Join(root, "target.json"), p))
			return p
		},
		load: "is a symbolic link", save: "is a symbolic link", clear: "is a symbolic link",
	},
	{
		name: "dangling symlink at the lock path",
		plant: func(t *testing.T, root string) string {
			p := filepath.Join(root, "token.json")
			require.NoError(t, os.Symlink(filepath.Join(root, "target.lock"), p+".lock"))
			return p
		},
		lock: "is a symbolic link",
	},
	{
		name: "symlink at the lock path to a good file",
		plant: func(t *testing.T, root string) string {
			p := filepath.Join(root, "token.json")
			writeFile(t, filepath.Join(root, "target.lock"), fileSecret, 0o600)
			require.NoError(t, os.Symlink(filepath.Join(root, "target.lock"), p+".lock"))
			return p
		},
		lock: "is a symbolic link",
	},
	{
		name: "FIFO",
		plant: func(t *testing.T, root string) string {
			p := filepath.Join(root, "token.json")
			mkfifo(t, p)
			return p
		},
		load: "not a regular file", save: "not a regular file", clear: "not a regular file",
	},
	{
		name: "FIFO at the lock path",
		plant: func(t *testing.T, root string) string {
			p := filepath.Join(root, "token.json")
			mkfifo(t, p+".lock")
			return p
		},
		lock: "not a regular file",
	},
	{
		name: "device",
		plant: func(t *testing.T, root string) string {
			p := filepath.Join(root, "token.json")
			if err := syscall.Mknod(p, syscall.S_IFCHR|0o600, 0x0103); err != nil {
				t.Skipf("cannot make a device node here: %v", err)
			}
			return p
		},
		load: "not a regular file", save: "not a regular file", clear: "not a regular file",
	},
	{
		name: "socket",
		plant: func(t *testing.T, root string) string {
			p := filepath.Join(root, "token.json")
			listen(t, p)
			return p
		},
		load: "not a regular file", save: "not a regular file", clear: "not a regular file",
	},
	{
		name: "socket at the lock path",
		plant: func(t *testing.T, root string) string {
			p := filepath.Join(root, "token.json")
			listen(t, p+".lock")
			return p
		},
		lock: "not a regular file",
	},
	{
		name: "directory",
		plant: func(t *testing.T, root string) string {
			p := filepath.Join(root, "token.json")
			require.NoError(t, os.Mkdir(p, 0o700))
			writeFile(t, filepath.Join(p, "inside"), fileSecret, 0o600)
			return p
		},
		load: "is a folder, not a file; point FileStore at a file inside it", save: "is a folder", clear: "is a folder",
	},
	{
		name: "directory at the lock path",
		plant: func(t *testing.T, root string) string {
			p := filepath.Join(root, "token.json")
			require.NoError(t, os.Mkdir(p+".lock", 0o700))
			return p
		},
		lock: "is a folder",
	},
	{
		name: "missing parent folders",
		plant: func(t *testing.T, root string) string {
			return filepath.Join(root, "a", "b", "token.json")
		},
	},
	{
		name: "parent under a regular file",
		plant: func(t *testing.T, root string) string {
			writeFile(t, filepath.Join(root, "file"), fileSecret, 0o600)
			return filepath.Join(root, "file", "sub", "token.json")
		},
		load: "not a directory", save: "not a directory", clear: "not a directory", lock: "cannot create its folder",
	},
}

// TestTokenFileCases runs each TokenFile method against each planted path.
// A refused call must match ErrInvalidConfig, say what is wrong, leave
// every file as it was (and create none, not even a symbolic link's
// target), and never show the file's content.
func TestTokenFileCases(t *testing.T) {
	data := []byte(`{"record":"new"}`)
	for _, tc := range fileCases {
		t.Run(tc.name, func(t *testing.T) {
			ops := []struct {
				name string
				want string
				run  func(*vendoroauth.TokenFile) error
			}{
				{"Load", tc.load, func(f *vendoroauth.TokenFile) error {
					got, err := f.Load(t.Context())
					if err == nil {
						assert.Equal(t, tc.loaded, got, "Load()")
					}
					return err
				}},
				{"Save", tc.save, func(f *vendoroauth.TokenFile) error {
					err := f.Save(t.Context(), data)
					if err == nil {
						got, lerr := f.Load(t.Context())
						require.NoError(t, lerr, "Load() after Save()")
						assert.Equal(t, data, got, "Load() after Save()")
					}
					return err
				}},
				{"Save(nil)", tc.clear, func(f *vendoroauth.TokenFile) error {
					err := f.Save(t.Context(), nil)
					if err == nil {
						got, lerr := f.Load(t.Context())
						assert.NoError(t, lerr, "Load() after Save(nil)")
						assert.Nil(t, got, "Load() after Save(nil)")
					}
					return err
				}},
				{"Lock", tc.lock, func(f *vendoroauth.TokenFile) error {
					unlock, err := f.Lock(t.Context())
					if err == nil {
						unlock()
						unlock() // a second call does nothing
					}
					return err
				}},
			}
			for _, op := range ops {
				t.Run(op.name, func(t *testing.T) {
					root := t.TempDir()
					path := tc.plant(t, root)
					before := snapshot(t, root)
					err := prompt(t, func() error { return op.run(vendoroauth.FileStore(path)) })
					if err != nil {
						assert.NotContains(t, err.Error(), fileSecret, "the error shows the file's content")
					}
					if op.want == "" {
						require.NoError(t, err)
						return
					}
					require.ErrorIs(t, err, vendoroauth.ErrInvalidConfig)
					assert.Contains(t, err.Error(), op.want)
					assert.Contains(t, err.Error(), root, "the error names the file")
					assert.Equal(t, before, snapshot(t, root), "a refused call changed the files")
				})
			}
		})
	}
}

// prompt runs f and returns its error, failing the test if f has not
// returned within hangGuard.
func prompt(t *testing.T, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(hangGuard):
		t.Fatalf("the call has not returned after %v", hangGuard)
		return nil
	}
}

// snapshot describes every file under root: kind, mode, owner, and the
// content of regular files or the target of symbolic links. It opens no
// FIFO or device.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		desc := fmt.Sprintf("%v uid %d", fi.Mode(), fi.Sys().(*syscall.Stat_t).Uid)
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += " " + string(b)
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
		}
		files[p] = desc
		return nil
	})
	require.NoError(t, err)
	return files
}

func TestTokenFileCreatesFolders(t *testing.T) {
	for _, op := range []string{"Save", "Lock"} {
		t.Run(op, func(t *testing.T) {
			root := t.TempDir()
			path := filepath.Join(root, "a", "b", "token.json")
			f := vendoroauth.FileStore(path)

			got, err := f.Load(t.Context())
			require.NoError(t, err)
			require.Nil(t, got)
			require.NoDirExists(t, filepath.Join(root, "a"), "Load created a folder")

			if op == "Save" {
				require.NoError(t, f.Save(t.Context(), []byte("x")))
			} else {
				unlock, err := f.Lock(t.Context())
				require.NoError(t, err)
				unlock()
			}
			for _, dir := range []string{filepath.Join(root, "a"), filepath.Join(root, "a", "b")} {
				fi, err := os.Stat(dir)
				require.NoError(t, err)
				assert.Equal(t, fs.FileMode(0o700), fi.Mode().Perm(), "mode of %s", dir)
			}
		})
	}
}

// TestTokenFileModes checks that the files are 0600 whatever the umask:
// none (0), which must not widen them, and one that drops the owner's write
// bit (0277), which Save must not keep either.
func TestTokenFileModes(t *testing.T) {
	for _, umask := range []int{0, 0o277} {
		t.Run(fmt.Sprintf("umask %04o", umask), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "token.json")
			f := vendoroauth.FileStore(path)
			old := syscall.Umask(umask)
			err := f.Save(t.Context(), []byte("x"))
			syscall.Umask(old)
			require.NoError(t, err)
			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, fs.FileMode(0o600), fi.Mode().Perm(), "mode of the token file")
		})
	}
	path := filepath.Join(t.TempDir(), "token.json")
	old := syscall.Umask(0)
	unlock, err := vendoroauth.FileStore(path).Lock(t.Context())
	syscall.Umask(old)
	require.NoError(t, err)
	unlock()
	fi, err := os.Stat(path + ".lock")
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o600), fi.Mode().Perm(), "mode of the lock file")
}

// TestTokenFileForeignOwner checks that a file of another user is refused
// even when its mode is right, and left as it is.
func TestTokenFileForeignOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to give a file to another user; run the tests as root (in a container, say) to cover it")
	}
	const nobody = 65534
	chowned := func(t *testing.T, name string) {
		t.Helper()
		writeFile(t, name, fileSecret, 0o600)
		require.NoError(t, os.Chown(name, nobody, nobody))
	}
	check := func(t *testing.T, root string, err error) {
		t.Helper()
		require.ErrorIs(t, err, vendoroauth.ErrInvalidConfig)
		assert.Contains(t, err.Error(), "owned by uid 65534")
		assert.NotContains(t, err.Error(), fileSecret)
	}

	t.Run("token file", func(t *testing.T) {
		root := t.TempDir()
		path := filepath.Join(root, "token.json")
		chowned(t, path)
		before := snapshot(t, root)
		f := vendoroauth.FileStore(path)
		_, err := f.Load(t.Context())
		check(t, root, err)
		check(t, root, f.Save(t.Context(), []byte("new")))
		check(t, root, f.Save(t.Context(), nil))
		unlock, err := f.Lock(t.Context()) // the lock file is ours
		require.NoError(t, err)
		unlock()
		require.NoError(t, os.Remove(path+".lock"))
		assert.Equal(t, before, snapshot(t, root), "the foreign file changed")
	})
	t.Run("lock file", func(t *testing.T) {
		root := t.TempDir()
		path := filepath.Join(root, "token.json")
		chowned(t, path+".lock")
		before := snapshot(t, root)
		_, err := vendoroauth.FileStore(path).Lock(t.Context())
		check(t, root, err)
		assert.Equal(t, before, snapshot(t, root), "the foreign lock file changed")
	})
}

func TestTokenFileSizeLimit(t *testing.T) {
	const limit = 1 << 20
	path := filepath.Join(t.TempDir(), "token.json")
	big := bytes.Repeat([]byte(fileSecret), limit/len(fileSecret)+1)[:limit]
	writeFile(t, path, string(big), 0o600)
	got, err := vendoroauth.FileStore(path).Load(t.Context())
	require.NoError(t, err, "a file of exactly 1 MiB")
	assert.True(t, bytes.Equal(big, got), "Load() of 1 MiB returned other bytes")

	writeFile(t, path, string(big)+"x", 0o600)
	got, err = vendoroauth.FileStore(path).Load(t.Context())
	require.Error(t, err, "a file of 1 MiB and a byte")
	assert.Nil(t, got)
	assert.NotErrorIs(t, err, vendoroauth.ErrInvalidConfig, "a large file is a passing failure, not a config error")
	assert.NotContains(t, err.Error(), fileSecret)
}

func TestTokenFileDoneContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	root := t.TempDir()
	path := filepath.Join(root, "a", "token.json")
	f := vendoroauth.FileStore(path)
	_, err := f.Load(ctx)
	assert.ErrorIs(t, err, context.Canceled, "Load")
	assert.ErrorIs(t, f.Save(ctx, []byte("x")), context.Canceled, "Save")
	_, err = f.Lock(ctx)
	assert.ErrorIs(t, err, context.Canceled, "Lock")
	assert.NoDirExists(t, filepath.Dir(path), "a call with a done ctx made a folder")
}

// TestTokenFileLockExcludes: while one TokenFile holds the lock, another
// on the same path gets ErrLocked at once, without waiting; once the
// holder unlocks, it gets the lock.
func TestTokenFileLockExcludes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token.json")
	unlock, err := vendoroauth.FileStore(path).Lock(t.Context())
	require.NoError(t, err)

	_, err = prompt2(t, func() (func(), error) { return vendoroauth.FileStore(path).Lock(t.Context()) })
	require.ErrorIs(t, err, vendoroauth.ErrLocked, "Lock() while another holder has the lock")

	unlock()
	again, err := prompt2(t, func() (func(), error) { return vendoroauth.FileStore(path).Lock(t.Context()) })
	require.NoError(t, err, "Lock() once the holder unlocked")
	again()
}

func prompt2[T any](t *testing.T, f func() (T, error)) (T, error) {
	t.Helper()
	var v T
	err := prompt(t, func() error {
		var err error
		v, err = f()
		return err
	})
	return v, err
}

// temps returns the names of the temporary files of token.json in dir.
func temps(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			names = append(names, e.Name())
		}
	}
	return names
}

// TestTokenFileConcurrentSaves saves from many goroutines through several
// TokenFiles of one path: no Save may remove a temporary file that another
// is writing, each Save writes a whole record, and none is left over.
func TestTokenFileConcurrentSaves(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token.json")
	const writers, saves = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*saves)
	for w := range writers {
		wg.Go(func() {
			f := vendoroauth.FileStore(path)
			for i := range saves {
				errs <- f.Save(t.Context(), record(w, i))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got, err := vendoroauth.FileStore(path).Load(t.Context())
	require.NoError(t, err)
	requireRecord(t, got)
	assert.Empty(t, temps(t, dir))
}

// recordSize is the size of the records that record makes: large enough
// that a write takes a while.
const recordSize = 256 << 10

// record returns a recognisable record of recordSize bytes for writer w's
// i-th Save.
func record(w, i int) []byte {
	unit := fmt.Appendf(nil, "%08d-%08d|", w, i)
	return bytes.Repeat(unit, recordSize/len(unit)+1)[:recordSize]
}

// requireRecord fails the test unless data is one whole record.
func requireRecord(t *testing.T, data []byte) {
	t.Helper()
	require.Len(t, data, recordSize, "the file holds part of a record")
	unit := data[:18]
	require.True(t, bytes.Equal(data, bytes.Repeat(unit, recordSize/len(unit)+1)[:recordSize]), "the file mixes records")
}

// TestTokenFileRemovesStaleTemps plants temporary files of several writers
// and checks which a successful Save, or Save(nil), removes: those of a
// process that is gone and this process's own that no Save writes; not those
// of a live process, nor files this package did not name.
func TestTokenFileRemovesStaleTemps(t *testing.T) {
	gone := exec.Command(os.Args[0], "-test.run=^$")
	gone.Env = childEnviron()
	require.NoError(t, gone.Run())
	dead := gone.Process.Pid
	require.ErrorIs(t, syscall.Kill(dead, 0), syscall.ESRCH, "the pid of an exited child is in use again; run the test again")
	live := os.Getppid() // alive, and perhaps another user's (EPERM): kept either way
	if err := syscall.Kill(live, 0); err != nil {
		require.ErrorIs(t, err, syscall.EPERM)
	}
	self := os.Getpid()

	name := func(pid int, random string) string {
		return ".token.json.tmp-" + strconv.Itoa(pid) + "-" + random
	}
	const random = "0123456789abcdef"
	stale := []string{name(dead, random), name(self, random)}
	kept := []string{
		name(live, random),
		name(dead, random[1:]),                                  // random part too short
		name(dead, random+"01"),                                 // random part too long
		name(dead, "0123456789abcdeg"),                          // not hex
		".token.json.tmp-0-" + random,                           // pid 0: a process group, never ours
		".token.json.tmp-0" + strconv.Itoa(dead) + "-" + random, // not how we write a pid
		".token.json.tmp-+" + strconv.Itoa(dead) + "-" + random, // nor this
		".other.json.tmp-1-" + random,                           // another token file's
		"token.json.tmp-1-" + random,                            // no dot
		".token.json.tmp" + random,                              // the old CreateTemp names are not ours to guess
		".token.json.tmp-x-" + random[1:],                       // no pid
	}
	for _, clear := range []bool{false, true} {
		t.Run(fmt.Sprintf("clear=%v", clear), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "token.json")
			for _, n := range append(stale, kept...) {
				writeFile(t, filepath.Join(dir, n), fileSecret, 0o600)
			}
			data := []byte("x")
			if clear {
				data = nil
			}
			require.NoError(t, vendoroauth.FileStore(path).Save(t.Context(), data))
			left := temps(t, dir)
			for _, n := range stale {
				assert.NotContains(t, left, n, "a stale temporary file is left")
			}
			for _, n := range kept {
				assert.Contains(t, left, n, "a file that is not stale was removed")
			}
		})
	}
}

// TestTokenFileConfigErrorsReachToken checks that a token source returns a
// refused file's error from Token, as WithStore says.
func TestTokenFileConfigErrorsReachToken(t *testing.T) {
	srv := newFormlabs(t)
	path := filepath.Join(t.TempDir(), "token.json")
	writeFile(t, path, fileSecret, 0o644)
	src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret,
		append(at(srv.URL, srv.Client()), vendoroauth.WithStore(vendoroauth.FileStore(path)))...)
	defer src.Close()
	_, err := src.Token()
	require.ErrorIs(t, err, vendoroauth.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "chmod 600 "+path)
	assert.NotContains(t, err.Error(), fileSecret)
	assert.Zero(t, srv.TokenRequests(), "the source asked the vendor despite the refused store")
}

// TestTokenFileNoPermission checks that a folder the process may not enter
// is a config error: the store can never work there.
func TestTokenFileNoPermission(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may enter any folder; run the tests as another user to cover it")
	}
	closed := filepath.Join(t.TempDir(), "closed")
	require.NoError(t, os.Mkdir(closed, 0o700))
	writeFile(t, filepath.Join(closed, "token.json"), fileSecret, 0o600)
	require.NoError(t, os.Chmod(closed, 0))
	t.Cleanup(func() { os.Chmod(closed, 0o700) })
	f := vendoroauth.FileStore(filepath.Join(closed, "token.json"))
	_, err := f.Load(t.Context())
	require.ErrorIs(t, err, vendoroauth.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "permission denied")
	require.ErrorIs(t, f.Save(t.Context(), []byte("x")), vendoroauth.ErrInvalidConfig)
	_, err = f.Lock(t.Context())
	require.ErrorIs(t, err, vendoroauth.ErrInvalidConfig)
}
