package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

const serveFakeExample = `  vendoroauth serve-fake -addr 127.0.0.1:8080 -token-lifetime 2m &
  export FORMLABS_CLIENT_ID=formlabs-demo-client FORMLABS_CLIENT_SECRET=demo-client-secret
  vendoroauth token -vendor formlabs -base-url http://127.0.0.1:8080`

// fakeVendors serves both fakes under one base URL: Formlabs' paths start
// with /developer/, EnduroSat's do not.
type fakeVendors struct {
	es *vendoroauthtest.EnduroSat
	fl *vendoroauthtest.Formlabs
}

func (f fakeVendors) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/developer/") {
		f.fl.ServeHTTP(w, r)
		return
	}
	f.es.ServeHTTP(w, r)
}

func runServeFake(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("serve-fake", "[-addr 127.0.0.1:0] [-token-lifetime 1h]", serveFakeExample, e.stderr)
	addr := fs.String("addr", "127.0.0.1:0", "loopback `address` to listen on (port 0 picks a free one)")
	lifetime := fs.Duration("token-lifetime", time.Hour, "lifetime of the access tokens the fakes issue")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *lifetime < time.Second {
		return usagef("serve-fake: -token-lifetime %v is shorter than 1s", *lifetime)
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return usagef("serve-fake: -addr %q: %v", *addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return usagef("serve-fake: -addr %q is not a loopback address", *addr)
	}
	f := fakeVendors{
		es: vendoroauthtest.NewUnstartedEnduroSat(vendoroauthtest.EnduroSatClientID, vendoroauthtest.EnduroSatUsername, vendoroauthtest.EnduroSatPassword),
		fl: vendoroauthtest.NewUnstartedFormlabs(vendoroauthtest.FormlabsClientID, vendoroauthtest.FormlabsClientSecret),
	}
	f.es.SetTokenLifetime(*lifetime)
	f.fl.SetTokenLifetime(*lifetime)

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("serve-fake: %w", err)
	}
	srv := &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(e.stdout, "%s\n", base)
	fmt.Fprintf(e.stderr, `fake EnduroSat and Formlabs APIs at %[1]s (Ctrl-C stops them)
demo credentials (fake, safe to share):
  export ENDUROSAT_CLIENT_ID=%[2]s ENDUROSAT_USERNAME=%[3]s ENDUROSAT_PASSWORD=%[4]s
  export FORMLABS_CLIENT_ID=%[5]s FORMLABS_CLIENT_SECRET=%[6]s
try:
  vendoroauth token -vendor formlabs -base-url %[1]s
  vendoroauth token -vendor endurosat -base-url %[1]s -json
`, base, vendoroauthtest.EnduroSatClientID, vendoroauthtest.EnduroSatUsername, vendoroauthtest.EnduroSatPassword,
		vendoroauthtest.FormlabsClientID, vendoroauthtest.FormlabsClientSecret)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve-fake: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("serve-fake: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve-fake: %w", err)
	}
	fmt.Fprintln(e.stderr, "serve-fake: stopped")
	return nil
}
