package vendoroauth

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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
		{"", EnduroSatBaseURL + enduroSatTokenPath}, // the default, as with no option
	}
	for _, tt := range tests {
		cfg, _ := newConfig(context.Background(), &enduroSat, []Option{WithBaseURL(tt.base)})
		if tt.wantToken == "" {
			assert.ErrorIs(t, cfg.err, ErrInvalidConfig, "WithBaseURL(%q)", tt.base)
			assert.Empty(t, cfg.tokenURL(), "WithBaseURL(%q): token URL", tt.base)
			assert.Empty(t, cfg.revokeURL(), "WithBaseURL(%q): revoke URL", tt.base)
			assert.Zero(t, cfg.apiScope(), "WithBaseURL(%q): API scope", tt.base)
			continue
		}
		assert.NoError(t, cfg.err, "WithBaseURL(%q)", tt.base)
		assert.Equal(t, tt.wantToken, cfg.tokenURL(), "WithBaseURL(%q): token URL", tt.base)
		wantRevoke := strings.TrimSuffix(tt.wantToken, enduroSatTokenPath) + enduroSatRevokePath
		assert.Equal(t, wantRevoke, cfg.revokeURL(), "WithBaseURL(%q): revoke URL", tt.base)
		u, _ := url.Parse(tt.wantToken)
		if diff := cmp.Diff(newAPIScope(u), cfg.apiScope(), cmp.AllowUnexported(apiScope{})); diff != "" {
			t.Errorf("WithBaseURL(%q): API scope (the base URL's host) mismatch (-want +got):\n%s", tt.base, diff)
		}
	}
}

func FuzzBaseURL(f *testing.F) {
	for _, s := range []string{"https://a.example", "http://127.0.0.1:1/x", "http://[::1", "https://u@h", "%zz", "http://localhost/a?b#c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		cfg, _ := newConfig(context.Background(), &formlabs, []Option{WithBaseURL(raw)})
		if cfg.err == nil {
			assert.NotEmpty(t, cfg.tokenURL(), "WithBaseURL(%q) with no error: token URL", raw)
		} else {
			assert.ErrorIs(t, cfg.err, ErrInvalidConfig, "WithBaseURL(%q)", raw)
		}
	})
}

func TestOptionsLastWins(t *testing.T) {
	t.Parallel()
	cfg, _ := newConfig(context.Background(), &formlabs, []Option{
		WithBaseURL("http://example.com"), WithBaseURL("https://ok.example"),
		WithEarlyRefresh(-1), WithEarlyRefresh(time.Minute), nil,
	})
	assert.NoError(t, cfg.err, "newConfig(): the last options win")
	assert.Equal(t, time.Minute, cfg.early, "newConfig(): early refresh, the last wins")
	assert.Equal(t, "https://ok.example/developer/v1/o/token/", cfg.tokenURL(), "newConfig(): token URL, the last base URL wins")
	zero, _ := newConfig(context.Background(), &formlabs, []Option{WithEarlyRefresh(0)})
	assert.ErrorIs(t, zero.err, ErrInvalidConfig, "WithEarlyRefresh(0)")
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

	ofMine := client(ctx, mine)
	assert.NotSame(t, mine, ofMine, "client(ctx, mine): a copy, not mine itself")
	assert.Equal(t, 7*time.Second, ofMine.Timeout, "client(ctx, mine): Timeout")
	assert.NotNil(t, ofMine.CheckRedirect, "client(ctx, mine): CheckRedirect")
	assert.Nil(t, mine.CheckRedirect, "the caller's client's CheckRedirect after client")
	ofCtx := client(ctx, nil)
	assert.Equal(t, 9*time.Second, ofCtx.Timeout, "client(ctx, nil): Timeout")
	assert.NotSame(t, ctxClient, ofCtx, "client(ctx, nil): a copy, not the context client itself")
	assert.NotNil(t, ofCtx.CheckRedirect, "client(ctx, nil): CheckRedirect")
	got := client(context.Background(), nil)
	assert.NotSame(t, http.DefaultClient, got, "client(context.Background(), nil): not http.DefaultClient")
	assert.NotSame(t, http.DefaultTransport, got.Transport, "client(context.Background(), nil): not http.DefaultTransport")
	assert.NotNil(t, got.CheckRedirect, "client(context.Background(), nil): CheckRedirect")
	assert.Zero(t, got.Timeout, "client(context.Background(), nil): Timeout (each attempt has a deadline of its own)")
	again := client(context.Background(), nil)
	assert.Same(t, got.Transport, again.Transport, "client(nil) twice: one transport shared by all sources")
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
