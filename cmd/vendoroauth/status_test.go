package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vendoroauth/vendoroauth/internal/lifetime"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// statusLines matches status's report of a cached token.
var statusLines = regexp.MustCompile(`^cache:   (.+)\n` +
	`expiry:  (\S+) \((in \S+|\S+ ago|now)\)\n` +
	`refresh: (\S+) \((in \S+|\S+ ago|now)\)\n` +
	`age:     (\S+) \(issued (\S+)\)\n` +
	`status:  (valid|due for refresh|expired)\n$`)

// parseUTC parses an RFC 3339 time that status printed, in UTC.
func parseUTC(t *testing.T, s string) time.Time {
	t.Helper()
	require.True(t, strings.HasSuffix(s, "Z"), "time %q is not in UTC", s)
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return v
}

// TestStatusRoundTrip: after token fills the cache, status, given the
// client id (and the EnduroSat username) but no secret, prints the cached
// token's expiry, refresh time and age, exits 0, and shows no token, client
// id, username or secret.
func TestStatusRoundTrip(t *testing.T) {
	t.Parallel()
	es, fl := fakes(t)
	tests := []struct {
		vendor   string
		base     string
		vars     map[string]string // token's
		status   map[string]string // status's: no secret
		lifetime time.Duration     // of the fake's tokens
		secrets  []string
	}{
		{"formlabs", fl.URL, flEnv, map[string]string{envFLClientID: vendoroauthtest.FormlabsClientID}, 24 * time.Hour,
			[]string{vendoroauthtest.FormlabsClientID, vendoroauthtest.FormlabsClientSecret}},
		{"endurosat", es.URL, esEnv, map[string]string{envESClientID: vendoroauthtest.EnduroSatClientID, envESUsername: vendoroauthtest.EnduroSatUsername}, time.Hour,
			[]string{vendoroauthtest.EnduroSatClientID, vendoroauthtest.EnduroSatUsername, vendoroauthtest.EnduroSatPassword}},
	}
	for _, tt := range tests {
		t.Run(tt.vendor, func(t *testing.T) {
			t.Parallel()
			xdg := t.TempDir()
			before := time.Now().Truncate(time.Second)
			r := runWith(t, plus(tt.vars, "XDG_CACHE_HOME", xdg), "", "token", "-vendor", tt.vendor, "-base-url", tt.base, "-json")
			require.Equal(t, 0, r.code, "token: %v", r.err)
			var tok map[string]any
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &tok))
			secrets := append([]string{tok["access_token"].(string)}, tt.secrets...)
			if rt, ok := tok["refresh_token"].(string); ok {
				secrets = append(secrets, rt)
			}
			files := cacheFiles(t, xdg, tt.vendor)
			require.Len(t, files, 1)

			vars := plus(tt.status, "XDG_CACHE_HOME", xdg)
			r = runWith(t, vars, "", "status", "-vendor", tt.vendor, "-base-url", tt.base)
			require.Equal(t, 0, r.code, "status: %v\n%s", r.err, r.stdout)
			assert.Empty(t, r.stderr)
			m := statusLines.FindStringSubmatch(r.stdout)
			require.NotNil(t, m, "status output:\n%s", r.stdout)
			assert.Equal(t, files[0], m[1], "cache file")
			expiry, refresh, issued := parseUTC(t, m[2]), parseUTC(t, m[4]), parseUTC(t, m[7])
			assert.Equal(t, "valid", m[8])
			assert.Equal(t, lifetime.DefaultEarlyRefresh, expiry.Sub(refresh), "refresh time before expiry")
			assert.Equal(t, tt.lifetime, expiry.Sub(issued), "expiry after issue")
			assert.False(t, issued.Before(before), "issued %v, before the token run at %v", issued, before)
			assert.True(t, strings.HasPrefix(m[3], "in "), "expiry %q", m[3])
			assert.True(t, strings.HasPrefix(m[5], "in "), "refresh %q", m[5])
			_, err := time.ParseDuration(m[6])
			assert.NoError(t, err, "age %q", m[6])
			for _, s := range secrets {
				assert.NotContains(t, r.all(), s, "status showed a token, client id, username or secret")
			}

			r = runWith(t, vars, "", "status", "-vendor", tt.vendor, "-base-url", tt.base, "-json")
			require.Equal(t, 0, r.code, "status -json: %v", r.err)
			var out struct {
				Cache, Status, Expiry, Refresh, Issued string
				ExpiresIn                              int64 `json:"expires_in"`
				RefreshIn                              int64 `json:"refresh_in"`
				Age                                    *int64
			}
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
			assert.Equal(t, files[0], out.Cache)
			assert.Equal(t, "valid", out.Status)
			assert.Equal(t, m[2], out.Expiry)
			assert.Equal(t, m[4], out.Refresh)
			assert.Equal(t, m[7], out.Issued)
			assert.InDelta(t, lifetime.DefaultEarlyRefresh.Seconds(), out.ExpiresIn-out.RefreshIn, 1)
			if assert.NotNil(t, out.Age) {
				assert.GreaterOrEqual(t, *out.Age, int64(0))
			}
			for _, s := range secrets {
				assert.NotContains(t, r.all(), s, "status -json showed a token, client id, username or secret")
			}
		})
	}
}

// TestStatusNoValidToken: status exits 1, saying why on standard output
// and nothing on standard error, when the cached token has expired or
// there is none of the run's own; and 0 when it is due for refresh.
func TestStatusNoValidToken(t *testing.T) {
	t.Parallel()
	es, fl := fakes(t)
	const otherClient = "formlabs-other-client-7c1e"
	now := time.Now()
	tests := []struct {
		name       string
		vendor     string
		edit       func(rec map[string]any) // of a record token cached; nil: none
		content    *string                  // the file's, instead
		vars       map[string]string        // status's, instead of the client id alone
		baseURL    string                   // status's, instead of the fake's
		wantCode   int
		wantStatus string
	}{
		{name: "valid", vendor: "formlabs", edit: func(map[string]any) {}, wantCode: 0, wantStatus: "status:  valid\n"},
		{name: "absent", vendor: "formlabs", wantCode: 1, wantStatus: "status:  no cached token (the cache file does not exist)\n"},
		{name: "empty", vendor: "formlabs", content: new(""), wantCode: 1, wantStatus: "status:  no cached token (the cache file is empty)\n"},
		{name: "not a record", vendor: "formlabs", content: new("not json"), wantCode: 1, wantStatus: "status:  no cached token (the cache file does not hold a token record)\n"},
		{name: "another version", vendor: "formlabs", edit: func(rec map[string]any) { rec["version"] = 2 },
			wantCode: 1, wantStatus: "no cached token (the cache file holds a record of another format version, not 1)"},
		{name: "another client id", vendor: "formlabs", edit: func(rec map[string]any) { rec["owner"].(map[string]any)["client_id"] = otherClient },
			wantCode: 1, wantStatus: "no cached token (the cached token belongs to another vendor, client id, base URL or user)"},
		{name: "another vendor", vendor: "formlabs", edit: func(rec map[string]any) { rec["owner"].(map[string]any)["vendor"] = "endurosat" },
			wantCode: 1, wantStatus: "belongs to another"},
		{name: "another base URL", vendor: "formlabs", baseURL: "https://api.formlabs.com", edit: func(map[string]any) {},
			wantCode: 1, wantStatus: "belongs to another"},
		{name: "another user", vendor: "endurosat", vars: map[string]string{envESClientID: vendoroauthtest.EnduroSatClientID, envESUsername: "second-operator@example.com"},
			edit: func(map[string]any) {}, wantCode: 1, wantStatus: "belongs to another"},
		{name: "no username: any user's", vendor: "endurosat", vars: map[string]string{envESClientID: vendoroauthtest.EnduroSatClientID},
			edit: func(map[string]any) {}, wantCode: 0, wantStatus: "status:  valid\n"},
		{name: "no access token", vendor: "formlabs", edit: func(rec map[string]any) { delete(rec, "access_token") },
			wantCode: 1, wantStatus: "no cached token (the cache file holds no access token)"},
		{name: "empty access token", vendor: "formlabs", edit: func(rec map[string]any) { rec["access_token"] = "" },
			wantCode: 1, wantStatus: "no cached token (the cache file holds no access token)"},
		{name: "no expiry", vendor: "formlabs", edit: func(rec map[string]any) { delete(rec, "expiry") },
			wantCode: 1, wantStatus: "no cached token (the cached token has no expiry"},
		{name: "expired", vendor: "formlabs", edit: func(rec map[string]any) {
			rec["issued"], rec["expiry"] = now.Add(-2*time.Hour).Format(time.RFC3339), now.Add(-time.Hour).Format(time.RFC3339)
		}, wantCode: 1, wantStatus: "status:  expired\n"},
		{name: "within the expiry margin", vendor: "formlabs", edit: func(rec map[string]any) {
			rec["issued"], rec["expiry"] = now.Add(-time.Hour).Format(time.RFC3339), now.Add(lifetime.ExpiryDelta/2).Format(time.RFC3339)
		}, wantCode: 1, wantStatus: "status:  expired\n"},
		{name: "due for refresh", vendor: "formlabs", edit: func(rec map[string]any) {
			rec["issued"], rec["expiry"] = now.Add(-58*time.Minute).Format(time.RFC3339), now.Add(2*time.Minute).Format(time.RFC3339)
		}, wantCode: 0, wantStatus: "status:  due for refresh\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars, base := flEnv, fl.URL
			if tt.vendor == "endurosat" {
				vars, base = esEnv, es.URL
			}
			path := filepath.Join(t.TempDir(), "token.json")
			switch {
			case tt.content != nil:
				require.NoError(t, os.WriteFile(path, []byte(*tt.content), 0o600))
			case tt.edit != nil:
				r := runWith(t, withCache(t, vars), "", "token", "-vendor", tt.vendor, "-base-url", base, "-cache", path)
				require.Equal(t, 0, r.code, "token: %v", r.err)
				editCached(t, path, tt.edit)
			}
			statusVars := tt.vars
			if statusVars == nil {
				statusVars = map[string]string{envFLClientID: vendoroauthtest.FormlabsClientID}
			}
			if tt.baseURL != "" {
				base = tt.baseURL
			}
			r := runWith(t, withCache(t, statusVars), "", "status", "-vendor", tt.vendor, "-base-url", base, "-cache", path)
			assert.Equal(t, tt.wantCode, r.code, "exit status (err %v)\n%s", r.err, r.stdout)
			assert.True(t, strings.HasPrefix(r.stdout, "cache:   "+path+"\n"), "stdout:\n%s", r.stdout)
			assert.Contains(t, r.stdout, tt.wantStatus)
			assert.Empty(t, r.stderr)
			var stderr bytes.Buffer
			report(r.err, &stderr)
			assert.Empty(t, stderr.String(), "report's line")
			for _, s := range []string{otherClient, vendoroauthtest.FormlabsClientID, vendoroauthtest.EnduroSatClientID, vendoroauthtest.EnduroSatUsername} {
				assert.NotContains(t, r.stdout, s, "status showed a client id or username")
			}
		})
	}
}
