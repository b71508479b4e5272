package lifetime

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSchedule(t *testing.T) {
	t.Parallel()
	issued := time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC)
	after := func(d time.Duration) time.Time { return issued.Add(d) }
	tests := []struct {
		name        string
		expiry      time.Time
		issued      time.Time
		early       time.Duration
		wantRefresh time.Time
		wantExpires time.Time
	}{
		{"an hour: the default window is capped", after(time.Hour), issued, 0, after(55 * time.Minute), after(time.Hour - ExpiryDelta)},
		{"ten minutes: a fifth of the lifetime", after(10 * time.Minute), issued, 0, after(8 * time.Minute), after(10*time.Minute - ExpiryDelta)},
		{"one minute: a twentieth as the expiry margin", after(time.Minute), issued, 0, after(48 * time.Second), after(57 * time.Second)},
		{"early given", after(time.Hour), issued, 20 * time.Minute, after(40 * time.Minute), after(time.Hour - ExpiryDelta)},
		{"early given, capped at half the lifetime", after(10 * time.Minute), issued, 20 * time.Minute, after(5 * time.Minute), after(10*time.Minute - ExpiryDelta)},
		{"negative early is the default", after(time.Hour), issued, -time.Minute, after(55 * time.Minute), after(time.Hour - ExpiryDelta)},
		{"issued at expiry", issued, issued, 0, issued, issued},
		{"issued after expiry", after(-time.Minute), issued, 0, after(-time.Minute), after(-time.Minute)},
		{"loaded later: the schedule counts from issued", after(time.Hour), issued.Add(-2 * time.Hour), 0, after(55 * time.Minute), after(time.Hour - ExpiryDelta)},
		{"never expires", time.Time{}, issued, 0, time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refreshAt, expiresAt := Schedule(tt.expiry, tt.issued, tt.early)
			if diff := cmp.Diff(tt.wantRefresh, refreshAt); diff != "" {
				t.Errorf("refreshAt mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantExpires, expiresAt); diff != "" {
				t.Errorf("expiresAt mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIssuedBy(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		issued time.Time
		want   time.Time
	}{
		{"before now", now.Add(-time.Hour), now.Add(-time.Hour)},
		{"now", now, now},
		{"zero", time.Time{}, now},
		{"after now: the clock went back", now.Add(time.Minute), now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, IssuedBy(tt.issued, now)); diff != "" {
				t.Errorf("IssuedBy mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
