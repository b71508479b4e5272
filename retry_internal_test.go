package vendoroauth

import (
	"context"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"7", 7 * time.Second, true},
		{" 0 ", 0, true},
		{"-3", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"99999999999999", maxLifetime, true},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	for n := 1; n <= 40; n++ {
		ceiling := min(initialBackoff<<min(n-1, 10), maxBackoff)
		for range 100 {
			d, ok := backoff(n, 0)
			if !ok || d <= 0 || d > ceiling {
				t.Fatalf("backoff(%d, 0) = %v, %v; want (0, %v], true", n, d, ok, ceiling)
			}
		}
	}
	if d, ok := backoff(1, 5*time.Second); d != 5*time.Second || !ok {
		t.Errorf("backoff(1, 5s) = %v, %v; want Retry-After honoured", d, ok)
	}
	if _, ok := backoff(1, maxRetryAfter+time.Second); ok {
		t.Errorf("backoff with a Retry-After over %v: ok = true, want false", maxRetryAfter)
	}
}

// Backoff waits are jittered, not a fixed ladder.
func TestBackoffIsJittered(t *testing.T) {
	seen := map[int64]bool{}
	for range 100 {
		d, _ := backoff(3, 0)
		seen[int64(d)] = true
	}
	if len(seen) < 10 {
		t.Errorf("backoff(3, 0) gave %d distinct values in 100 draws, want jitter", len(seen))
	}
}

// TestRetryDeadlines: against an endpoint that never answers, each attempt
// ends at attemptTimeout and the whole fetch at exchangeTimeout, the last
// attempt cut short to fit, and the caller's ctx is never cancelled by it.
func TestRetryDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		start := time.Now()
		var attempts []time.Duration
		_, err := withRetries(ctx, retryLog{}, func(actx context.Context) (int, error) {
			began := time.Now()
			<-actx.Done()
			attempts = append(attempts, time.Since(began))
			return 0, &vendorError{op: "test", cause: ownTimeout(actx.Err())}
		})
		total := time.Since(start)
		require.Error(t, err)
		require.Len(t, attempts, maxAttempts)
		for i, d := range attempts[:maxAttempts-1] {
			assert.Equal(t, attemptTimeout, d, "attempt %d", i+1)
		}
		last := attempts[maxAttempts-1]
		assert.Less(t, last, attemptTimeout, "the last attempt is cut to fit the fetch's budget")
		assert.Equal(t, exchangeTimeout, total, "the whole fetch")
		assert.NoError(t, ctx.Err())
	})
}

// TestRetryNoWaitPastBudget: a backoff that would end past the fetch's
// budget is not waited for; the fetch fails at once with the last error.
func TestRetryNoWaitPastBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		n := 0
		_, err := withRetries(t.Context(), retryLog{}, func(actx context.Context) (int, error) {
			n++
			time.Sleep(exchangeTimeout - time.Second) // the first attempt uses most of the budget
			return 0, &vendorError{op: "test", status: http.StatusServiceUnavailable, header: http.Header{"Retry-After": {"30"}}}
		})
		require.Error(t, err)
		assert.Equal(t, 1, n, "attempts")
		assert.Equal(t, exchangeTimeout-time.Second, time.Since(start))
	})
}

// TestRetryNotMadeAtBudgetEdge: a Retry-After that would leave the next
// attempt less than minAttemptTime of the fetch's budget is not waited for,
// and the fetch fails with the vendor's error, not a timeout of ours.
func TestRetryNotMadeAtBudgetEdge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		_, err := withRetries(t.Context(), retryLog{}, func(actx context.Context) (int, error) {
			n++
			return 0, &vendorError{op: "test", status: http.StatusServiceUnavailable, header: http.Header{"Retry-After": {"40"}}}
		})
		// Attempts at 0s, 40s and 80s; a fourth at 120s would have no time.
		assert.Equal(t, 3, n, "attempts")
		var ve *vendorError
		require.ErrorAs(t, err, &ve)
		assert.Equal(t, http.StatusServiceUnavailable, ve.status)
	})
}
