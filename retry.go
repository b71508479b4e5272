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

// Retry policy for token and revoke requests (wire.go's send); doc.go's
// Defaults section states the same numbers.
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

// retrying reports at Warn that attempt n of req failed with err and that
// the next comes after wait, with the keys vendor, grant (or op), attempt,
// status, wait and err.
func (c *config) retrying(ctx context.Context, req request, n int, wait time.Duration, err error) {
	msg := "vendoroauth: token request failed; retrying"
	if req.endpoint == revokeEndpoint {
		msg = "vendoroauth: revoke request failed; retrying"
	}
	c.logger().LogAttrs(ctx, slog.LevelWarn, msg, slog.String("vendor", c.vendor.name), req.logAttr,
		slog.Int("attempt", n), slog.Int("status", statusOf(err)), slog.Duration("wait", wait), slog.Any("err", err))
}
