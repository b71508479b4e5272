package vendoroauthtest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// A host nothing answers on: only an in-process client reaches a fake there.
const nowhere = "http://127.0.0.1:1"

func TestClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		started    bool
		client     func(tg target) *http.Client
		wantSocket bool // the client dials: it cannot reach the fake at nowhere
	}{
		{"started, Client", true, func(tg target) *http.Client { return tg.Client() }, true},
		{"started, InProcessClient", true, func(tg target) *http.Client { return tg.InProcessClient() }, false},
		{"unstarted, Client", false, func(tg target) *http.Client { return tg.Client() }, false},
		{"unstarted, InProcessClient", false, func(tg target) *http.Client { return tg.InProcessClient() }, false},
	}
	for _, vendor := range vendors {
		for _, tt := range tests {
			t.Run(vendor+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				tg := newTarget(t, vendor, tt.started)
				if unstartedURL := tg.url == "http://127.0.0.1"; unstartedURL == tt.started {
					t.Errorf("URL = %q, want a loopback port for a started fake, http://127.0.0.1 otherwise", tg.url)
				}
				c := tt.client(tg)
				if r := postForm(t, c, tg.tokenURL, tg.tokenForm); r.status != http.StatusOK {
					t.Errorf("POST to the fake's URL: Do() status = %d, want %d", r.status, http.StatusOK)
				}
				path := strings.TrimPrefix(tg.tokenURL, tg.url)
				resp, err := c.Do(newRequest(t, http.MethodPost, nowhere+path, tg.tokenForm))
				if err == nil {
					resp.Body.Close()
				}
				switch {
				case tt.wantSocket && err == nil:
					t.Errorf("POST to %s: Do() status = %d, want a dial error", nowhere, resp.StatusCode)
				case !tt.wantSocket && err != nil:
					t.Errorf("POST to %s: Do() error = %v, want the fake's answer", nowhere, err)
				case !tt.wantSocket && resp.StatusCode != http.StatusOK:
					t.Errorf("POST to %s: Do() status = %d, want %d", nowhere, resp.StatusCode, http.StatusOK)
				}
			})
		}
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		for _, started := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/started=%t", vendor, started), func(t *testing.T) {
				t.Parallel()
				tg := newTarget(t, vendor, started) // its cleanup closes it a third time
				c := tg.Client()
				if r := postForm(t, c, tg.tokenURL, tg.tokenForm); r.status != http.StatusOK {
					t.Fatalf("before Close: Do() status = %d, want %d", r.status, http.StatusOK)
				}
				tg.Close()
				tg.Close()

				resp, err := c.Do(newRequest(t, http.MethodPost, tg.tokenURL, tg.tokenForm))
				if err == nil {
					resp.Body.Close()
				}
				if started && err == nil {
					t.Errorf("after Close: Do() status = %d, want an error", resp.StatusCode)
				}
				if !started && err != nil {
					t.Errorf("after Close of an unstarted fake: Do() error = %v, want an answer", err)
				}
				// In process, a closed fake still answers.
				if r := postForm(t, tg.InProcessClient(), tg.tokenURL, tg.tokenForm); r.status != http.StatusOK {
					t.Errorf("after Close, in process: Do() status = %d, want %d", r.status, http.StatusOK)
				}
			})
		}
	}
}

func TestInProcessClientContext(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, false)
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			resp, err := tg.InProcessClient().Do(newRequest(t, http.MethodPost, tg.tokenURL, tg.tokenForm).WithContext(ctx))
			if err == nil {
				resp.Body.Close()
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Do() error = %v, want %v", err, context.Canceled)
			}
			if got := tg.TokenRequests(); got != 0 {
				t.Errorf("TokenRequests() = %d, want 0", got)
			}
		})
	}
}

func TestFormatHidesCredentials(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, true)
			tok := tg.token(t, tg.Client()).str("access_token")
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
				got := fmt.Sprintf(verb, tg.fakeAPI)
				for _, secret := range []string{satPassword, fabSecret, tok} {
					if strings.Contains(got, secret) {
						t.Errorf("Sprintf(%q, fake) shows a secret", verb)
					}
				}
				if !strings.Contains(got, tg.url) {
					t.Errorf("Sprintf(%q, fake) = %q, want it to show the URL %q", verb, got, tg.url)
				}
			}
		})
	}
}
