package vendoroauth

import (
	"context"
	"log/slog"
	"time"
)

// An Observer is told what token sources do, for metrics, traces and
// logs: a source joining it, a fetch starting and ending, and the API
// refusing a token. Each func is optional: a nil one is not called. They
// are called synchronously, on the goroutine doing the work, by any number
// of sources at once, so they must be safe for concurrent use and must not
// block. They never receive a token or a secret, and the error texts they
// get are free of secrets, like every error of this package. A cached
// token handed out calls none of them.
//
// It is a struct of funcs, as [net/http/httptrace.ClientTrace] is, rather
// than an interface: most observers want a few of the events, and a func
// added later breaks no observer. Package
// github.com/vendoroauth/vendoroauth/otelvendoroauth makes one that records
// OpenTelemetry metrics and spans.
type Observer struct {
	// Attach is called once for each source given the Observer, when it
	// is made, so that an observer can ask it for its [TokenSource.Status]
	// later (an observer should hold it weakly, for a dropped source is
	// not closed).
	Attach func(src *TokenSource)

	// FetchStart is called when a fetch starts, with the fetch's context,
	// which carries the constructor's values. The context it returns is
	// the fetch's from then on: its token requests, its log records and
	// FetchDone get it, so that a span started here is theirs. It must
	// return ctx or a context derived from it.
	FetchStart func(ctx context.Context, f FetchStart) context.Context

	// FetchDone is called when a fetch ends, with the context FetchStart
	// returned.
	FetchDone func(ctx context.Context, f FetchDone)

	// Refused is called when the API refused a token with a 401 through
	// [TokenSource.Client] and the source dropped it, with the request's
	// context.
	Refused func(ctx context.Context, r Refusal)
}

// A FetchReason says why a source fetched a token.
type FetchReason string

// The reasons for a fetch.
const (
	ReasonInitial     FetchReason = "initial"     // the source had no token yet
	ReasonExpired     FetchReason = "expired"     // its token expired, and a caller waited
	ReasonRefresh     FetchReason = "refresh"     // a background or early-window refresh of a valid token
	ReasonInvalidated FetchReason = "invalidated" // TokenSource.Invalidate dropped its token
	ReasonRefused     FetchReason = "refused"     // the API refused its token with a 401
)

// A TokenOrigin says where a fetch got its token.
type TokenOrigin string

// The origins of a token.
const (
	OriginVendor TokenOrigin = "vendor" // the vendor's token endpoint
	OriginStore  TokenOrigin = "store"  // the source's TokenStore, with no request
)

// FetchStart describes a fetch that starts.
type FetchStart struct {
	Vendor string // "endurosat" or "formlabs"
	Reason FetchReason

	// Caller is the context of the caller that started the fetch and
	// waits for it (TokenContext's, a request's through Client, an RPC's),
	// whose span a trace hangs the fetch under; nil for a fetch nobody
	// waits for with a context of their own: a background refresh, or a
	// Token call.
	Caller context.Context
}

// FetchDone describes a fetch that ended.
type FetchDone struct {
	Vendor   string
	Reason   FetchReason
	Grant    string      // the last grant tried: "password", "refresh_token", "client_credentials"; "" for none (a token loaded from the store)
	Origin   TokenOrigin // where the token came from; for a failure, OriginStore when the store made it fail
	Attempts int         // token requests sent, retries included
	Duration time.Duration
	Expiry   time.Time // the new token's expiry; zero on failure
	Err      error     // nil on success
}

// A Refusal describes a token the API refused.
type Refusal struct {
	Vendor string
}

// WithObserver returns an [Option] that tells o what the source does (see
// [Observer]). Passing it again overrides the earlier value; an Observer
// with no funcs set means none, the default.
//
// Used by: token sources.
func WithObserver(o Observer) Option {
	return func(s *settings) { s.observer = o }
}

// instruments are what a source reports to: its logger and its observer.
// Sources given neither share one, so that an idle source pays no bytes for
// them.
type instruments struct {
	logger   *slog.Logger // never nil
	observer Observer
}

// noInstruments are the instruments of every source and revoker given no
// logger and no observer. They are never changed.
var noInstruments = &instruments{logger: discardLogger}
