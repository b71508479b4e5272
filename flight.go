package vendoroauth

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// The single flight: one fetch at a time, shared by every caller who waits
// for it, as singleflight's call is; and the grant's one job at a time.

const (
	// rejectHoldDown is how long a credential rejection is remembered: a
	// blocking call in that time gets the same error with no request.
	rejectHoldDown = 30 * time.Second

	// closeGrace is how long Close lets a running save to a store finish.
	closeGrace = 500 * time.Millisecond
)

// A call is one fetch, shared by every caller who waits for it.
type call struct {
	// Set before the call is shared; then only read.
	done       chan struct{} // closed once snap and err are set
	background bool          // an early refresh: no caller waits for it

	// Written once, by publish, before done is closed; read only after.
	snap *cachedToken
	err  error
}

// A job is one use of the grant, which serves one at a time: a fetch and
// its after work, or a revocation. TokenSource.job is the current one.
type job struct {
	// Set before the job is shared; then only read.
	idle   chan struct{}   // closed when the grant is free again
	fetch  call            // the fetch; its done is nil for a revocation
	req    fetch           // what the fetch asks of the grant, and what the grant says of it
	inline bool            // the fetch is run by the caller that started it
	reason FetchReason     // why the fetch is made
	caller context.Context // the waiting caller that started it, for an Observer; nil: none

	// The fetch's context: the constructor's values, cancelled by Close
	// and when the job ends, so that an idle source holds none. nil for a
	// revocation, which runs on its caller's ctx. run gives it to the
	// Observer's FetchStart, and uses what that returns.
	ctx    context.Context
	cancel context.CancelFunc

	// The after work's cancellation, which Close calls closeGrace after the
	// fetch's. Guarded by TokenSource.mu.
	afterCancel context.CancelFunc
	graceOver   bool // Close's grace is over: after work gets a cancelled context
}

// beginLocked records a fetch as the grant's job and returns it; the
// caller runs it, or starts a goroutine that does, unless it is a
// background refresh, which gets its goroutine here. s.mu must be held and
// s must not be closed.
func (s *TokenSource) beginLocked(background, inline bool, caller context.Context) *job {
	j := &job{
		idle:   make(chan struct{}),
		fetch:  call{done: make(chan struct{}), background: background},
		req:    fetch{early: s.cfg.early, origin: OriginVendor},
		inline: inline,
		reason: s.reasonLocked(background),
		caller: caller,
	}
	cur := s.cur.Load()
	if cur != nil {
		j.req.prev = held{tok: &cur.tok, issued: cur.issued, until: cur.expiresAt}
	}
	// The constructor's values, never its cancellation.
	j.ctx, j.cancel = context.WithCancel(s.valuesOnly())
	s.job = j
	if background {
		go s.run(j)
	}
	return j
}

// reasonLocked returns why a fetch starting now is made, and forgets why
// the token was dropped. s.mu must be held.
func (s *TokenSource) reasonLocked(background bool) FetchReason {
	h := s.health
	switch {
	case background:
		return ReasonRefresh
	case h != nil && h.dropped != "":
		r := h.dropped
		h.dropped = ""
		return r
	case s.cur.Load() != nil || h != nil && !h.lastRefresh.IsZero():
		return ReasonExpired
	}
	return ReasonInitial
}

// valuesOnly returns the constructor's context without its cancellation.
func (s *TokenSource) valuesOnly() context.Context {
	if s.values.Done() == nil {
		return s.values // it is never cancelled: nothing to detach
	}
	return context.WithoutCancel(s.values)
}

// run performs j's fetch, publishes its result, then lets the grant finish
// its after work before it is free again. Whatever happens in the grant, a
// panic included, every waiter gets a result and the grant is freed: a
// panic is published as an error to the waiters, then goes on up.
func (s *TokenSource) run(j *job) {
	released := false
	defer func() {
		if !released { // the grant, a store or a log handler panicked
			if !published(&j.fetch) {
				s.publish(j, result{}, errFetchPanicked, time.Now())
			}
			s.finish(j)
		}
	}()
	obs := &s.cfg.ins.observer
	start := time.Now()
	if obs.FetchStart != nil {
		j.ctx = obs.FetchStart(j.ctx, FetchStart{Vendor: s.cfg.vendor.name, Reason: j.reason, Caller: j.caller})
	}
	s.cfg.logger().LogAttrs(j.ctx, slog.LevelDebug, "vendoroauth: fetching token",
		slog.String("vendor", s.cfg.vendor.name), slog.Bool("background", j.fetch.background))
	res, err := s.grant.token(j.ctx, &j.req)
	end := time.Now()
	s.publish(j, res, err, end)
	if obs.FetchDone != nil {
		done := FetchDone{Vendor: s.cfg.vendor.name, Reason: j.reason, Grant: j.req.grant, Origin: j.req.origin,
			Attempts: j.req.attempts, Duration: end.Sub(start), Err: err}
		if err == nil {
			done.Expiry = res.tok.Expiry
		}
		obs.FetchDone(j.ctx, done)
	}
	released = true
	switch {
	case res.after == nil:
		s.finish(j)
	case !j.inline:
		defer s.finish(j)
		res.after(s.afterContext(j))
	default:
		// The caller has its token; the after work must not delay it.
		go func() {
			defer s.finish(j)
			res.after(s.afterContext(j))
		}()
	}
}

// published reports whether c's result is out; never for a revocation's
// job, which has no fetch.
func published(c *call) bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// errFetchPanicked is what waiters get when the grant panicked.
var errFetchPanicked = errorf("token fetch", nil, "the grant, a store or a log handler panicked")

// publish records the outcome of j's fetch, at now, and releases its
// waiters: res when err is nil. A failed background refresh keeps the
// valid token and tries again before it expires; a credential rejection of
// a blocking fetch is remembered for rejectHoldDown. It logs after
// unlocking, so that a slow log handler never holds up callers.
func (s *TokenSource) publish(j *job, res result, err error, now time.Time) {
	c := &j.fetch
	var log func()
	s.mu.Lock()
	if c.background {
		backgroundFetches.Add(-1)
	}
	switch {
	case err == nil:
		c.snap = newCachedToken(res.tok, res.issued, now, s.cfg.early)
		h := s.healthLocked()
		h.lastRefresh, h.lastErr, h.failures, h.origin, h.rejected = now, nil, 0, j.req.origin, nil
		s.storeLocked(c.snap)
		if s.cfg.logger().Enabled(j.ctx, slog.LevelDebug) {
			expiresIn := res.tok.Expiry.Sub(now).Round(time.Second)
			msg := "vendoroauth: token fetched"
			if res.loaded {
				msg = "vendoroauth: token loaded from the store" // no request made
			}
			log = func() {
				s.cfg.logger().LogAttrs(j.ctx, slog.LevelDebug, msg,
					slog.String("vendor", s.cfg.vendor.name), slog.Duration("expires_in", expiresIn))
			}
		}
	case s.closed.Load():
		// Close cancelled the fetch; nothing to report.
	default:
		h := s.healthLocked()
		h.lastErr, h.failures = err, h.failures+1
		if errors.Is(err, ErrInvalidCredentials) {
			h.rejected, h.rejectedUntil = err, now.Add(rejectHoldDown)
		}
		level, msg := slog.LevelError, "vendoroauth: token fetch failed"
		var wait []slog.Attr
		if cur, mono := s.cur.Load(), now.Sub(monoBase); cur != nil && cur.validAt(mono) {
			next := retryLater(cur, mono, err)
			s.storeLocked(next)
			level, msg = slog.LevelWarn, "vendoroauth: background refresh failed; keeping current token"
			wait = append(wait, slog.Duration("wait", next.refreshAt-mono))
		}
		log = func() {
			s.cfg.logger().LogAttrs(j.ctx, level, msg, append(wait, slog.String("vendor", s.cfg.vendor.name), slog.Any("err", err))...)
		}
	}
	c.err = err
	s.mu.Unlock()
	close(c.done)
	if log != nil {
		log()
	}
}

// afterContext returns the context for j's after work: the constructor's
// values, cancelled closeGrace into Close (at once if that is past).
func (s *TokenSource) afterContext(j *job) context.Context {
	ctx, cancel := context.WithCancel(s.valuesOnly())
	s.mu.Lock()
	j.afterCancel = cancel
	if j.graceOver {
		cancel()
	}
	s.mu.Unlock()
	return ctx
}

// endGrace cancels j's after work: Close's grace for it is over.
func (s *TokenSource) endGrace(j *job) {
	s.mu.Lock()
	j.graceOver = true
	cancel := j.afterCancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// finish frees the grant after j and ends j's contexts.
func (s *TokenSource) finish(j *job) {
	s.mu.Lock()
	s.job = nil
	afterCancel := j.afterCancel
	s.mu.Unlock()
	if j.cancel != nil {
		j.cancel()
	}
	if afterCancel != nil {
		afterCancel()
	}
	close(j.idle)
}

// claim waits until the grant is free and takes it for the caller's own
// job (a revocation); callers who want a token meanwhile wait for it to be
// free again. The caller must pass the job to finish.
func (s *TokenSource) claim(ctx context.Context) (*job, error) {
	for {
		s.mu.Lock()
		if s.closed.Load() {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		busy := s.job
		if busy == nil {
			j := &job{idle: make(chan struct{})}
			s.job = j
			s.mu.Unlock()
			return j, nil
		}
		s.mu.Unlock()
		if err := s.await(ctx, busy.idle); err != nil {
			return nil, err
		}
	}
}
