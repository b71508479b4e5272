package vendoroauthtest_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

func TestFailTokenStatus(t *testing.T) {
	t.Parallel()
	date := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).Format(http.TimeFormat)
	tests := []struct {
		name       string
		fault      vendoroauthtest.Fault
		wantStatus int
		wantError  string
	}{
		{"503 with delay-seconds", vendoroauthtest.Fault{Status: 503, RetryAfter: "7"}, 503, "temporarily_unavailable"},
		{"503 with an HTTP date", vendoroauthtest.Fault{Status: 503, RetryAfter: date}, 503, "temporarily_unavailable"},
		{"429 with delay-seconds", vendoroauthtest.Fault{Status: 429, RetryAfter: "120"}, 429, "rate_limit_exceeded"},
		{"500 without Retry-After", vendoroauthtest.Fault{Status: 500}, 500, "server_error"},
		{"502", vendoroauthtest.Fault{Status: 502}, 502, "server_error"},
		{"400", vendoroauthtest.Fault{Status: 400}, 400, "invalid_request"},
	}
	for _, vendor := range vendors {
		for _, tt := range tests {
			t.Run(vendor+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				tg := newTarget(t, vendor, true)
				c := tg.Client()
				tg.FailToken(1, tt.fault)

				r := postForm(t, c, tg.tokenURL, tg.tokenForm)
				if r.status != tt.wantStatus {
					t.Errorf("Do() status = %d, want %d", r.status, tt.wantStatus)
				}
				if got, ok := r.header["Retry-After"]; tt.fault.RetryAfter == "" && ok {
					t.Errorf("Do() Retry-After = %q, want no header", got)
				} else if r.header.Get("Retry-After") != tt.fault.RetryAfter {
					t.Errorf("Do() Retry-After = %q, want %q", r.header.Get("Retry-After"), tt.fault.RetryAfter)
				}
				if got := r.header.Get("Content-Type"); got != "application/json" {
					t.Errorf("Do() Content-Type = %q, want %q", got, "application/json")
				}
				if got := r.str("error"); got != tt.wantError {
					t.Errorf("Do() error = %q, want %q", got, tt.wantError)
				}
				if r.has("access_token") {
					t.Errorf("a faulted answer holds an access token")
				}
				if next := postForm(t, c, tg.tokenURL, tg.tokenForm); next.status != http.StatusOK {
					t.Errorf("the request after the fault: Do() status = %d, want %d", next.status, http.StatusOK)
				}
			})
		}
	}
}

func TestFailTokenBody(t *testing.T) {
	t.Parallel()
	const page = "<html><body>Sign in to the corporate proxy</body></html>"
	tests := []struct {
		name       string
		fault      vendoroauthtest.Fault
		wantStatus int
		wantType   string
		wantBody   string
	}{
		{"Status 0 and an HTML page", vendoroauthtest.Fault{Body: page}, 200, "text/html; charset=utf-8", page},
		{"Status 0 and a JSON body", vendoroauthtest.Fault{Body: `{"unexpected":true}`}, 200, "application/json", `{"unexpected":true}`},
		{"502 with a text body", vendoroauthtest.Fault{Status: 502, Body: "bad gateway", ContentType: "text/plain"}, 502, "text/plain", "bad gateway"},
		{"Status 0 and no body", vendoroauthtest.Fault{}, 200, "text/html; charset=utf-8", ""},
	}
	for _, vendor := range vendors {
		for _, tt := range tests {
			t.Run(vendor+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				tg := newTarget(t, vendor, true)
				tg.FailToken(1, tt.fault)
				r := postForm(t, tg.Client(), tg.tokenURL, tg.tokenForm)
				if r.status != tt.wantStatus {
					t.Errorf("Do() status = %d, want %d", r.status, tt.wantStatus)
				}
				if got := r.header.Get("Content-Type"); got != tt.wantType {
					t.Errorf("Do() Content-Type = %q, want %q", got, tt.wantType)
				}
				if got := string(r.raw); got != tt.wantBody {
					t.Errorf("Do() body = %q, want %q", got, tt.wantBody)
				}
			})
		}
	}
}

func TestFailTokenBodySize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		size    int
		started bool
	}{
		{"1 byte", 1, true},
		{"shorter than the filler's head", 5, true},
		{"one chunk", 4096, true},
		{"several chunks over a socket", 1<<20 + 3, true},
		{"several chunks in process", 1<<20 + 3, false},
	}
	const head = `{"pad":"`
	for _, vendor := range vendors {
		for _, tt := range tests {
			t.Run(vendor+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				tg := newTarget(t, vendor, tt.started)
				tg.FailToken(1, vendoroauthtest.Fault{BodySize: tt.size})
				resp, err := tg.Client().Do(newRequest(t, http.MethodPost, tg.tokenURL, tg.tokenForm))
				if err != nil {
					t.Fatalf("Do() error = %v", err)
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatalf("reading the body: %v", err)
				}
				if resp.StatusCode != http.StatusOK {
					t.Errorf("Do() status = %d, want %d", resp.StatusCode, http.StatusOK)
				}
				if got := resp.Header.Get("Content-Length"); got != strconv.Itoa(tt.size) {
					t.Errorf("Do() Content-Length = %q, want %d", got, tt.size)
				}
				if len(body) != tt.size {
					t.Errorf("read %d body bytes, want %d", len(body), tt.size)
				}
				want := head[:min(tt.size, len(head))]
				if !strings.HasPrefix(string(body), want) {
					t.Errorf("body starts %q, want %q", body[:min(len(body), len(head))], want)
				}
			})
		}
	}
}

func TestFaultLatency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cancel  bool          // cancel the request's context after wait
		timeout time.Duration // give the request a context with this timeout
		wantErr error         // nil: a 503 after the fault's latency
		wantAt  time.Duration // when Do returns
	}{
		{name: "served after the latency", wantAt: 2 * time.Second},
		{name: "cancelled while waiting", cancel: true, wantErr: context.Canceled, wantAt: time.Second},
		{name: "deadline while waiting", timeout: time.Second, wantErr: context.DeadlineExceeded, wantAt: time.Second},
	}
	for _, vendor := range vendors {
		for _, tt := range tests {
			t.Run(vendor+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) {
					tg := newTarget(t, vendor, false)
					c := tg.InProcessClient()
					latency := 2 * time.Second
					if tt.wantErr != nil {
						latency = time.Hour
					}
					tg.FailToken(1, vendoroauthtest.Fault{Status: http.StatusServiceUnavailable, Latency: latency})

					ctx, cancel := context.WithCancel(t.Context())
					defer cancel()
					if tt.timeout > 0 {
						ctx, cancel = context.WithTimeout(ctx, tt.timeout)
						defer cancel()
					}
					if tt.cancel {
						go func() {
							time.Sleep(time.Second)
							cancel()
						}()
					}
					start := time.Now()
					resp, err := c.Do(newRequest(t, http.MethodPost, tg.tokenURL, tg.tokenForm).WithContext(ctx))
					if err == nil {
						resp.Body.Close()
					}
					if got := time.Since(start); got != tt.wantAt {
						t.Errorf("Do() returned after %v, want %v", got, tt.wantAt)
					}
					switch {
					case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
						t.Errorf("Do() error = %v, want %v", err, tt.wantErr)
					case tt.wantErr == nil && err != nil:
						t.Errorf("Do() error = %v, want nil", err)
					case tt.wantErr == nil && resp.StatusCode != http.StatusServiceUnavailable:
						t.Errorf("Do() status = %d, want %d", resp.StatusCode, http.StatusServiceUnavailable)
					}
					// The fault is used up either way.
					if r := postForm(t, c, tg.tokenURL, tg.tokenForm); r.status != http.StatusOK {
						t.Errorf("the request after the fault: Do() status = %d, want %d", r.status, http.StatusOK)
					}
				})
			})
		}
	}
}

func TestFaultDrop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		started bool
		wantErr error // nil: any error
	}{
		{"over a socket", true, nil},
		{"in process", false, io.ErrUnexpectedEOF},
	}
	for _, vendor := range vendors {
		for _, tt := range tests {
			t.Run(vendor+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				tg := newTarget(t, vendor, tt.started)
				c := tg.Client()
				tg.FailToken(1, vendoroauthtest.Fault{Drop: true})

				resp, err := c.Do(newRequest(t, http.MethodPost, tg.tokenURL, tg.tokenForm))
				if err == nil {
					resp.Body.Close()
					t.Fatalf("Do() status = %d, want an error", resp.StatusCode)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("Do() error = %v, want %v", err, tt.wantErr)
				}
				if got := tg.TokenRequests(); got != 1 {
					t.Errorf("TokenRequests() = %d, want 1", got)
				}
				if r := postForm(t, c, tg.tokenURL, tg.tokenForm); r.status != http.StatusOK {
					t.Errorf("the request after the drop: Do() status = %d, want %d", r.status, http.StatusOK)
				}
			})
		}
	}
}

func TestFailTokenQueue(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, true)
			c := tg.Client()
			tg.FailToken(2, vendoroauthtest.Fault{Status: http.StatusServiceUnavailable})
			tg.FailToken(1, vendoroauthtest.Fault{Status: http.StatusTooManyRequests, RetryAfter: "1"})
			tg.FailToken(0, vendoroauthtest.Fault{Status: http.StatusTeapot}) // queues nothing
			tg.FailToken(1, vendoroauthtest.Fault{Status: http.StatusBadGateway})

			steps := []struct {
				name string
				req  *http.Request
				want int
			}{
				{"first", newRequest(t, http.MethodPost, tg.tokenURL, tg.tokenForm), http.StatusServiceUnavailable},
				// A fault comes before any check of the request.
				{"second, a GET with a bogus grant", newRequest(t, http.MethodGet, tg.tokenURL, pairs("grant_type", "bogus")), http.StatusServiceUnavailable},
				{"third", newRequest(t, http.MethodPost, tg.tokenURL, tg.tokenForm), http.StatusTooManyRequests},
				{"fourth", newRequest(t, http.MethodPost, tg.tokenURL, tg.tokenForm), http.StatusBadGateway},
				{"fifth, the queue is empty", newRequest(t, http.MethodPost, tg.tokenURL, tg.tokenForm), http.StatusOK},
				{"a rejected request", newRequest(t, http.MethodPost, tg.tokenURL, pairs("grant_type", "bogus")), http.StatusBadRequest},
				{"a request without grant_type", newRequest(t, http.MethodPost, tg.tokenURL, withoutField(tg.tokenForm, "grant_type")), http.StatusBadRequest},
			}
			for _, s := range steps {
				if r := send(t, c, s.req); r.status != s.want {
					t.Errorf("%s: Do() status = %d, want %d", s.name, r.status, s.want)
				}
			}
			if got := tg.TokenRequests(); got != len(steps) {
				t.Errorf("TokenRequests() = %d, want %d", got, len(steps))
			}
			// The GET's form is in its body, which the fake does not parse.
			want := map[string]int{tg.grantType: 4, "bogus": 1, "": 0, "refresh_token": 0}
			got := map[string]int{}
			for grant := range want {
				got[grant] = tg.TokenRequestsByGrant(grant)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("TokenRequestsByGrant() by grant mismatch (-want +got):\n%s", diff)
			}
			if got := tg.RevokeRequests() + tg.ResourceRequests(); got != 0 {
				t.Errorf("RevokeRequests() + ResourceRequests() = %d, want 0", got)
			}
		})
	}
}

// Faults are handed out one per request, whatever the concurrency.
func TestFailTokenConcurrent(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, true)
			c := tg.Client()
			const n, faults = 40, 15
			tg.FailToken(faults, vendoroauthtest.Fault{Status: http.StatusServiceUnavailable})
			var (
				wg     sync.WaitGroup
				mu     sync.Mutex
				counts = map[int]int{}
			)
			for range n {
				wg.Go(func() {
					req, err := http.NewRequest(http.MethodPost, tg.tokenURL, strings.NewReader(tg.tokenForm.Encode()))
					if err != nil {
						return
					}
					req.Header.Set("Content-Type", formType)
					status := -1
					if resp, err := c.Do(req); err == nil {
						resp.Body.Close()
						status = resp.StatusCode
					}
					mu.Lock()
					counts[status]++
					mu.Unlock()
				})
			}
			wg.Wait()
			want := map[int]int{http.StatusServiceUnavailable: faults, http.StatusOK: n - faults}
			if diff := cmp.Diff(want, counts); diff != "" {
				t.Errorf("Do() status counts mismatch (-want +got):\n%s", diff)
			}
			if got := tg.TokenRequests(); got != n {
				t.Errorf("TokenRequests() = %d, want %d", got, n)
			}
		})
	}
}

func TestFailRevoke(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, true)
			c := tg.Client()
			tok := tg.token(t, c)
			auth := "Bearer " + tok.str("access_token")
			revoke := tg.revokeForm(tok.str(tg.revokable))

			tg.FailRevoke(1, vendoroauthtest.Fault{Status: http.StatusInternalServerError})
			tg.FailToken(1, vendoroauthtest.Fault{Status: http.StatusBadGateway}) // not the revocation's

			r := postForm(t, c, tg.revokeURL, revoke)
			if r.status != http.StatusInternalServerError || r.str("error") != "server_error" {
				t.Errorf("faulted revoke: Do() status = %d, error %q; want %d, %q", r.status, r.str("error"), http.StatusInternalServerError, "server_error")
			}
			if got := getResource(t, c, tg.ResourceURL(), auth); got.status != http.StatusOK {
				t.Errorf("resource after the faulted revoke: Do() status = %d, want %d", got.status, http.StatusOK)
			}
			if r := postForm(t, c, tg.revokeURL, revoke); r.status != tg.revokeOK {
				t.Errorf("revoke after the fault: Do() status = %d, want %d", r.status, tg.revokeOK)
			}
			if got := getResource(t, c, tg.ResourceURL(), auth); got.status != http.StatusUnauthorized {
				t.Errorf("resource after the revoke: Do() status = %d, want %d", got.status, http.StatusUnauthorized)
			}
			if got := tg.RevokeRequests(); got != 2 {
				t.Errorf("RevokeRequests() = %d, want 2", got)
			}
			if r := postForm(t, c, tg.tokenURL, tg.tokenForm); r.status != http.StatusBadGateway {
				t.Errorf("token request: Do() status = %d, want the queued %d", r.status, http.StatusBadGateway)
			}
		})
	}
}

func TestFailResource(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, true)
			c := tg.Client()
			auth := "Bearer " + tg.token(t, c).str("access_token")
			tg.FailResource(1, vendoroauthtest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "5"})
			tg.FailResource(1, vendoroauthtest.Fault{Status: http.StatusUnauthorized})

			r := getResource(t, c, tg.ResourceURL(), auth)
			if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "5" {
				t.Errorf("first fault: Do() status = %d, Retry-After %q; want %d, %q", r.status, r.header.Get("Retry-After"), http.StatusServiceUnavailable, "5")
			}
			r = getResource(t, c, tg.ResourceURL(), auth)
			if r.status != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("second fault: Do() status = %d, WWW-Authenticate %q; want %d and a Bearer challenge", r.status, r.header.Get("WWW-Authenticate"), http.StatusUnauthorized)
			}
			if r := getResource(t, c, tg.ResourceURL(), auth); r.status != http.StatusOK {
				t.Errorf("after the faults: Do() status = %d, want %d", r.status, http.StatusOK)
			}
			if got := tg.ResourceRequests(); got != 3 {
				t.Errorf("ResourceRequests() = %d, want 3", got)
			}
			if got := tg.TokenRequests(); got != 1 {
				t.Errorf("TokenRequests() = %d, want 1", got)
			}
		})
	}
}

func TestFailTokenUntil(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				tg := newTarget(t, vendor, false)
				c := tg.InProcessClient()
				tg.FailTokenUntil(time.Now().Add(time.Minute), vendoroauthtest.Fault{Status: http.StatusBadGateway})
				tg.FailToken(1, vendoroauthtest.Fault{Status: http.StatusTeapot})

				steps := []struct {
					name string
					wait time.Duration
					want int
				}{
					{"the queued fault first", 0, http.StatusTeapot},
					{"during the outage", 0, http.StatusBadGateway},
					{"a second before its end", time.Minute - time.Second, http.StatusBadGateway},
					{"at its end", time.Second, http.StatusOK},
				}
				for _, st := range steps {
					time.Sleep(st.wait)
					if r := postForm(t, c, tg.tokenURL, tg.tokenForm); r.status != st.want {
						t.Errorf("%s: Do() status = %d, want %d", st.name, r.status, st.want)
					}
				}

				// A later call replaces the outage; one in the past ends it.
				tg.FailTokenUntil(time.Now().Add(time.Hour), vendoroauthtest.Fault{Status: http.StatusServiceUnavailable})
				if r := postForm(t, c, tg.tokenURL, tg.tokenForm); r.status != http.StatusServiceUnavailable {
					t.Errorf("during a new outage: Do() status = %d, want %d", r.status, http.StatusServiceUnavailable)
				}
				// An outage is the token endpoint's only.
				if got := getResource(t, c, tg.ResourceURL(), "Bearer at-never-issued"); got.status != http.StatusUnauthorized {
					t.Errorf("the resource during the outage: Do() status = %d, want its own %d", got.status, http.StatusUnauthorized)
				}
				tg.FailTokenUntil(time.Now().Add(-time.Second), vendoroauthtest.Fault{Status: http.StatusServiceUnavailable})
				if r := postForm(t, c, tg.tokenURL, tg.tokenForm); r.status != http.StatusOK {
					t.Errorf("after FailTokenUntil(the past): Do() status = %d, want %d", r.status, http.StatusOK)
				}
				if got := tg.TokenRequests(); got != 6 {
					t.Errorf("TokenRequests() = %d, want 6", got)
				}
			})
		})
	}
}

func TestSetRateLimit(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				tg := newTarget(t, vendor, false)
				c := tg.InProcessClient()
				tg.SetRateLimit(2, time.Hour)

				steps := []struct {
					name           string
					wait           time.Duration
					form           url.Values
					want           int
					wantRetryAfter string
				}{
					{"first", 0, tg.tokenForm, http.StatusOK, ""},
					{"a rejected one counts", 0, pairs("grant_type", "bogus"), http.StatusBadRequest, ""},
					{"third", 0, tg.tokenForm, http.StatusTooManyRequests, "3600"},
					{"half an hour on", 30 * time.Minute, tg.tokenForm, http.StatusTooManyRequests, "1800"},
					{"a second before the window ends", 30*time.Minute - time.Second, tg.tokenForm, http.StatusTooManyRequests, "1"},
					{"a new window", time.Second, tg.tokenForm, http.StatusOK, ""},
				}
				for _, st := range steps {
					time.Sleep(st.wait)
					r := postForm(t, c, tg.tokenURL, st.form)
					if r.status != st.want || r.header.Get("Retry-After") != st.wantRetryAfter {
						t.Errorf("%s: Do() status = %d, Retry-After %q; want %d, %q", st.name, r.status, r.header.Get("Retry-After"), st.want, st.wantRetryAfter)
					}
					if st.want == http.StatusTooManyRequests && r.str("error") != "rate_limit_exceeded" {
						t.Errorf("%s: Do() error = %q, want %q", st.name, r.str("error"), "rate_limit_exceeded")
					}
				}

				tg.SetRateLimit(0, time.Hour)
				for i := range 3 {
					if r := postForm(t, c, tg.tokenURL, tg.tokenForm); r.status != http.StatusOK {
						t.Errorf("request %d after SetRateLimit(0): Do() status = %d, want %d", i+1, r.status, http.StatusOK)
					}
				}
			})
		})
	}
}
