package vendoroauth

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestToAPIAgreesWithCovers: the fast path of toAPI never decides other
// than the scope's rules, for scopes on the default port and off it.
func TestToAPIAgreesWithCovers(t *testing.T) {
	t.Parallel()
	scopes := []apiScope{
		{hostname: "api.formlabs.com", port: "443"},
		{hostname: "api.example", port: "8443"},
		{hostname: "::1", port: "9000"},
		{hostname: "::1", port: "443"},
		{hostname: "127.0.0.1", port: "443"},
		{},
	}
	urls := []string{
		"https://api.formlabs.com/x", "https://api.formlabs.com:443/x", "https://API.formlabs.com/x",
		"https://eu.api.formlabs.com/x", "http://api.formlabs.com/x", "https://api.formlabs.com.evil.example/x",
		"https://api.example:8443/x", "https://api.example/x", "http://api.example:8443/x",
		"https://[::1]:9000/x", "http://[::1]:9000/x", "https://[::1]/x", "https://[::1]:443/x", "https://127.0.0.1/x", "http://127.0.0.1:443/x",
		"https://api.formlabs.com./x", "https:///x",
	}
	parsed := []*url.URL{
		{Scheme: "https", Host: "::1", Path: "/x"}, // built by hand: no brackets
		{Scheme: "https", Host: "api.formlabs.com", Path: "/x"},
	}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		require.NoError(t, err, "url.Parse(%q)", raw)
		parsed = append(parsed, u)
	}
	for _, a := range scopes {
		tr := &transport{api: a, host: a.host()}
		for _, u := range parsed {
			assert.Equal(t, a.covers(u), tr.toAPI(u), "scope %+v, %#v: toAPI, against covers", a, u)
		}
	}
}
