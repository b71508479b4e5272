package vendoroauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// Refresh timing; doc.go's Defaults section states the same numbers.
const (
	defaultEarlyRefresh = 5 * time.Minute  // cap of the default early window
	expiryDelta         = 10 * time.Second // a token this close to expiry is expired, as in x/oauth2
	rejectHoldDown      = 30 * time.Second // how long a credential rejection is remembered
	maxRefreshRetryWait = time.Minute      // cap on the wait after a failed background refresh

	// maxBackgroundFetches caps the background refreshes in flight in the
	// whole process, so that many sources whose tokens come due together
	// (a fleet restarted at once) do not become as many token requests at
	// the same moment. A refresh over the cap is deferred by a short,
	// growing, jittered delay; callers never wait for it.
	maxBackgroundFetches = 64
	maxDeferral          = 2 * time.Second // cap on one such delay

	// replacementHoldDown is how long a token that replaced a refused one
	// is kept, refused or not, before a 401 may replace it in turn.
	replacementHoldDown = time.Minute

	// closeGrace is how long Close lets a running save to a store finish.
	closeGrace = 500 * time.Millisecond
)

// backgroundFetches counts the background refreshes in flight in this
// process. It is the package's one piece of shared state: the cap it
// enforces is per process by definition. It holds no channel or timer, so
// sources inside a testing/synctest bubble never wait on anything outside
// it.
var backgroundFetches atomic.Int64

// A grant obtains tokens from one vendor for one credential: the vendor's
// grant types, and optionally a store in front of them. A TokenSource calls
// its grant from one goroutine at a time, its after work included, so a
// grant needs no lock of its own.
type grant interface {
	// token obtains a new token to replace prev.
	token(ctx context.Context, prev held) (result, error)

	// revoke revokes what the grant holds at the vendor, and forgets it.
	// cur is the source's cached token, or nil.
	revoke(ctx context.Context, cur *oauth2.Token) error
}

// A result is what a grant obtained.
type result struct {
	tok    *oauth2.Token
	extra  map[string]any // the response members behind tok.Extra, for stores; may be nil
	issued time.Time      // when the vendor issued tok (its request was sent)

	// after, if not nil, is work that must not delay callers (saving to a
	// store); the source runs it once tok is published, before the grant
	// is called again. Its ctx is not cancelled by Close at once: Close
	// gives it closeGrace to finish, so that a save is not lost to a Close
	// that follows a Token call.
	after func(ctx context.Context)
}

// A held token is the one a fetch is to replace: the cached token when the
// fetch started, which may have expired, or none. A store never hands the
// same token back for it, nor one issued before it.
type held struct {
	tok    *oauth2.Token // nil: none; points into an immutable snapshot
	issued time.Time
}

// A forgetter is a grant that wants to know which tokens the source
// dropped because they were refused ([TokenSource.Invalidate], a 401), so
// that it never hands one out again. Unlike the grant's other methods,
// forget may be called from any goroutine at any time.
type forgetter interface {
	forget(tok *oauth2.Token)
}

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
	cfg    config          // vendor, early window, logger, configuration error; the grant shares it
	grant  grant           // obtains and revokes tokens; called by one goroutine at a time
	values context.Context // the constructor's ctx, for its values only

	// cur is the cached token, read lock-free on every call. Writers hold
	// mu, so that a store cannot race with starting a fetch.
	cur    atomic.Pointer[cachedToken]
	closed atomic.Bool // set under mu by Close, read without it

	mu       sync.Mutex  // protects the fields below; never held across I/O
	refused  bool        // cur was dropped after a 401: the next token is its replacement
	inflight *call       // the grant's current work, nil if idle
	timer    *time.Timer // fires at cur's refresh time; nil if none
	rejected *rejection  // the last credential rejection of a blocking fetch, or nil
}

// A rejection is a credential rejection that is returned without a request
// until a time.
type rejection struct {
	err   error
	until time.Time
}

// A cachedToken is an immutable snapshot of a token and its schedule, apart
// from its atomic flags. Every idle source holds one, so it keeps the token
// itself, not a pointer to it, and its schedule as three monotonic
// readings.
type cachedToken struct {
	tok    oauth2.Token             // handed out as &tok
	issued time.Time                // when the vendor issued tok; its lifetime counts from here
	authz  atomic.Pointer[[]string] // the Authorization header value, built on first use

	// The schedule, as monotonic clock readings (see monoNow): one reading
	// tells a caller both whether the token may be handed out and whether
	// it is due for refresh, and a wall-clock jump changes neither. never
	// means no limit.
	born      time.Duration // when it was cached
	expiresAt time.Duration // from here on callers wait for a new token
	refreshAt time.Duration // from here on one background refresh starts

	replacement bool // obtained because its predecessor was refused with a 401

	used      atomic.Bool  // handed out at least once
	proven    atomic.Bool  // the API accepted it at least once through Client
	started   atomic.Bool  // a background refresh was started for this snapshot
	deferrals atomic.Int32 // background refreshes deferred by the process-wide cap
}

// monoBase is the fixed reference of monoNow. It is set once, when the
// package is loaded, and never changed.
var monoBase = time.Now()

// monoNow returns a monotonic clock reading: the time since monoBase, which
// a wall-clock jump does not change. It costs one monotonic read, about half
// a time.Now.
func monoNow() time.Duration { return time.Since(monoBase) }

// A call is one use of the grant: a fetch shared by everyone who wants its
// result, or a revocation. snap and err are written once, before done is
// closed, and read only after; idle is closed once the grant's after work
// is done too.
type call struct {
	done chan struct{}
	idle chan struct{}
	snap *cachedToken
	err  error
	prev held // what a fetch replaces; set when it starts

	// A fetch's context, made when it starts, cancelled by Close and when
	// the call ends: an idle source holds no context. A revocation's call
	// has none (cancel is nil): it runs on its caller's ctx.
	ctx    context.Context
	cancel context.CancelFunc

	// The after work's context, made when there is after work; Close
	// cancels it closeGrace after the fetch's. Guarded by TokenSource.mu.
	afterCancel context.CancelFunc
	graceOver   bool // Close's grace is over: after work gets a cancelled context

	background bool // started by an early refresh, not by a waiting caller
	inline     bool // run by the caller that started it, not by a goroutine of its own
	published  bool // done is closed; guarded by TokenSource.mu
}

// newTokenSource returns a source for vendor v with opts applied, and the
// settings whose token and store start reads. The caller checks its own
// arguments into s.cfg.err, then calls start.
func newTokenSource(ctx context.Context, v *vendorInfo, opts []Option) (*TokenSource, settings) {
	if ctx == nil {
		ctx = context.Background()
	}
	cfg, st := newConfig(ctx, v, opts)
	return &TokenSource{cfg: cfg, values: ctx}, st
}

// start gives s its grant, g with st's store in front of it, and st's
// token as its cached token, and returns s.
func (s *TokenSource) start(g grant, st settings, clientID string) *TokenSource {
	s.grant = s.cfg.withStore(g, st.store, clientID)
	if t := st.token; t != nil && t.AccessToken != "" && s.cfg.err == nil {
		now := time.Now()
		s.mu.Lock()
		s.storeLocked(newCachedToken(t, givenIssued(t, now), now, s.cfg.early))
		s.mu.Unlock()
	}
	return s
}

// givenIssued returns when a token given with WithToken was issued: its
// ExpiresIn before its expiry when it says so, else now, so that its
// lifetime counts from the start at the latest.
func givenIssued(t *oauth2.Token, now time.Time) time.Time {
	if t.ExpiresIn > 0 && !t.Expiry.IsZero() {
		if at := t.Expiry.Add(-time.Duration(min(t.ExpiresIn, int64(maxLifetime/time.Second))) * time.Second); at.Before(now) {
			return at
		}
	}
	return now
}

// schedule returns when tok, issued at issued, is due for a background
// refresh and when it counts as expired: the same points of its lifetime
// whether it was just fetched or loaded from a store later. Zero times mean
// never.
func schedule(tok *oauth2.Token, issued time.Time, early time.Duration) (refreshAt, expiry time.Time) {
	if tok.Expiry.IsZero() {
		return time.Time{}, time.Time{} // never expires, as in x/oauth2
	}
	lifetime := tok.Expiry.Sub(issued)
	if lifetime <= 0 {
		return tok.Expiry, tok.Expiry
	}
	if early <= 0 {
		early = min(defaultEarlyRefresh, lifetime/5)
	}
	return tok.Expiry.Add(-min(early, lifetime/2)), tok.Expiry.Add(-min(expiryDelta, lifetime/20))
}

// never is a schedule offset that is never reached.
const never = time.Duration(math.MaxInt64)

// issuedBy returns issued, or now when issued is zero or after now (a
// clock that went back).
func issuedBy(issued, now time.Time) time.Time {
	if issued.IsZero() || issued.After(now) {
		return now
	}
	return issued
}

// newCachedToken schedules tok, issued at issued and cached at now, which
// must come from time.Now; a zero issued, or one after now, is now. Its
// refresh time comes a little early by a random amount, up to a tenth of
// the early window, so that sources due together spread out.
func newCachedToken(tok *oauth2.Token, issued, now time.Time, early time.Duration) *cachedToken {
	issued = issuedBy(issued, now)
	born := now.Sub(monoBase)
	c := &cachedToken{tok: *tok, issued: issued, born: born, expiresAt: never, refreshAt: never}
	refreshAt, expiry := schedule(tok, issued, early)
	if !expiry.IsZero() {
		expiresIn, refreshIn := expiry.Sub(now), refreshAt.Sub(now)
		if window := expiry.Sub(refreshAt) / 10; window > 0 {
			refreshIn -= rand.N(window)
		}
		c.expiresAt, c.refreshAt = later(born, expiresIn), later(born, refreshIn)
	}
	return c
}

// later returns the reading d after t, or never if that is past what a
// Duration holds (an expiry centuries away).
func later(t, d time.Duration) time.Duration {
	if d > 0 && t > never-d {
		return never
	}
	return t + d
}

// validAt reports whether the token may be handed out at now, a monoNow
// reading.
func (c *cachedToken) validAt(now time.Duration) bool { return now < c.expiresAt }

// dueAt reports whether the token is due for refresh at now, a monoNow
// reading.
func (c *cachedToken) dueAt(now time.Duration) bool { return now >= c.refreshAt }

// header returns the Authorization header value for c's token,
// "Bearer <token>", built once, on first use: an idle source holds none.
func (c *cachedToken) header() []string {
	if h := c.authz.Load(); h != nil {
		return *h
	}
	h := []string{"Bearer " + c.tok.AccessToken}
	c.authz.CompareAndSwap(nil, &h)
	return *c.authz.Load()
}

// storeLocked makes c the cached token and, if c was handed out already,
// arms the timer for its refresh time. s.mu must be held.
func (s *TokenSource) storeLocked(c *cachedToken) {
	s.cur.Store(c)
	s.stopTimerLocked()
	if c != nil && c.used.Load() {
		s.armLocked(c)
	}
}

// stopTimerLocked stops the refresh timer, if any. s.mu must be held.
func (s *TokenSource) stopTimerLocked() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
}

// armLocked arms the timer for c's refresh time. s.mu must be held.
func (s *TokenSource) armLocked(c *cachedToken) {
	if c.refreshAt == never || s.closed.Load() || s.timer != nil {
		return
	}
	s.timer = time.AfterFunc(max(c.refreshAt-monoNow(), 0), func() { s.refreshDue(c) })
}

// handOut marks c as handed out. The first time, it arms the refresh timer:
// only a token somebody took is refreshed without a call, so an idle
// source holds no timer and makes no request.
func (s *TokenSource) handOut(c *cachedToken) {
	if c.used.Load() || !c.used.CompareAndSwap(false, true) {
		return
	}
	s.mu.Lock()
	if s.cur.Load() == c {
		s.armLocked(c)
	}
	s.mu.Unlock()
}

// refreshDue runs when c's refresh time comes: it refreshes c in the
// background if c is still cached and somebody took it since it was
// fetched; a source nobody uses makes no request.
func (s *TokenSource) refreshDue(c *cachedToken) {
	if c.used.Load() && s.cur.Load() == c {
		s.refreshAsync(c)
	}
}

// Token returns a valid token, fetching one if the cached token has expired.
// It implements [oauth2.TokenSource]. The token is a copy the caller owns
// and may modify. Token is TokenContext with [context.Background]: a caller
// waits for a running fetch until it ends, which the fetch's own deadlines
// bound.
func (s *TokenSource) Token() (*oauth2.Token, error) {
	c, err := s.snapshot(context.Background())
	if err != nil {
		return nil, err
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
	c, err := s.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return &c.tok, nil
}

// snapshot returns the cached token's snapshot if it is valid, and
// otherwise waits for a new one. It is the hot path of every way in.
func (s *TokenSource) snapshot(ctx context.Context) (*cachedToken, error) {
	if s == nil || s.grant == nil {
		return nil, errZeroSource
	}
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if c := s.cur.Load(); c != nil {
		if now := monoNow(); c.validAt(now) {
			s.handOut(c)
			if c.dueAt(now) {
				s.refreshAsync(c)
			}
			return c, nil
		}
	}
	return s.wait(ctx)
}

// errZeroSource is returned by the methods of a TokenSource that no
// constructor made.
var errZeroSource = invalidConfig("vendoroauth: TokenSource was not made by a constructor")

// refreshAsync starts a background refresh for snapshot c unless one was
// started already. If the grant is busy (a revocation, a save) or the
// process-wide cap is reached, it defers the refresh by a short, growing,
// jittered delay; c stays marked as started meanwhile, so callers on the
// hot path take no lock.
func (s *TokenSource) refreshAsync(c *cachedToken) {
	if !c.started.CompareAndSwap(false, true) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() || s.cur.Load() != c {
		return
	}
	if s.inflight == nil {
		if backgroundFetches.Add(1) <= maxBackgroundFetches {
			s.startLocked(true, false)
			return
		}
		backgroundFetches.Add(-1)
	}
	n := min(c.deferrals.Add(1), 8)
	d := 1 + rand.N(min(10*time.Millisecond<<n, maxDeferral))
	s.stopTimerLocked()
	s.timer = time.AfterFunc(d, func() {
		c.started.Store(false)
		s.refreshDue(c)
	})
}

// wait is the slow path: join or start the shared fetch and wait for it or
// for ctx.
func (s *TokenSource) wait(ctx context.Context) (*cachedToken, error) {
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
			s.handOut(c)
			return c, nil
		}
		c := s.inflight
		if r := s.rejected; c == nil && r != nil && time.Now().Before(r.until) {
			s.mu.Unlock()
			return nil, r.err
		}
		inline := false
		if c == nil {
			// A caller that cannot leave (Token, or a ctx that is never
			// done) runs the fetch itself, sparing a goroutine hand-off;
			// one that can leave hands it to a goroutine of the source.
			inline = ctx.Done() == nil
			c = s.startLocked(false, inline)
		}
		published := c.published
		s.mu.Unlock()
		if inline {
			s.run(c)
		}

		if published {
			// The grant is finishing earlier work (a revocation, a save)
			// whose result is not ours; wait until it is free.
			if err := s.await(ctx, c.idle); err != nil {
				return nil, err
			}
			continue
		}
		if err := s.await(ctx, c.done); err != nil {
			return nil, err
		}
		if c.err != nil {
			if s.closed.Load() {
				return nil, ErrClosed
			}
			return nil, c.err
		}
		s.handOut(c.snap)
		return c.snap, nil
	}
}

// await waits until ch is closed or ctx is done.
func (s *TokenSource) await(ctx context.Context, ch <-chan struct{}) error {
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("vendoroauth: %s token: gave up waiting for the fetch: %w", s.cfg.vendor.name, ctx.Err())
	}
}

// startLocked records a fetch as in flight and, unless the caller runs it
// inline itself, starts a goroutine for it. s.mu must be held and s must
// not be closed.
func (s *TokenSource) startLocked(background, inline bool) *call {
	c := &call{done: make(chan struct{}), idle: make(chan struct{}), background: background, inline: inline}
	if cur := s.cur.Load(); cur != nil {
		c.prev = held{tok: &cur.tok, issued: cur.issued}
	}
	// The constructor's values, never its cancellation.
	c.ctx, c.cancel = context.WithCancel(s.valuesOnly())
	s.inflight = c
	if !inline {
		go s.run(c)
	}
	return c
}

// valuesOnly returns the constructor's context without its cancellation.
func (s *TokenSource) valuesOnly() context.Context {
	if s.values.Done() == nil {
		return s.values // it is never cancelled: nothing to detach
	}
	return context.WithoutCancel(s.values)
}

// run performs the fetch for c, publishes its result, then lets the grant
// finish its after work before it is free again. Whatever happens in the
// grant, a panic included, every waiter gets a result and the grant is
// freed: a panic is published as an error to the waiters, then goes on up.
func (s *TokenSource) run(c *call) {
	released := false
	defer func() {
		if !released { // the grant, a store or a log handler panicked
			if !c.published {
				s.publish(c, errFetchPanicked, time.Now())
			}
			s.finish(c)
		}
	}()
	s.cfg.logger.LogAttrs(c.ctx, slog.LevelDebug, "vendoroauth: fetching token",
		slog.String("vendor", s.cfg.vendor.name), slog.Bool("background", c.background))
	res, err := s.grant.token(c.ctx, c.prev)
	if err == nil {
		s.publish(c, nil, time.Now(), res)
	} else {
		s.publish(c, err, time.Now())
	}
	released = true
	switch {
	case res.after == nil:
		s.finish(c)
	case !c.inline:
		defer s.finish(c)
		res.after(s.afterContext(c))
	default:
		// The caller has its token; the after work must not delay it.
		go func() {
			defer s.finish(c)
			res.after(s.afterContext(c))
		}()
	}
}

// afterContext returns the context for c's after work: the constructor's
// values, cancelled closeGrace into Close (at once if that is past).
func (s *TokenSource) afterContext(c *call) context.Context {
	ctx, cancel := context.WithCancel(s.valuesOnly())
	s.mu.Lock()
	c.afterCancel = cancel
	if c.graceOver {
		cancel()
	}
	s.mu.Unlock()
	return ctx
}

// endGrace cancels c's after work: Close's grace for it is over.
func (s *TokenSource) endGrace(c *call) {
	s.mu.Lock()
	c.graceOver = true
	cancel := c.afterCancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// errFetchPanicked is what waiters get when the grant panicked.
var errFetchPanicked = errors.New("vendoroauth: token fetch panicked")

// publish records the outcome of c's fetch, at now, and releases its
// waiters; res is the grant's result when err is nil. It logs after
// unlocking, so that a slow log handler never holds up callers. A token
// that arrived already expired is published as an error.
func (s *TokenSource) publish(c *call, err error, now time.Time, res ...result) {
	var logs []func()
	s.mu.Lock()
	if c.background {
		backgroundFetches.Add(-1)
	}
	switch {
	case err == nil:
		tok := res[0].tok
		snap := newCachedToken(tok, res[0].issued, now, s.cfg.early)
		if !snap.validAt(snap.born) {
			err = fmt.Errorf("vendoroauth: %s token: the vendor's token expired on arrival: %w", s.cfg.vendor.name, ErrMalformedResponse)
			break
		}
		s.rejected = nil
		snap.replacement, s.refused = s.refused, false
		c.snap = snap
		s.storeLocked(snap)
		if s.cfg.logger.Enabled(c.ctx, slog.LevelDebug) {
			logs = append(logs, func() {
				s.cfg.logger.LogAttrs(c.ctx, slog.LevelDebug, "vendoroauth: token fetched",
					slog.String("vendor", s.cfg.vendor.name), slog.Duration("expires_in", tok.Expiry.Sub(now).Round(time.Second)))
			})
		}
	case s.closed.Load():
		// Close cancelled the fetch; nothing to report.
	}
	if err != nil && !s.closed.Load() {
		if errors.Is(err, ErrInvalidCredentials) {
			s.rejected = &rejection{err: err, until: now.Add(rejectHoldDown)}
		}
		if cur, mono := s.cur.Load(), now.Sub(monoBase); cur != nil && cur.validAt(mono) {
			// A failed early refresh keeps the valid token and tries again
			// before it expires.
			next := s.retryLater(cur, mono, err)
			s.storeLocked(next)
			wait := next.refreshAt - mono
			logs = append(logs, func() {
				s.cfg.logger.LogAttrs(c.ctx, slog.LevelWarn, "vendoroauth: background refresh failed; keeping current token",
					slog.String("vendor", s.cfg.vendor.name), slog.Duration("wait", wait), slog.Any("err", err))
			})
		} else {
			logs = append(logs, func() {
				s.cfg.logger.LogAttrs(c.ctx, slog.LevelError, "vendoroauth: token fetch failed",
					slog.String("vendor", s.cfg.vendor.name), slog.Any("err", err))
			})
		}
	}
	c.err = err
	c.published = true
	s.mu.Unlock()
	close(c.done)
	for _, l := range logs {
		l()
	}
}

// finish marks the grant free after c and ends c's contexts.
func (s *TokenSource) finish(c *call) {
	s.mu.Lock()
	s.inflight = nil
	afterCancel := c.afterCancel
	s.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
	if afterCancel != nil {
		afterCancel()
	}
	close(c.idle)
}

// retryLater returns a snapshot of cur whose next background refresh comes
// after a pause from now, a monoNow reading: a quarter of the remaining
// life, between 1s and maxRefreshRetryWait, or longer if the vendor's
// Retry-After says so, and at least rejectHoldDown after a credential
// rejection.
func (s *TokenSource) retryLater(cur *cachedToken, now time.Duration, err error) *cachedToken {
	wait := min(max((cur.expiresAt-now)/4, time.Second), maxRefreshRetryWait)
	if ra, _ := transient(err); ra > wait {
		wait = ra
	}
	if errors.Is(err, ErrInvalidCredentials) {
		wait = max(wait, rejectHoldDown) // no account lockout from background retries
	}
	next := &cachedToken{tok: cur.tok, issued: cur.issued, born: cur.born, expiresAt: cur.expiresAt,
		refreshAt: later(now, wait), replacement: cur.replacement}
	next.used.Store(cur.used.Load())
	next.authz.Store(cur.authz.Load())
	next.proven.Store(cur.proven.Load())
	return next
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
	s.rejected, s.refused = nil, false
	s.mu.Unlock()
	s.forget(c)
}

// refuse handles a 401 for a request sent with snapshot c. It forgets c's
// token if it is still the cached token, in c or in a later snapshot of the
// same token (re-read from a store), so that many requests refused with one
// old token cause one fetch, not one each, and reports whether a new token is
// worth trying. It is not when c itself replaced a refused token and the
// API never accepted c, or accepted it less than replacementHoldDown ago:
// a token refused from the start points at the endpoint, not the token, so
// a permanent 401 costs at most one new token per token, while a token
// that worked and is then refused (revoked) is replaced again.
func (s *TokenSource) refuse(c *cachedToken) bool {
	if c.replacement && (!c.proven.Load() || monoNow()-c.born < replacementHoldDown) {
		return false
	}
	s.mu.Lock()
	cur := s.cur.Load()
	drop := cur != nil && cur.tok.AccessToken == c.tok.AccessToken // the same token, in whatever snapshot
	if drop {
		s.storeLocked(nil)
		s.refused = true
	}
	s.mu.Unlock()
	if drop {
		s.forget(c)
	}
	return true
}

// forget tells the grant, if it wants to know, that c's token was dropped.
func (s *TokenSource) forget(c *cachedToken) {
	if f, ok := s.grant.(forgetter); ok && c != nil {
		f.forget(&c.tok)
	}
}

// Revoke revokes what the source holds at the vendor (the refresh token
// for EnduroSat, which also ends its access tokens; the access token for
// Formlabs) and then forgets it, also in a store. It first waits for a
// running fetch, so that the token it revokes is the latest. With a store,
// it revokes what the store holds if the source holds nothing, and clears
// the store of its own record. If there is nothing to revoke, it returns
// nil; an EnduroSat source holding an access token and no refresh token
// returns an error instead, since EnduroSat revokes refresh tokens only. On
// failure the source keeps its tokens, so that Revoke can be tried again.
//
// After Revoke, a source that knows a password or client secret logs in
// again on the next Token call; a refresh-only EnduroSat source reports
// [ErrInvalidCredentials].
func (s *TokenSource) Revoke(ctx context.Context) error {
	if s == nil || s.grant == nil {
		return errZeroSource
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if s.closed.Load() {
		return ErrClosed
	}
	if s.cfg.err != nil {
		return s.cfg.err
	}
	c, err := s.claim(ctx)
	if err != nil {
		return err
	}
	defer s.finish(c)
	cur := s.cur.Load()
	var tok *oauth2.Token
	if cur != nil {
		tok = &cur.tok
	}
	if err := s.grant.revoke(ctx, tok); err != nil {
		return err
	}
	s.mu.Lock()
	if s.cur.Load() == cur {
		s.storeLocked(nil)
	}
	s.mu.Unlock()
	return nil
}

// claim waits until the grant is free and takes it for the caller's own
// work; callers who want a token meanwhile wait for it to be free again.
// The caller must pass the call to finish.
func (s *TokenSource) claim(ctx context.Context) (*call, error) {
	for {
		s.mu.Lock()
		if s.closed.Load() {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		busy := s.inflight
		if busy == nil {
			c := &call{done: make(chan struct{}), idle: make(chan struct{}), published: true}
			close(c.done)
			s.inflight = c
			s.mu.Unlock()
			return c, nil
		}
		s.mu.Unlock()
		if err := s.await(ctx, busy.idle); err != nil {
			return nil, err
		}
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
	c := s.inflight
	s.mu.Unlock()
	if c != nil && c.cancel != nil {
		// The one fetch that can be running (not a revocation, which has
		// no context of its own); none starts once closed.
		c.cancel()
		grace := time.AfterFunc(closeGrace, func() { s.endGrace(c) })
		<-c.idle
		grace.Stop()
	}
	s.mu.Lock()
	s.cur.Store(nil)
	s.rejected = nil
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
