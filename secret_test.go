package vendoroauth_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"

	"golang.org/x/oauth2"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// echoClient returns a client whose requests reach, in process, a token and
// revoke server that answers every request with status, echoing every
// submitted value in the error description and in the body, as a careless
// vendor might.
func echoClient(status int) *http.Client {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		var echoed []string
		for k, vs := range r.PostForm {
			echoed = append(echoed, k+"="+strings.Join(vs, ","))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{
			"error":             "invalid_grant " + strings.Join(echoed, " "),
			"error_description": "you sent " + strings.Join(echoed, " "),
			"raw":               strings.Join(echoed, "&"),
		})
	})
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Result(), nil
	})}
}

func TestSecretsNeverLeak(t *testing.T) {
	synctest.Test(t, testSecretsNeverLeak)
}

func testSecretsNeverLeak(t *testing.T) {
	const (
		refresh = "REFRESH-s3cr3t-4b2e"
		access  = "ACCESS-s3cr3t-c0de"
	)
	secrets := []string{esPassword, flSecret, refresh, access}
	logger, logs := newLogger()
	opts := func(c *http.Client) []vendoroauth.Option {
		return []vendoroauth.Option{vendoroauth.WithBaseURL("http://127.0.0.1"), vendoroauth.WithHTTPClient(c), vendoroauth.WithLogger(logger)}
	}
	var outputs []string
	var slogged bytes.Buffer
	slogs := []*slog.Logger{slog.New(slog.NewTextHandler(&slogged, nil)), slog.New(slog.NewJSONHandler(&slogged, nil))}
	record := func(what string, v any) {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			outputs = append(outputs, what+" "+verb+": "+fmt.Sprintf(verb, v))
		}
		for _, l := range slogs {
			l.Info(what, "value", v)
		}
	}
	recordErr := func(what string, err error) {
		if err == nil {
			t.Errorf("%s: error = nil, want a failure", what)
			return
		}
		record(what, err)
		if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok {
			outputs = append(outputs, what+" RetrieveError: "+re.Error()+string(re.Body)+re.ErrorDescription)
			record(what+" RetrieveError", re)
		}
		if re, ok := errors.AsType[*vendoroauth.RevokeError](err); ok {
			outputs = append(outputs, what+" RevokeError: "+string(re.Body)+re.ErrorDescription)
			record(what+" RevokeError", re)
		}
	}

	for _, status := range []int{400, 401, 500, 200} {
		echo := echoClient(status)
		ctx := t.Context()
		sources := map[string]*vendoroauth.TokenSource{
			"password": vendoroauth.EnduroSatPasswordTokenSource(ctx, esClientID, esUsername, esPassword, opts(echo)...),
			"refresh":  vendoroauth.EnduroSatRefreshTokenSource(ctx, esClientID, refresh, opts(echo)...),
			"formlabs": vendoroauth.FormlabsTokenSource(ctx, flClientID, flSecret, opts(echo)...),
			"with token": vendoroauth.FormlabsTokenSource(ctx, flClientID, flSecret, append(opts(echo),
				vendoroauth.WithToken(&oauth2.Token{AccessToken: access, RefreshToken: refresh}))...),
		}
		for name, src := range sources {
			record(name+" source", src)
			if name != "with token" {
				_, err := src.Token()
				recordErr(fmt.Sprintf("%s Token %d", name, status), err)
			}
			if status != 200 {
				err := src.Revoke(ctx)
				if name == "refresh" || name == "with token" {
					recordErr(fmt.Sprintf("%s Revoke %d", name, status), err)
				}
			}
			src.Close()
		}
		esr, flr := vendoroauth.EnduroSatRevoker(esClientID, opts(echo)...), vendoroauth.FormlabsRevoker(flClientID, flSecret, opts(echo)...)
		record("endurosat revoker", esr)
		record("formlabs revoker", flr)
		record("a user's struct holding a revoker", struct{ R vendoroauth.Revoker }{flr})
		if status != 200 {
			recordErr("endurosat revoker", esr.Revoke(ctx, refresh))
			recordErr("formlabs revoker", flr.Revoke(ctx, access))
		}
	}

	// The fakes' own faults, and wrong credentials at a strict server.
	fl := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
	record("formlabs fake", fl)
	record("endurosat fake", vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword))
	record("file store", vendoroauth.FileStore("/tmp/x"))
	for _, f := range []vendoroauthtest.Fault{{Status: 503}, {Drop: true}, {Status: 200, Body: "<html>"}, {Status: 429, RetryAfter: "3600"}} {
		src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, append(at(fl.URL, fl.InProcessClient()), vendoroauth.WithLogger(logger))...)
		fl.FailToken(4, f)
		_, err := src.Token()
		recordErr(fmt.Sprintf("fault %+v", f), err)
		src.Close()
	}
	bad := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret+"x", append(at(fl.URL, fl.InProcessClient()), vendoroauth.WithLogger(logger))...)
	_, err := bad.Token()
	recordErr("wrong secret", err)
	bad.Close()

	outputs = append(outputs, logs.String(), slogged.String())
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("the sweep logged no retry; it does not cover the retry path")
	}
	for _, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("secret %q leaked in: %.300s", s[:8], out)
			}
		}
	}
	if !strings.Contains(strings.Join(outputs, "\n"), "[REDACTED]") {
		t.Errorf("no output was redacted: the echo server did not exercise redaction")
	}
}

// bodyClient returns a client whose token requests get status and body.
func bodyClient(status int, body string) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		rec.Header().Set("Content-Type", "application/json")
		rec.WriteHeader(status)
		io.WriteString(rec, body)
		return rec.Result(), nil
	})}
}

// TestSecretsNeverLeakFromRejectedBodies: a 2xx the library refuses holds
// live tokens; no returned error may carry them. A secret the vendor echoes
// JSON-escaped is redacted too.
func TestSecretsNeverLeakFromRejectedBodies(t *testing.T) {
	const (
		access  = "ACCESS-s3cr3t-c0de"
		refresh = "REFRESH-s3cr3t-4b2e"
		secret  = `s<3cr&t>/ä"é`
	)
	tokens := `"access_token":"` + access + `","refresh_token":"` + refresh + `"`
	tests := []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"expires_in a word", 200, `{` + tokens + `,"expires_in":"soon"}`, vendoroauth.ErrMalformedResponse},
		{"expires_in negative", 200, `{` + tokens + `,"expires_in":-5}`, vendoroauth.ErrMalformedResponse},
		{"expires_in an object", 200, `{` + tokens + `,"expires_in":{"s":1}}`, vendoroauth.ErrMalformedResponse},
		{"camelCase keys", 200, `{"accessToken":"` + access + `","refreshToken":"` + refresh + `"}`, vendoroauth.ErrMalformedResponse},
		{"CR LF in the access token", 200, `{"access_token":"` + access + `\r\nX: y","expires_in":60}`, vendoroauth.ErrMalformedResponse},
		{"spaces in the access token", 200, `{"access_token":"` + access + ` x","expires_in":60}`, vendoroauth.ErrMalformedResponse},
		{"a huge access token", 200, `{"access_token":"` + access + strings.Repeat("a", 900<<10) + `","expires_in":60}`, vendoroauth.ErrMalformedResponse},
		{"error beside a token", 200, `{"error":"invalid_client",` + tokens + `}`, vendoroauth.ErrInvalidCredentials},
		{"Go-escaped echo", 401, `{"error":"invalid_client","error_description":"bad s\u003c3cr\u0026t\u003e/ä\"é"}`, vendoroauth.ErrInvalidCredentials},
		{"ASCII-escaped echo", 401, `{"error":"invalid_client","error_description":"bad s<3cr&t>\/\u00e4\"\u00e9"}`, vendoroauth.ErrInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, secret,
				vendoroauth.WithBaseURL("http://127.0.0.1"), vendoroauth.WithHTTPClient(bodyClient(tt.status, tt.body)))
			defer src.Close()
			_, err := src.Token()
			require.ErrorIs(t, err, tt.want)
			var out []string
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
				out = append(out, fmt.Sprintf(verb, err))
			}
			if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok {
				out = append(out, re.Error(), string(re.Body), re.ErrorDescription, fmt.Sprintf("%#v", re))
			}
			for _, o := range out {
				for _, s := range []string{access, refresh, "3cr&t", `3cr\u0026t`, `\u00e4\"\u00e9`} {
					assert.NotContains(t, o, s, "a secret in the error")
				}
			}
		})
	}
}
