package vendoroauth_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

func TestClientSetsBearer(t *testing.T) {
	for _, tokenType := range []string{"Bearer", "bearer", "BEARER"} {
		t.Run(tokenType, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, src := bubbleFormlabs(t)
				srv.SetTokenType(tokenType)
				c := src.Client(contextWithClient(t.Context(), srv.InProcessClient()))
				if got := get(t, c, srv.ResourceURL()); got != http.StatusOK {
					t.Errorf("GET through Client() = %d, want 200", got)
				}
			})
		})
	}
}

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
				if _, err := src.Token(); err != nil {
					t.Fatalf("Token() error = %v", err)
				}
				if tt.resourceFault > 0 {
					srv.FailResource(tt.resourceFault, vendoroauthtest.Fault{Status: 401})
				} else {
					srv.RevokeAccessTokens() // behind the source's back
				}
				resp, err := c.Do(tt.newRequest(srv.ResourceURL()))
				if err != nil {
					t.Fatalf("Do() error = %v", err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.wantStatus {
					t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
				}
				if got := srv.TokenRequests(); got != tt.wantTokens {
					t.Errorf("token requests = %d, want %d", got, tt.wantTokens)
				}
				if got := srv.ResourceRequests(); got != tt.wantResource {
					t.Errorf("resource requests = %d, want %d", got, tt.wantResource)
				}
			})
		})
	}
}

func TestClientManyRequestsOn401OneFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		c := src.Client(contextWithClient(t.Context(), srv.InProcessClient()))
		if _, err := src.Token(); err != nil {
			t.Fatalf("Token() error = %v", err)
		}
		srv.RevokeAccessTokens()
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				resp, err := c.Get(srv.ResourceURL())
				if err != nil {
					t.Errorf("Get() error = %v", err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("status = %d, want 200", resp.StatusCode)
				}
			})
		}
		wg.Wait()
		if got := srv.TokenRequests(); got > 3 {
			t.Errorf("token requests = %d, want at most a few for 50 requests on a dead token", got)
		}
	})
}

func TestOAuth2NewClient(t *testing.T) {
	t.Parallel()
	srv := newEnduroSat(t)
	src := esSource(t, srv)
	c := oauth2.NewClient(contextWithClient(t.Context(), srv.Client()), src)
	for range 3 {
		if got := get(t, c, srv.ResourceURL()); got != http.StatusOK {
			t.Fatalf("GET through oauth2.NewClient = %d, want 200", got)
		}
	}
	if got := srv.TokenRequests(); got != 1 {
		t.Errorf("token requests = %d, want 1", got)
	}
}

func TestClientDoesNotModifyRequest(t *testing.T) {
	t.Parallel()
	srv := newFormlabs(t)
	src := flSource(t, srv)
	req, _ := http.NewRequest(http.MethodGet, srv.ResourceURL(), nil)
	resp, err := src.Client(contextWithClient(t.Context(), srv.Client())).Do(req)
	if err != nil {
		t.Fatalf("Do() error = %v", err)
	}
	resp.Body.Close()
	if got := req.Header.Get("Authorization"); got != "" {
		t.Errorf("caller's request got Authorization %q; want it untouched", got)
	}
}

func TestTokenRequestsDoNotFollowRedirects(t *testing.T) {
	t.Parallel()
	srv := newFormlabs(t)
	redirect := newRedirector(t, srv.URL)
	src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, vendoroauth.WithBaseURL(redirect))
	defer src.Close()
	if _, err := src.Token(); err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Errorf("Token() through a redirect = %v, want a redirect error", err)
	}
	if err := vendoroauth.FormlabsRevoker(flClientID, flSecret, vendoroauth.WithBaseURL(redirect)).Revoke(t.Context(), "x"); err == nil {
		t.Errorf("Revoke() through a redirect = nil, want an error")
	}
	if got := srv.TokenRequests() + srv.RevokeRequests(); got != 0 {
		t.Errorf("the redirect target got %d requests with credentials, want 0", got)
	}
}
