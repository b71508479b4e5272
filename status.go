package vendoroauth

import (
	"time"
)

// Status is what a [TokenSource] knows of its token and its fetches, for
// health checks, readiness probes and dashboards.
type Status struct {
	// Vendor is "endurosat" or "formlabs".
	Vendor string

	// Expiry is the cached token's expiry, zero if the source holds none
	// (or its token never expires). It may be past: an expired token is
	// kept until a fetch replaces it.
	Expiry time.Time

	// RefreshAt is when the cached token is due for a background refresh,
	// in its early window, zero if none: a token somebody took is refreshed
	// then, with no call needed.
	RefreshAt time.Time

	// LastRefresh is when the last successful fetch or load from a store
	// ended, zero if none has yet.
	LastRefresh time.Time

	// LastError is the last failed fetch's error, free of secrets like
	// every error of this package, and nil once a fetch succeeds. Match it
	// with errors.Is: ErrInvalidCredentials means the credentials or the
	// grant need fixing, and retrying will not help.
	LastError error

	// ConsecutiveFailures counts the fetches that reached the vendor or
	// the store and failed since the last success. An answer from the
	// pause after a credential rejection is not a new failure.
	ConsecutiveFailures int

	// Origin is where the cached token came from: the vendor, or the
	// source's store, with no request; "" if the source holds none.
	Origin TokenOrigin

	// Fetching reports whether a fetch is running.
	Fetching bool

	// Closed reports whether the source was closed.
	Closed bool
}

// Status returns what the source knows of its token and its fetches. It
// does no I/O and never waits for a fetch: the lock it takes is never held
// across I/O. A zero TokenSource's Status is the zero Status.
func (s *TokenSource) Status() Status {
	if s == nil || s.grant == nil {
		return Status{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{Vendor: s.cfg.vendor.name, Closed: s.closed.Load(), Fetching: s.job != nil && s.job.fetch.done != nil}
	if c := s.cur.Load(); c != nil {
		st.Expiry = c.tok.Expiry
		if c.refreshAt != never {
			st.RefreshAt = time.Now().Add(c.refreshAt - monoNow()).Round(0)
		}
	}
	if h := s.health; h != nil {
		st.LastRefresh, st.LastError, st.ConsecutiveFailures = h.lastRefresh, h.lastErr, h.failures
		if st.Expiry.IsZero() && s.cur.Load() == nil {
			return st
		}
		st.Origin = h.origin
	}
	return st
}

// A health is what a source knows of its fetches' outcomes, for Status,
// for the reason of its next fetch, and for the pause after a credential
// rejection. A source has none until a fetch ends or its token is dropped.
// Guarded by TokenSource.mu.
type health struct {
	lastRefresh time.Time   // when the last successful fetch or load ended
	lastErr     error       // the last failed fetch's error; nil after a success
	failures    int         // failed fetches since the last success
	origin      TokenOrigin // of the last token fetched or loaded
	dropped     FetchReason // why the cached token was dropped, for the next fetch; "" if it was not

	// A credential rejection of a blocking fetch, returned with no request
	// until rejectedUntil.
	rejected      error
	rejectedUntil time.Time
}

// healthLocked returns s's health, made if s has none yet. s.mu must be
// held.
func (s *TokenSource) healthLocked() *health {
	if s.health == nil {
		s.health = new(health)
	}
	return s.health
}
