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

// Refresh timing; doc.go's Defaults section states the same numbers.
const (
	defaultEarlyRefresh = 5 * time.Minute  // cap of the default early window
	expiryDelta         = 10 * time.Second // a token this close to expiry is expired, as in x/oauth2
	rejectHoldDown      = 30 * time.Second // how long a credential rejection is remembered
	maxRefreshRetryWait = time.Minute      // cap on the wait after a failed background refresh
)

// A TokenSource is an [oauth2.TokenSource] for one vendor credential. It
// caches the access token, fetches at most one at a time for all callers, and
// refreshes in the background shortly before expiry. Its methods are safe for
// concurrent use by multiple goroutines. Returned tokens are shared and must
// not be modified.
//
// Create one with [EnduroSatPasswordTokenSource],
// [EnduroSatRefreshTokenSource] or [FormlabsTokenSource], and call
// [TokenSource.Close] when done with it. The zero value is not usable: its
// methods return an error.
type TokenSource struct {
	cfg      *config
	clientID string                                           // names the owner of stored tokens
	fetch    func(ctx context.Context) (*oauth2.Token, error) // the vendor's grant logic; run by one goroutine at a time
	// usesRefreshTokens is set for EnduroSat, whose source adopts a stored
	// refresh token.
	usesRefreshTokens bool
	rev               *revoker
	// revokeTarget picks the token that Revoke revokes (the refresh token
	// for EnduroSat, the access token for Formlabs).
	revokeTarget func(refresh string, cur *oauth2.Token) string

	// cur is the cached token, read lock-free on every call. Writers hold
	// mu, so that a store cannot race with starting a fetch.
	cur    atomic.Pointer[cachedToken]
	closed atomic.Bool // set under mu by Close, read without it

	ctx    context.Context // values of the constructor's ctx; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // one per running fetch goroutine

	mu            sync.Mutex // protects the fields below; never held across I/O
	inflight      *call      // the running fetch, nil if none
	refreshToken  string     // latest refresh token; survives Invalidate
	rejected      error      // last credential rejection of a blocking fetch
	rejectedUntil time.Time  // until when rejected is returned without a request
}

// A cachedToken is an immutable snapshot of a token and its schedule, apart
// from the refreshing flag.
type cachedToken struct {
	tok       *oauth2.Token
	expiry    time.Time   // from here on callers wait for a new token; zero: never
	refreshAt time.Time   // from here on one background refresh starts; zero: never
	started   atomic.Bool // a background refresh was started for this snapshot
}

// A call is one fetch shared by everyone who wants its result. tok and err
// are written once, before done is closed, and read only after.
type call struct {
	done       chan struct{}
	tok        *oauth2.Token
	err        error
	background bool // started by an early refresh, not by a waiting caller
}

// newTokenSource returns a source for cfg; the caller sets its vendor
// logic (fetch, revokeTarget) before returning it.
func newTokenSource(ctx context.Context, cfg *config, clientID string, rev *revoker) *TokenSource {
	if ctx == nil {
		ctx = context.Background()
	}
	s := &TokenSource{cfg: cfg, clientID: clientID, rev: rev}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if t := cfg.token; t != nil && cfg.err == nil {
		if t.AccessToken != "" {
			s.cur.Store(newCachedToken(t, time.Now(), cfg.earlyRefresh))
		}
	}
	return s
}

// newCachedToken schedules tok, obtained at now (or loaded then).
func newCachedToken(tok *oauth2.Token, now time.Time, early time.Duration) *cachedToken {
	c := &cachedToken{tok: tok}
	if tok.Expiry.IsZero() {
		return c // never expires, as in x/oauth2
	}
	lifetime := tok.Expiry.Sub(now)
	if lifetime <= 0 {
		c.expiry, c.refreshAt = tok.Expiry, tok.Expiry
		return c
	}
	c.expiry = tok.Expiry.Add(-min(expiryDelta, lifetime/20))
	if early <= 0 {
		early = min(defaultEarlyRefresh, lifetime/5)
	}
	c.refreshAt = tok.Expiry.Add(-min(early, lifetime/2))
	return c
}

// valid reports whether the snapshot's token may still be handed out.
func (c *cachedToken) valid(now time.Time) bool {
	return c.expiry.IsZero() || now.Before(c.expiry)
}

// Token returns a valid token, fetching one if the cached token has expired.
// It implements [oauth2.TokenSource]. It is TokenContext with
// [context.Background]: a caller waits for a running fetch until it ends,
// which the fetch's own deadlines bound.
func (s *TokenSource) Token() (*oauth2.Token, error) {
	return s.TokenContext(context.Background())
}

// TokenContext returns a valid token. A cached token is returned at once,
// without a lock or an allocation; inside the early-refresh window it also
// starts one background refresh. An expired or missing token makes the
// caller wait for the one fetch that all callers share. If ctx is done
// first, TokenContext returns ctx's error, wrapped; the fetch goes on for
// the other callers.
//
// Errors match [ErrInvalidCredentials], [ErrInvalidConfig],
// [ErrMalformedResponse] or [ErrClosed] through [errors.Is], and a vendor's
// error response is an [*oauth2.RetrieveError] through [errors.As].
func (s *TokenSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	if s == nil || s.cfg == nil {
		return nil, errZeroSource
	}
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if c := s.cur.Load(); c != nil {
		now := time.Now()
		if c.valid(now) {
			if !c.refreshAt.IsZero() && !now.Before(c.refreshAt) {
				s.refreshAsync(c)
			}
			return c.tok, nil
		}
	}
	return s.wait(ctx)
}

// errZeroSource is returned by the methods of a TokenSource that no
// constructor made.
var errZeroSource = fmt.Errorf("vendoroauth: TokenSource was not made by a constructor: %w", ErrInvalidConfig)

// refreshAsync starts a background refresh for snapshot c unless one was
// started already.
func (s *TokenSource) refreshAsync(c *cachedToken) {
	if !c.started.CompareAndSwap(false, true) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight == nil && !s.closed.Load() && s.cur.Load() == c {
		s.startLocked(true)
	}
}

// wait is the slow path: join or start the shared fetch and wait for it or
// for ctx.
func (s *TokenSource) wait(ctx context.Context) (*oauth2.Token, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if s.cfg.err != nil {
		return nil, s.cfg.err
	}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	now := time.Now()
	if c := s.cur.Load(); c != nil && c.valid(now) {
		s.mu.Unlock() // another caller's fetch landed meanwhile
		return c.tok, nil
	}
	if s.rejected != nil && now.Before(s.rejectedUntil) && s.inflight == nil {
		err := s.rejected
		s.mu.Unlock()
		return nil, err
	}
	c := s.inflight
	if c == nil {
		c = s.startLocked(false)
	}
	s.mu.Unlock()

	select {
	case <-c.done:
		if c.err != nil && s.closed.Load() {
			return nil, ErrClosed
		}
		return c.tok, c.err
	case <-ctx.Done():
		return nil, fmt.Errorf("vendoroauth: %s token: gave up waiting for the fetch: %w", s.cfg.vendor, ctx.Err())
	}
}

// startLocked starts a fetch goroutine and records it as in flight. s.mu
// must be held and s must not be closed.
func (s *TokenSource) startLocked(background bool) *call {
	c := &call{done: make(chan struct{}), background: background}
	s.inflight = c
	s.wg.Go(func() { s.run(c) })
	return c
}

// run performs the fetch for c and publishes its result.
func (s *TokenSource) run(c *call) {
	log := s.cfg.logger
	log.LogAttrs(s.ctx, slog.LevelDebug, "vendoroauth: fetching token",
		slog.String("vendor", s.cfg.vendor), slog.Bool("background", c.background))
	tok, err := s.obtain(s.ctx)
	now := time.Now()

	s.mu.Lock()
	switch {
	case err == nil:
		if tok.RefreshToken != "" {
			s.refreshToken = tok.RefreshToken
		}
		s.rejected = nil
		s.cur.Store(newCachedToken(tok, now, s.cfg.earlyRefresh))
		log.LogAttrs(s.ctx, slog.LevelDebug, "vendoroauth: token fetched",
			slog.String("vendor", s.cfg.vendor), slog.Duration("expires_in", tok.Expiry.Sub(now).Round(time.Second)))
	case s.closed.Load():
		// Close cancelled the fetch; nothing to report.
	default:
		if errors.Is(err, ErrInvalidCredentials) {
			s.rejected, s.rejectedUntil = err, now.Add(rejectHoldDown)
		}
		if cur := s.cur.Load(); cur != nil && cur.valid(now) {
			// A failed early refresh keeps the valid token and tries again
			// before it expires.
			next := s.retryLater(cur, now, err)
			s.cur.Store(next)
			log.LogAttrs(s.ctx, slog.LevelWarn, "vendoroauth: background refresh failed; keeping current token",
				slog.String("vendor", s.cfg.vendor), slog.Duration("wait", next.refreshAt.Sub(now)), slog.Any("err", err))
		} else {
			log.LogAttrs(s.ctx, slog.LevelError, "vendoroauth: token fetch failed",
				slog.String("vendor", s.cfg.vendor), slog.Any("err", err))
		}
	}
	c.tok, c.err = tok, err
	s.inflight = nil
	s.mu.Unlock()
	close(c.done)
}

// retryLater returns a snapshot of cur whose next background refresh comes
// after a pause: a quarter of the remaining life, between 1s and
// maxRefreshRetryWait, or longer if the vendor's Retry-After says so.
func (s *TokenSource) retryLater(cur *cachedToken, now time.Time, err error) *cachedToken {
	wait := min(max(cur.expiry.Sub(now)/4, time.Second), maxRefreshRetryWait)
	if ra, _ := transient(err); ra > wait {
		wait = ra
	}
	return &cachedToken{tok: cur.tok, expiry: cur.expiry, refreshAt: now.Add(wait)}
}

// Invalidate forgets the cached access token, so that the next call fetches
// a new one; an EnduroSat source keeps its refresh token for that. It also
// ends the pause after a credential rejection. It does not stop a fetch that
// is running.
func (s *TokenSource) Invalidate() {
	if s == nil || s.cfg == nil {
		return
	}
	s.mu.Lock()
	s.cur.Store(nil)
	s.rejected = nil
	s.mu.Unlock()
}

// invalidateToken forgets the cached token only if it is still tok, so that
// many requests failing with one old token cause one fetch, not one each.
func (s *TokenSource) invalidateToken(tok *oauth2.Token) {
	s.mu.Lock()
	if c := s.cur.Load(); c != nil && c.tok == tok {
		s.cur.Store(nil)
	}
	s.mu.Unlock()
}

// Close stops background refreshes and waits for them to finish; callers
// waiting for a fetch get [ErrClosed]. It forgets the tokens it holds. After
// Close, Token, TokenContext, Revoke and requests through Client return
// [ErrClosed], even while the cached token would still be valid. Calling
// Close again does nothing. It always returns nil.
func (s *TokenSource) Close() error {
	if s == nil || s.cfg == nil {
		return nil
	}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return nil
	}
	s.closed.Store(true)
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	s.mu.Lock()
	s.cur.Store(nil)
	s.refreshToken = ""
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
	if s == nil || s.cfg == nil {
		return "vendoroauth.TokenSource{}"
	}
	return "vendoroauth.TokenSource{vendor: " + s.cfg.vendor + "}"
}
