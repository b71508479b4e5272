package vendoroauth_test

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// records parses a JSON log into one map per record.
func records(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		out = append(out, rec)
	}
	return out
}

func TestLogging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logger, logs := newLogger()
		srv, src := bubbleFormlabs(t, vendoroauth.WithLogger(logger))
		srv.FailToken(1, vendoroauthtest.Fault{Status: 503, RetryAfter: "2"})
		if _, err := src.Token(); err != nil {
			t.Fatalf("Token() error = %v", err)
		}
		srv.FailToken(4, vendoroauthtest.Fault{Status: 500})
		src.Invalidate()
		if _, err := src.Token(); err == nil {
			t.Fatalf("Token() with 4 failures = nil error, want one")
		}
		var retry, failed map[string]any
		for _, rec := range records(t, logs.String()) {
			switch {
			case rec["msg"] == "vendoroauth: token request failed; retrying" && retry == nil:
				retry = rec
			case rec["level"] == "ERROR":
				failed = rec
			}
		}
		if retry == nil || retry["level"] != "WARN" || retry["vendor"] != "formlabs" || retry["grant"] != "client_credentials" ||
			retry["attempt"] != 1.0 || retry["status"] != 503.0 || retry["wait"] != 2e9 {
			t.Errorf("retry record = %v; want WARN with vendor, grant, attempt 1, status 503, wait 2s", retry)
		}
		if failed == nil || failed["vendor"] != "formlabs" || !strings.Contains(failed["err"].(string), "500") {
			t.Errorf("failure record = %v; want ERROR naming the vendor and the status", failed)
		}
	})
}
