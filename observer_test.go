package vendoroauth_test

import (
	"context"
	"log/slog"
	"os/exec"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// A recording is what an Observer was told.
type recording struct {
	mu       sync.Mutex
	attached int
	starts   []vendoroauth.FetchStart
	dones    []vendoroauth.FetchDone
	refusals []vendoroauth.Refusal
}

// fetchKey is the context key FetchStart sets, which the fetch's logs and
// FetchDone must see.
type fetchKey struct{}

// observer returns an Observer that records into r.
func (r *recording) observer() vendoroauth.Observer {
	return vendoroauth.Observer{
		Attach: func(*vendoroauth.TokenSource) { r.mu.Lock(); r.attached++; r.mu.Unlock() },
		FetchStart: func(ctx context.Context, f vendoroauth.FetchStart) context.Context {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.starts = append(r.starts, f)
			return context.WithValue(ctx, fetchKey{}, len(r.starts))
		},
		FetchDone: func(ctx context.Context, f vendoroauth.FetchDone) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if n, _ := ctx.Value(fetchKey{}).(int); n != len(r.dones)+1 {
				f.Vendor += " (not FetchStart's ctx)"
			}
			r.dones = append(r.dones, f)
		},
		Refused: func(_ context.Context, ref vendoroauth.Refusal) {
			r.mu.Lock()
			r.refusals = append(r.refusals, ref)
			r.mu.Unlock()
		},
	}
}

// TestObserverFetches: an Observer is told of each fetch, with why it was
// made, the grant, the origin, the attempts and how it ended, through the
// context FetchStart returned; of each refusal; and of nothing else.
func TestObserverFetches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recording
		srv := vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword)
		srv.SetTokenLifetime(time.Hour)
		store := &memStore{}
		ctx := srv.Context(t.Context())
		opts := []vendoroauth.Option{vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithObserver(rec.observer()), vendoroauth.WithStore(store)}
		src := vendoroauth.EnduroSatPasswordTokenSource(ctx, esClientID, esUsername, esPassword, opts...)
		defer src.Close()
		client := src.Client(ctx)

		srv.FailToken(1, vendoroauthtest.Fault{Status: 503})
		require.Equal(t, 200, get(t, client, srv.ResourceURL()), "the first request") // initial: 2 attempts
		time.Sleep(56 * time.Minute)                                                  // refresh
		synctest.Wait()
		src.Invalidate()
		_, err := src.TokenContext(t.Context()) // invalidated
		require.NoError(t, err)
		srv.RevokeAccessTokens()
		require.Equal(t, 200, get(t, client, srv.ResourceURL()), "a request after a revocation") // refused
		time.Sleep(2 * time.Hour)                                                                // refresh, then expired
		_, err = src.TokenContext(t.Context())
		require.NoError(t, err)
		other := vendoroauth.EnduroSatPasswordTokenSource(ctx, esClientID, esUsername, esPassword, opts...)
		defer other.Close()
		synctest.Wait()
		_, err = other.Token() // initial, from the store
		require.NoError(t, err)

		rec.mu.Lock()
		defer rec.mu.Unlock()
		assert.Equal(t, 2, rec.attached, "sources attached")
		want := []vendoroauth.FetchDone{
			{Vendor: "endurosat", Reason: vendoroauth.ReasonInitial, Grant: "password", Origin: vendoroauth.OriginVendor, Attempts: 2},
			{Vendor: "endurosat", Reason: vendoroauth.ReasonRefresh, Grant: "refresh_token", Origin: vendoroauth.OriginVendor, Attempts: 1},
			{Vendor: "endurosat", Reason: vendoroauth.ReasonInvalidated, Grant: "refresh_token", Origin: vendoroauth.OriginVendor, Attempts: 1},
			{Vendor: "endurosat", Reason: vendoroauth.ReasonRefused, Grant: "refresh_token", Origin: vendoroauth.OriginVendor, Attempts: 1},
			// The refused token's replacement was handed out: its timer
			// refreshes it; that one nobody took, and it expires.
			{Vendor: "endurosat", Reason: vendoroauth.ReasonRefresh, Grant: "refresh_token", Origin: vendoroauth.OriginVendor, Attempts: 1},
			{Vendor: "endurosat", Reason: vendoroauth.ReasonExpired, Grant: "refresh_token", Origin: vendoroauth.OriginVendor, Attempts: 1},
			{Vendor: "endurosat", Reason: vendoroauth.ReasonInitial, Grant: "", Origin: vendoroauth.OriginStore, Attempts: 0},
		}
		if diff := cmp.Diff(want, rec.dones, cmpopts.IgnoreFields(vendoroauth.FetchDone{}, "Duration", "Expiry", "Err")); diff != "" {
			t.Errorf("FetchDone calls mismatch (-want +got):\n%s", diff)
		}
		for i, d := range rec.dones {
			assert.NoError(t, d.Err, "fetch %d: Err", i)
			assert.False(t, d.Expiry.IsZero(), "fetch %d: Expiry", i)
		}
		assert.Equal(t, []vendoroauth.Refusal{{Vendor: "endurosat"}}, rec.refusals, "Refused calls")
		// The callers who waited with a context of their own: TokenContext's
		// (Client's requests here have the background context, like Token).
		var callers []bool
		for _, s := range rec.starts {
			callers = append(callers, s.Caller != nil)
		}
		assert.Equal(t, []bool{false, false, true, false, false, true, false}, callers, "FetchStart's Caller, fetch by fetch")
	})
}

// TestObserverNotOnHotPath: a cached token handed out calls no observer
// and allocates nothing, with an observer as without one.
func TestObserverNotOnHotPath(t *testing.T) {
	var rec recording
	srv := newFormlabs(t)
	src := flSource(t, srv, vendoroauth.WithObserver(rec.observer()))
	_, err := src.TokenContext(t.Context())
	require.NoError(t, err)
	rec.mu.Lock()
	before := len(rec.starts) + len(rec.dones)
	rec.mu.Unlock()
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := src.TokenContext(t.Context()); err != nil {
			assert.NoError(t, err, "TokenContext()")
		}
	})
	assert.Zero(t, allocs, "allocations of a cached TokenContext with an observer")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	assert.Equal(t, before, len(rec.starts)+len(rec.dones), "observer calls by cached reads")
}

// A ctxHandler is a slog.Handler that records, for each record, whether
// its context carries fetchKey.
type ctxHandler struct {
	mu   *sync.Mutex
	seen map[string]bool // message → carried fetchKey
}

func (h ctxHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen[r.Message] = ctx.Value(fetchKey{}) != nil
	return nil
}
func (h ctxHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h ctxHandler) WithGroup(string) slog.Handler      { return h }

// TestFetchLogsCarryItsContext: the log records of a fetch get the context
// the observer's FetchStart returned, so that a handler reading a trace id
// from it sees the fetch's.
func TestFetchLogsCarryItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recording
		h := ctxHandler{mu: new(sync.Mutex), seen: map[string]bool{}}
		srv, src := bubbleFormlabs(t, vendoroauth.WithObserver(rec.observer()), vendoroauth.WithLogger(slog.New(h)))
		srv.FailToken(1, vendoroauthtest.Fault{Status: 503})
		_, err := src.Token()
		require.NoError(t, err)
		h.mu.Lock()
		defer h.mu.Unlock()
		want := map[string]bool{
			"vendoroauth: fetching token":                 true,
			"vendoroauth: token request failed; retrying": true,
			"vendoroauth: token fetched":                  true,
		}
		if diff := cmp.Diff(want, h.seen); diff != "" {
			t.Errorf("log records and whether they carried the fetch's context mismatch (-want +got):\n%s", diff)
		}
	})
}

// TestNoTelemetryDependency: the root module depends on no telemetry
// library; package otelvendoroauth, a module of its own, does.
func TestNoTelemetryDependency(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	require.NoError(t, err, "go list -deps .: %s", out)
	assert.NotContains(t, string(out), "go.opentelemetry.io", "the root package's dependencies")
	assert.Contains(t, string(out), "golang.org/x/oauth2", "the root package's dependencies")
}
