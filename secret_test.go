package vendoroauth_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"

	"golang.org/x/oauth2"

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
	record := func(what string, v any) {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			outputs = append(outputs, what+" "+verb+": "+fmt.Sprintf(verb, v))
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
		if status != 200 {
			recordErr("endurosat revoker", vendoroauth.EnduroSatRevoker(esClientID, opts(echo)...).Revoke(ctx, refresh))
			recordErr("formlabs revoker", vendoroauth.FormlabsRevoker(flClientID, flSecret, opts(echo)...).Revoke(ctx, access))
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

	outputs = append(outputs, logs.String())
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
