package vendoroauth

import (
	"net/http"
	"testing"
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
		assert.Equal(t, tt.want, got, "parseRetryAfter(%q) duration", tt.in)
		assert.Equal(t, tt.wantOK, ok, "parseRetryAfter(%q) ok", tt.in)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	for n := 1; n <= 40; n++ {
		ceiling := min(initialBackoff<<min(n-1, 10), maxBackoff)
		for range 100 {
			d, ok := backoff(n, 0)
			require.True(t, ok, "backoff(%d, 0) ok", n)
			require.Positive(t, d, "backoff(%d, 0)", n)
			require.LessOrEqual(t, d, ceiling, "backoff(%d, 0)", n)
		}
	}
	d, ok := backoff(1, 5*time.Second)
	assert.Equal(t, 5*time.Second, d, "backoff(1, 5s): Retry-After honoured")
	assert.True(t, ok, "backoff(1, 5s) ok")
	_, ok = backoff(1, maxRetryAfter+time.Second)
	assert.False(t, ok, "backoff with a Retry-After over %v: ok", maxRetryAfter)
}

// Backoff waits are jittered, not a fixed ladder.
func TestBackoffIsJittered(t *testing.T) {
	seen := map[int64]bool{}
	for range 100 {
		d, _ := backoff(3, 0)
		seen[int64(d)] = true
	}
	assert.GreaterOrEqual(t, len(seen), 10, "distinct values of backoff(3, 0) in 100 draws: want jitter")
}
