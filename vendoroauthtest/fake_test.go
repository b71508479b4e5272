package vendoroauthtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// Start makes an unstarted fake listen, as httptest.Server.Start does, and
// keeps what was set and issued before.
func TestStart(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, false)
			require.Equal(t, "http://127.0.0.1", tg.url, "URL before Start")
			tg.SetTokenLifetime(10 * time.Minute)
			early := tg.token(t, tg.InProcessClient())
			inProcess := tg.Client() // before Start: in process

			tg.start()

			assert.True(t, strings.HasPrefix(tg.url, "http://127.0.0.1:"), "after Start: URL = %q, want http://127.0.0.1:port", tg.url)
			c := tg.Client()
			r := postForm(t, c, tg.tokenURL, tg.tokenForm)
			require.Equal(t, http.StatusOK, r.status, "token request over the socket: Do() status (error %q)", r.str("error"))
			require.NotEmpty(t, r.str("access_token"), "token request over the socket: access_token")
			assert.Equal(t, json.Number("600"), r.fields["expires_in"], "expires_in, want 600, as SetTokenLifetime set before Start")
			assert.Equal(t, http.StatusOK, getResource(t, c, tg.ResourceURL(), "Bearer "+early.str("access_token")).status,
				"resource over the socket with a token issued before Start: Do() status")
			resp, err := c.Do(newRequest(t, http.MethodPost, nowhere+tg.tokenPath, tg.tokenForm))
			if err == nil {
				resp.Body.Close()
			}
			assert.Error(t, err, "Client() after Start, POST to %s: Do() error, want a dial error", nowhere)
			for name, c := range map[string]*http.Client{"InProcessClient()": tg.InProcessClient(), "Client() from before Start": inProcess} {
				assert.Equal(t, http.StatusOK, postForm(t, c, tg.tokenURL, tg.tokenForm).status, "%s after Start: Do() status", name)
			}
			assert.Equal(t, 4, tg.TokenRequests(), "TokenRequests(), in process and over the socket")
			assert.Panics(t, tg.Start, "Start() a second time")
		})
	}
}

func TestClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		started    bool
		client     func(tg *target) *http.Client
		wantSocket bool // the client dials: it cannot reach the fake at nowhere
	}{
		{"started, Client", true, func(tg *target) *http.Client { return tg.Client() }, true},
		{"started, InProcessClient", true, func(tg *target) *http.Client { return tg.InProcessClient() }, false},
		{"unstarted, Client", false, func(tg *target) *http.Client { return tg.Client() }, false},
		{"unstarted, InProcessClient", false, func(tg *target) *http.Client { return tg.InProcessClient() }, false},
	}
	for _, vendor := range vendors {
		for _, tt := range tests {
			t.Run(vendor+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				tg := newTarget(t, vendor, tt.started)
				if tt.started {
					assert.NotEqual(t, "http://127.0.0.1", tg.url, "URL of a started fake, want a loopback port")
				} else {
					assert.Equal(t, "http://127.0.0.1", tg.url, "URL of an unstarted fake")
				}
				c := tt.client(tg)
				assert.Equal(t, http.StatusOK, postForm(t, c, tg.tokenURL, tg.tokenForm).status, "POST to the fake's URL: Do() status")
				resp, err := c.Do(newRequest(t, http.MethodPost, nowhere+tg.tokenPath, tg.tokenForm))
				if err == nil {
					resp.Body.Close()
				}
				if tt.wantSocket {
					assert.Error(t, err, "POST to %s: Do() error, want a dial error", nowhere)
				} else if assert.NoError(t, err, "POST to %s: Do() error, want the fake's answer", nowhere) {
					assert.Equal(t, http.StatusOK, resp.StatusCode, "POST to %s: Do() status", nowhere)
				}
			})
		}
	}
}

// ServeHTTP answers without Start, as the vendoroauth command's serve-fake
// uses it.
func TestServeHTTP(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, false)
			rec := httptest.NewRecorder()
			tg.ServeHTTP(rec, newRequest(t, http.MethodPost, tg.tokenURL, tg.tokenForm))
			assert.Equal(t, http.StatusOK, rec.Code, "ServeHTTP() status")
			assert.Contains(t, rec.Body.String(), `"access_token"`, "ServeHTTP() body")
			assert.Equal(t, 1, tg.TokenRequests(), "TokenRequests()")
		})
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
				require.Equal(t, http.StatusOK, postForm(t, c, tg.tokenURL, tg.tokenForm).status, "before Close: Do() status")
				tg.Close()
				tg.Close()

				resp, err := c.Do(newRequest(t, http.MethodPost, tg.tokenURL, tg.tokenForm))
				if err == nil {
					resp.Body.Close()
				}
				if started {
					assert.Error(t, err, "after Close: Do() error")
				} else {
					assert.NoError(t, err, "after Close of an unstarted fake: Do() error, want an answer")
				}
				// In process, a closed fake still answers.
				assert.Equal(t, http.StatusOK, postForm(t, tg.InProcessClient(), tg.tokenURL, tg.tokenForm).status, "after Close, in process: Do() status")
			})
		}
	}
}

func TestFormatHidesCredentials(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, true)
			tok := tg.token(t, tg.Client())
			secrets := []string{satPassword, fabSecret, tok.str("access_token")}
			if rt := tok.str("refresh_token"); rt != "" {
				secrets = append(secrets, rt)
			}
			// By pointer and by value: fmt skips a pointer's methods on a
			// value, and would print the fields.
			var byValue any
			switch f := tg.fakeAPI.(type) {
			case *vendoroauthtest.EnduroSat:
				byValue = *f
			case *vendoroauthtest.Formlabs:
				byValue = *f
			}
			var outputs []string
			for _, v := range []any{tg.fakeAPI, byValue} {
				for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
					outputs = append(outputs, fmt.Sprintf(verb, v))
				}
				var logs bytes.Buffer
				slog.New(slog.NewTextHandler(&logs, nil)).Info("fake", "srv", v)
				slog.New(slog.NewJSONHandler(&logs, nil)).Info("fake", "srv", v)
				outputs = append(outputs, logs.String())
			}
			for _, got := range outputs {
				for _, secret := range secrets {
					assert.NotContains(t, got, secret, "a printed or logged fake shows a secret")
				}
				assert.Contains(t, got, strings.TrimPrefix(tg.url, "http://"), "a printed or logged fake shows its URL")
			}
		})
	}
}

// Context carries the fake's Client as oauth2.HTTPClient: the in-process
// one before Start, the loopback server's after.
func TestContext(t *testing.T) {
	t.Parallel()
	type key struct{}
	for _, vendor := range vendors {
		for _, started := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/started=%v", vendor, started), func(t *testing.T) {
				t.Parallel()
				tg := newTarget(t, vendor, started)
				parent := context.WithValue(t.Context(), key{}, "kept")

				ctx := tg.Context(parent)

				assert.Equal(t, "kept", ctx.Value(key{}), "the parent's value")
				c, ok := ctx.Value(oauth2.HTTPClient).(*http.Client)
				require.True(t, ok, "ctx.Value(oauth2.HTTPClient) = %T, want *http.Client", ctx.Value(oauth2.HTTPClient))
				assert.Equal(t, http.StatusOK, postForm(t, c, tg.tokenURL, tg.tokenForm).status, "POST to the fake's URL: Do() status")
				resp, err := c.Do(newRequest(t, http.MethodPost, nowhere+tg.tokenPath, tg.tokenForm))
				if err == nil {
					resp.Body.Close()
				}
				if started {
					assert.Same(t, tg.Client(), c, "the client of a started fake")
					assert.Error(t, err, "POST to %s: Do() error, want a dial error", nowhere)
				} else {
					assert.NoError(t, err, "POST to %s in process: Do() error", nowhere)
				}
			})
		}
	}
}

// newSource returns a vendoroauth token source for tg's fake, with the
// test credentials, tg's URL as the base URL and no client of its own.
// Its Close runs when t ends.
func newSource(t *testing.T, ctx context.Context, tg *target, vendor string) *vendoroauth.TokenSource {
	t.Helper()
	var src *vendoroauth.TokenSource
	if vendor == enduroSat {
		src = vendoroauth.EnduroSatPasswordTokenSource(ctx, satClientID, satUser, satPassword, vendoroauth.WithBaseURL(tg.url))
	} else {
		src = vendoroauth.FormlabsTokenSource(ctx, fabClientID, fabSecret, vendoroauth.WithBaseURL(tg.url))
	}
	t.Cleanup(func() { _ = src.Close() })
	return src
}

// With ctx = srv.Context(ctx), a vendoroauth token source and its Client
// both reach an unstarted fake in process, inside a synctest bubble, where
// a socket would hang: the user's test of ExampleFormlabs_Handle, with
// time.
func TestContextTokenSourceInBubble(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				tg := newTarget(t, vendor, false)
				h, api := handleAPI(tg, vendor)
				ctx := tg.Context(t.Context())
				c := newSource(t, ctx, tg, vendor).Client(ctx)

				r := getResource(t, c, tg.url+api.path, "")
				assert.Equal(t, http.StatusOK, r.status, "Do() status")
				calls, _, _, first := h.seen()
				assert.Equal(t, 1, calls, "calls that reached the handler")
				assert.Equal(t, 1, tg.TokenRequests(), "TokenRequests()")

				time.Sleep(tg.lifetime + time.Minute) // the first token has expired
				r = getResource(t, c, tg.url+api.path, "")
				assert.Equal(t, http.StatusOK, r.status, "after the first token's lifetime: Do() status")
				calls, _, _, second := h.seen()
				assert.Equal(t, 2, calls, "calls that reached the handler")
				assert.NotEqual(t, first, second, "Authorization after the first token's lifetime, want a new token")
				assert.GreaterOrEqual(t, tg.TokenRequests(), 2, "TokenRequests()")
			})
		})
	}
}

// The same with a started fake, over its socket.
func TestContextTokenSourceStarted(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, true)
			h, api := handleAPI(tg, vendor)
			ctx := tg.Context(t.Context())
			c := newSource(t, ctx, tg, vendor).Client(ctx)

			r := getResource(t, c, tg.url+api.path, "")
			assert.Equal(t, http.StatusOK, r.status, "Do() status")
			assert.Equal(t, api.id, r.str("id"), "the handler's answer")
			calls, _, _, bearer := h.seen()
			assert.Equal(t, 1, calls, "calls that reached the handler")
			assert.True(t, strings.HasPrefix(bearer, "Bearer "), "handler's Authorization = %q, want a bearer token", bearer)
			assert.Equal(t, 1, tg.TokenRequests(), "TokenRequests()")
		})
	}
}
