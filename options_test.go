package vendoroauth_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/google/go-cmp/cmp"
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
		_, err := src.Token()
		require.NoError(t, err, "Token()")
		srv.FailToken(4, vendoroauthtest.Fault{Status: 500})
		src.Invalidate()
		_, err = src.Token()
		require.Error(t, err, "Token() with 4 failures")
		var retry, failed map[string]any
		for _, rec := range records(t, logs.String()) {
			switch {
			case rec["msg"] == "vendoroauth: token request failed; retrying" && retry == nil:
				retry = rec
			case rec["level"] == "ERROR":
				failed = rec
			}
		}
		require.NotNil(t, retry, "the retry record")
		delete(retry, "time")
		delete(retry, "err")
		want := map[string]any{"level": "WARN", "msg": "vendoroauth: token request failed; retrying", "vendor": "formlabs",
			"grant": "client_credentials", "attempt": 1.0, "status": 503.0, "wait": 2e9}
		if diff := cmp.Diff(want, retry); diff != "" {
			t.Errorf("retry record mismatch (-want +got):\n%s", diff)
		}
		require.NotNil(t, failed, "the failure record")
		assert.Equal(t, "formlabs", failed["vendor"], "failure record: vendor")
		assert.Contains(t, failed["err"], "500", "failure record: err names the status")
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
			assert.ErrorIs(t, err, vendoroauth.ErrInvalidConfig, "Token()")
			assert.ErrorContains(t, err, tt.want, "Token()")
			assert.ErrorIs(t, tt.src.Revoke(ctx), vendoroauth.ErrInvalidConfig, "Revoke()")
		})
	}
	assert.Zero(t, srv.TokenRequests()+fl.TokenRequests(), "token requests of misconfigured sources")
}

// TestDefaultClientSharesOneConnection: 50 sources given no client, each
// used and closed in turn, share one transport: the fake sees one
// connection, kept alive from the first source to the last, where a
// transport per source would open 50 and leave their keep-alive goroutines
// and fds behind. (That a closed source leaves no goroutine of its own is
// checked in bubbles: synctest.Test fails when one is left.)
func TestDefaultClientSharesOneConnection(t *testing.T) {
	fake := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(fake)
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	for i := range 50 {
		src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, vendoroauth.WithBaseURL(srv.URL))
		_, err := src.Token()
		require.NoError(t, err, "source %d: Token()", i)
		require.NoError(t, src.Close(), "source %d: Close()", i)
	}
	assert.Equal(t, int32(1), conns.Load(), "connections opened by 50 sources given no client")
}

// TestLogSaysWhereTheTokenCameFrom: a token fetched from the vendor is
// logged as fetched, one loaded from the store with no request as loaded.
func TestLogSaysWhereTheTokenCameFrom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &memStore{}
		srv, first := bubbleFormlabs(t, vendoroauth.WithStore(store))
		_, err := first.Token()
		require.NoError(t, err, "the first source's Token()")
		logger, logs := newLogger()
		second := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret,
			append(at(srv.URL, srv.InProcessClient()), vendoroauth.WithStore(store), vendoroauth.WithLogger(logger))...)
		defer second.Close()
		_, err = second.Token()
		require.NoError(t, err, "the second source's Token()")
		require.Equal(t, 1, srv.TokenRequests(), "token requests: the second source's token is the stored one")
		var msgs []string
		for _, rec := range records(t, logs.String()) {
			if rec["level"] == "DEBUG" {
				msgs = append(msgs, rec["msg"].(string))
			}
		}
		assert.Contains(t, msgs, "vendoroauth: token loaded from the store", "debug records")
		assert.NotContains(t, msgs, "vendoroauth: token fetched", "debug records of a source that made no request")
	})
}

// TestEmptyBaseURLIsTheDefault: WithBaseURL("") means the vendor's base
// URL for sources, revokers and Configs alike, so that
// WithBaseURL(os.Getenv("X")) works where X is unset.
func TestEmptyBaseURLIsTheDefault(t *testing.T) {
	t.Parallel()
	empty := vendoroauth.WithBaseURL("")
	assert.Equal(t, vendoroauth.FormlabsEndpoint.TokenURL, vendoroauth.FormlabsConfig(flClientID, flSecret, empty).TokenURL, "FormlabsConfig's TokenURL")
	assert.Equal(t, vendoroauth.EnduroSatEndpoint.TokenURL, vendoroauth.EnduroSatConfig(esClientID, empty).Endpoint.TokenURL, "EnduroSatConfig's TokenURL")

	// A source and a revoker go to the vendor's host, here a transport
	// standing in for it that refuses the credentials, so that each makes
	// one request.
	var mu sync.Mutex
	var urls []string
	c := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		urls = append(urls, r.URL.String())
		mu.Unlock()
		return &http.Response{
			StatusCode: http.StatusUnauthorized,
			Header:     http.Header{"Content-Type": {"application/json"}},
			Body:       io.NopCloser(strings.NewReader(`{"error":"invalid_client"}`)),
			Request:    r,
		}, nil
	})}
	src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret,
		vendoroauth.WithBaseURL("https://staging.example"), empty, vendoroauth.WithHTTPClient(c))
	defer src.Close()
	_, err := src.Token()
	assert.ErrorIs(t, err, vendoroauth.ErrInvalidCredentials, "Token()")
	err = vendoroauth.FormlabsRevoker(flClientID, flSecret, empty, vendoroauth.WithHTTPClient(c)).Revoke(t.Context(), "tok")
	assert.NotErrorIs(t, err, vendoroauth.ErrInvalidConfig, "Revoke()")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, urls, 2, "requests: one token, one revoke")
	for _, u := range urls {
		assert.True(t, strings.HasPrefix(u, vendoroauth.FormlabsBaseURL+"/"), "request to %s: want the vendor's base URL %s", u, vendoroauth.FormlabsBaseURL)
	}
}
