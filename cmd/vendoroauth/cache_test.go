package main

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// TestWarnLines: the retries of a failing run are on stderr, one short line
// each, with the attempt coming and the reason, and no slog fields, final
// error record or secret.
func TestWarnLines(t *testing.T) {
	t.Parallel()
	const secret = "warn-lines-client-secret-7f3a"
	newFake := func(t *testing.T, failures int) string {
		fl := vendoroauthtest.NewFormlabs(vendoroauthtest.FormlabsClientID, secret)
		t.Cleanup(fl.Close)
		fl.FailToken(failures, vendoroauthtest.Fault{Status: 503})
		return fl.URL
	}
	tests := []struct {
		name       string
		base       func(t *testing.T) string
		wantCode   int
		wantReason string
	}{
		{"nothing listens", closedURL, 1, "connection refused"},
		{"the vendor is down", func(t *testing.T) string { return newFake(t, 4) }, 1, "HTTP 503 Service Unavailable"},
		{"the vendor recovers", func(t *testing.T) string { return newFake(t, 3) }, 0, "HTTP 503 Service Unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := withCache(t, plus(flEnv, envFLClientSecret, secret))
			r := runWith(t, vars, "", "token", "-vendor", "formlabs", "-base-url", tt.base(t), "-cache", "off")
			assert.Equal(t, tt.wantCode, r.code, "exit status (err %v)", r.err)
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			require.Len(t, lines, 3, "want a line per retry, stderr:\n%s", r.stderr)
			for i, line := range lines {
				want := fmt.Sprintf("vendoroauth: formlabs: retrying the token request (attempt %d, in ", i+2)
				assert.True(t, strings.HasPrefix(line, want), "line %d = %q, want it to start with %q", i, line, want)
				assert.True(t, strings.HasSuffix(line, "): "+tt.wantReason), "line %d = %q, want it to end with %q", i, line, tt.wantReason)
				assert.Less(t, len(line), 120, "line %d is long: %q", i, line)
			}
			for _, field := range []string{"level=", "time=", "msg=", "attempt=", "err="} {
				assert.NotContains(t, r.stderr, field, "stderr has slog fields")
			}
			assert.NotContains(t, r.all(), secret, "the client secret was printed")
		})
	}
}

// TestWarnLineIsOneLine: a warning whose error text holds line breaks,
// carriage returns or terminal escapes (a vendor's error_description, say)
// is printed as one line with none of them.
func TestWarnLineIsOneLine(t *testing.T) {
	t.Parallel()
	attrs := map[string]slog.Value{
		"vendor": slog.StringValue("formlabs"),
		"err":    slog.StringValue("vendoroauth: formlabs: bad\r\nnews\x1b[2J\u009b1m"),
	}
	got := warnLine("vendoroauth: token store failed", attrs)
	want := "vendoroauth: formlabs: token store failed: formlabs: bad  news [2J 1m"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("warnLine mismatch (-want +got):\n%s", diff)
	}
}
