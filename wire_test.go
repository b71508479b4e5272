package vendoroauth_test

// Tests that guard behaviours a mutation review found unguarded.

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b countingBody) Read(p []byte) (int, error) {
	k, err := b.ReadCloser.Read(p)
	b.n.Add(int64(k))
	return k, err
}

// The response read is bounded, not just judged afterwards.
func TestTokenResponseReadIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
		srv.FailToken(1, vendoroauthtest.Fault{Status: 200, BodySize: 10 << 20})
		inner := srv.InProcessClient().Transport
		var read atomic.Int64
		hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := inner.RoundTrip(r)
			if err == nil {
				resp.Body = countingBody{resp.Body, &read}
			}
			return resp, err
		})}
		src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, at(srv.URL, hc)...)
		defer src.Close()
		_, err := src.Token()
		require.ErrorIs(t, err, vendoroauth.ErrMalformedResponse, "Token()")
		assert.LessOrEqual(t, read.Load(), int64(1<<20+64<<10+1), "bytes read of a 10 MiB body")
	})
}

// A trick misbehaves on one TCP connection and closes it.
type trick func(net.Conn)

// trickListener hands its first connections to tricks, one each, and the
// rest to the HTTP server.
type trickListener struct {
	net.Listener
	mu     sync.Mutex
	tricks []trick
	wg     sync.WaitGroup
}

func (l *trickListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if len(l.tricks) == 0 {
			l.mu.Unlock()
			return c, nil
		}
		tr := l.tricks[0]
		l.tricks = l.tricks[1:]
		l.mu.Unlock()
		l.wg.Go(func() { tr(c) })
	}
}

// serveWithTricks serves fake on loopback behind a trickListener and
// returns its base URL.
func serveWithTricks(t *testing.T, fake http.Handler, tricks ...trick) string {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err, "net.Listen")
	ln := &trickListener{Listener: inner, tricks: tricks}
	srv := &http.Server{Handler: fake}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		ln.wg.Wait()
	})
	return "http://" + inner.Addr().String()
}

// readRequest reads one request from c, so that the client is waiting for
// the answer.
func readRequest(c net.Conn) {
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err == nil {
		io.Copy(io.Discard, req.Body)
	}
}

// resetMidBody answers with a header promising 500 bytes, sends 20, and
// resets the connection.
func resetMidBody(c net.Conn) {
	readRequest(c)
	io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"access_token\":\"ab")
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0) // RST, not FIN
	}
	c.Close()
}

// slowDrip sends its answer one byte every 50ms until the client hangs up.
func slowDrip(c net.Conn) {
	defer c.Close()
	readRequest(c)
	io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
	for {
		if _, err := c.Write([]byte(" ")); err != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hang reads the request and never answers, until the client hangs up.
func hang(c net.Conn) {
	defer c.Close()
	readRequest(c)
	io.Copy(io.Discard, c)
}

// sourceGoroutines counts goroutines running a TokenSource's fetch.
func sourceGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "vendoroauth.(*TokenSource).run")
}

func TestNetworkFaults(t *testing.T) {
	tests := []struct {
		name   string
		tricks []trick
	}{
		{"connection reset mid-body", []trick{resetMidBody}},
		{"slow-drip body past the client timeout", []trick{slowDrip}},
		{"server never answers", []trick{hang}},
		{"three faults in a row", []trick{hang, resetMidBody, slowDrip}},
	}
	for _, tt := range tests {
		// Not parallel: the goroutine count below is process-wide.
		t.Run(tt.name, func(t *testing.T) {
			fake := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
			base := serveWithTricks(t, fake, tt.tricks...)
			hc := &http.Client{Timeout: 300 * time.Millisecond}
			src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret,
				vendoroauth.WithBaseURL(base), vendoroauth.WithHTTPClient(hc))
			start := time.Now()
			_, err := src.Token()
			require.NoError(t, err, "Token(): want success after %d retried faults", len(tt.tricks))
			requests := len(tt.tricks) + fake.TokenRequests()
			assert.Equal(t, len(tt.tricks)+1, requests, "token requests")
			t.Logf("| %s | retried, then succeeded | %d | %v | yes |", tt.name, requests, time.Since(start).Round(time.Millisecond))
			src.Close()
			hc.CloseIdleConnections()
			assert.Zero(t, sourceGoroutines(), "fetch goroutines left after Close")
		})
	}
}

func TestConnectionRefusedThenRecovers(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err, "net.Listen")
	addr := ln.Addr().String()
	ln.Close() // refused from now on
	src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret,
		vendoroauth.WithBaseURL("http://"+addr), vendoroauth.WithHTTPClient(&http.Client{Timeout: time.Second}))
	defer src.Close()
	_, err = src.Token()
	require.Error(t, err, "Token() against a closed port")
	require.True(t, errors.Is(err, syscallECONNREFUSED()) || strings.Contains(err.Error(), "refused"),
		"Token() against a closed port = %v, want connection refused", err)
	// The vendor comes back on the same address.
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s was taken meanwhile: %v", addr, err)
	}
	fake := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
	srv := &http.Server{Handler: fake}
	go srv.Serve(ln)
	defer srv.Close()
	_, err = src.Token()
	require.NoError(t, err, "Token() after the vendor came back")
	t.Logf("| connection refused (4 attempts), then the vendor returns | retried, then failed: *url.Error; next call succeeded | 4 + 1 | | yes |")
}

// syscallECONNREFUSED is ECONNREFUSED, kept apart so that the test reads
// plainly.
func syscallECONNREFUSED() error { return syscall.ECONNREFUSED }

// TestVendorHangIsNotTheCallersDeadline: a vendor that never answers makes
// Token fail within the fetch's own 2 minutes, as a timeout that does not
// match context.DeadlineExceeded, which is kept for the caller's ctx.
func TestVendorHangIsNotTheCallersDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		srv.FailToken(10, vendoroauthtest.Fault{Latency: time.Hour})
		start := time.Now()
		_, err := src.Token()
		require.Error(t, err)
		assert.LessOrEqual(t, time.Since(start), 2*time.Minute, "Token() waited")
		assert.NotErrorIs(t, err, context.DeadlineExceeded, "our own deadline reads as the caller's")
		ue, ok := errors.AsType[*url.Error](err)
		require.True(t, ok, "error %v is not a *url.Error", err)
		assert.True(t, ue.Timeout(), "the *url.Error is a timeout")

		// The caller's own deadline still reads as such.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		src.Invalidate()
		_, err = src.TokenContext(ctx)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}
