package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

const serveFakeAbout = `Serve-fake serves fake EnduroSat and Formlabs APIs under one loopback base URL
(Formlabs' paths start with /developer/), with demo credentials that are public.
Once it listens, it writes the shell exports of VENDOROAUTH_BASE_URL and the
credentials to -env-file, or without -env-file prints them on standard output.
The file is written atomically, under a first line "# serve-fake pid PID" that
names its owner; serve-fake refuses a file whose owner still runs, replaces one
whose owner is gone, and when it stops removes the file if it is still its own.
It runs until it gets SIGINT (Ctrl-C in the foreground) or SIGTERM (kill PID);
wait-fake waits until it answers.`

const serveFakeExample = `  vendoroauth serve-fake -env-file fake.env &
  vendoroauth wait-fake -env-file fake.env
  . ./fake.env
  vendoroauth token -vendor formlabs`

// readyPath is where serve-fake answers wait-fake.
const readyPath = "/vendoroauth/ready"

// fakeVendors serves both fakes under one base URL: Formlabs' paths start
// with /developer/, EnduroSat's do not.
type fakeVendors struct {
	es *vendoroauthtest.EnduroSat
	fl *vendoroauthtest.Formlabs
}

func (f fakeVendors) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == readyPath:
		io.WriteString(w, "ready\n")
	case strings.HasPrefix(r.URL.Path, "/developer/"):
		f.fl.ServeHTTP(w, r)
	default:
		f.es.ServeHTTP(w, r)
	}
}

// envFileMarker starts the first line of serve-fake's env file, which names
// the process id of the serve-fake that wrote it: a shell comment, so that
// the file can still be sourced.
const envFileMarker = "# serve-fake pid "

// fakeEnv returns the shell exports for the fakes at base.
func fakeEnv(base string) string {
	var b strings.Builder
	for _, kv := range [][2]string{
		{envBaseURL, base},
		{envESClientID, vendoroauthtest.EnduroSatClientID},
		{envESUsername, vendoroauthtest.EnduroSatUsername},
		{envESPassword, vendoroauthtest.EnduroSatPassword},
		{envFLClientID, vendoroauthtest.FormlabsClientID},
		{envFLClientSecret, vendoroauthtest.FormlabsClientSecret},
	} {
		fmt.Fprintf(&b, "export %s='%s'\n", kv[0], kv[1]) // no value holds a quote
	}
	return b.String()
}

func runServeFake(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("serve-fake", "[-addr 127.0.0.1:0] [-token-lifetime 1h] [-env-file FILE]", serveFakeAbout, serveFakeExample)
	addr := fs.String("addr", "127.0.0.1:0", "loopback `address` to listen on (port 0 picks a free one)")
	lifetime := fs.Duration("token-lifetime", time.Hour, "lifetime of the access tokens the fakes issue")
	envFile := fs.String("env-file", "", "`FILE` to write the exports to once the fakes listen")
	if err := fs.parse(args, e.stdout); err != nil {
		return err
	}
	if *lifetime < time.Second {
		return usagef("serve-fake: -token-lifetime is shorter than 1s")
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return usagef("serve-fake: -addr is not host:port (such as 127.0.0.1:8080)")
	}
	if !isLoopback(host) {
		return usagef("serve-fake: -addr is not a loopback address (such as 127.0.0.1:8080)")
	}
	if *envFile != "" {
		// Checked again when the file is written; this spares the listen.
		if owner := liveOwner(*envFile); owner != 0 {
			return errEnvFileInUse(*envFile, owner)
		}
	}
	f := fakeVendors{
		es: vendoroauthtest.NewUnstartedEnduroSat(vendoroauthtest.EnduroSatClientID, vendoroauthtest.EnduroSatUsername, vendoroauthtest.EnduroSatPassword),
		fl: vendoroauthtest.NewUnstartedFormlabs(vendoroauthtest.FormlabsClientID, vendoroauthtest.FormlabsClientSecret),
	}
	f.es.SetTokenLifetime(*lifetime)
	f.fl.SetTokenLifetime(*lifetime)

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("vendoroauth: serve-fake: %w", err)
	}
	srv := &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	base := "http://" + ln.Addr().String()
	exports := fakeEnv(base)
	pid := os.Getpid()
	where := "the exports are on standard output"
	if *envFile != "" {
		data := []byte(fmt.Sprintf("%s%d\n", envFileMarker, pid) + exports)
		if err := claimEnvFile(*envFile, data); err != nil {
			srv.Close()
			<-errc
			return err
		}
		defer removeIfUnchanged(*envFile, data)
		where = "the exports are in " + *envFile
	} else {
		fmt.Fprint(e.stdout, exports)
	}
	fmt.Fprintf(e.stderr, "serve-fake: fake EnduroSat and Formlabs APIs at %s; %s; stop with: kill %d (or Ctrl-C in the foreground)\n", base, where, pid)

	select {
	case err := <-errc:
		return fmt.Errorf("vendoroauth: serve-fake: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("vendoroauth: serve-fake: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("vendoroauth: serve-fake: %w", err)
	}
	fmt.Fprintln(e.stderr, "serve-fake: stopped")
	return nil
}

// claimEnvFile writes data to path unless path is the env file of a
// serve-fake that still runs, which it leaves alone: then its error names
// that serve-fake's process id. The file is created whole or not at all,
// by a hard link to a complete temporary file, which never replaces a
// file; a file whose serve-fake is gone, or one with no owner, is replaced
// by a rename. Serve-fakes claim their files one at a time, under a lock
// on the folder where the system has one (see lockDir), so that of those
// starting at once on one file, one gets it and the others the error.
func claimEnvFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("vendoroauth: serve-fake: write -env-file: %w", err)
	}
	defer os.Remove(tmp.Name()) // once linked or renamed, a name no longer in use
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("vendoroauth: serve-fake: write -env-file: %w", err)
	}
	unlock, err := lockDir(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("vendoroauth: serve-fake: lock the -env-file's folder: %w", err)
	}
	defer unlock()
	if os.Link(tmp.Name(), path) == nil {
		return nil
	}
	// The file exists, or the file system has no hard links.
	if owner := liveOwner(path); owner != 0 {
		return errEnvFileInUse(path, owner)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("vendoroauth: serve-fake: write -env-file: %w", err)
	}
	return nil
}

// errEnvFileInUse is serve-fake's error for the env file at path whose
// owner, the serve-fake with process id owner, still runs.
func errEnvFileInUse(path string, owner int) error {
	return fmt.Errorf("vendoroauth: serve-fake: -env-file %s belongs to the serve-fake with process id %d, which still runs; "+
		"stop it (kill %d) or give another -env-file (if process %d is no serve-fake, remove %s)", path, owner, owner, owner, path)
}

// liveOwner returns the process id of the serve-fake that wrote the env
// file at path if that process still runs, else 0: for no file, a file
// with no owner, or an owner that is gone.
func liveOwner(path string) int {
	if _, owner := readEnvFile(path); owner != 0 && processAlive(owner) {
		return owner
	}
	return 0
}

// removeIfUnchanged removes path if it still holds data, which names this
// process: a file that another serve-fake has written since is its own.
func removeIfUnchanged(path string, data []byte) {
	if got, err := os.ReadFile(path); err == nil && bytes.Equal(got, data) {
		os.Remove(path)
	}
}

const waitFakeAbout = `Wait-fake waits until the serve-fake whose -env-file is FILE answers, so that
the next command can use it; with no -env-file, it waits for the one at
-base-url or $VENDOROAUTH_BASE_URL. It fails after -timeout, or within a
second once the serve-fake that wrote FILE is gone (killed, say): its
process id, on the file's first line, no longer runs.`

const waitFakeExample = `  vendoroauth serve-fake -env-file fake.env &
  vendoroauth wait-fake -env-file fake.env && . ./fake.env`

func runWaitFake(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("wait-fake", "-env-file FILE | -base-url URL [-timeout 10s]", waitFakeAbout, waitFakeExample)
	envFile := fs.String("env-file", "", "`FILE` that serve-fake -env-file writes")
	baseURL := fs.String("base-url", "", "base `URL` of the fakes (default: $"+envBaseURL+")")
	timeout := fs.Duration("timeout", 10*time.Second, "how long to wait")
	if err := fs.parse(args, e.stdout); err != nil {
		return err
	}
	base := *baseURL
	if base == "" && *envFile == "" {
		base = e.getenv(envBaseURL)
	}
	if base == "" && *envFile == "" {
		return usagef("wait-fake: give -env-file FILE (as given to serve-fake), or -base-url URL")
	}
	if *timeout <= 0 {
		return usagef("wait-fake: -timeout must be positive")
	}
	if base != "" {
		if problem := fakeURLProblem(base); problem != "" {
			return usagef("wait-fake: the base URL %s", problem)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	hc := &http.Client{Timeout: time.Second}
	var (
		gone      int       // the process id of the file's owner, seen gone
		goneSince time.Time // when it was first seen gone
	)
	for {
		u, owner := base, 0
		if *envFile != "" {
			u, owner = readEnvFile(*envFile)
		}
		// A fake that answers is ready, whatever its process id says (one
		// in another PID namespace, say).
		if u != "" && fakeURLProblem(u) == "" && ready(ctx, hc, u) {
			return nil
		}
		switch {
		case owner == 0 || processAlive(owner):
			gone = 0
		case owner != gone:
			gone, goneSince = owner, time.Now()
		case time.Since(goneSince) >= goneGrace:
			return fmt.Errorf("vendoroauth: wait-fake: the serve-fake that wrote %s (process id %d) no longer runs "+
				"and does not answer; it may have been killed: start it again", *envFile, owner)
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
				return fmt.Errorf("vendoroauth: wait-fake: serve-fake did not answer within %v; did it fail to start? (its errors are on its standard error)", *timeout)
			}
			return ctx.Err()
		case <-t.C:
		}
	}
}

// fakeURLProblem returns what is wrong with a base URL of serve-fake, or "".
func fakeURLProblem(raw string) string {
	if p := baseURLProblem(raw); p != "" {
		return p
	}
	if !strings.HasPrefix(raw, "http://") {
		return "must be http:// to a loopback host, as serve-fake prints it"
	}
	return ""
}

// goneGrace is how long wait-fake lets an env file name a serve-fake that
// no longer runs before it fails: time for a serve-fake that is starting
// to replace a file that one killed earlier left.
const goneGrace = 500 * time.Millisecond

// readEnvFile returns VENDOROAUTH_BASE_URL and the owner's process id from
// an env file that serve-fake wrote: "" if it is missing or holds no base
// URL yet, 0 if it names no owner.
func readEnvFile(path string) (base string, owner int) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 64<<10))
	prefix := "export " + envBaseURL + "='"
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, envFileMarker); ok {
			if pid, err := strconv.Atoi(v); err == nil && pid > 0 {
				owner = pid
			}
		}
		if v, ok := strings.CutPrefix(line, prefix); ok {
			base = strings.TrimSuffix(v, "'")
		}
	}
	return base, owner
}

// ready reports whether serve-fake answers at base.
func ready(ctx context.Context, hc *http.Client, base string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+readyPath, nil)
	if err != nil {
		return false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	return resp.StatusCode == http.StatusOK
}
