package vendoroauth_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

func TestTokenFaults(t *testing.T) {
	// A JWT whose exp is 24h after the bubble's start, 2000-01-01.
	jwt := "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":946771200}`)) + ".c2ln"
	tests := []struct {
		name         string
		faults       []vendoroauthtest.Fault
		wantErr      error         // nil: the fetch succeeds
		wantRequests int           // token requests for the first Token call
		wantLifetime time.Duration // for successes: token lifetime
		wantMinWait  time.Duration // the first Token call took at least this long
	}{
		{name: "503 then ok", faults: repeat(2, vendoroauthtest.Fault{Status: 503}), wantRequests: 3, wantLifetime: 24 * time.Hour},
		{name: "503 with Retry-After seconds", faults: repeat(1, vendoroauthtest.Fault{Status: 503, RetryAfter: "3"}), wantRequests: 2, wantLifetime: 24 * time.Hour, wantMinWait: 3 * time.Second},
		{name: "502 with HTML page", faults: repeat(1, vendoroauthtest.Fault{Status: 502, Body: "<html><body>Bad gateway</body></html>"}), wantRequests: 2, wantLifetime: 24 * time.Hour},
		{name: "429 with Retry-After seconds", faults: repeat(1, vendoroauthtest.Fault{Status: 429, RetryAfter: "7"}), wantRequests: 2, wantLifetime: 24 * time.Hour, wantMinWait: 7 * time.Second},
		{name: "429 with Retry-After date", faults: repeat(1, vendoroauthtest.Fault{Status: 429, RetryAfter: time.Date(2000, 1, 1, 0, 0, 20, 0, time.UTC).Format(http.TimeFormat)}), wantRequests: 2, wantLifetime: 24 * time.Hour, wantMinWait: 20 * time.Second},
		{name: "dropped connection", faults: repeat(1, vendoroauthtest.Fault{Drop: true}), wantRequests: 2, wantLifetime: 24 * time.Hour},
		{name: "endpoint hangs past the attempt timeout", faults: repeat(1, vendoroauthtest.Fault{Latency: time.Hour}), wantRequests: 2, wantLifetime: 24 * time.Hour, wantMinWait: 30 * time.Second},
		{name: "503 four times gives up", faults: repeat(4, vendoroauthtest.Fault{Status: 503}), wantErr: &oauth2.RetrieveError{}, wantRequests: 4},
		{name: "429 asking for an hour fails fast", faults: repeat(1, vendoroauthtest.Fault{Status: 429, RetryAfter: "3600"}), wantErr: &oauth2.RetrieveError{}, wantRequests: 1},
		{name: "400 is not retried", faults: repeat(1, vendoroauthtest.Fault{Status: 400, Body: `{"error":"invalid_request"}`}), wantErr: vendoroauth.ErrInvalidCredentials, wantRequests: 1},
		{name: "401 is not retried", faults: repeat(1, vendoroauthtest.Fault{Status: 401, Body: `{"error":"invalid_client"}`}), wantErr: vendoroauth.ErrInvalidCredentials, wantRequests: 1},
		{name: "redirect is not followed", faults: repeat(1, vendoroauthtest.Fault{Status: 307, Body: `{}`}), wantErr: &oauth2.RetrieveError{}, wantRequests: 1},
		{name: "200 HTML page", faults: repeat(1, vendoroauthtest.Fault{Status: 200, Body: "<html>login</html>", ContentType: "text/html"}), wantErr: vendoroauth.ErrMalformedResponse, wantRequests: 1},
		{name: "truncated JSON", faults: repeat(1, vendoroauthtest.Fault{Status: 200, Body: `{"access_token":"abc","expi`}), wantErr: vendoroauth.ErrMalformedResponse, wantRequests: 1},
		{name: "no access_token", faults: repeat(1, vendoroauthtest.Fault{Status: 200, Body: `{"token_type":"Bearer","expires_in":3600}`}), wantErr: vendoroauth.ErrMalformedResponse, wantRequests: 1},
		{name: "200 with an error body", faults: repeat(1, vendoroauthtest.Fault{Status: 200, Body: `{"error":"invalid_client"}`}), wantErr: vendoroauth.ErrInvalidCredentials, wantRequests: 1},
		{name: "10 MB body", faults: repeat(1, vendoroauthtest.Fault{Status: 200, BodySize: 10 << 20}), wantErr: vendoroauth.ErrMalformedResponse, wantRequests: 1},
		{name: "expires_in negative", faults: repeat(1, vendoroauthtest.Fault{Status: 200, Body: `{"access_token":"abc","expires_in":-5}`}), wantErr: vendoroauth.ErrMalformedResponse, wantRequests: 1},
		{name: "expires_in not a number", faults: repeat(1, vendoroauthtest.Fault{Status: 200, Body: `{"access_token":"abc","expires_in":"soon"}`}), wantErr: vendoroauth.ErrMalformedResponse, wantRequests: 1},
		{name: "expires_in as a string", faults: repeat(1, vendoroauthtest.Fault{Status: 200, Body: `{"access_token":"abc","expires_in":"3600"}`}), wantRequests: 1, wantLifetime: time.Hour},
		{name: "expires_in as a float", faults: repeat(1, vendoroauthtest.Fault{Status: 200, Body: `{"access_token":"abc","expires_in":3600.0}`}), wantRequests: 1, wantLifetime: time.Hour},
		{name: "expires_in zero means unknown", faults: repeat(1, vendoroauthtest.Fault{Status: 200, Body: `{"access_token":"abc","expires_in":0}`}), wantRequests: 1, wantLifetime: time.Hour},
		{name: "expires_in missing", faults: repeat(1, vendoroauthtest.Fault{Status: 200, Body: `{"access_token":"abc"}`}), wantRequests: 1, wantLifetime: time.Hour},
		{name: "expires_in missing, JWT exp", faults: repeat(1, vendoroauthtest.Fault{Status: 200, Body: `{"access_token":"` + jwt + `"}`}), wantRequests: 1, wantLifetime: 24 * time.Hour},
		{name: "token_type in odd case", faults: repeat(1, vendoroauthtest.Fault{Status: 200, Body: `{"access_token":"abc","token_type":"bEaReR","expires_in":60}`}), wantRequests: 1, wantLifetime: time.Minute},
		{name: "token_type mac: sent as Bearer", faults: repeat(1, vendoroauthtest.Fault{Status: 200, Body: `{"access_token":"abc","token_type":"mac","expires_in":60}`}), wantRequests: 1, wantLifetime: time.Minute},
		{name: "200 with an error beside an access_token", faults: repeat(1, vendoroauthtest.Fault{Status: 200, Body: `{"error":"invalid_grant","access_token":"abc","expires_in":60}`}), wantErr: vendoroauth.ErrInvalidCredentials, wantRequests: 1},
		{name: "access_token with CR LF", faults: repeat(1, vendoroauthtest.Fault{Status: 200, Body: `{"access_token":"abc\r\nX-Evil: 1","expires_in":60}`}), wantErr: vendoroauth.ErrMalformedResponse, wantRequests: 1},
		{name: "access_token with a space", faults: repeat(1, vendoroauthtest.Fault{Status: 200, Body: `{"access_token":"abc def","expires_in":60}`}), wantErr: vendoroauth.ErrMalformedResponse, wantRequests: 1},
		{name: "access_token of 900 KB", faults: repeat(1, vendoroauthtest.Fault{Status: 200, Body: `{"access_token":"` + strings.Repeat("a", 900<<10) + `","expires_in":60}`}), wantErr: vendoroauth.ErrMalformedResponse, wantRequests: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, src := bubbleFormlabs(t)
				for _, f := range tt.faults {
					srv.FailToken(1, f)
				}
				start := time.Now()
				tok, err := src.Token()
				waited := time.Since(start)
				requests := srv.TokenRequests()
				if requests != tt.wantRequests {
					t.Errorf("token requests = %d, want %d", requests, tt.wantRequests)
				}
				if waited < tt.wantMinWait {
					t.Errorf("Token() returned after %v, want at least %v", waited, tt.wantMinWait)
				}
				switch want := tt.wantErr.(type) {
				case nil:
					if err != nil {
						t.Fatalf("Token() error = %v, want success", err)
					}
					if got := tok.Expiry.Sub(start); got-tt.wantLifetime > 5*time.Minute || tt.wantLifetime-got > 5*time.Minute {
						t.Errorf("token lifetime = %v, want %v", got, tt.wantLifetime)
					}
					if tok.Type() != "Bearer" {
						t.Errorf("Token().Type() = %q, want Bearer", tok.Type())
					}
				case *oauth2.RetrieveError:
					if _, ok := errors.AsType[*oauth2.RetrieveError](err); !ok {
						t.Fatalf("Token() error = %v, want an *oauth2.RetrieveError", err)
					}
				default:
					if !errors.Is(err, want) {
						t.Fatalf("Token() error = %v, want %v", err, want)
					}
				}
				if err != nil {
					if msg := err.Error(); !strings.Contains(msg, "formlabs client_credentials grant") {
						t.Errorf("error %q does not name the vendor and grant", msg)
					}
					// The source works again once the vendor recovers.
					src.Invalidate()
					if _, err := src.Token(); err != nil {
						t.Errorf("Token() after the fault cleared: %v", err)
					}
				}
				t.Logf("| %s | %s | %d | %v | yes |", tt.name, outcome(err, requests), requests, waited.Round(time.Millisecond))
			})
		})
	}
}

// outcome names what a source did with a fault, for RELIABILITY.md.
func outcome(err error, requests int) string {
	switch {
	case err == nil && requests > 1:
		return "retried, then succeeded"
	case err == nil:
		return "succeeded"
	case requests > 1:
		return "retried, then failed: " + errorClass(err)
	}
	return "failed fast: " + errorClass(err)
}

// errorClass names the error sentinel or type err matches.
func errorClass(err error) string {
	switch {
	case errors.Is(err, vendoroauth.ErrInvalidCredentials):
		return "ErrInvalidCredentials"
	case errors.Is(err, vendoroauth.ErrMalformedResponse):
		return "ErrMalformedResponse"
	}
	if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok {
		return fmt.Sprintf("RetrieveError %d", re.Response.StatusCode)
	}
	if _, ok := errors.AsType[*url.Error](err); ok {
		return "*url.Error"
	}
	return "error"
}

// repeat returns n copies of f.
func repeat(n int, f vendoroauthtest.Fault) []vendoroauthtest.Fault {
	fs := make([]vendoroauthtest.Fault, n)
	for i := range fs {
		fs[i] = f
	}
	return fs
}

func TestNetworkErrorIsURLError(t *testing.T) {
	t.Parallel()
	srv := newFormlabs(t)
	base := srv.URL
	srv.Close() // connection refused from now on
	src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret,
		vendoroauth.WithBaseURL(base), vendoroauth.WithHTTPClient(&http.Client{Timeout: time.Second}))
	defer src.Close()
	_, err := src.Token()
	if _, ok := errors.AsType[*url.Error](err); !ok {
		t.Fatalf("Token() against a closed port = %v, want a *url.Error", err)
	}
}
