package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

func runVersion(_ context.Context, args []string, e env) error {
	fs := newFlagSet("version", "", "Version prints the module version of this build and the Go version; vendoroauth -v and --version do the same.", "  vendoroauth version")
	if err := fs.parse(args, e.stdout); err != nil {
		return err
	}
	bi, ok := debug.ReadBuildInfo()
	if _, err := fmt.Fprintln(e.stdout, versionLine(bi, ok)); err != nil {
		return fmt.Errorf("vendoroauth: write standard output: %w", err)
	}
	return nil
}

// versionLine describes a build: the module version, else the VCS revision,
// and "(devel)" only when there is neither; then the Go version and the
// platform.
func versionLine(bi *debug.BuildInfo, ok bool) string {
	version, goVersion := "(unknown)", runtime.Version()
	if ok && bi != nil {
		version = bi.Main.Version
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		if version == "" || version == "(devel)" {
			version = "(devel)"
			var rev, modified string
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					modified = s.Value
				}
			}
			if rev != "" {
				if len(rev) > 12 {
					rev = rev[:12]
				}
				version = "devel " + rev
				if modified == "true" {
					version += "+dirty"
				}
			}
		}
	}
	return fmt.Sprintf("vendoroauth %s (%s %s/%s)", version, goVersion, runtime.GOOS, runtime.GOARCH)
}
