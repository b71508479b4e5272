package vendoroauth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

func TestClientRecoversFrom401(t *testing.T) {
	tests := []struct {
		name          string
		newRequest    func(url string) *http.Request
		resourceFault int // extra 401s the resource answers
		wantStatus    int
		wantTokens    int // token requests in all
		wantResource  int // resource requests in all
	}{
		{
			name:       "GET is retried once",
			newRequest: func(url string) *http.Request { r, _ := http.NewRequest(http.MethodGet, url, nil); return r },
			wantStatus: 200, wantTokens: 2, wantResource: 2,
		},
		{
			name: "POST with GetBody is replayed",
			newRequest: func(url string) *http.Request {
				r, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"a":1}`))
				return r
			},
			wantStatus: 200, wantTokens: 2, wantResource: 2,
		},
		{
			name: "body that cannot be replayed is not retried",
			newRequest: func(url string) *http.Request {
				r, _ := http.NewRequest(http.MethodPost, url, io.NopCloser(strings.NewReader(`{"a":1}`)))
				return r
			},
			wantStatus: 401, wantTokens: 1, wantResource: 1,
		},
		{
			name:          "a second 401 is returned, not looped on",
			newRequest:    func(url string) *http.Request { r, _ := http.NewRequest(http.MethodGet, url, nil); return r },
			resourceFault: 2,
			wantStatus:    401, wantTokens: 2, wantResource: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, src := bubbleEnduroSat(t)
				c := src.Client(contextWithClient(t.Context(), srv.InProcessClient()))
				_, err := src.Token()
				require.NoError(t, err, "Token()")
				if tt.resourceFault > 0 {
					srv.FailResource(tt.resourceFault, vendoroauthtest.Fault{Status: 401})
				} else {
					srv.RevokeAccessTokens() // behind the source's back
				}
				resp, err := c.Do(tt.newRequest(srv.ResourceURL()))
				require.NoError(t, err, "Do()")
				resp.Body.Close()
				assert.Equal(t, tt.wantStatus, resp.StatusCode, "status")
				assert.Equal(t, tt.wantTokens, srv.TokenRequests(), "token requests")
				assert.Equal(t, tt.wantResource, srv.ResourceRequests(), "resource requests")
			})
		})
	}
}

// TestClientManyRequestsOn401OneFetch: 50 requests sent with a token the
// vendor revoked get their 401s one after another, some after the new token
// has landed; together they cost one new token.
func TestClientManyRequestsOn401OneFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		inner := srv.InProcessClient().Transport
		var n atomic.Int64
		spread := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := inner.RoundTrip(r)
			if err == nil && resp.StatusCode == http.StatusUnauthorized {
				time.Sleep(time.Duration(n.Add(1)) * time.Millisecond) // the 401s arrive spread out
			}
			return resp, err
		})}
		c := src.Client(contextWithClient(t.Context(), spread))
		_, err := src.Token()
		require.NoError(t, err, "Token()")
		srv.RevokeAccessTokens()
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				assert.Equal(t, http.StatusOK, get(t, c, srv.ResourceURL()), "status")
			})
		}
		wg.Wait()
		assert.Equal(t, 2, srv.TokenRequests(), "token requests: the first, and one new token for 50 requests on the dead one")
	})
}

func TestOAuth2NewClient(t *testing.T) {
	t.Parallel()
	srv := newEnduroSat(t)
	src := esSource(t, srv)
	c := oauth2.NewClient(contextWithClient(t.Context(), srv.Client()), src)
	for range 3 {
		require.Equal(t, http.StatusOK, get(t, c, srv.ResourceURL()), "GET through oauth2.NewClient")
	}
	assert.Equal(t, 1, srv.TokenRequests(), "token requests")
}

func TestClientDoesNotModifyRequest(t *testing.T) {
	t.Parallel()
	srv := newFormlabs(t)
	src := flSource(t, srv)
	req, _ := http.NewRequest(http.MethodGet, srv.ResourceURL(), nil)
	resp, err := src.Client(contextWithClient(t.Context(), srv.Client())).Do(req)
	require.NoError(t, err, "Do()")
	resp.Body.Close()
	assert.Empty(t, req.Header.Get("Authorization"), "the caller's request's Authorization: want it untouched")
}

func TestTokenRequestsDoNotFollowRedirects(t *testing.T) {
	t.Parallel()
	srv := newFormlabs(t)
	redirect := newRedirector(t, srv.URL)
	src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, vendoroauth.WithBaseURL(redirect))
	defer src.Close()
	_, err := src.Token()
	assert.ErrorContains(t, err, "redirect", "Token() through a redirect")
	err = vendoroauth.FormlabsRevoker(flClientID, flSecret, vendoroauth.WithBaseURL(redirect)).Revoke(t.Context(), "x")
	assert.Error(t, err, "Revoke() through a redirect")
	assert.Zero(t, srv.TokenRequests()+srv.RevokeRequests(), "requests with credentials at the redirect target")
}

// Client canonicalises the token type ("bearer" → "Bearer").
func TestClientSendsCanonicalBearer(t *testing.T) {
	for _, tokenType := range []string{"Bearer", "bearer", "BEARER", "mac", "DPoP", "N_A"} {
		t.Run(tokenType, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, src := bubbleFormlabs(t)
				srv.SetTokenType(tokenType)
				inner := srv.InProcessClient().Transport
				var got string
				base := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
					got = r.Header.Get("Authorization")
					return inner.RoundTrip(r)
				})}
				assert.Equal(t, http.StatusOK, get(t, src.Client(contextWithClient(t.Context(), base)), srv.ResourceURL()), "GET through Client()")
				assert.True(t, strings.HasPrefix(got, "Bearer "), "Authorization = %q, want the canonical \"Bearer \" prefix", got)
			})
		})
	}
}

// A 401 on a stale token does not evict the newer cached one.
func TestStale401DoesNotEvictNewerToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		inner := srv.InProcessClient().Transport
		var once atomic.Bool
		base := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if once.CompareAndSwap(false, true) {
				src.Invalidate() // someone else renews the token meanwhile
				_, err := src.Token()
				assert.NoError(t, err, "Token() while the request is on its way")
				srv.FailResource(1, vendoroauthtest.Fault{Status: 401})
			}
			return inner.RoundTrip(r)
		})}
		_, err := src.Token()
		require.NoError(t, err, "Token()")
		assert.Equal(t, 200, get(t, src.Client(contextWithClient(t.Context(), base)), srv.ResourceURL()), "status")
		assert.Equal(t, 2, srv.TokenRequests(), "token requests: the 401 on the old token must not evict the new one")
	})
}

// TestOAuth2NewClientNeverWaitsAtExpiry: 90 simulated days of requests
// through oauth2.NewClient, whose ReuseTokenSource asks the source only when
// its own copy is within 10s of expiry, with a 2s token endpoint. The
// source refreshed on its timer long before: no request waits.
func TestOAuth2NewClientNeverWaitsAtExpiry(t *testing.T) {
	tests := []struct {
		vendor   string
		lifetime time.Duration
	}{
		{"formlabs", 24 * time.Hour},
		{"endurosat", time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.vendor, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var fake interface {
					SetTokenLifetime(time.Duration)
					SetLatency(time.Duration)
					InProcessClient() *http.Client
					ResourceURL() string
					TokenRequests() int
				}
				var src *vendoroauth.TokenSource
				if tt.vendor == "formlabs" {
					fake, src = bubbleFormlabs(t)
				} else {
					fake, src = bubbleEnduroSat(t)
				}
				fake.SetTokenLifetime(tt.lifetime)
				fake.SetLatency(2 * time.Second)
				c := oauth2.NewClient(contextWithClient(t.Context(), fake.InProcessClient()), src)
				require.Equal(t, http.StatusOK, get(t, c, fake.ResourceURL()), "the first request, which logs in")

				var slow, requests int
				for end := time.Now().Add(90 * 24 * time.Hour); time.Now().Before(end); requests++ {
					time.Sleep(time.Minute)
					start := time.Now()
					require.Equal(t, http.StatusOK, get(t, c, fake.ResourceURL()), "GET at %v", time.Since(end.Add(-90*24*time.Hour)))
					if time.Since(start) >= time.Second {
						slow++
					}
				}
				assert.Zero(t, slow, "requests of %d that waited 1s or more", requests)
				lifetimes := int(90 * 24 * time.Hour / tt.lifetime)
				assert.LessOrEqual(t, fake.TokenRequests(), lifetimes*3/2, "token requests: about one per lifetime")
			})
		})
	}
}

// TestOAuth2NewClientsShareASource: two oauth2.NewClient clients on one
// source, used from four goroutines across expiries; under -race a shared
// *oauth2.Token written by ReuseTokenSource would be reported.
func TestOAuth2NewClientsShareASource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		srv.SetTokenLifetime(time.Minute)
		ctx := contextWithClient(t.Context(), srv.InProcessClient())
		clients := []*http.Client{oauth2.NewClient(ctx, src), oauth2.NewClient(ctx, src)}
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for range 300 {
					if !assert.Equal(t, http.StatusOK, get(t, clients[g%2], srv.ResourceURL()), "GET") {
						return
					}
					time.Sleep(time.Second)
				}
			})
		}
		wg.Wait()
	})
}

// apiHost is the host of the vendor API in the redirect tests: a name, so
// that the https and subdomain rules apply as in production.
const apiHost = "api.example.test"

// router is a base transport for Client: requests to https://apiHost (or
// its subdomains) on the default port reach the fake, except the paths in
// redirects, which answer 307 to their target (after one 401 if fail401);
// every other origin answers otherStatus. It records each request's
// Authorization header.
type router struct {
	fake        http.Handler
	redirects   map[string]string
	fail401     bool
	otherStatus int

	mu   sync.Mutex
	seen map[string]string // URL → Authorization
}

func (rt *router) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		defer r.Body.Close()
	}
	rt.mu.Lock()
	rt.seen[r.URL.String()] = r.Header.Get("Authorization")
	fail := rt.fail401 && rt.redirects[r.URL.Path] != ""
	if fail {
		rt.fail401 = false
	}
	rt.mu.Unlock()
	rec := httptest.NewRecorder()
	switch host := r.URL.Hostname(); {
	case r.URL.Scheme != "https" || r.URL.Port() != "" || host != apiHost && !strings.HasSuffix(host, "."+apiHost):
		rec.WriteHeader(rt.otherStatus)
	case fail:
		rec.WriteHeader(http.StatusUnauthorized)
	case rt.redirects[r.URL.Path] != "":
		http.Redirect(rec, r, rt.redirects[r.URL.Path], http.StatusTemporaryRedirect)
	default:
		rt.fake.ServeHTTP(rec, r)
	}
	return rec.Result(), nil
}

func (rt *router) authorization(url string) (string, bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	a, ok := rt.seen[url]
	return a, ok
}

// TestClientBearerScope: the token goes to the API host over https and to
// its subdomains, and nowhere else: not to a redirect's target on another
// host, port or scheme, nor to a direct request elsewhere. A 401 from
// elsewhere costs no token request.
func TestClientBearerScope(t *testing.T) {
	const api = "https://" + apiHost
	tests := []struct {
		name        string
		request     string            // what the caller asks for
		redirects   map[string]string // API path → target
		fail401     bool              // the API answers the first request 401
		otherStatus int
		reached     string // the URL whose Authorization is checked
		wantAuth    bool
		wantStatus  int
		wantTokens  int
	}{
		{name: "the API itself", request: api + "/developer/v1/printers/", reached: api + "/developer/v1/printers/", wantAuth: true, wantStatus: 200, wantTokens: 1},
		{name: "a subdomain of the API", request: "https://eu." + apiHost + "/developer/v1/printers/", reached: "https://eu." + apiHost + "/developer/v1/printers/", wantAuth: true, wantStatus: 200, wantTokens: 1},
		{name: "another port", request: api + "/r", redirects: map[string]string{"/r": "https://" + apiHost + ":8443/x"}, otherStatus: 200,
			reached: "https://" + apiHost + ":8443/x", wantStatus: 200, wantTokens: 1},
		{name: "another host name", request: api + "/r", redirects: map[string]string{"/r": "https://s3.example.test/x?X-Amz-Signature=1"}, otherStatus: 200,
			reached: "https://s3.example.test/x?X-Amz-Signature=1", wantStatus: 200, wantTokens: 1},
		{name: "a look-alike suffix", request: api + "/r", redirects: map[string]string{"/r": "https://evil" + apiHost + "/x"}, otherStatus: 200,
			reached: "https://evil" + apiHost + "/x", wantStatus: 200, wantTokens: 1},
		{name: "https to http", request: api + "/r", redirects: map[string]string{"/r": "http://" + apiHost + "/x"}, otherStatus: 200,
			reached: "http://" + apiHost + "/x", wantStatus: 200, wantTokens: 1},
		{name: "http on the API's own port", request: api + "/r", redirects: map[string]string{"/r": "http://" + apiHost + ":443/x"}, otherStatus: 200,
			reached: "http://" + apiHost + ":443/x", wantStatus: 200, wantTokens: 1},
		{name: "a 401 replay, then a cross-host 307", request: api + "/r", fail401: true, redirects: map[string]string{"/r": "https://cdn.example.test/x"}, otherStatus: 200,
			reached: "https://cdn.example.test/x", wantStatus: 200, wantTokens: 2},
		{name: "another host answering 401", request: api + "/r", redirects: map[string]string{"/r": "https://other.example.test/x"}, otherStatus: 401,
			reached: "https://other.example.test/x", wantStatus: 401, wantTokens: 1},
		{name: "a direct request elsewhere", request: "https://other.example.test/y", otherStatus: 401,
			reached: "https://other.example.test/y", wantStatus: 401, wantTokens: 1},
	}
	for _, tt := range tests {
		// The API client's base comes from Client's ctx, or else from
		// WithHTTPClient: the scope is the same.
		for _, via := range []string{"ctx", "WithHTTPClient"} {
			t.Run(tt.name+"/"+via, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					fake := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
					rt := &router{fake: fake, redirects: tt.redirects, fail401: tt.fail401, otherStatus: tt.otherStatus, seen: map[string]string{}}
					base := &http.Client{Transport: rt}
					src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret,
						vendoroauth.WithBaseURL(api), vendoroauth.WithHTTPClient(base))
					defer src.Close()
					_, err := src.Token()
					require.NoError(t, err)
					ctx := t.Context()
					if via == "ctx" {
						ctx = contextWithClient(ctx, base)
					}
					resp, err := src.Client(ctx).Get(tt.request)
					require.NoError(t, err)
					resp.Body.Close()
					assert.Equal(t, tt.wantStatus, resp.StatusCode, "status")
					auth, ok := rt.authorization(tt.reached)
					require.True(t, ok, "%s was never reached", tt.reached)
					assert.Equal(t, tt.wantAuth, auth != "", "Authorization sent to %s", tt.reached)
					if tt.wantAuth {
						assert.True(t, strings.HasPrefix(auth, "Bearer "), "Authorization = %.7q…", auth)
					}
					assert.Equal(t, tt.wantTokens, fake.TokenRequests(), "token requests")
				})
			})
		}
	}
}

// TestClientPermanent401: an endpoint that always answers 401 costs at
// most one token request for 40 calls, and healthy endpoints keep working.
func TestClientPermanent401(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		inner := srv.InProcessClient().Transport
		always401 := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Path == "/broken" {
				rec := httptest.NewRecorder()
				rec.WriteHeader(http.StatusUnauthorized)
				return rec.Result(), nil
			}
			return inner.RoundTrip(r)
		})}
		c := src.Client(contextWithClient(t.Context(), always401))
		_, err := src.Token()
		require.NoError(t, err)
		for i := range 40 {
			assert.Equal(t, http.StatusUnauthorized, get(t, c, srv.URL+"/broken"), "call %d to the broken endpoint", i)
			assert.Equal(t, http.StatusOK, get(t, c, srv.ResourceURL()), "call %d to a healthy endpoint", i)
		}
		assert.LessOrEqual(t, srv.TokenRequests(), 2, "token requests: the first, and at most one for the 401")
	})
}

func TestClientNilHeader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		c := src.Client(contextWithClient(t.Context(), srv.InProcessClient()))
		u, err := url.Parse(srv.ResourceURL())
		require.NoError(t, err)
		resp, err := c.Transport.RoundTrip(&http.Request{Method: http.MethodGet, URL: u}) // no Header
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	})
}

// TestClient401WithoutReplayDropsToken: a request whose body cannot be
// replayed gets its 401 back, and the refused token is dropped all the
// same, so the next request goes out with a new one.
func TestClient401WithoutReplayDropsToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		c := src.Client(contextWithClient(t.Context(), srv.InProcessClient()))
		first, err := src.Token()
		require.NoError(t, err)
		srv.RevokeAccessTokens()
		req, err := http.NewRequest(http.MethodPost, srv.ResourceURL(), io.NopCloser(strings.NewReader(`{}`)))
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the 401 of a request that cannot be replayed")
		before := srv.ResourceRequests()
		assert.Equal(t, http.StatusOK, get(t, c, srv.ResourceURL()), "the next request")
		assert.Equal(t, 1, srv.ResourceRequests()-before, "the next request went out once, with a new token, not with the refused one first")
		next, err := src.Token()
		require.NoError(t, err)
		assert.NotEqual(t, first.AccessToken, next.AccessToken)
	})
}

// TestRefusedTokenNeverSentTwice: a request refused with 401 near its
// token's expiry, while a background refresh fails and the source keeps
// that token in a new snapshot, is not replayed with the same token: the
// 401 rules compare tokens, not snapshots. The caller gets a new token or
// the 401, never the same token twice; with a store or without.
func TestRefusedTokenNeverSentTwice(t *testing.T) {
	for _, st := range append(stores, struct {
		name string
		new  func(t *testing.T) vendoroauth.TokenStore
	}{"no store", func(*testing.T) vendoroauth.TokenStore { return nil }}) {
		t.Run(st.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword)
				srv.SetTokenLifetime(time.Hour)
				var mu sync.Mutex
				var presented []string
				srv.Handle("GET /v1/slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					presented = append(presented, r.Header.Get("Authorization"))
					n := len(presented)
					mu.Unlock()
					if n == 1 {
						time.Sleep(6 * time.Minute) // past the refresh time, which fails meanwhile
					}
					w.WriteHeader(http.StatusUnauthorized)
				}))
				opts := []vendoroauth.Option{vendoroauth.WithBaseURL(srv.URL)}
				if store := st.new(t); store != nil {
					opts = append(opts, vendoroauth.WithStore(store))
				}
				ctx := srv.Context(t.Context())
				src := vendoroauth.EnduroSatPasswordTokenSource(ctx, esClientID, esUsername, esPassword, opts...)
				defer src.Close()
				client := src.Client(ctx)
				start := time.Now()
				require.Equal(t, http.StatusOK, get(t, client, srv.ResourceURL()), "the first request")
				srv.FailTokenUntil(start.Add(2*time.Hour), vendoroauthtest.Fault{Status: http.StatusServiceUnavailable})

				time.Sleep(50 * time.Minute)
				status := get(t, client, srv.URL+"/v1/slow")
				assert.Equal(t, http.StatusUnauthorized, status, "the refused request's status (the vendor is down: no new token)")
				// The next request does not present the refused token
				// either: it waits for a new one, which the outage denies.
				if resp, err := client.Get(srv.URL + "/v1/slow"); err == nil {
					resp.Body.Close()
				}
				mu.Lock()
				defer mu.Unlock()
				require.NotEmpty(t, presented)
				for i := 1; i < len(presented); i++ {
					assert.NotEqual(t, presented[0], presented[i], "attempt %d presented the refused token again", i+1)
				}
			})
		})
	}
}

// TestClientFallsBackToTheSourcesClient: a client given once with
// WithHTTPClient carries the API requests too, unless Client's ctx brings
// its own, which wins.
func TestClientFallsBackToTheSourcesClient(t *testing.T) {
	tests := []struct {
		name          string
		ctxClient     bool
		wantSourceAPI int // API requests through WithHTTPClient's transport
		wantCtxAPI    int // API requests through the ctx client's transport
	}{
		{name: "no client in ctx", wantSourceAPI: 3},
		{name: "a client in ctx", ctxClient: true, wantCtxAPI: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newFormlabs(t)
			sourceAPI, sourceTokens := counting(srv.Client(), srv.ResourceURL())
			src := flSource(t, srv, vendoroauth.WithHTTPClient(sourceAPI.client))
			ctx := t.Context()
			ctxAPI, _ := counting(srv.Client(), srv.ResourceURL())
			if tt.ctxClient {
				ctx = contextWithClient(ctx, ctxAPI.client)
			}
			c := src.Client(ctx)
			for range 3 {
				require.Equal(t, http.StatusOK, get(t, c, srv.ResourceURL()), "GET through Client")
			}
			assert.Equal(t, tt.wantSourceAPI, int(sourceAPI.n.Load()), "API requests through WithHTTPClient's client")
			assert.Equal(t, tt.wantCtxAPI, int(ctxAPI.n.Load()), "API requests through the ctx's client")
			assert.Equal(t, 1, int(sourceTokens.Load()), "token requests through WithHTTPClient's client")
			assert.Equal(t, 3, srv.ResourceRequests(), "API requests the fake answered")
		})
	}
}

// counter is a client whose transport counts the requests to one URL.
type counter struct {
	client *http.Client
	n      atomic.Int32
}

// counting returns a copy of base counting requests to url, and a count of
// all the others.
func counting(base *http.Client, url string) (*counter, *atomic.Int32) {
	c := &counter{}
	others := new(atomic.Int32)
	cp := *base
	inner := base.Transport
	cp.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.String() == url {
			c.n.Add(1)
		} else {
			others.Add(1)
		}
		return inner.RoundTrip(r)
	})
	c.client = &cp
	return c, others
}

// TestClientCarriesTheSourcesClient: with no client in Client's ctx, the
// API client has the redirect policy, cookie jar and timeout of the
// client given with WithHTTPClient, or else of the one in the
// constructor's context; with neither, none of them.
func TestClientCarriesTheSourcesClient(t *testing.T) {
	errPolicy := errors.New("the caller's redirect policy")
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	given := &http.Client{Timeout: 7 * time.Second, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return errPolicy }}
	tests := []struct {
		name    string
		ctx     context.Context // the constructor's
		opts    []vendoroauth.Option
		want    *http.Client // nil: a zero client's fields
		wantErr error        // of the API client's CheckRedirect
	}{
		{name: "WithHTTPClient", ctx: context.Background(), opts: []vendoroauth.Option{vendoroauth.WithHTTPClient(given)}, want: given, wantErr: errPolicy},
		{name: "the constructor's ctx", ctx: contextWithClient(context.Background(), given), want: given, wantErr: errPolicy},
		{name: "neither", ctx: context.Background()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := vendoroauth.FormlabsTokenSource(tt.ctx, flClientID, flSecret, tt.opts...)
			defer src.Close()
			c := src.Client(context.Background())
			if tt.want == nil {
				assert.Zero(t, c.Timeout, "Timeout")
				assert.Nil(t, c.Jar, "Jar")
				assert.Nil(t, c.CheckRedirect, "CheckRedirect")
				return
			}
			assert.Equal(t, tt.want.Timeout, c.Timeout, "Timeout")
			assert.Same(t, tt.want.Jar, c.Jar, "Jar")
			require.NotNil(t, c.CheckRedirect, "CheckRedirect")
			assert.ErrorIs(t, c.CheckRedirect(nil, nil), tt.wantErr, "CheckRedirect")
		})
	}
}
