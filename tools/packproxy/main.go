// Command packproxy packs modules from this repository, at a candidate
// version, into a file-system Go module proxy (the layout of the GOPROXY
// protocol: <module>/@v/list, <version>.info, .mod and .zip), so that a
// consumer outside the repository can be built against them with
// GOPROXY=file://DIR before anything is tagged. It is a release tool of its
// own module, so that the root module never depends on golang.org/x/mod.
//
// Usage:
//
//	packproxy -out DIR -version v0.1.0 MODULE_DIR...
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

func main() {
	out := flag.String("out", "", "proxy `directory` to write")
	version := flag.String("version", "", "candidate `version`, such as v0.1.0")
	flag.Parse()
	if err := run(*out, *version, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "packproxy:", err)
		os.Exit(1)
	}
}

func run(out, version string, dirs []string) error {
	if out == "" || version == "" || len(dirs) == 0 {
		return errors.New("usage: packproxy -out DIR -version vX.Y.Z MODULE_DIR...")
	}
	for _, dir := range dirs {
		if err := pack(out, version, dir); err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
	}
	return nil
}

// pack writes the module in dir, at version, into the proxy at out.
func pack(out, version, dir string) error {
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	path := modfile.ModulePath(gomod)
	if path == "" {
		return errors.New("go.mod names no module")
	}
	mv := module.Version{Path: path, Version: version}
	if err := module.Check(mv.Path, mv.Version); err != nil {
		return err
	}
	escaped, err := module.EscapePath(path)
	if err != nil {
		return err
	}
	vdir := filepath.Join(out, escaped, "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return err
	}
	zf, err := os.Create(filepath.Join(vdir, version+".zip"))
	if err != nil {
		return err
	}
	// CreateFromDir leaves out nested modules, vendor folders and files
	// that a module zip may not hold, as the go command does.
	if err := zip.CreateFromDir(zf, mv, dir); err != nil {
		zf.Close()
		return err
	}
	if err := zf.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(vdir, version+".mod"), gomod, 0o644); err != nil {
		return err
	}
	info, _ := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, time.Now().UTC().Truncate(time.Second)})
	if err := os.WriteFile(filepath.Join(vdir, version+".info"), info, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(vdir, "list"), []byte(version+"\n"), 0o644)
}
