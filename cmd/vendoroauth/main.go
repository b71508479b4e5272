// Command vendoroauth gets, caches and revokes EnduroSat and Formlabs OAuth2
// tokens, runs the fake vendors locally, and demonstrates the token
// lifecycle.
//
// Usage:
//
//	vendoroauth token -vendor endurosat|formlabs [-base-url URL] [-json] [-cache FILE]
//	vendoroauth revoke -vendor endurosat|formlabs [-base-url URL] [-cache FILE] [-token-stdin]
//	vendoroauth serve-fake [-addr 127.0.0.1:0] [-token-lifetime 1h]
//	vendoroauth demo
//	vendoroauth version
//
// Credentials come from the environment, never from flags:
// ENDUROSAT_CLIENT_ID with ENDUROSAT_USERNAME and ENDUROSAT_PASSWORD, or with
// ENDUROSAT_REFRESH_TOKEN; FORMLABS_CLIENT_ID and FORMLABS_CLIENT_SECRET.
//
// Exit status: 0 on success, 1 when the vendor or the network failed, 2 on a
// usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		msg := err.Error()
		if !strings.HasPrefix(msg, "vendoroauth: ") {
			msg = "vendoroauth: " + msg // library errors carry the prefix already
		}
		fmt.Fprintln(os.Stderr, msg)
	}
	os.Exit(exitCode(err))
}

// A usageError is a mistake in the command line or the environment: exit
// status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a usageError.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCode maps run's error to the process exit status.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		return 2
	}
	return 1
}

// An env is what a subcommand gets from its process.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

const usage = `usage: vendoroauth <command> [flags]

commands:
  token       print an access token for curl and scripts
  revoke      revoke a cached or given token
  serve-fake  run fake EnduroSat and Formlabs servers on loopback
  demo        walk through the token lifecycle against built-in fakes
  version     print the module version

Run "vendoroauth <command> -h" for a command's flags and an example.
`

// run parses args and runs one subcommand. It never exits the process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "token":
		return runToken(ctx, rest, e)
	case "revoke":
		return runRevoke(ctx, rest, e)
	case "serve-fake":
		return runServeFake(ctx, rest, e)
	case "demo":
		return runDemo(ctx, rest, e)
	case "version":
		return runVersion(rest, e)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usagef("unknown command %q", cmd)
}

// newFlagSet returns a flag set that reports to stderr and prints help
// with an example.
func newFlagSet(name, synopsis, example string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: vendoroauth %s %s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nexample:\n%s\n", example)
	}
	return fs
}

// parse parses args and refuses positional arguments, so that flags in the
// wrong place are an error rather than silently ignored.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{msg: fs.Name() + ": " + err.Error()}
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q (flags go before arguments; secrets come from the environment)", fs.Name(), fs.Arg(0))
	}
	return nil
}

func runVersion(args []string, e env) error {
	fs := newFlagSet("version", "", "  vendoroauth version", e.stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	v := "(unknown)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = bi.Main.Path + " " + bi.Main.Version
	}
	fmt.Fprintln(e.stdout, v)
	return nil
}
