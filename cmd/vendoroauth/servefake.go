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
	"strings"
	"time"

	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

const serveFakeAbout = `Serve-fake serves fake EnduroSat and Formlabs APIs under one loopback base URL
(Formlabs' paths start with /developer/), with demo credentials that are public.
Once it listens, it writes the shell exports of VENDOROAUTH_BASE_URL and the
credentials to -env-file (atomically; removed when it stops), or without
-env-file prints them on standard output. It runs until it gets SIGINT (Ctrl-C
in the foreground) or SIGTERM (kill PID); wait-fake waits until it answers.`

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
	where := "the exports are on standard output"
	if *envFile != "" {
		if err := writeFileAtomic(*envFile, []byte(exports)); err != nil {
			srv.Close()
			<-errc
			return fmt.Errorf("vendoroauth: serve-fake: write -env-file: %w", err)
		}
		defer removeIfUnchanged(*envFile, []byte(exports))
		where = "the exports are in " + *envFile
	} else {
		fmt.Fprint(e.stdout, exports)
	}
	pid := os.Getpid()
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

// writeFileAtomic writes data to path through a temporary file in the same
// folder, so that a reader sees all of it or nothing.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// removeIfUnchanged removes path if it still holds data: another
// serve-fake may have written it since.
func removeIfUnchanged(path string, data []byte) {
	if got, err := os.ReadFile(path); err == nil && bytes.Equal(got, data) {
		os.Remove(path)
	}
}

const waitFakeAbout = `Wait-fake waits until the serve-fake whose -env-file is FILE answers, so that
the next command can use it; with no -env-file, it waits for the one at
-base-url or $VENDOROAUTH_BASE_URL. It fails after -timeout.`

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
	for {
		u := base
		if *envFile != "" {
			u = baseFromEnvFile(*envFile)
		}
		if u != "" && fakeURLProblem(u) == "" && ready(ctx, hc, u) {
			return nil
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

// baseFromEnvFile returns VENDOROAUTH_BASE_URL from an env file that
// serve-fake wrote, or "" if it is missing or does not hold one yet.
func baseFromEnvFile(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 64<<10))
	prefix := "export " + envBaseURL + "='"
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			return strings.TrimSuffix(v, "'")
		}
	}
	return ""
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
