package vendoroauth

import (
	"net/http"
	"testing"
	"time"
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
