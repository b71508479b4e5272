package vendoroauth_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// soakSeed fixes the fault schedule; change it to explore others.
const soakSeed = 20261124

const (
	soakDays         = 90
	soakTokenLatency = 2 * time.Second // every token request takes this long
)

// A soakEvent is one scheduled fault.
type soakEvent struct {
	at   time.Duration // since the start
	kind string        // outage-503, outage-drop, burst-429, revoke, clock-jump
	dur  time.Duration // outage length, or clock jump (signed)
}

func (e soakEvent) String() string {
	return fmt.Sprintf("day %5.2f %-11s %v", e.at.Hours()/24, e.kind, e.dur)
}

// soakSchedule returns the seeded fault schedule: an event every 12 to 48
// hours.
func soakSchedule(seed uint64) []soakEvent {
	rng := rand.New(rand.NewPCG(seed, seed))
	var events []soakEvent
	for at := 6 * time.Hour; at < soakDays*24*time.Hour; at += 12*time.Hour + time.Duration(rng.Int64N(int64(36*time.Hour))) {
		e := soakEvent{at: at.Truncate(time.Minute)}
		switch rng.IntN(5) {
		case 0:
			e.kind, e.dur = "outage-503", time.Minute+time.Duration(rng.Int64N(int64(29*time.Minute)))
		case 1:
			e.kind, e.dur = "outage-drop", time.Minute+time.Duration(rng.Int64N(int64(29*time.Minute)))
		case 2:
			e.kind = "burst-429"
		case 3:
			e.kind = "revoke"
		case 4:
			e.kind, e.dur = "clock-jump", 10*time.Minute
			if rng.IntN(2) == 0 {
				e.dur = -e.dur
			}
		}
		events = append(events, e)
	}
	return events
}

// soakFake is what the soak needs of either fake.
type soakFake interface {
	InProcessClient() *http.Client
	ResourceURL() string
	SetTokenLifetime(time.Duration)
	SetLatency(time.Duration)
	SetRateLimit(int, time.Duration)
	SetClockOffset(time.Duration)
	FailToken(int, vendoroauthtest.Fault)
	FailTokenUntil(time.Time, vendoroauthtest.Fault)
	RevokeAccessTokens()
	TokenRequests() int
	ResourceRequests() int
}

// soakResult is what one soak printed.
type soakResult struct {
	requests, failed, unexplained int
	waited, unexplainedWaits      int
	longestWait                   time.Duration
	tokenRequests                 int
}

// soak drives src for soakDays, one resource request a simulated minute,
// applying the schedule to fake. It must run in a synctest bubble.
func soak(t *testing.T, fake soakFake, src *vendoroauth.TokenSource, events []soakEvent) soakResult {
	t.Helper()
	client := src.Client(contextWithClient(t.Context(), fake.InProcessClient()))
	start := time.Now()
	end := start.Add(soakDays * 24 * time.Hour)
	var res soakResult
	var offset time.Duration
	var outageUntil time.Time // a failing or waiting request before this is explained
	allowWait := 1            // waits explained: the first login, and events that force a new token
	next := 0
	for now := start; now.Before(end); now = now.Add(time.Minute) {
		if d := time.Until(now); d > 0 {
			time.Sleep(d)
		}
		for next < len(events) && !start.Add(events[next].at).After(time.Now()) {
			e := events[next]
			next++
			switch e.kind {
			case "outage-503":
				fake.FailTokenUntil(time.Now().Add(e.dur), vendoroauthtest.Fault{Status: http.StatusServiceUnavailable})
				outageUntil = time.Now().Add(e.dur + time.Minute)
			case "outage-drop":
				fake.FailTokenUntil(time.Now().Add(e.dur), vendoroauthtest.Fault{Drop: true})
				outageUntil = time.Now().Add(e.dur + time.Minute)
			case "burst-429":
				// A burst of 429s while the token is revoked: the 401
				// recovery must ride out the burst with retries.
				fake.FailToken(2, vendoroauthtest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "3"})
				fake.RevokeAccessTokens()
				allowWait++
			case "revoke":
				fake.RevokeAccessTokens()
				allowWait++
			case "clock-jump":
				offset += e.dur
				fake.SetClockOffset(offset)
				allowWait++ // a jump forward can expire the token at the vendor
			}
		}
		reqStart := time.Now()
		resp, err := client.Get(fake.ResourceURL())
		wait := time.Since(reqStart)
		res.requests++
		inOutage := reqStart.Before(outageUntil)
		if err == nil {
			resp.Body.Close()
		}
		if err != nil || resp.StatusCode != http.StatusOK {
			res.failed++
			if !inOutage {
				res.unexplained++
				if res.unexplained <= 5 {
					t.Errorf("day %.2f: unexplained failure: %v %v", reqStart.Sub(start).Hours()/24, err, statusOrZero(resp))
				}
			}
		}
		if wait > 0 {
			res.waited++
			res.longestWait = max(res.longestWait, wait)
			switch {
			case inOutage:
			case allowWait > 0:
				allowWait--
			default:
				res.unexplainedWaits++
			}
		}
	}
	res.tokenRequests = fake.TokenRequests()
	return res
}

func statusOrZero(resp *http.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

func TestSoak90Days(t *testing.T) {
	if testing.Short() {
		t.Skip("the 90-day soak takes a few seconds; skipped with -short")
	}
	events := soakSchedule(soakSeed)
	var sched strings.Builder
	for _, e := range events {
		sched.WriteString("\n  " + e.String())
	}
	t.Logf("seed %d, %d events:%s", soakSeed, len(events), sched.String())

	tests := []struct {
		name     string
		vendor   string
		rotate   bool
		lifetime time.Duration
	}{
		{"endurosat rotation off", "endurosat", false, time.Hour},
		{"endurosat rotation on", "endurosat", true, time.Hour},
		{"formlabs", "formlabs", false, 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var fake soakFake
				var src *vendoroauth.TokenSource
				var grants func(string) int
				if tt.vendor == "endurosat" {
					es, s := bubbleEnduroSat(t)
					es.SetRotateRefreshTokens(tt.rotate)
					es.SetRefreshTokenLifetime(30 * 24 * time.Hour)
					fake, src, grants = es, s, es.TokenRequestsByGrant
				} else {
					fl, s := bubbleFormlabs(t)
					fake, src = fl, s
					grants = func(g string) int {
						if g == "client_credentials" {
							return fl.TokenRequests()
						}
						return 0
					}
				}
				fake.SetTokenLifetime(tt.lifetime)
				fake.SetLatency(soakTokenLatency)
				fake.SetRateLimit(1500, time.Hour)

				res := soak(t, fake, src, events)
				if err := src.Close(); err != nil {
					t.Errorf("Close() = %v", err)
				}
				synctest.Wait() // synctest.Test also fails if a goroutine is left

				lifetimes := int(soakDays * 24 * time.Hour / tt.lifetime)
				t.Logf("| %s | %d | %d | %d | %d | %s | %d (%d per lifetime) | %v | 0 |",
					tt.name, res.requests, res.failed, res.unexplained, res.unexplainedWaits,
					grantSummary(grants), res.tokenRequests, lifetimes, res.longestWait)
				if res.unexplained > 0 {
					t.Errorf("%d resource requests failed outside an outage", res.unexplained)
				}
				if res.unexplainedWaits > 0 {
					t.Errorf("%d requests waited for a token outside outages and forced refreshes; early refresh is not working", res.unexplainedWaits)
				}
				// Above one per lifetime: the attempts made while outages
				// last, which background refreshes retry on their own timer.
				if hi := lifetimes*3/2 + 5*len(events); res.tokenRequests < lifetimes || res.tokenRequests > hi {
					t.Errorf("token requests = %d, want between %d and %d (about one per lifetime)", res.tokenRequests, lifetimes, hi)
				}
				if tt.vendor == "endurosat" {
					if logins := grants("password"); logins < 3 || logins > 4 {
						t.Errorf("password logins = %d, want 3 or 4 (the refresh token dies every 30 days)", logins)
					}
				}
			})
		})
	}
}

// grantSummary formats the token requests by grant.
func grantSummary(grants func(string) int) string {
	var parts []string
	for _, g := range []string{"password", "refresh_token", "client_credentials"} {
		if n := grants(g); n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", g, n))
		}
	}
	slices.SortFunc(parts, cmp.Compare[string])
	return strings.Join(parts, ", ")
}
