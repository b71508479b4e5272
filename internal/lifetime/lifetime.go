// Package lifetime holds the schedule of a token's life that vendoroauth
// keeps: when a token is due for refresh and when it counts as expired. The
// library schedules its tokens by it, and the vendoroauth command shows a
// cached token's schedule by it, so that the two never disagree.
//
// Its functions are pure: they read no clock and keep no state.
package lifetime

import "time"

// Refresh timing; the root package's doc.go states the same numbers in its
// Defaults section.
const (
	// DefaultEarlyRefresh caps the default early window: a token is due for
	// refresh the smaller of DefaultEarlyRefresh and a fifth of its
	// lifetime before it expires.
	DefaultEarlyRefresh = 5 * time.Minute

	// ExpiryDelta is how long before its expiry a token counts as expired
	// (at most a twentieth of its lifetime), as in x/oauth2.
	ExpiryDelta = 10 * time.Second
)

// Schedule returns when a token that expires at expiry, issued at issued,
// is due for refresh and when it counts as expired. They are the same
// points of its lifetime whether the token was just fetched or is read from
// a store later.
//
// The token is due early before expiry: early, if positive, else the
// smaller of [DefaultEarlyRefresh] and a fifth of its lifetime, and never
// more than half of it. It counts as expired [ExpiryDelta] before expiry,
// or a twentieth of its lifetime if that is less. A token whose lifetime
// is not positive (issued at or after expiry) is due and expired at expiry.
// A zero expiry means the token never expires: both times are zero.
func Schedule(expiry, issued time.Time, early time.Duration) (refreshAt, expiresAt time.Time) {
	if expiry.IsZero() {
		return time.Time{}, time.Time{} // never expires, as in x/oauth2
	}
	lifetime := expiry.Sub(issued)
	if lifetime <= 0 {
		return expiry, expiry
	}
	if early <= 0 {
		early = min(DefaultEarlyRefresh, lifetime/5)
	}
	return expiry.Add(-min(early, lifetime/2)), expiry.Add(-min(ExpiryDelta, lifetime/20))
}

// IssuedBy returns issued, or now when issued is zero or after now (a clock
// that went back): the issue time a token's schedule counts from.
func IssuedBy(issued, now time.Time) time.Time {
	if issued.IsZero() || issued.After(now) {
		return now
	}
	return issued
}
