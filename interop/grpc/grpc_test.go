package grpcinterop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// The compiler checks what the tests show at run time.
var _ credentials.PerRPCCredentials = (*vendoroauth.TokenSource)(nil)

// A recorder is the server side of the tests: its interceptors record the
// "authorization" metadata of every RPC that reaches the server ("" when
// there is none) and reject, with codes.Unauthenticated, any RPC whose
// bearer token the Formlabs fake's protected resource does not accept.
type recorder struct {
	fake *vendoroauthtest.Formlabs

	mu   sync.Mutex // guards seen
	seen []string   // one entry per RPC that reached the server, in order
}

func (r *recorder) check(ctx context.Context) error {
	authz := ""
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) > 0 {
		authz = vals[0]
	}
	r.mu.Lock()
	r.seen = append(r.seen, authz)
	r.mu.Unlock()

	if len(vals) != 1 || !strings.HasPrefix(authz, "Bearer ") {
		return status.Error(codes.Unauthenticated, "want one bearer token")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.fake.ResourceURL(), nil)
	if err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	req.Header.Set("Authorization", authz)
	resp, err := r.fake.Client().Do(req)
	if err != nil {
		return status.Error(codes.Unavailable, err.Error())
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return status.Errorf(codes.Unauthenticated, "resource answered %s", resp.Status)
	}
	return nil
}

func (r *recorder) unary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := r.check(ctx); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (r *recorder) stream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := r.check(ss.Context()); err != nil {
		return err
	}
	return handler(srv, ss)
}

// all returns a copy of the authorization values seen so far.
func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// last returns the authorization value of the last RPC, or "" if none came.
func (r *recorder) last() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.seen) == 0 {
		return ""
	}
	return r.seen[len(r.seen)-1]
}

// selfSigned returns a self-signed ECDSA P-256 certificate for 127.0.0.1
// and a pool that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err, "ecdsa.GenerateKey()")
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "grpcinterop test server"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err, "x509.CreateCertificate()")
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err, "x509.ParseCertificate()")
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// startServer starts a grpc-go server on a loopback port that serves the
// health service behind a recorder checking bearers at fake. With a non-nil
// cert it speaks TLS, otherwise plaintext. It is stopped when the test ends.
func startServer(t *testing.T, fake *vendoroauthtest.Formlabs, cert *tls.Certificate) (addr string, rec *recorder) {
	t.Helper()
	rec = &recorder{fake: fake}
	opts := []grpc.ServerOption{
		grpc.UnaryInterceptor(rec.unary),
		grpc.StreamInterceptor(rec.stream),
	}
	if cert != nil {
		opts = append(opts, grpc.Creds(credentials.NewServerTLSFromCert(cert)))
	}
	s := grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(s, health.NewServer())

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err, "net.Listen()")
	served := make(chan error, 1)
	go func() { served <- s.Serve(lis) }()
	t.Cleanup(func() {
		s.Stop()
		<-served
	})
	return lis.Addr().String(), rec
}

// startFake starts a Formlabs fake with the demo credentials, configured by
// setup before any token is issued. It is closed when the test ends.
func startFake(t *testing.T, setup func(*vendoroauthtest.Formlabs)) *vendoroauthtest.Formlabs {
	t.Helper()
	fake := vendoroauthtest.NewFormlabs(vendoroauthtest.FormlabsClientID, vendoroauthtest.FormlabsClientSecret)
	t.Cleanup(fake.Close)
	if setup != nil {
		setup(fake)
	}
	return fake
}

// newSource returns a fresh token source for fake; it is closed when the
// test ends.
func newSource(t *testing.T, fake *vendoroauthtest.Formlabs) *vendoroauth.TokenSource {
	t.Helper()
	src := vendoroauth.FormlabsTokenSource(t.Context(),
		vendoroauthtest.FormlabsClientID, vendoroauthtest.FormlabsClientSecret,
		vendoroauth.WithBaseURL(fake.URL), vendoroauth.WithHTTPClient(fake.Client()))
	t.Cleanup(func() { _ = src.Close() })
	return src
}

// dial returns a health client for addr over TLS trusting pool, with the
// given dial options; the connection is closed when the test ends.
func dial(t *testing.T, addr string, pool *x509.CertPool, opts ...grpc.DialOption) healthpb.HealthClient {
	t.Helper()
	opts = append([]grpc.DialOption{
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})),
	}, opts...)
	conn, err := grpc.NewClient(addr, opts...)
	require.NoError(t, err, "grpc.NewClient()")
	t.Cleanup(func() { _ = conn.Close() })
	return healthpb.NewHealthClient(conn)
}

// staticCreds is PerRPCCredentials with a fixed authorization value.
type staticCreds string

func (c staticCreds) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": string(c)}, nil
}

func (staticCreds) RequireTransportSecurity() bool { return true }

// shape describes an authorization value without its token, for failure
// messages, which must not print secrets.
func shape(authz string) string {
	scheme, tok, ok := strings.Cut(authz, " ")
	if !ok {
		return fmt.Sprintf("(no scheme, %d bytes)", len(authz))
	}
	return fmt.Sprintf("(%s + %d bytes)", scheme, len(tok))
}

// watchOnce opens a Watch stream and returns its first message's error.
func watchOnce(ctx context.Context, hc healthpb.HealthClient) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := hc.Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return err
	}
	_, err = w.Recv()
	return err
}

// TestRPCCarriesBearer checks that the source's token reaches the server on
// unary and streaming RPCs and is accepted, and that the server's check
// rejects RPCs without it, so that acceptance means something.
func TestRPCCarriesBearer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		useSource bool                          // dial with grpc.WithPerRPCCredentials(src)
		callCreds credentials.PerRPCCredentials // per-call credentials, if any
		stream    bool                          // Watch instead of Check
		wantCode  codes.Code
		wantSrc   bool // the server saw "Bearer " + src's token
	}{
		{name: "unary Check", useSource: true, wantCode: codes.OK, wantSrc: true},
		{name: "streaming Watch", useSource: true, stream: true, wantCode: codes.OK, wantSrc: true},
		{name: "no per-RPC credentials", wantCode: codes.Unauthenticated},
		{name: "unknown bearer", callCreds: staticCreds("Bearer not-a-token"), wantCode: codes.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := startFake(t, nil)
			cert, pool := selfSigned(t)
			addr, rec := startServer(t, fake, &cert)
			src := newSource(t, fake)
			var opts []grpc.DialOption
			if tt.useSource {
				opts = append(opts, grpc.WithPerRPCCredentials(src))
			}
			hc := dial(t, addr, pool, opts...)
			var callOpts []grpc.CallOption
			if tt.callCreds != nil {
				callOpts = append(callOpts, grpc.PerRPCCredentials(tt.callCreds))
			}

			var err error
			if tt.stream {
				err = watchOnce(t.Context(), hc)
			} else {
				_, err = hc.Check(t.Context(), &healthpb.HealthCheckRequest{}, callOpts...)
			}

			assert.Equal(t, tt.wantCode, status.Code(err), "RPC error = %v, want code %v", err, tt.wantCode)
			seen := rec.all()
			require.Len(t, seen, 1, "server saw %d RPCs, want 1", len(seen))
			if tt.wantSrc {
				tok, err := src.Token()
				require.NoError(t, err, "src.Token()")
				assert.True(t, seen[0] == "Bearer "+tok.AccessToken,
					"server got authorization %s, want Bearer + src.Token()", shape(seen[0]))
				assert.Equal(t, 1, fake.TokenRequests(), "fake.TokenRequests(), want one fetch")
			}
		})
	}
}

// TestRPCWaitsNoLongerThanDeadline checks that an RPC whose token fetch is
// slower than its deadline returns at the deadline: GetRequestMetadata
// waits no longer than the RPC's context, and the fetch goes on for later
// RPCs, which join it rather than start another.
func TestRPCWaitsNoLongerThanDeadline(t *testing.T) {
	t.Parallel()
	const (
		latency  = 3 * time.Second        // the fake's token latency
		deadline = 300 * time.Millisecond // each RPC's
		bound    = 800 * time.Millisecond // how long an RPC may take
	)
	tests := []struct {
		name string
		rpcs int // made one after another on a fresh source
	}{
		{name: "first RPC", rpcs: 1},
		{name: "RPCs joining the running fetch", rpcs: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := startFake(t, func(f *vendoroauthtest.Formlabs) { f.SetLatency(latency) })
			cert, pool := selfSigned(t)
			addr, rec := startServer(t, fake, &cert)
			hc := dial(t, addr, pool, grpc.WithPerRPCCredentials(newSource(t, fake)))

			for i := range tt.rpcs {
				ctx, cancel := context.WithTimeout(t.Context(), deadline)
				start := time.Now()
				_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{})
				elapsed := time.Since(start)
				cancel()

				t.Logf("RPC %d with a %v deadline returned after %v: %v", i, deadline, elapsed, err)
				require.Error(t, err, "RPC %d error = nil, want one at the deadline", i)
				assert.Contains(t, []codes.Code{codes.DeadlineExceeded, codes.Unavailable, codes.Unauthenticated},
					status.Code(err), "RPC %d error code, want deadline-like", i)
				assert.Less(t, elapsed, bound, "RPC %d took, want less than %v", i, bound)
			}
			assert.Zero(t, len(rec.all()), "server saw RPCs, want none (no token yet)")
			assert.Equal(t, 1, fake.TokenRequests(), "fake.TokenRequests(), want one fetch shared by all RPCs")
		})
	}
}

// TestRPCCarriesRefreshedBearer checks that once the source refreshes its
// short-lived token in the background, RPCs carry the new token, and that
// no RPC fails across the switch.
func TestRPCCarriesRefreshedBearer(t *testing.T) {
	t.Parallel()
	const (
		lifetime = 2 * time.Second
		within   = 5 * time.Second // the refresh is due after 1.6s
	)
	fake := startFake(t, func(f *vendoroauthtest.Formlabs) { f.SetTokenLifetime(lifetime) })
	cert, pool := selfSigned(t)
	addr, rec := startServer(t, fake, &cert)
	src := newSource(t, fake)
	hc := dial(t, addr, pool, grpc.WithPerRPCCredentials(src))

	_, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err, "first Check()")
	first := rec.last()
	tok, err := src.Token()
	require.NoError(t, err, "src.Token()")
	require.True(t, first == "Bearer "+tok.AccessToken,
		"first Check() authorization %s, want Bearer + src.Token()", shape(first))

	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
	timeout := time.After(within)
	rpcs := 1
	for rec.last() == first {
		select {
		case <-ticker.C:
		case <-timeout:
			require.FailNow(t, "no new bearer", "server saw only the first bearer after %d RPCs in %v, want a refreshed one", rpcs, within)
		}
		_, err := hc.Check(t.Context(), &healthpb.HealthCheckRequest{})
		rpcs++
		require.NoError(t, err, "Check() %d, want success across the refresh", rpcs)
	}

	got := rec.last()
	tok, err = src.Token()
	require.NoError(t, err, "src.Token() after the refresh")
	assert.True(t, got == "Bearer "+tok.AccessToken,
		"Check() authorization after the refresh %s, want Bearer + src.Token()", shape(got))
	assert.GreaterOrEqual(t, fake.TokenRequests(), 2, "fake.TokenRequests(), want a refresh")
	t.Logf("bearer changed after %d RPCs", rpcs)
}

// lax is a PerRPCCredentials that does not require transport security: the
// control showing that the plaintext server would see a token sent in the
// clear.
type lax struct{ *vendoroauth.TokenSource }

func (lax) RequireTransportSecurity() bool { return false }

// TestNoBearerWithoutTransportSecurity checks that grpc-go refuses to send
// the source's token over a plaintext connection, whether the source is a
// dial option or a call option, to a plaintext server that would otherwise
// accept it.
func TestNoBearerWithoutTransportSecurity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		lax           bool // wrap the source so it does not require transport security
		callOption    bool // pass it per call instead of per connection
		wantClientErr bool // grpc.NewClient itself refuses
		wantCode      codes.Code
		wantSeen      bool // the server saw the source's bearer
	}{
		{name: "dial option", wantClientErr: true},
		{name: "call option", callOption: true, wantCode: codes.Unauthenticated},
		{name: "control: lax dial option", lax: true, wantCode: codes.OK, wantSeen: true},
		{name: "control: lax call option", lax: true, callOption: true, wantCode: codes.OK, wantSeen: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := startFake(t, nil)
			addr, rec := startServer(t, fake, nil)
			src := newSource(t, fake)
			var creds credentials.PerRPCCredentials = src
			if tt.lax {
				creds = lax{src}
			}
			opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
			var callOpts []grpc.CallOption
			if tt.callOption {
				callOpts = append(callOpts, grpc.PerRPCCredentials(creds))
			} else {
				opts = append(opts, grpc.WithPerRPCCredentials(creds))
			}

			conn, err := grpc.NewClient(addr, opts...)
			if tt.wantClientErr {
				assert.Error(t, err, "grpc.NewClient() error = nil, want a refusal")
				assert.True(t, conn == nil, "grpc.NewClient() conn = non-nil, want nil")
			} else {
				require.NoError(t, err, "grpc.NewClient()")
				t.Cleanup(func() { _ = conn.Close() })
				_, err = healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{}, callOpts...)
				assert.Equal(t, tt.wantCode, status.Code(err), "Check() error = %v, want code %v", err, tt.wantCode)
			}

			seen := rec.all()
			if !tt.wantSeen {
				assert.Zero(t, len(seen), "server saw RPCs, want none")
				assert.Zero(t, fake.TokenRequests(), "fake.TokenRequests(), want no token fetched")
				return
			}
			tok, err := src.Token()
			require.NoError(t, err, "src.Token()")
			require.Len(t, seen, 1, "server saw %d RPCs, want 1", len(seen))
			assert.True(t, seen[0] == "Bearer "+tok.AccessToken,
				"server got authorization %s, want Bearer + src.Token()", shape(seen[0]))
		})
	}
}
