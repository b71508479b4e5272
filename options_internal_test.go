package vendoroauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

func TestBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base      string
		wantToken string // "" means invalid
	}{
		{"https://staging.example", "https://staging.example/oauth2/token"},
		{"https://proxy.example/es/", "https://proxy.example/es/oauth2/token"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/oauth2/token"},
		{"http://localhost:1", "http://localhost:1/oauth2/token"},
		{"http://[::1]:9", "http://[::1]:9/oauth2/token"},
		{"https://proxy.example/a%20b//", "https://proxy.example/a%20b/oauth2/token"},
		{"https://proxy.example/a b/", "https://proxy.example/a%20b/oauth2/token"},
		{"https://proxy.example/a%2Fb", "https://proxy.example/a/b/oauth2/token"},
		{"https://Proxy.Example:443/", "https://Proxy.Example:443/oauth2/token"},
		{"http://example.com", ""},
		{"http://10.0.0.1", ""},
		{"ftp://example.com", ""},
		{"example.com", ""},
		{"https://", ""},
		{"https://user:pw@example.com", ""},
		{"https://example.com?x=1", ""},
		{"https://example.com#frag", ""},
		{"://bad", ""},
		{"", ""},
	}
	for _, tt := range tests {
		cfg, _ := newConfig(context.Background(), &enduroSat, []Option{WithBaseURL(tt.base)})
		if tt.wantToken == "" {
			if !errors.Is(cfg.err, ErrInvalidConfig) || cfg.tokenURL() != "" || cfg.revokeURL() != "" || cfg.apiScope() != (apiScope{}) {
				t.Errorf("WithBaseURL(%q): err = %v, URLs %q %q, scope %+v; want ErrInvalidConfig, no URL and no scope",
					tt.base, cfg.err, cfg.tokenURL(), cfg.revokeURL(), cfg.apiScope())
			}
			continue
		}
		if cfg.err != nil || cfg.tokenURL() != tt.wantToken {
			t.Errorf("WithBaseURL(%q): tokenURL = %q, err = %v; want %q", tt.base, cfg.tokenURL(), cfg.err, tt.wantToken)
		}
		wantRevoke := strings.TrimSuffix(tt.wantToken, enduroSatTokenPath) + enduroSatRevokePath
		if got := cfg.revokeURL(); got != wantRevoke {
			t.Errorf("WithBaseURL(%q): revokeURL = %q, want %q", tt.base, got, wantRevoke)
		}
		if u, _ := url.Parse(tt.wantToken); cfg.apiScope() != newAPIScope(u) {
			t.Errorf("WithBaseURL(%q): apiScope = %+v, want the base URL's host %+v", tt.base, cfg.apiScope(), newAPIScope(u))
		}
	}
}

func FuzzBaseURL(f *testing.F) {
	for _, s := range []string{"https://a.example", "http://127.0.0.1:1/x", "http://[::1", "https://u@h", "%zz", "http://localhost/a?b#c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		cfg, _ := newConfig(context.Background(), &formlabs, []Option{WithBaseURL(raw)})
		if cfg.err == nil && cfg.tokenURL() == "" {
			t.Errorf("WithBaseURL(%q): no error and no token URL", raw)
		}
		if cfg.err != nil && !errors.Is(cfg.err, ErrInvalidConfig) {
			t.Errorf("WithBaseURL(%q): err = %v, want ErrInvalidConfig", raw, cfg.err)
		}
	})
}

func TestOptionsLastWins(t *testing.T) {
	t.Parallel()
	cfg, _ := newConfig(context.Background(), &formlabs, []Option{
		WithBaseURL("http://example.com"), WithBaseURL("https://ok.example"),
		WithEarlyRefresh(-1), WithEarlyRefresh(time.Minute), nil,
	})
	if cfg.err != nil || cfg.early != time.Minute || cfg.tokenURL() != "https://ok.example/developer/v1/o/token/" {
		t.Errorf("newConfig() = %+v, want the last options to win", cfg)
	}
	if cfg, _ := newConfig(context.Background(), &formlabs, []Option{WithEarlyRefresh(0)}); !errors.Is(cfg.err, ErrInvalidConfig) {
		t.Errorf("WithEarlyRefresh(0): err = %v, want ErrInvalidConfig", cfg.err)
	}
}

func TestTokenClient(t *testing.T) {
	t.Parallel()
	mine := &http.Client{Timeout: 7 * time.Second}
	ctxClient := &http.Client{Timeout: 9 * time.Second}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, ctxClient)
	client := func(ctx context.Context, hc *http.Client) *http.Client {
		cfg, _ := newConfig(ctx, &formlabs, []Option{WithHTTPClient(hc)})
		return cfg.client()
	}

	if got := client(ctx, mine); got == mine || got.Timeout != 7*time.Second || got.CheckRedirect == nil {
		t.Errorf("client(ctx, mine): want a redirect-refusing copy of mine, got %+v", got)
	}
	if mine.CheckRedirect != nil {
		t.Errorf("client modified the caller's client")
	}
	if got := client(ctx, nil); got.Timeout != 9*time.Second || got == ctxClient || got.CheckRedirect == nil {
		t.Errorf("client(ctx, nil) = %+v, want a redirect-refusing copy of the context client", got)
	}
	got := client(context.Background(), nil)
	if got == http.DefaultClient || got.Transport == http.DefaultTransport || got.CheckRedirect == nil {
		t.Errorf("client(context.Background(), nil) = %+v, want our own redirect-refusing client", got)
	}
	if again := client(context.Background(), nil); again.Transport != got.Transport {
		t.Errorf("client(nil) twice: two transports, want one shared by all sources")
	}
}

// TestVendorDefaults: each vendor's own base URL is spelled as joinPath
// spells it, so that its endpoint URLs are the base and the path, and they
// are the endpoints the package exports.
func TestVendorDefaults(t *testing.T) {
	for _, tt := range []struct {
		v        *vendorInfo
		endpoint string
	}{{&enduroSat, EnduroSatEndpoint.TokenURL}, {&formlabs, FormlabsEndpoint.TokenURL}} {
		u, problem := parseBaseURL(tt.v.baseURL)
		require.Empty(t, problem, "%s: parseBaseURL", tt.v.name)
		assert.Equal(t, joinPath(u, ""), tt.v.baseURL, "%s: the base URL's spelling", tt.v.name)
		cfg, _ := newConfig(context.Background(), tt.v, nil)
		assert.Equal(t, tt.endpoint, cfg.tokenURL(), "%s: token URL", tt.v.name)
	}
}
