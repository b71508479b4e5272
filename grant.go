package vendoroauth

import (
	"context"
	"time"

	"golang.org/x/oauth2"
)

// A grant obtains tokens from one vendor for one credential: the vendor's
// grant types (endurosat.go, formlabs.go), and optionally a store in front
// of them (store.go). A TokenSource uses its grant for one job at a time,
// a fetch's after work included (flight.go), so a grant needs no lock of
// its own.
type grant interface {
	// token obtains a new token for f.
	token(ctx context.Context, f *fetch) (result, error)

	// revoke revokes what the grant holds at the vendor, and forgets it.
	// cur is the source's cached token, or nil.
	revoke(ctx context.Context, cur *oauth2.Token) error
}

// A fetch is what a source asks of its grant: a token to replace prev,
// fresh enough to be cached as it is by the source's schedule, whose early
// window is early (see usable).
type fetch struct {
	prev  held
	early time.Duration

	// loginOnly asks an EnduroSat grant to log in with its password and not
	// to present its refresh token: the store that shares it cannot be
	// locked (store.go's without).
	loginOnly bool

	// What the grants say of the fetch, for an Observer: the last grant
	// tried, the token requests sent (wire.go's send counts them), and
	// where the token came from, or, on failure, what made it fail.
	grant    string
	attempts int
	origin   TokenOrigin
}

// A held token is the one a fetch is to replace: the cached token when the
// fetch started, which may have expired, or none. A store never hands the
// same token back for it, nor one issued before it.
type held struct {
	tok    *oauth2.Token // nil: none; points into an immutable snapshot
	issued time.Time
	until  time.Duration // a monoNow reading: until then tok may be handed out
}

// keeps reports whether the source still holds a valid token, which it
// keeps serving if the fetch fails.
func (f *fetch) keeps() bool { return f.prev.tok != nil && monoNow() < f.prev.until }

// A result is what a grant obtained.
type result struct {
	tok    *oauth2.Token
	extra  map[string]any // the response members behind tok.Extra, for stores; may be nil
	issued time.Time      // when the vendor issued tok (its request was sent)
	loaded bool           // tok came from a store, with no request

	// after, if not nil, is work that must not delay callers (saving to a
	// store); the source runs it once tok is published, before the grant
	// is used again. Its ctx is not cancelled by Close at once: Close
	// gives it closeGrace to finish, so that a save is not lost to a Close
	// that follows a Token call.
	after func(ctx context.Context)
}

// A forgetter is a grant that wants to know which tokens the source
// dropped because they were refused ([TokenSource.Invalidate], a 401), so
// that it never hands one out again. Unlike the grant's other methods,
// forget may be called from any goroutine at any time.
type forgetter interface {
	forget(tok *oauth2.Token)
}
