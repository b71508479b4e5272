package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/vendoroauth/vendoroauth"
)

// An env is what a command gets from its process.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	// cacheOpener opens the cache file at path; nil means
	// [vendoroauth.FileStore]. Tests replace it.
	cacheOpener func(path string) cacheStore
}

// A command is one of vendoroauth's subcommands.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, e env) error
}

// commands returns the subcommands, in the order help lists them.
func commands() []command {
	return []command{
		{"token", "print an access token, for curl and scripts", runToken},
		{"status", "print the cached token's expiry, refresh time and age", runStatus},
		{"revoke", "revoke the cached token, or one read from standard input", runRevoke},
		{"serve-fake", "serve fake EnduroSat and Formlabs APIs on loopback", runServeFake},
		{"wait-fake", "wait until serve-fake answers", runWaitFake},
		{"demo", "walk through the token lifecycle against built-in fakes", runDemo},
		{"version", "print the module version and the Go version (also: -v, --version)", runVersion},
		{"help", "print this help, or a command's", runHelp},
	}
}

// run parses args and runs one command. It never exits the process. An
// error it returns is for [report]; a failed write to stdout is one.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runEnv(ctx, args, env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr})
}

// runEnv is run with its process handles in e.
func runEnv(ctx context.Context, args []string, e env) error {
	out := &stickyWriter{w: e.stdout}
	e.stdout = out
	err := dispatch(ctx, args, e)
	if out.err != nil && (err == nil || errors.Is(err, errHelp) || errors.Is(err, errReported)) {
		err = fmt.Errorf("vendoroauth: write standard output: %w", out.err)
	}
	return err
}

func dispatch(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, topUsage(e))
		return usagef("no command given")
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fmt.Fprint(e.stdout, topUsage(e))
		return nil
	case "-v", "-version", "--version":
		return runVersion(ctx, args[1:], e)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], e)
		}
	}
	// The word is not echoed: it may be a secret pasted in the wrong place.
	return usagef("unknown command (the commands are %s; run: vendoroauth help)", commandNames())
}

// commandNames lists the commands for error messages.
func commandNames() string {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	return strings.Join(names, ", ")
}

// topUsage is the top-level help.
func topUsage(e env) string {
	var b strings.Builder
	b.WriteString("usage: vendoroauth <command> [flags]\n\n")
	b.WriteString("vendoroauth gets, caches and revokes EnduroSat and Formlabs OAuth2 tokens.\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-11s %s\n", c.name, c.summary)
	}
	cache := "<cache>/vendoroauth"
	if dir, err := userCacheDir(e.getenv); err == nil {
		cache = filepath.Join(dir, "vendoroauth")
	}
	fmt.Fprintf(&b, `
environment (credentials come from here or standard input, never from flags):
  ENDUROSAT_CLIENT_ID      EnduroSat client id
  ENDUROSAT_USERNAME       with ENDUROSAT_PASSWORD: log in with the password grant
  ENDUROSAT_PASSWORD
  ENDUROSAT_REFRESH_TOKEN  or: start from a refresh token (a rotated one is kept in the cache)
  FORMLABS_CLIENT_ID       Formlabs client id
  FORMLABS_CLIENT_SECRET   Formlabs client secret
  %-24s base URL of both vendors when -base-url is not given (serve-fake's env file sets it)
  XDG_CACHE_HOME, HOME     where the cache lives

cache: tokens are kept between runs in a 0600 file per vendor, client id, base URL
  and EnduroSat user, in %s; -cache FILE picks another file, -cache off turns it off.

exit status:
  0  success, or help was asked for
  1  the vendor or the network failed, standard output could not be written,
     or status found no valid cached token
  2  a usage or configuration error: a bad command, flag or URL, missing credentials,
     a cache file that is not the user's own
  4  the vendor rejected the credentials: a wrong client secret or password, a
     refresh token that was revoked or has expired; retrying will not help

Run "vendoroauth help <command>" for a command's flags and an example.
`, envBaseURL, cache)
	return b.String()
}

// runHelp prints the top-level help, or the help of the named command.
func runHelp(ctx context.Context, args []string, e env) error {
	switch {
	case len(args) == 0:
		fmt.Fprint(e.stdout, topUsage(e))
		return nil
	case len(args) > 1:
		return usagef("help: unexpected argument (run: vendoroauth help <command>)")
	case args[0] == "help":
		fmt.Fprint(e.stdout, topUsage(e))
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, []string{"-h"}, e)
		}
	}
	return usagef("help: unknown command (the commands are %s)", commandNames())
}

// A usageError is a mistake in the command line or the environment: exit
// status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return "vendoroauth: " + e.msg }

// usagef returns a usageError. Its arguments must never be values the user
// typed: those may be secrets in the wrong place.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelp is run's error when help was asked for and printed: exit status 0.
var errHelp = errors.New("help requested")

// errReported is run's error when the command has said on standard output
// why it fails (status: the cached token has expired, or there is none):
// exit status 1, and nothing on standard error.
var errReported = errors.New("vendoroauth: failure reported on standard output")

// Exit statuses other than 0, for scripts to branch on. They are listed in
// the help and the package documentation.
const (
	exitFailure  = 1 // the vendor, the network or standard output failed; anything not below
	exitUsage    = 2 // a usage or configuration error, as the flag package's
	exitRejected = 4 // the vendor rejected the credentials, as gh's authentication errors
)

// exitCode maps run's error to the process exit status: 0 for none or
// help, exitUsage for a usage or configuration error, exitRejected for an
// error matching [vendoroauth.ErrInvalidCredentials], and exitFailure for
// any other.
func exitCode(err error) int {
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, new(*usageError)), errors.Is(err, vendoroauth.ErrInvalidConfig):
		return exitUsage
	case errors.Is(err, vendoroauth.ErrInvalidCredentials):
		return exitRejected
	}
	return exitFailure
}

// report prints run's error, if any, to stderr as one line and returns the
// exit status. Every error run returns starts with "vendoroauth: ": the
// library's say so themselves, and the command's own are made so. Help and
// errReported print nothing: their output is on standard output already.
func report(err error, stderr io.Writer) int {
	if err != nil && !errors.Is(err, errHelp) && !errors.Is(err, errReported) {
		fmt.Fprintln(stderr, err)
	}
	return exitCode(err)
}

// A stickyWriter is a writer that remembers its first error, so that run
// fails when standard output could not be written, whichever write failed.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	if err != nil {
		s.err = err
	}
	return n, err
}
