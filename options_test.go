package vendoroauth_test

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"errors"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

func TestLogging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logger, logs := newLogger()
		srv, src := bubbleFormlabs(t, vendoroauth.WithLogger(logger))
		srv.FailToken(1, vendoroauthtest.Fault{Status: 503, RetryAfter: "2"})
		if _, err := src.Token(); err != nil {
			t.Fatalf("Token() error = %v", err)
		}
		srv.FailToken(4, vendoroauthtest.Fault{Status: 500})
		src.Invalidate()
		if _, err := src.Token(); err == nil {
			t.Fatalf("Token() with 4 failures = nil error, want one")
		}
		var retry, failed map[string]any
		for _, rec := range records(t, logs.String()) {
			switch {
			case rec["msg"] == "vendoroauth: token request failed; retrying" && retry == nil:
				retry = rec
			case rec["level"] == "ERROR":
				failed = rec
			}
		}
		if retry == nil || retry["level"] != "WARN" || retry["vendor"] != "formlabs" || retry["grant"] != "client_credentials" ||
			retry["attempt"] != 1.0 || retry["status"] != 503.0 || retry["wait"] != 2e9 {
			t.Errorf("retry record = %v; want WARN with vendor, grant, attempt 1, status 503, wait 2s", retry)
		}
		if failed == nil || failed["vendor"] != "formlabs" || !strings.Contains(failed["err"].(string), "500") {
			t.Errorf("failure record = %v; want ERROR naming the vendor and the status", failed)
		}
	})
}

func TestInvalidConfig(t *testing.T) {
	t.Parallel()
	srv := newEnduroSat(t)
	fl := newFormlabs(t)
	opts := at(srv.URL, srv.Client())
	flOpts := at(fl.URL, fl.Client())
	ctx := t.Context()
	tests := []struct {
		name string
		src  *vendoroauth.TokenSource
		want string
	}{
		{"empty client id", vendoroauth.EnduroSatPasswordTokenSource(ctx, "", esUsername, esPassword, opts...), "client id is empty"},
		{"empty username", vendoroauth.EnduroSatPasswordTokenSource(ctx, esClientID, "", esPassword, opts...), "username is empty"},
		{"empty password", vendoroauth.EnduroSatPasswordTokenSource(ctx, esClientID, esUsername, "", opts...), "password is empty"},
		{"empty refresh token", vendoroauth.EnduroSatRefreshTokenSource(ctx, esClientID, "", opts...), "refresh token is empty"},
		{"empty formlabs id", vendoroauth.FormlabsTokenSource(ctx, "", flSecret, flOpts...), "client id is empty"},
		{"empty secret", vendoroauth.FormlabsTokenSource(ctx, flClientID, "", flOpts...), "client secret is empty"},
		{"remote plain http", vendoroauth.FormlabsTokenSource(ctx, flClientID, flSecret, vendoroauth.WithBaseURL("http://api.formlabs.com")), "plain http"},
		{"not a URL", vendoroauth.FormlabsTokenSource(ctx, flClientID, flSecret, vendoroauth.WithBaseURL("::::")), "base URL"},
		{"zero early refresh", vendoroauth.FormlabsTokenSource(ctx, flClientID, flSecret, append(flOpts, vendoroauth.WithEarlyRefresh(0))...), "early refresh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer tt.src.Close()
			_, err := tt.src.Token()
			if !errors.Is(err, vendoroauth.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Token() error = %v, want ErrInvalidConfig saying %q", err, tt.want)
			}
			if err := tt.src.Revoke(ctx); !errors.Is(err, vendoroauth.ErrInvalidConfig) {
				t.Errorf("Revoke() error = %v, want ErrInvalidConfig", err)
			}
		})
	}
	if n := srv.TokenRequests() + fl.TokenRequests(); n != 0 {
		t.Errorf("misconfigured sources made %d token requests, want 0", n)
	}
}

// TestDefaultClientLeavesNothing: 50 sources given no client, each used and
// closed, leave no goroutine or connection of their own: they share one
// transport, whose one idle keep-alive connection to the fake is all that
// remains (its two client goroutines and fd, and the fake's goroutine and
// fd for it).
func TestDefaultClientLeavesNothing(t *testing.T) {
	// Not parallel: it counts the process's goroutines and fds.
	srv := vendoroauthtest.NewFormlabs(flClientID, flSecret)
	defer srv.Close()
	warm := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, vendoroauth.WithBaseURL(srv.URL))
	_, err := warm.Token()
	require.NoError(t, err)
	warm.Close()
	settle := func() (goroutines, fds int) {
		for deadline := time.Now().Add(5 * time.Second); ; {
			runtime.GC()
			g, f := runtime.NumGoroutine(), openFDs(t)
			if time.Now().After(deadline) || g == goroutines && f == fds {
				return g, f
			}
			goroutines, fds = g, f
			time.Sleep(50 * time.Millisecond)
		}
	}
	g0, f0 := settle()
	for range 50 {
		src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, vendoroauth.WithBaseURL(srv.URL))
		_, err := src.Token()
		require.NoError(t, err)
		require.NoError(t, src.Close())
	}
	g1, f1 := settle()
	assert.LessOrEqual(t, g1-g0, 3, "goroutines left by 50 closed sources (%d before, %d after)", g0, g1)
	assert.LessOrEqual(t, f1-f0, 2, "fds left by 50 closed sources (%d before, %d after)", f0, f1)
	t.Logf("after 50 sources: %+d goroutines, %+d fds", g1-g0, f1-f0)
}

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd on this system")
	}
	return len(entries)
}
