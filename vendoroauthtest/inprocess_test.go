package vendoroauthtest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// A request whose context is already done never reaches the fake.
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

// The response is what a socket client returns: tied to the caller's
// request, also for a request with no body.
func TestInProcessClientResponse(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, vendor, false)
			c := tg.InProcessClient()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, tg.ResourceURL(), nil)
			if err != nil {
				t.Fatalf("NewRequestWithContext() error = %v", err)
			}
			req.Header.Set("Authorization", "Bearer "+tg.token(t, c).str("access_token"))
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("Do() error = %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("Do() status = %d, want %d", resp.StatusCode, http.StatusOK)
			}
			if resp.Request != req {
				t.Errorf("Do() response's Request is not the request sent")
			}
		})
	}
}
