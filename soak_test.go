package vendoroauth_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"golang.org/x/oauth2"

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
	grants                        string // token requests by grant
}

// soak drives client for soakDays, one resource request a simulated minute,
// applying the schedule to fake. It must run in a synctest bubble.
func soak(t *testing.T, fake soakFake, client *http.Client, events []soakEvent) soakResult {
	t.Helper()
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
					assert.Failf(t, "unexplained failure", "day %.2f: %v %v", reqStart.Sub(start).Hours()/24, err, statusOrZero(resp))
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

// The ways a soak reaches the API.
const (
	viaClient    = "src.Client"
	viaNewClient = "oauth2.NewClient"
)

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

	type vendorCase struct {
		name     string
		vendor   string
		rotate   bool
		lifetime time.Duration
	}
	vendors := []vendorCase{
		{"endurosat rotation off", "endurosat", false, time.Hour},
		{"endurosat rotation on", "endurosat", true, time.Hour},
		{"formlabs", "formlabs", false, 24 * time.Hour},
	}
	type soakCase struct {
		vendorCase
		store string // "", "FileStore" or "memStore"
		via   string
	}
	var tests []soakCase
	for _, v := range vendors {
		tests = append(tests,
			soakCase{v, "", viaClient}, soakCase{v, "FileStore", viaClient}, soakCase{v, "memStore", viaClient},
			soakCase{v, "", viaNewClient}, soakCase{v, "FileStore", viaNewClient})
	}
	// The fraction of its lifetime at which each token was refreshed, by
	// vendor case: without a store, then with each.
	fractions := make(map[string]map[string]float64)
	var mu sync.Mutex
	t.Run("cases", func(t *testing.T) {
		for _, tt := range tests {
			name := fmt.Sprintf("%s/store=%s/%s", tt.name, cmp.Or(tt.store, "none"), tt.via)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				res, frac := runSoak(t, tt.vendor, tt.rotate, tt.lifetime, tt.store, tt.via, events)
				mu.Lock()
				if fractions[tt.name] == nil {
					fractions[tt.name] = make(map[string]float64)
				}
				fractions[tt.name][tt.store+"/"+tt.via] = frac
				mu.Unlock()
				t.Logf("| %s | %d | %d | %d | %d | %s | %d | %v | %.4f |",
					name, res.requests, res.failed, res.unexplained, res.unexplainedWaits,
					res.grants, res.tokenRequests, res.longestWait, frac)
			})
		}
	})
	// A store changes nothing in when a token is refreshed: the same point
	// of its lifetime, the early window's, jitter aside (a tenth of the
	// window, 30s of 5min).
	for _, v := range vendors {
		want := 1 - (5*time.Minute+15*time.Second).Hours()/v.lifetime.Hours() // the window, and the mean jitter before it
		for key, got := range fractions[v.name] {
			assert.InDelta(t, want, got, 0.005, "%s, store/via %s: median fraction of the lifetime at which tokens were refreshed", v.name, key)
		}
	}
}

// runSoak runs one soak in a bubble of its own and returns what it saw
// and the median fraction of a token's lifetime at which the next token
// was requested.
func runSoak(t *testing.T, vendor string, rotate bool, lifetime time.Duration, storeName, via string, events []soakEvent) (soakResult, float64) {
	var res soakResult
	var frac float64
	synctest.Test(t, func(t *testing.T) {
		var store vendoroauth.TokenStore
		switch storeName {
		case "FileStore":
			store = vendoroauth.FileStore(storeFile(t))
		case "memStore":
			store = &memStore{}
		}
		var fake soakFake
		var grants func(string) int
		var newSource func(hc *http.Client, opts ...vendoroauth.Option) *vendoroauth.TokenSource
		if vendor == "endurosat" {
			es := vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword)
			es.SetRotateRefreshTokens(rotate)
			es.SetRefreshTokenLifetime(30 * 24 * time.Hour)
			fake, grants = es, es.TokenRequestsByGrant
			newSource = func(hc *http.Client, opts ...vendoroauth.Option) *vendoroauth.TokenSource {
				return vendoroauth.EnduroSatPasswordTokenSource(t.Context(), esClientID, esUsername, esPassword, append(at(es.URL, hc), opts...)...)
			}
		} else {
			fl := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
			fake = fl
			grants = func(g string) int {
				if g == "client_credentials" {
					return fl.TokenRequests()
				}
				return 0
			}
			newSource = func(hc *http.Client, opts ...vendoroauth.Option) *vendoroauth.TokenSource {
				return vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, append(at(fl.URL, hc), opts...)...)
			}
		}
		fake.SetTokenLifetime(lifetime)
		fake.SetLatency(soakTokenLatency)
		fake.SetRateLimit(1500, time.Hour)

		tokenClient, sent := recordSent(fake.InProcessClient())
		var opts []vendoroauth.Option
		if store != nil {
			opts = append(opts, vendoroauth.WithStore(store))
		}
		src := newSource(tokenClient, opts...)
		ctx := contextWithClient(t.Context(), fake.InProcessClient())
		client := src.Client(ctx)
		if via == viaNewClient {
			// x/oauth2's transport cannot replace a token the vendor
			// revoked (README: src.Client or oauth2.NewClient), so this
			// soak has the outages only.
			events = slices.DeleteFunc(slices.Clone(events), func(e soakEvent) bool { return !strings.HasPrefix(e.kind, "outage") })
			client = oauth2.NewClient(ctx, src)
		}

		res = soak(t, fake, client, events)
		res.grants = grantSummary(grants)
		assert.NoError(t, src.Close(), "Close()")
		synctest.Wait() // synctest.Test also fails if a goroutine is left
		frac = medianFraction(sent(), lifetime)

		lifetimes := int(soakDays * 24 * time.Hour / lifetime)
		assert.Zero(t, res.unexplained, "resource requests that failed outside an outage")
		assert.Zero(t, res.unexplainedWaits, "requests that waited for a token outside outages and forced refreshes; early refresh is not working")
		// Above one per lifetime: the attempts made while outages last,
		// which background refreshes retry on their own timer.
		hi := lifetimes*3/2 + 5*len(events)
		assert.GreaterOrEqual(t, res.tokenRequests, lifetimes, "token requests: about one per lifetime")
		assert.LessOrEqual(t, res.tokenRequests, hi, "token requests: about one per lifetime")
		if vendor == "endurosat" {
			logins := grants("password")
			assert.GreaterOrEqual(t, logins, 3, "password logins: the refresh token dies every 30 days")
			assert.LessOrEqual(t, logins, 4, "password logins: the refresh token dies every 30 days")
		}
	})
	return res, frac
}

// recordSent returns a client that sends through c and a func that returns
// when each request that got a 2xx answer was sent.
func recordSent(c *http.Client) (*http.Client, func() []time.Time) {
	var mu sync.Mutex
	var sent []time.Time
	rc := *c
	rc.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		at := time.Now()
		resp, err := c.Transport.RoundTrip(r)
		if err == nil && resp.StatusCode/100 == 2 {
			mu.Lock()
			sent = append(sent, at)
			mu.Unlock()
		}
		return resp, err
	})
	return &rc, func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(sent)
	}
}

// medianFraction returns the median, over consecutive successful token
// requests made while the first one's token was still valid, of the
// fraction of that token's lifetime at which the next was sent.
func medianFraction(sent []time.Time, lifetime time.Duration) float64 {
	var fracs []float64
	for i := 1; i < len(sent); i++ {
		if d := sent[i].Sub(sent[i-1]); d < lifetime {
			fracs = append(fracs, d.Seconds()/lifetime.Seconds())
		}
	}
	if len(fracs) == 0 {
		return 0
	}
	slices.Sort(fracs)
	return fracs[len(fracs)/2]
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
