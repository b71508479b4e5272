package otelvendoroauth_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/otelvendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// Recognisable credentials: the secret sweep looks for them.
const (
	flClientID = "fl-client-OBSERVED-id"
	flSecret   = "CLIENTSECRET-otel-5e1f"
	esClientID = "es-client-OBSERVED-id"
	esUsername = "operator-OBSERVED"
	esPassword = "PASSWORD-otel-90ab"
)

// A harness is an Observer recording into a manual reader and an in-memory
// span exporter.
type harness struct {
	obs    vendoroauth.Observer
	reader *sdkmetric.ManualReader
	spans  *tracetest.InMemoryExporter
	tp     *sdktrace.TracerProvider
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{reader: sdkmetric.NewManualReader(), spans: tracetest.NewInMemoryExporter()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	h.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(h.spans))
	t.Cleanup(func() { mp.Shutdown(context.Background()); h.tp.Shutdown(context.Background()) })
	obs, err := otelvendoroauth.NewObserver(otelvendoroauth.WithMeterProvider(mp), otelvendoroauth.WithTracerProvider(h.tp))
	require.NoError(t, err, "NewObserver()")
	h.obs = obs
	return h
}

// metrics collects the metrics, by name.
func (h *harness) metrics(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, h.reader.Collect(context.Background(), &rm), "Collect()")
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, otelvendoroauth.ScopeName, sm.Scope.Name, "instrumentation scope")
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// fetches returns the duration histogram's data points.
func (h *harness) fetches(t *testing.T) []metricdata.HistogramDataPoint[float64] {
	t.Helper()
	m, ok := h.metrics(t)["vendoroauth.token.fetch.duration"]
	if !ok {
		return nil
	}
	assert.Equal(t, "s", m.Unit, "fetch.duration unit")
	return m.Data.(metricdata.Histogram[float64]).DataPoints
}

// refusals returns the refusals counter's total.
func (h *harness) refusals(t *testing.T) int64 {
	t.Helper()
	m, ok := h.metrics(t)["vendoroauth.token.refusals"]
	if !ok {
		return 0
	}
	var n int64
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		n += dp.Value
	}
	return n
}

// attrs returns a set's attributes as a map.
func attrs(s attribute.Set) map[string]string {
	out := map[string]string{}
	for _, kv := range s.ToSlice() {
		out[string(kv.Key)] = kv.Value.String()
	}
	return out
}

// formlabs returns a started fake and a source on it observed by h.
func formlabs(t *testing.T, h *harness, secret string, opts ...vendoroauth.Option) (*vendoroauthtest.Formlabs, *vendoroauth.TokenSource) {
	t.Helper()
	srv := vendoroauthtest.NewFormlabs(flClientID, flSecret)
	t.Cleanup(srv.Close)
	src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, secret,
		append([]vendoroauth.Option{vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithHTTPClient(srv.Client()), vendoroauth.WithObserver(h.obs)}, opts...)...)
	t.Cleanup(func() { src.Close() })
	return srv, src
}

// TestOneFetchRecorded: ten Token calls on a fresh source are one fetch:
// one histogram point of count 1, reason initial, origin vendor, no
// error.type, one span, no refusal.
func TestOneFetchRecorded(t *testing.T) {
	h := newHarness(t)
	_, src := formlabs(t, h, flSecret)
	for range 10 {
		_, err := src.Token()
		require.NoError(t, err, "Token()")
	}
	points := h.fetches(t)
	require.Len(t, points, 1, "fetch.duration data points")
	assert.Equal(t, uint64(1), points[0].Count, "fetches recorded")
	assert.Equal(t, map[string]string{"vendoroauth.vendor": "formlabs", "vendoroauth.fetch.reason": "initial", "vendoroauth.token.origin": "vendor"},
		attrs(points[0].Attributes), "the fetch's attributes")
	assert.Zero(t, h.refusals(t), "refusals")
	spans := h.spans.GetSpans()
	require.Len(t, spans, 1, "spans")
	assert.Equal(t, "vendoroauth.token.fetch", spans[0].Name, "span name")
	assert.Equal(t, codes.Unset, spans[0].Status.Code, "span status")
}

// TestFailedFetchRecorded: a wrong secret is a failed fetch with error.type
// invalid_client and an Error span whose description is that type, and
// Status reports it; a fetch that then succeeds resets Status.
func TestFailedFetchRecorded(t *testing.T) {
	h := newHarness(t)
	srv, src := formlabs(t, h, "CLIENTSECRET-wrong-0000")
	_, err := src.Token()
	require.ErrorIs(t, err, vendoroauth.ErrInvalidCredentials, "Token() with a wrong secret")

	points := h.fetches(t)
	require.Len(t, points, 1, "fetch.duration data points")
	assert.Equal(t, "invalid_client", attrs(points[0].Attributes)["error.type"], "error.type")
	spans := h.spans.GetSpans()
	require.Len(t, spans, 1, "spans")
	assert.Equal(t, codes.Error, spans[0].Status.Code, "span status")
	assert.Equal(t, "invalid_client", spans[0].Status.Description, "span status description")
	assert.Empty(t, spans[0].Events, "span events: no RecordError")
	st := src.Status()
	assert.ErrorIs(t, st.LastError, vendoroauth.ErrInvalidCredentials, "Status().LastError")
	assert.Equal(t, 1, st.ConsecutiveFailures, "Status().ConsecutiveFailures")

	srv.AddClient(flClientID, "CLIENTSECRET-wrong-0000") // the secret is right now
	src.Invalidate()                                     // ends the pause after a rejection
	_, err = src.Token()
	require.NoError(t, err, "Token() once the secret is right")
	st = src.Status()
	assert.NoError(t, st.LastError, "Status().LastError after a success")
	assert.Zero(t, st.ConsecutiveFailures, "Status().ConsecutiveFailures after a success")
	assert.False(t, st.LastRefresh.IsZero(), "Status().LastRefresh after a success")
}

// TestRefusalRecorded: a 401 through Client drops the token: one refusal,
// and the next fetch's reason is refused.
func TestRefusalRecorded(t *testing.T) {
	h := newHarness(t)
	srv, src := formlabs(t, h, flSecret)
	client := src.Client(t.Context())
	resp, err := client.Get(srv.ResourceURL())
	require.NoError(t, err)
	resp.Body.Close()
	srv.RevokeAccessTokens()
	resp, err = client.Get(srv.ResourceURL())
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the replayed request's status")
	assert.Equal(t, int64(1), h.refusals(t), "refusals")
	reasons := map[string]uint64{}
	for _, dp := range h.fetches(t) {
		reasons[attrs(dp.Attributes)["vendoroauth.fetch.reason"]] += dp.Count
	}
	assert.Equal(t, map[string]uint64{"initial": 1, "refused": 1}, reasons, "fetches by reason")
}

// TestSpanParents: a fetch a caller waits for is a child of the caller's
// span, and the token request's context carries the fetch's span; a
// background refresh is a root span, whatever span the constructor's
// context carried.
func TestSpanParents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t)
		srv := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
		srv.SetTokenLifetime(time.Hour)
		var requestSpans []trace.SpanContext
		hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			requestSpans = append(requestSpans, trace.SpanContextFromContext(r.Context()))
			return srv.InProcessClient().Transport.RoundTrip(r)
		})}
		tracer := h.tp.Tracer("test")
		ctorCtx, ctorSpan := tracer.Start(context.Background(), "constructor")
		src := vendoroauth.FormlabsTokenSource(ctorCtx, flClientID, flSecret, vendoroauth.WithBaseURL(srv.URL),
			vendoroauth.WithHTTPClient(hc), vendoroauth.WithObserver(h.obs))
		defer src.Close()
		ctorSpan.End()

		callerCtx, caller := tracer.Start(context.Background(), "caller")
		_, err := src.TokenContext(callerCtx)
		require.NoError(t, err, "TokenContext()")
		caller.End()
		time.Sleep(56 * time.Minute) // past the refresh time: the timer refreshes
		synctest.Wait()

		var fetches []sdktrace.ReadOnlySpan
		for _, s := range h.spans.GetSpans().Snapshots() {
			if s.Name() == "vendoroauth.token.fetch" {
				fetches = append(fetches, s)
			}
		}
		require.Len(t, fetches, 2, "fetch spans: the caller's, and the background refresh")
		assert.Equal(t, caller.SpanContext().SpanID(), fetches[0].Parent().SpanID(), "the caller's fetch: its parent")
		assert.Equal(t, caller.SpanContext().TraceID(), fetches[0].SpanContext().TraceID(), "the caller's fetch: its trace")
		assert.False(t, fetches[1].Parent().IsValid(), "the background refresh: a root span")
		assert.NotEqual(t, ctorSpan.SpanContext().TraceID(), fetches[1].SpanContext().TraceID(), "the background refresh: not in the constructor's trace")
		require.Len(t, requestSpans, 2, "token requests")
		assert.Equal(t, fetches[0].SpanContext().SpanID(), requestSpans[0].SpanID(), "the first token request's span")
		assert.Equal(t, fetches[1].SpanContext().SpanID(), requestSpans[1].SpanID(), "the refresh's token request's span")
	})
}

// TestTimeToExpiry: the gauge reports, per vendor, the smallest time to
// expiry among the live sources, within a second of Expiry − now; a closed
// source, and one garbage collected without Close, stop reporting.
func TestTimeToExpiry(t *testing.T) {
	h := newHarness(t)
	srv := vendoroauthtest.NewFormlabs(flClientID, flSecret)
	t.Cleanup(srv.Close)
	newSource := func(lifetime time.Duration) *vendoroauth.TokenSource {
		srv.SetTokenLifetime(lifetime)
		src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, vendoroauth.WithBaseURL(srv.URL),
			vendoroauth.WithHTTPClient(srv.Client()), vendoroauth.WithObserver(h.obs))
		_, err := src.Token()
		require.NoError(t, err, "Token()")
		return src
	}
	long := newSource(2 * time.Hour)
	defer long.Close()
	short := newSource(time.Hour)
	gauge := func() map[string]float64 {
		m := h.metrics(t)["vendoroauth.token.time_to_expiry"]
		out := map[string]float64{}
		if g, ok := m.Data.(metricdata.Gauge[float64]); ok {
			assert.Equal(t, "s", m.Unit, "time_to_expiry unit")
			for _, dp := range g.DataPoints {
				out[attrs(dp.Attributes)["vendoroauth.vendor"]] = dp.Value
			}
		}
		return out
	}
	want := time.Until(short.Status().Expiry).Seconds()
	got := gauge()
	require.Contains(t, got, "formlabs", "the gauge's vendors")
	assert.InDelta(t, want, got["formlabs"], 1, "time_to_expiry: the shorter of the two")

	short.Close()
	assert.InDelta(t, time.Until(long.Status().Expiry).Seconds(), gauge()["formlabs"], 1, "time_to_expiry once the shorter is closed")
	long.Close()
	assert.NotContains(t, gauge(), "formlabs", "time_to_expiry once every source is closed")

	// A source dropped without Close is not kept alive by the observer.
	// (A source whose token was handed out is, by its refresh timer, until
	// the refresh; this one's never was.)
	dropped := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, vendoroauth.WithBaseURL(srv.URL),
		vendoroauth.WithToken(&oauth2.Token{AccessToken: "given", Expiry: time.Now().Add(time.Hour)}), vendoroauth.WithObserver(h.obs))
	assert.NotZero(t, gauge()["formlabs"], "time_to_expiry with a source that holds a given token")
	collected := make(chan struct{})
	runtime.AddCleanup(dropped, func(struct{}) { close(collected) }, struct{}{})
	dropped = nil
	for range 20 {
		runtime.GC()
		select {
		case <-collected:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("a source dropped without Close was not garbage collected: the observer keeps it alive")
}

// TestNoSecretRecorded: nothing recorded, a metric, an attribute, a span's
// name, status, attributes or events, or a log record, holds a client id,
// username, password, secret or token, whatever happened.
func TestNoSecretRecorded(t *testing.T) {
	h := newHarness(t)
	var logs syncBuffer
	logger := vendoroauth.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	es := vendoroauthtest.NewEnduroSat(esClientID, esUsername, esPassword)
	t.Cleanup(es.Close)
	es.SetRotateRefreshTokens(true)
	src := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, esPassword,
		vendoroauth.WithBaseURL(es.URL), vendoroauth.WithHTTPClient(es.Client()), vendoroauth.WithObserver(h.obs), logger)
	t.Cleanup(func() { src.Close() })
	tok, err := src.Token()
	require.NoError(t, err)
	secrets := []string{esClientID, esUsername, esPassword, flClientID, flSecret, tok.AccessToken, tok.RefreshToken}
	src.Invalidate()
	_, err = src.Token() // a refresh
	require.NoError(t, err)
	bad := vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, "PASSWORD-wrong-otel",
		vendoroauth.WithBaseURL(es.URL), vendoroauth.WithHTTPClient(es.Client()), vendoroauth.WithObserver(h.obs), logger)
	t.Cleanup(func() { bad.Close() })
	_, err = bad.Token()
	require.Error(t, err)
	secrets = append(secrets, "PASSWORD-wrong-otel")
	_, fl := formlabs(t, h, "CLIENTSECRET-wrong-otel", logger)
	_, _ = fl.Token()
	secrets = append(secrets, "CLIENTSECRET-wrong-otel")

	var dump strings.Builder
	fmt.Fprintf(&dump, "%+v", h.metrics(t))
	for _, s := range h.spans.GetSpans() {
		fmt.Fprintf(&dump, "%s %+v %+v %+v %+v", s.Name, s.Attributes, s.Status, s.Events, s.Links)
	}
	src.Close()
	bad.Close()
	fl.Close()
	dump.WriteString(logs.String())
	require.Contains(t, dump.String(), `"level":"ERROR"`, "the failed fetches' log records")
	for _, secret := range secrets {
		assert.NotContains(t, dump.String(), secret, "a recorded metric or span holds a secret or an identity")
	}
}

// A syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// roundTripFunc is an http.RoundTripper made of a func.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
