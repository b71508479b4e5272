package otelvendoroauth

import (
	"context"
	"sync"
	"time"
	"weak"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/vendoroauth/vendoroauth"
)

// ScopeName is the instrumentation scope of the meter and the tracer: the
// module's import path.
const ScopeName = "github.com/vendoroauth/vendoroauth/otelvendoroauth"

// Attribute keys.
const (
	VendorKey    = attribute.Key("vendoroauth.vendor")       // "endurosat" or "formlabs"
	ReasonKey    = attribute.Key("vendoroauth.fetch.reason") // initial, expired, refresh, invalidated, refused
	OriginKey    = attribute.Key("vendoroauth.token.origin") // vendor or store
	ErrorTypeKey = attribute.Key("error.type")               // on failure: see ErrorType
)

// An Option configures NewObserver.
type Option func(*options)

type options struct {
	mp metric.MeterProvider
	tp trace.TracerProvider
}

// WithMeterProvider returns an [Option] that records metrics with mp. A nil
// mp means the default: the global provider ([otel.GetMeterProvider]).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.mp = mp }
}

// WithTracerProvider returns an [Option] that records spans with tp. A nil
// tp means the default: the global provider ([otel.GetTracerProvider]).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tp = tp }
}

// NewObserver returns a [vendoroauth.Observer] that records, for every
// source given it with [vendoroauth.WithObserver]:
//   - vendoroauth.token.fetch.duration, a histogram in seconds of each
//     fetch, with the vendor, the reason, the origin and, on failure,
//     error.type;
//   - vendoroauth.token.refusals, a counter of the tokens the API refused
//     with a 401 and the source dropped, with the vendor;
//   - vendoroauth.token.time_to_expiry, an observable gauge in seconds: one
//     point per vendor, the smallest time to expiry among that vendor's
//     live sources that hold a token;
//   - a span vendoroauth.token.fetch for each fetch, with the same
//     attributes, whose status is Error on failure, with error.type as its
//     description. It is a child of the span of the caller who waits for
//     the fetch, and a root span for every other fetch (a background
//     refresh, a Token call); the fetch's token requests carry it, so that
//     an otelhttp transport given to the source puts its client spans
//     under it.
//
// It never records a token, a secret, a client id, a username or an
// error's text. One Observer may serve any number of sources; it holds
// them weakly, so a source dropped without Close is not kept alive, and a
// closed one stops reporting. It returns an error only if an instrument
// cannot be made.
func NewObserver(opts ...Option) (vendoroauth.Observer, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.mp == nil {
		o.mp = otel.GetMeterProvider()
	}
	if o.tp == nil {
		o.tp = otel.GetTracerProvider()
	}
	r := &recorder{tracer: o.tp.Tracer(ScopeName)}
	meter := o.mp.Meter(ScopeName)
	var err error
	if r.duration, err = meter.Float64Histogram("vendoroauth.token.fetch.duration",
		metric.WithUnit("s"), metric.WithDescription("How long a token fetch took, store work and retries included.")); err != nil {
		return vendoroauth.Observer{}, err
	}
	if r.refusals, err = meter.Int64Counter("vendoroauth.token.refusals",
		metric.WithUnit("{refusal}"), metric.WithDescription("Tokens the API refused with a 401, which the source dropped.")); err != nil {
		return vendoroauth.Observer{}, err
	}
	if _, err = meter.Float64ObservableGauge("vendoroauth.token.time_to_expiry",
		metric.WithUnit("s"), metric.WithDescription("The smallest time to expiry among the live sources of a vendor that hold a token."),
		metric.WithFloat64Callback(r.observeExpiry)); err != nil {
		return vendoroauth.Observer{}, err
	}
	return vendoroauth.Observer{
		Attach:     r.attach,
		FetchStart: r.fetchStart,
		FetchDone:  r.fetchDone,
		Refused:    r.refused,
	}, nil
}

// A recorder records what the sources it observes tell it.
type recorder struct {
	tracer   trace.Tracer
	duration metric.Float64Histogram
	refusals metric.Int64Counter

	mu      sync.Mutex
	sources []weak.Pointer[vendoroauth.TokenSource] // the live sources, for the gauge
}

// attach remembers src, weakly, for the gauge.
func (r *recorder) attach(src *vendoroauth.TokenSource) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sources = append(r.sources, weak.Make(src))
}

// fetchStart starts the fetch's span: a child of the waiting caller's span,
// or a root.
func (r *recorder) fetchStart(ctx context.Context, f vendoroauth.FetchStart) context.Context {
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(VendorKey.String(f.Vendor), ReasonKey.String(string(f.Reason))),
	}
	if f.Caller != nil {
		// The fetch's ctx carries the constructor's values, its span
		// included; the caller's span is the parent, and only it.
		ctx = trace.ContextWithSpan(ctx, trace.SpanFromContext(f.Caller))
	} else {
		opts = append(opts, trace.WithNewRoot())
	}
	ctx, _ = r.tracer.Start(ctx, "vendoroauth.token.fetch", opts...)
	return ctx
}

// fetchDone records the fetch's duration and ends its span.
func (r *recorder) fetchDone(ctx context.Context, f vendoroauth.FetchDone) {
	attrs := []attribute.KeyValue{VendorKey.String(f.Vendor), ReasonKey.String(string(f.Reason)), OriginKey.String(string(f.Origin))}
	span := trace.SpanFromContext(ctx)
	if f.Err != nil {
		errType := ErrorType(f.Err)
		attrs = append(attrs, ErrorTypeKey.String(errType))
		span.SetStatus(codes.Error, errType)
	}
	span.SetAttributes(attrs...)
	span.End()
	r.duration.Record(ctx, f.Duration.Seconds(), metric.WithAttributes(attrs...))
}

// refused counts a refusal.
func (r *recorder) refused(ctx context.Context, ref vendoroauth.Refusal) {
	r.refusals.Add(ctx, 1, metric.WithAttributes(VendorKey.String(ref.Vendor)))
}

// observeExpiry reports, per vendor, the smallest time to expiry among the
// live sources that hold a token, and forgets the sources that are gone or
// closed.
func (r *recorder) observeExpiry(_ context.Context, o metric.Float64Observer) error {
	now := time.Now()
	least := map[string]time.Duration{}
	r.mu.Lock()
	live := r.sources[:0]
	for _, w := range r.sources {
		src := w.Value()
		if src == nil {
			continue
		}
		st := src.Status()
		if st.Closed {
			continue
		}
		live = append(live, w)
		if st.Expiry.IsZero() {
			continue
		}
		if d, ok := least[st.Vendor]; !ok || st.Expiry.Sub(now) < d {
			least[st.Vendor] = st.Expiry.Sub(now)
		}
	}
	clear(r.sources[len(live):])
	r.sources = live
	r.mu.Unlock()
	for vendor, d := range least {
		o.Observe(d.Seconds(), metric.WithAttributes(VendorKey.String(vendor)))
	}
	return nil
}
