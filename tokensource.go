package vendoroauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// A TokenSource is an [oauth2.TokenSource] for one vendor credential. It
// caches the access token, fetches at most one at a time for all callers, and
// refreshes in the background shortly before expiry: at its refresh time,
// with no call needed, once the token has been handed out (so that
// [oauth2.NewClient], which caches on its own, never waits at expiry), or
// on the first call inside the early-refresh window. A source whose token
// nobody took since its last fetch makes no request. Its methods are safe
// for concurrent use by multiple goroutines.
//
// [TokenSource.Token] returns a copy the caller owns, since wrappers such as
// x/oauth2's ReuseTokenSource write into the token they get;
// [TokenSource.TokenContext] returns the shared token without allocating,
// which must not be modified.
//
// Create one with [EnduroSatPasswordTokenSource],
// [EnduroSatRefreshTokenSource] or [FormlabsTokenSource], and call
// [TokenSource.Close] when done with it. The zero value is not usable: its
// methods return an error.
type TokenSource struct {
	cfg    *config         // read only; the grant shares it
	grant  grant           // obtains and revokes tokens, one job at a time (flight.go)
	values context.Context // the constructor's ctx, for its values only

	// cur is the cached token, read lock-free on every call. Writers hold
	// mu, so that a store cannot race with starting a fetch.
	cur    atomic.Pointer[cachedToken]
	closed atomic.Bool // set under mu by Close, read without it

	mu     sync.Mutex  // protects the fields below; never held across I/O
	job    *job        // the grant's current job, nil if it is free (flight.go)
	timer  *time.Timer // the refresh timer (schedule.go); nil if none
	health *health     // the outcomes of its fetches (status.go); nil until the first

	budget budget // the 401 rule of Client (transport.go)
}

// newTokenSource returns a source for cfg and g with st's store in front of
// g, and st's token, if any, as its cached token.
func newTokenSource(ctx context.Context, cfg *config, g grant, st settings, clientID string) *TokenSource {
	if ctx == nil {
		ctx = context.Background()
	}
	s := &TokenSource{cfg: cfg, grant: cfg.withStore(g, st.store, clientID), values: ctx}
	if t := st.token; t != nil && t.AccessToken != "" && cfg.err == nil {
		now := time.Now()
		s.cur.Store(newCachedToken(t, givenIssued(t, now), now, cfg.early))
	}
	if attach := cfg.ins.observer.Attach; attach != nil {
		attach(s)
	}
	return s
}

// Token returns a valid token, fetching one if the cached token has expired.
// It implements [oauth2.TokenSource]. The token is a copy the caller owns
// and may modify. Token is TokenContext with [context.Background]: a caller
// waits for a running fetch until it ends, which the fetch's own deadlines
// bound.
func (s *TokenSource) Token() (*oauth2.Token, error) {
	c := s.cached()
	if c == nil {
		var err error
		if c, err = s.wait(context.Background()); err != nil {
			return nil, err
		}
	}
	cp := c.tok
	return &cp, nil
}

// TokenContext returns a valid token. A cached token is returned at once,
// without a lock or an allocation; inside the early-refresh window it also
// starts one background refresh. An expired or missing token makes the
// caller wait for the one fetch that all callers share. If ctx is done
// first, TokenContext returns ctx's error, wrapped; the fetch goes on for
// the other callers. The token is shared: it must not be modified (use
// [TokenSource.Token] for a copy).
//
// Errors match [ErrInvalidCredentials], [ErrInvalidConfig],
// [ErrMalformedResponse] or [ErrClosed] through [errors.Is], and a vendor's
// error response is an [*oauth2.RetrieveError] through [errors.As].
func (s *TokenSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	c := s.cached()
	if c == nil {
		var err error
		if c, err = s.wait(ctx); err != nil {
			return nil, err
		}
	}
	return &c.tok, nil
}

// cached returns the cached token's snapshot if it may be handed out now,
// or nil: the hot path of every way in. It takes no lock, but for the
// first hand-out of a token and the first in its early window (handOut).
func (s *TokenSource) cached() *cachedToken {
	if s == nil || s.closed.Load() {
		return nil
	}
	c := s.cur.Load()
	if c == nil {
		return nil
	}
	now := monoNow()
	switch {
	case !c.validAt(now):
		return nil
	case !c.used || c.dueAt(now) && !c.refreshing:
		return s.handOut(c, now)
	}
	return c
}

// errZeroSource is returned by the methods of a TokenSource that no
// constructor made.
var errZeroSource = errorf("TokenSource", ErrInvalidConfig, "not made by a constructor")

// wait is the slow path: join or start the shared fetch and wait for it or
// for ctx.
func (s *TokenSource) wait(ctx context.Context) (*cachedToken, error) {
	if s == nil || s.grant == nil {
		return nil, errZeroSource
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if s.cfg.err != nil {
		return nil, s.cfg.err
	}
	for {
		s.mu.Lock()
		if s.closed.Load() {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		if c := s.cur.Load(); c != nil && c.validAt(monoNow()) {
			s.mu.Unlock() // another caller's fetch landed meanwhile
			return s.handOut(c, monoNow()), nil
		}
		j := s.job
		if h := s.health; j == nil && h != nil && h.rejected != nil && time.Now().Before(h.rejectedUntil) {
			s.mu.Unlock()
			return nil, h.rejected
		}
		started := j == nil
		if started {
			// A caller that cannot leave (Token, or a ctx that is never
			// done) runs the fetch itself, sparing a goroutine hand-off;
			// one that can leave hands it to a goroutine of the source.
			// Token, which has no ctx of its own, is nobody's caller.
			caller := ctx
			if ctx == context.Background() {
				caller = nil
			}
			j = s.beginLocked(false, ctx.Done() == nil, caller)
		}
		// The grant may be busy with work whose result is not ours: a
		// revocation, or the after work (a save) of a fetch that ended.
		busy := !started && (j.fetch.done == nil || published(&j.fetch))
		s.mu.Unlock()
		switch {
		case started && j.inline:
			s.run(j)
		case started:
			go s.run(j)
		case busy:
			if err := s.await(ctx, j.idle); err != nil {
				return nil, err
			}
			continue
		}
		if err := s.await(ctx, j.fetch.done); err != nil {
			return nil, err
		}
		if err := j.fetch.err; err != nil {
			switch {
			case s.closed.Load():
				return nil, ErrClosed
			case j.fetch.background && errors.Is(err, ErrStoreUnavailable):
				continue // it gave up to keep a token that has expired since: fetch for the caller
			}
			return nil, err
		}
		return s.handOut(j.fetch.snap, monoNow()), nil
	}
}

// await waits until ch is closed or ctx is done.
func (s *TokenSource) await(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return wrapErr(s.cfg.vendor.name+" token", nil, ctx.Err(), "gave up waiting for the fetch")
	}
}

// Invalidate forgets the cached access token, so that the next call fetches
// a new one; an EnduroSat source keeps its refresh token for that, and a
// source with a store never loads the forgotten token back from it. It also
// ends the pause after a credential rejection and the 401 budget of
// [TokenSource.Client]. It does not stop a fetch that is running.
func (s *TokenSource) Invalidate() {
	if s == nil || s.grant == nil {
		return
	}
	s.mu.Lock()
	c := s.cur.Load()
	s.storeLocked(nil)
	h := s.healthLocked()
	h.rejected, h.dropped = nil, ReasonInvalidated
	s.mu.Unlock()
	s.budget.reset()
	s.forget(c)
}

// drop forgets c's token, refused by the API, if it is still the cached
// token, in c or in a later snapshot of the same token (re-read from a
// store), and reports whether it did.
func (s *TokenSource) drop(c *cachedToken) bool {
	s.mu.Lock()
	cur := s.cur.Load()
	same := cur != nil && cur.tok.AccessToken == c.tok.AccessToken
	if same {
		s.storeLocked(nil)
		s.healthLocked().dropped = ReasonRefused
	}
	s.mu.Unlock()
	if same {
		s.forget(c)
	}
	return same
}

// forget tells the grant, if it wants to know, that c's token was dropped.
func (s *TokenSource) forget(c *cachedToken) {
	if f, ok := s.grant.(forgetter); ok && c != nil {
		f.forget(&c.tok)
	}
}

// Close stops background refreshes and waits for them to finish; callers
// waiting for a fetch get [ErrClosed]. A save to a store that is running is
// given half a second to finish, so Close returns within about that even if
// the store hangs. It forgets the cached token. After
// Close, Token, TokenContext, Revoke and requests through Client return
// [ErrClosed], even while the cached token would still be valid. Calling
// Close again does nothing. It always returns nil.
func (s *TokenSource) Close() error {
	if s == nil || s.grant == nil {
		return nil
	}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return nil
	}
	s.closed.Store(true)
	s.stopTimerLocked()
	j := s.job
	s.mu.Unlock()
	if j != nil && j.cancel != nil {
		// The one fetch that can be running (not a revocation, which has
		// no context of its own); none starts once closed.
		j.cancel()
		grace := time.AfterFunc(closeGrace, func() { s.endGrace(j) })
		<-j.idle
		grace.Stop()
	}
	s.mu.Lock()
	s.cur.Store(nil)
	if h := s.health; h != nil {
		h.rejected = nil
	}
	s.mu.Unlock()
	return nil
}

// Format prints the vendor and never a secret, for every verb; fmt would
// otherwise print the cached token's fields.
func (s *TokenSource) Format(f fmt.State, _ rune) {
	io.WriteString(f, s.describe())
}

// LogValue implements [slog.LogValuer], so that logging a TokenSource logs
// only its vendor.
func (s *TokenSource) LogValue() slog.Value {
	return slog.StringValue(s.describe())
}

func (s *TokenSource) describe() string {
	if s == nil || s.grant == nil {
		return "vendoroauth.TokenSource{}"
	}
	return "vendoroauth.TokenSource{vendor: " + s.cfg.vendor.name + "}"
}
