package vendoroauth_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// Recognisable credentials: the secret sweeps look for them in every output.
const (
	esClientID = "es-client-id"
	esUsername = "sat-operator"
	esPassword = "PASSWORD-s3cr3t-9f1c"
	flClientID = "fl-client-id"
	flSecret   = "CLIENTSECRET-s3cr3t-77aa"
)

// newEnduroSat starts a fake EnduroSat server for one test.
func newEnduroSat(t *testing.T) *vendoroauthtest.EnduroSat {
	t.Helper()
	srv := vendoroauthtest.NewEnduroSat(esClientID, esUsername, esPassword)
	t.Cleanup(srv.Close)
	return srv
}

// newFormlabs starts a fake Formlabs server for one test.
func newFormlabs(t *testing.T) *vendoroauthtest.Formlabs {
	t.Helper()
	srv := vendoroauthtest.NewFormlabs(flClientID, flSecret)
	t.Cleanup(srv.Close)
	return srv
}

// at returns the options that point a source or revoker at a fake.
func at(url string, c *http.Client) []vendoroauth.Option {
	return []vendoroauth.Option{vendoroauth.WithBaseURL(url), vendoroauth.WithHTTPClient(c)}
}

// esSource returns a password source on srv, closed when the test ends.
func esSource(t *testing.T, srv *vendoroauthtest.EnduroSat, opts ...vendoroauth.Option) *vendoroauth.TokenSource {
	t.Helper()
	s := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, esPassword,
		append(at(srv.URL, srv.Client()), opts...)...)
	t.Cleanup(func() { s.Close() })
	return s
}

// flSource returns a Formlabs source on srv, closed when the test ends.
func flSource(t *testing.T, srv *vendoroauthtest.Formlabs, opts ...vendoroauth.Option) *vendoroauth.TokenSource {
	t.Helper()
	s := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret,
		append(at(srv.URL, srv.Client()), opts...)...)
	t.Cleanup(func() { s.Close() })
	return s
}

// logBuffer is a concurrency-safe buffer for a JSON slog handler.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newLogger returns a debug-level JSON logger writing to a buffer.
func newLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// bubbleEnduroSat returns an unstarted fake and a password source that
// reaches it in process, for use inside a testing/synctest bubble.
func bubbleEnduroSat(t *testing.T, opts ...vendoroauth.Option) (*vendoroauthtest.EnduroSat, *vendoroauth.TokenSource) {
	t.Helper()
	srv := vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword)
	s := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, esPassword,
		append(at(srv.URL, srv.InProcessClient()), opts...)...)
	t.Cleanup(func() { s.Close() })
	return srv, s
}

// bubbleFormlabs is bubbleEnduroSat for Formlabs.
func bubbleFormlabs(t *testing.T, opts ...vendoroauth.Option) (*vendoroauthtest.Formlabs, *vendoroauth.TokenSource) {
	t.Helper()
	srv := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
	s := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret,
		append(at(srv.URL, srv.InProcessClient()), opts...)...)
	t.Cleanup(func() { s.Close() })
	return srv, s
}

// newRedirector starts a server that redirects every request to the same
// path on target with 307, which keeps the method and body.
func newRedirector(t *testing.T, target string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// memStore is an in-memory vendoroauth.Locker, safe inside a synctest
// bubble, with knobs for the failures a real store has.
type memStore struct {
	mu        sync.Mutex
	data      []byte
	saves     int   // successful saves
	failSaves int   // the next failSaves saves fail
	hang      bool  // every call blocks until its ctx is done
	err       error // every call fails with err
	locked    bool
	lockErr   error // every Lock fails with lockErr
	loads     int   // Load calls
	locks     int   // Lock calls
}

func (m *memStore) block(ctx context.Context) error {
	m.mu.Lock()
	hang, err := m.hang, m.err
	m.mu.Unlock()
	if hang {
		<-ctx.Done()
		return ctx.Err()
	}
	return err
}

func (m *memStore) Load(ctx context.Context) ([]byte, error) {
	if err := m.block(ctx); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loads++
	return bytes.Clone(m.data), nil
}

func (m *memStore) Save(ctx context.Context, data []byte) error {
	if err := m.block(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failSaves > 0 {
		m.failSaves--
		return errors.New("memStore: save failed")
	}
	m.data = bytes.Clone(data)
	m.saves++
	return nil
}

func (m *memStore) Lock(ctx context.Context) (func(), error) {
	if err := m.block(ctx); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.locks++
	if m.lockErr != nil {
		return nil, m.lockErr
	}
	if m.locked {
		return nil, fmt.Errorf("memStore: %w", vendoroauth.ErrLocked)
	}
	m.locked = true
	return func() { m.mu.Lock(); m.locked = false; m.mu.Unlock() }, nil
}

// counts returns how many times Load and Lock were called.
func (m *memStore) counts() (loads, locks int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.loads, m.locks
}

// isLocked reports whether somebody holds the lock.
func (m *memStore) isLocked() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.locked
}

// versionedStore is a memStore that is also a vendoroauth.VersionedStore:
// its saves are fenced by revision, and it can report a save as not durable
// (stored, but an error, as a Redis whose replica did not acknowledge it)
// or lose its last save (as a failover to a replica that missed it).
type versionedStore struct {
	*memStore
	version   int64
	undurable int     // the next undurable SaveVersions store the record and fail
	saves     []int64 // the revision of each SaveVersion call
	previous  []byte  // the record before the last stored one, for lose
	prevVer   int64
}

func (v *versionedStore) SaveVersion(ctx context.Context, data []byte, version int64) (bool, error) {
	if err := v.block(ctx); err != nil {
		return false, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.saves = append(v.saves, version)
	if version < v.version {
		return false, nil
	}
	if version > v.version {
		v.previous, v.prevVer = v.data, v.version
	}
	v.data, v.version = bytes.Clone(data), version
	if v.undurable > 0 {
		v.undurable--
		return true, errors.New("versionedStore: not acknowledged by a replica")
	}
	return true, nil
}

// lose drops the last stored record, as a failover to a replica that
// missed it would.
func (v *versionedStore) lose() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.data, v.version = v.previous, v.prevVer
}

// revisions returns the revision of each SaveVersion call.
func (v *versionedStore) revisions() []int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.saves)
}

// set replaces the stored record, as another process would.
func (m *memStore) set(data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data = bytes.Clone(data)
}

// get returns the stored record.
func (m *memStore) get() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.data)
}

// configure changes the knobs under the lock.
func (m *memStore) configure(f func(m *memStore)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(m)
}

// records parses a JSON log into one map per record.
func records(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var rec map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), "log line %q is JSON", sc.Text())
		out = append(out, rec)
	}
	return out
}

// get makes a GET through c and returns the status, or 0 after reporting
// the error; it may be called from any goroutine.
func get(t *testing.T, c *http.Client, url string) int {
	t.Helper()
	resp, err := c.Get(url)
	if !assert.NoError(t, err, "GET %s", url) {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// bearer returns a client that sends tok as is, bypassing any refresh.
func bearer(base *http.Client, tok string) *http.Client {
	c := *base
	inner := base.Transport
	if inner == nil {
		inner = http.DefaultTransport
	}
	c.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", "Bearer "+tok)
		return inner.RoundTrip(r)
	})
	return &c
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// contextWithClient returns ctx carrying c as x/oauth2's HTTP client.
func contextWithClient(ctx context.Context, c *http.Client) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c)
}
