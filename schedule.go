package vendoroauth

import (
	"errors"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth/internal/lifetime"
)

// The schedule: when a cached token is due for a background refresh and
// when it counts as expired, the timer that refreshes a handed-out token
// without a call, and the process-wide cap on background refreshes.

// Refresh timing; doc.go's Defaults section states the same numbers. The
// first two are internal/lifetime's, which the command shares.
const (
	defaultEarlyRefresh = lifetime.DefaultEarlyRefresh // cap of the default early window
	expiryDelta         = lifetime.ExpiryDelta         // a token this close to expiry is expired, as in x/oauth2
	maxRefreshRetryWait = time.Minute                  // cap on the wait after a failed background refresh

	// maxBackgroundFetches caps the background refreshes in flight in the
	// whole process, so that many sources whose tokens come due together
	// (a fleet restarted at once) do not become as many token requests at
	// the same moment. A refresh over the cap is deferred by a short,
	// growing, jittered delay; callers never wait for it.
	maxBackgroundFetches = 64
	maxDeferral          = 2 * time.Second // cap on one such delay
)

// backgroundFetches counts the background refreshes in flight in this
// process. It is the package's one piece of shared state: the cap it
// enforces is per process by definition. It holds no channel or timer, so
// sources inside a testing/synctest bubble never wait on anything outside
// it.
var backgroundFetches atomic.Int64

// A cachedToken is a token and its schedule. It is immutable: what changes
// once it is cached (handed out, a refresh started or deferred, a retry
// after a failed one) makes a successor, a copy that replaces it as the
// source's current snapshot. Every idle source holds one, so it keeps the
// token itself, not a pointer to it, and its schedule as three monotonic
// readings.
type cachedToken struct {
	tok    oauth2.Token // handed out as &tok
	issued time.Time    // when the vendor issued tok; its lifetime counts from here

	// The schedule, as monotonic clock readings (see monoNow): one reading
	// tells a caller both whether the token may be handed out and whether
	// it is due for refresh, and a wall-clock jump changes neither. never
	// means no limit.
	expiresAt time.Duration // from here on callers wait for a new token
	refreshAt time.Duration // from here on one background refresh starts

	// Set in successors.
	authz      *[1]string // the Authorization header value, "Bearer <token>", made for Client's first request
	used       bool       // handed out: the refresh timer is armed for it
	refreshing bool       // a background refresh for it is running or deferred: hand-outs start none
	deferrals  uint8      // background refreshes deferred by the process-wide cap or a busy grant
}

// monoBase is the fixed reference of monoNow. It is set once, when the
// package is loaded, and never changed.
var monoBase = time.Now()

// monoNow returns a monotonic clock reading: the time since monoBase, which
// a wall-clock jump does not change. It costs one monotonic read, about half
// a time.Now.
func monoNow() time.Duration { return time.Since(monoBase) }

// never is a schedule offset that is never reached.
const never = time.Duration(math.MaxInt64)

// schedule returns when tok, issued at issued, is due for a background
// refresh and when it counts as expired: the same points of its lifetime
// whether it was just fetched or loaded from a store later. Zero times mean
// never. The rule is [lifetime.Schedule]'s, which the command shares.
func schedule(tok *oauth2.Token, issued time.Time, early time.Duration) (refreshAt, expiry time.Time) {
	return lifetime.Schedule(tok.Expiry, issued, early)
}

// issuedBy returns issued, or now when issued is zero or after now (a
// clock that went back), as [lifetime.IssuedBy] does.
func issuedBy(issued, now time.Time) time.Time { return lifetime.IssuedBy(issued, now) }

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

// newCachedToken schedules tok, issued at issued and cached at now, which
// must come from time.Now; a zero issued, or one after now, is now. Its
// refresh time comes a little early by a random amount, up to a tenth of
// the early window, so that sources due together spread out.
func newCachedToken(tok *oauth2.Token, issued, now time.Time, early time.Duration) *cachedToken {
	issued = issuedBy(issued, now)
	born := now.Sub(monoBase)
	c := &cachedToken{tok: *tok, issued: issued, expiresAt: never, refreshAt: never}
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

// usable reports whether tok, issued at issued, which the grant did not
// fetch itself (a store's), may be cached as it is: valid, and not yet due
// for refresh by the schedule it was issued with. It is the source's rule,
// so that a store needs no schedule of its own.
func (f *fetch) usable(tok *oauth2.Token, issued time.Time) bool {
	now := time.Now()
	refreshAt, expiry := schedule(tok, issuedBy(issued, now), f.early)
	return !expiry.IsZero() && now.Before(refreshAt)
}

// storeLocked makes c the cached token and arms the timer for what c
// waits for: its refresh time if it was handed out, or the end of a
// deferral. A token nobody took, or one whose refresh is running, needs
// none. s.mu must be held.
func (s *TokenSource) storeLocked(c *cachedToken) {
	s.cur.Store(c)
	s.stopTimerLocked()
	switch {
	case c == nil || !c.used:
	case c.refreshing && c.deferrals > 0:
		s.armLocked(1 + rand.N(min(10*time.Millisecond<<c.deferrals, maxDeferral)))
	case c.refreshing:
		// Running: its outcome stores the next snapshot.
	case c.refreshAt != never:
		s.armLocked(c.refreshAt - monoNow())
	}
}

// stopTimerLocked stops the refresh timer, if any. s.mu must be held.
func (s *TokenSource) stopTimerLocked() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
}

// armLocked arms the timer to fire after d, unless it is armed already or
// s is closed. s.mu must be held.
func (s *TokenSource) armLocked(d time.Duration) {
	if s.timer != nil || s.closed.Load() {
		return
	}
	s.timer = time.AfterFunc(max(d, 0), s.timerFired)
}

// handOut returns c for a caller, at now, a monoNow reading. The first
// time a token is handed out it makes the successor that arms the refresh
// timer (only a token somebody took is refreshed without a call, so an idle
// source holds no timer and makes no request); a hand-out in the early
// window starts the one background refresh. The hot path calls it only
// then.
func (s *TokenSource) handOut(c *cachedToken, now time.Duration) *cachedToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.cur.Load()
	if cur == nil || cur.tok.AccessToken != c.tok.AccessToken {
		return c // a new token landed meanwhile; c is valid, and not ours to mark
	}
	next := cur
	if !cur.used {
		next = cur.successor()
		next.used = true
	}
	if next.dueAt(now) && !next.refreshing {
		next = s.startRefreshLocked(next)
	}
	if next != cur {
		s.storeLocked(next)
	}
	return next
}

// header returns the Authorization header value for c's token. Client's
// first request with a token makes it, in a successor that later requests
// reuse; a source used only through Token or TokenContext makes none.
func (s *TokenSource) header(c *cachedToken) []string {
	if c.authz != nil {
		return c.authz[:]
	}
	h := &[1]string{"Bearer " + c.tok.AccessToken}
	s.mu.Lock()
	if cur := s.cur.Load(); cur != nil && cur.authz == nil && cur.tok.AccessToken == c.tok.AccessToken {
		next := cur.successor()
		next.authz = h
		s.cur.Store(next) // the timer's state is unchanged
	}
	s.mu.Unlock()
	return h[:]
}

// successor returns a copy of c, to be changed before it replaces c.
func (c *cachedToken) successor() *cachedToken {
	next := *c
	return &next
}

// timerFired runs when the refresh timer fires: at the cached token's
// refresh time, or after a deferral. It starts the background refresh of
// the cached token if somebody took it and it is due, and otherwise arms
// the timer for its refresh time; a source nobody uses makes no request.
func (s *TokenSource) timerFired() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timer = nil
	c := s.cur.Load()
	if c == nil || !c.used || s.closed.Load() {
		return
	}
	if now := monoNow(); !c.dueAt(now) {
		if c.refreshAt != never {
			s.armLocked(c.refreshAt - now)
		}
		return
	}
	if c.refreshing && c.deferrals == 0 {
		return // running; its result re-arms the timer
	}
	s.storeLocked(s.startRefreshLocked(c))
}

// startRefreshLocked starts a background refresh for c and returns its
// successor, marked as refreshing so that hand-outs start no other; the
// caller stores it. If the grant is busy (a fetch, a revocation, a save) or
// the process-wide cap is reached, the refresh is deferred instead, by a
// short, growing, jittered delay that storeLocked arms; callers never wait
// for it. s.mu must be held.
func (s *TokenSource) startRefreshLocked(c *cachedToken) *cachedToken {
	next := c.successor()
	next.refreshing = true
	if s.closed.Load() {
		return next
	}
	if s.job == nil {
		if backgroundFetches.Add(1) <= maxBackgroundFetches {
			next.deferrals = 0
			s.beginLocked(true, false, nil)
			return next
		}
		backgroundFetches.Add(-1)
	}
	next.deferrals = min(c.deferrals+1, 8) // storeLocked arms the timer for the deferral
	return next
}

// retryLater returns a successor of cur whose next background refresh comes
// after a pause from now, a monoNow reading: a quarter of the remaining
// life, between 1s and maxRefreshRetryWait, or longer if the vendor's
// Retry-After says so, and at least rejectHoldDown after a credential
// rejection.
func retryLater(cur *cachedToken, now time.Duration, err error) *cachedToken {
	wait := min(max((cur.expiresAt-now)/4, time.Second), maxRefreshRetryWait)
	if ra, _ := transient(err); ra > wait {
		wait = ra
	}
	if errors.Is(err, ErrInvalidCredentials) {
		wait = max(wait, rejectHoldDown) // no account lockout from background retries
	}
	next := cur.successor()
	next.refreshAt = later(now, wait)
	next.refreshing, next.deferrals = false, 0
	return next
}
