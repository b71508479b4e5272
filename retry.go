package vendoroauth

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry policy for token and revoke requests; doc.go's Defaults section
// states the same numbers.
const (
	maxAttempts     = 4                      // attempts per fetch, the first included
	initialBackoff  = 500 * time.Millisecond // cap of the first backoff
	maxBackoff      = 10 * time.Second       // cap of any backoff
	maxRetryAfter   = time.Minute            // a longer Retry-After fails the fetch
	attemptTimeout  = 30 * time.Second       // bound on one attempt
	exchangeTimeout = 2 * time.Minute        // bound on a whole fetch, retries included
	minAttemptTime  = time.Second            // a retry with less than this left of the budget is not made
)

// backoff returns how long to wait before attempt n+1 after attempt n
// failed: full jitter over an exponentially growing cap, or the vendor's
// Retry-After when it gave one. The second result is false when the vendor
// asked for a wait longer than we are willing to spend.
func backoff(n int, retryAfter time.Duration) (time.Duration, bool) {
	if retryAfter > 0 {
		return retryAfter, retryAfter <= maxRetryAfter
	}
	ceiling := initialBackoff << min(n-1, 10)
	if ceiling > maxBackoff || ceiling <= 0 {
		ceiling = maxBackoff
	}
	return 1 + rand.N(ceiling), true
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date
// (RFC 9110, section 10.2.3).
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return clampLifetime(float64(secs)), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// sleep waits for d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A retryLog is where withRetries reports a retry: at Warn to logger, with
// msg and the keys vendor, grant (or op), attempt, status, wait and err. It
// is a value, so that a request that is not retried builds no log record
// and allocates nothing for one.
type retryLog struct {
	ctx    context.Context
	logger *slog.Logger // nil: no report
	msg    string
	attrs  [2]slog.Attr // vendor, and grant or op
}

// retrying reports that attempt failed with err and that the next comes
// after wait.
func (l retryLog) retrying(attempt int, wait time.Duration, err error) {
	if l.logger == nil {
		return
	}
	l.logger.LogAttrs(l.ctx, slog.LevelWarn, l.msg, l.attrs[0], l.attrs[1],
		slog.Int("attempt", attempt), slog.Int("status", statusOf(err)),
		slog.Duration("wait", wait), slog.Any("err", err))
}

// withRetries calls attempt until it succeeds, fails in a way that is not
// transient, or maxAttempts is reached. Each attempt gets one deadline of
// its own, attemptTimeout or what is left of exchangeTimeout, whichever is
// sooner; a retry that would leave its attempt less than minAttemptTime of
// that budget is not made, so that the last error is the vendor's, not a
// timeout of our own.
func withRetries[T any](ctx context.Context, log retryLog, attempt func(context.Context) (T, error)) (T, error) {
	budget := time.Now().Add(exchangeTimeout)
	for n := 1; ; n++ {
		deadline := time.Now().Add(attemptTimeout)
		if deadline.After(budget) {
			deadline = budget
		}
		actx, acancel := context.WithDeadline(ctx, deadline)
		v, err := attempt(actx)
		acancel()
		if err == nil {
			return v, nil
		}
		retryAfter, ok := transient(err)
		if !ok || n == maxAttempts || ctx.Err() != nil {
			return v, err
		}
		wait, ok := backoff(n, retryAfter)
		if !ok || time.Until(budget)-wait < minAttemptTime {
			return v, err
		}
		log.retrying(n, wait, err)
		if sleep(ctx, wait) != nil {
			return v, err
		}
	}
}
