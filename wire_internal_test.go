package vendoroauth

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

func TestExpiresIn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body    string
		want    time.Duration
		wantErr bool
	}{
		{`{"access_token":"a","expires_in":3600}`, time.Hour, false},
		{`{"access_token":"a","expires_in":3600.0}`, time.Hour, false},
		{`{"access_token":"a","expires_in":1.5}`, 1500 * time.Millisecond, false},
		{`{"access_token":"a","expires_in":"3600"}`, time.Hour, false},
		{`{"access_token":"a","expires_in":0}`, defaultLifetime, false},
		{`{"access_token":"a"}`, defaultLifetime, false},
		{`{"access_token":"a","expires_in":null}`, defaultLifetime, false},
		{`{"access_token":"a","expires_in":1e400}`, 0, true},
		{`{"access_token":"a","expires_in":1e30}`, maxLifetime, false},
		{`{"access_token":"a","expires_in":-1}`, 0, true},
		{`{"access_token":"a","expires_in":"NaN"}`, 0, true},
		{`{"access_token":"a","expires_in":true}`, 0, true},
		{`{"access_token":"a","expires_in":[1]}`, 0, true},
	}
	start := time.Unix(1_700_000_000, 0)
	for _, tt := range tests {
		r := &response{status: "200 OK", statusCode: 200, header: http.Header{}, body: []byte(tt.body), sent: start}
		res, err := decodeToken(request{op: "test grant"}, r)
		if tt.wantErr {
			assert.ErrorIs(t, err, ErrMalformedResponse, "decodeToken(%s)", tt.body)
			continue
		}
		if !assert.NoError(t, err, "decodeToken(%s)", tt.body) {
			continue
		}
		assert.Equal(t, tt.want, res.tok.Expiry.Sub(start), "decodeToken(%s) lifetime", tt.body)
	}
}

func TestDecodeTokenErrorText(t *testing.T) {
	t.Parallel()
	r := &response{
		status: "400 Bad Request", statusCode: 400,
		header: http.Header{"Content-Type": {"application/json"}},
		body:   []byte(`{"error":"invalid_grant","error_description":"bad pw hunter2\nnext line"}`),
	}
	_, err := outcome(request{op: "endurosat password grant", red: newRedactor("hunter2")}, r)
	want := "vendoroauth: endurosat password grant: 400 Bad Request: invalid_grant (bad pw [REDACTED] next line)"
	assert.EqualError(t, err, want, "decodeToken() error")
	re, ok := errors.AsType[*oauth2.RetrieveError](err)
	if assert.True(t, ok, "error %v is an *oauth2.RetrieveError", err) {
		assert.NotContains(t, string(re.Body), "hunter2", "RetrieveError body: want it redacted")
		assert.Equal(t, 400, re.Response.StatusCode, "RetrieveError status")
	}
	assert.ErrorIs(t, err, ErrInvalidCredentials, "a 400 invalid_grant")
}

func FuzzDecodeToken(f *testing.F) {
	for _, seed := range []string{
		`{"access_token":"a","expires_in":3600,"token_type":"Bearer"}`,
		`{"access_token":"a","expires_in":"3600.5"}`,
		`{"error":"invalid_grant","error_description":"x"}`,
		`<html>502</html>`,
		`{"access_token":"a.eyJleHAiOjF9.c"}`,
		`null`, `[]`, `{"access_token":1}`,
	} {
		f.Add(200, seed)
		f.Add(400, seed)
	}
	start := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, status int, body string) {
		r := &response{status: "x", statusCode: status, header: http.Header{"Retry-After": {body}}, body: []byte(body), sent: start}
		res, err := outcome(request{op: "fuzz grant", red: newRedactor("secret")}, r)
		if err == nil {
			tok := res.tok
			assert.NotEmpty(t, tok.AccessToken, "decodeToken(%d, %q) with no error: access token", status, body)
			assert.True(t, tok.Expiry.After(start), "decodeToken(%d, %q) with no error: expiry %v, want after %v", status, body, tok.Expiry, start)
			return
		}
		msg := err.Error()
		assert.NotContains(t, msg, "secret", "decodeToken(%d, %q) error leaks a secret", status, body)
		assert.False(t, strings.ContainsAny(msg, "\n\r"), "decodeToken(%d, %q) error %q spans lines", status, body, msg)
	})
}

// outcome is what exchange makes of one response: an error status is the
// error it stands for, a 2xx is decoded.
func outcome(req request, r *response) (result, error) {
	if r.statusCode < 200 || r.statusCode > 299 {
		return result{}, responseError(req, r)
	}
	return decodeToken(req, r)
}

// TestExtraAsInXOAuth2: the response's members are in Extra with the types
// x/oauth2's own Token.Extra gives them (numbers as float64), and a body
// with anything after its JSON object is malformed.
func TestExtraAsInXOAuth2(t *testing.T) {
	t.Parallel()
	body := `{"access_token":"a","token_type":"bearer","expires_in":3600,"scope":"read","n":{"k":[1,true]}}`
	r := &response{status: "200 OK", statusCode: 200, header: http.Header{}, body: []byte(body), sent: time.Now()}
	res, err := decodeToken(request{op: "test grant"}, r)
	require.NoError(t, err, "decodeToken()")
	for key, want := range map[string]any{"expires_in": float64(3600), "scope": "read", "token_type": "bearer"} {
		assert.Equal(t, want, res.tok.Extra(key), "Extra(%q)", key)
	}
	nested, ok := res.tok.Extra("n").(map[string]any)
	if assert.True(t, ok, "Extra(\"n\") = %#v, want the nested object", res.tok.Extra("n")) {
		assert.Len(t, nested, 1, "Extra(\"n\")")
	}
	r.body = []byte(body + ` {"access_token":"b"}`)
	_, err = decodeToken(request{op: "test grant"}, r)
	assert.ErrorIs(t, err, ErrMalformedResponse, "decodeToken with trailing data")
	r.body = []byte(`{"access_token":"a","x":1e400}`)
	_, err = decodeToken(request{op: "test grant"}, r)
	assert.ErrorIs(t, err, ErrMalformedResponse, "decodeToken with a number out of range")
	assert.ErrorContains(t, err, "out of range", "decodeToken with a number out of range")
}

// TestFormBody: formBody encodes exactly as url.Values.Encode does for the
// same pairs given sorted, secrets with reserved and non-ASCII bytes
// included.
func TestFormBody(t *testing.T) {
	t.Parallel()
	tests := [][]string{
		{"client_id", "id", "client_secret", "s3cr3t", "grant_type", "client_credentials"},
		{"client_id", "a b&c=d", "grant_type", "password", "password", "pä%ss+/?#", "username", "ünï@example.com"},
		{"client_id", "", "token", "\x00\n\t"},
	}
	for _, pairs := range tests {
		v := url.Values{}
		for i := 0; i < len(pairs); i += 2 {
			v.Set(pairs[i], pairs[i+1])
		}
		assert.Equal(t, v.Encode(), formBody(pairs...))
	}
}

// sendVia returns a config whose requests go through rt.
func sendVia(rt roundTripFunc) *config {
	cfg, _ := newConfig(context.Background(), &formlabs, []Option{WithHTTPClient(&http.Client{Transport: rt})})
	return cfg
}

// roundTripFunc is an http.RoundTripper made of a func.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// unavailable answers 503 with a Retry-After of secs.
func unavailable(r *http.Request, secs string) *http.Response {
	return &http.Response{Status: "503 Service Unavailable", StatusCode: 503, Header: http.Header{"Retry-After": {secs}}, Body: http.NoBody, Request: r}
}

// testRequest is a token request for send.
var testRequest = request{op: "test grant", endpoint: tokenEndpoint, url: "https://vendor.example/token"}

// TestSendDeadlines: against an endpoint that never answers, each attempt
// ends at attemptTimeout and the whole fetch at exchangeTimeout, the last
// attempt cut short to fit, and the caller's ctx is never cancelled by it:
// the error is a timeout of ours, not the caller's DeadlineExceeded.
func TestSendDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		start := time.Now()
		var attempts []time.Duration
		_, err := sendVia(func(r *http.Request) (*http.Response, error) {
			began := time.Now()
			<-r.Context().Done()
			attempts = append(attempts, time.Since(began))
			return nil, r.Context().Err()
		}).send(ctx, testRequest)
		total := time.Since(start)
		require.Error(t, err)
		require.Len(t, attempts, maxAttempts)
		for i, d := range attempts[:maxAttempts-1] {
			assert.Equal(t, attemptTimeout, d, "attempt %d", i+1)
		}
		assert.Less(t, attempts[maxAttempts-1], attemptTimeout, "the last attempt is cut to fit the fetch's budget")
		assert.Equal(t, exchangeTimeout, total, "the whole fetch")
		assert.NoError(t, ctx.Err())
		assert.NotErrorIs(t, err, context.DeadlineExceeded, "our own deadline")
		assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "our own deadline")
		var ne net.Error
		require.ErrorAs(t, err, &ne)
		assert.True(t, ne.Timeout(), "Timeout()")
	})
}

// TestSendNoWaitPastBudget: a backoff that would end past the fetch's
// budget is not waited for; the fetch fails at once with the last error.
func TestSendNoWaitPastBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		n := 0
		_, err := sendVia(func(r *http.Request) (*http.Response, error) {
			n++
			time.Sleep(exchangeTimeout - time.Second) // the first attempt uses most of the budget
			return unavailable(r, "30"), nil
		}).send(t.Context(), testRequest)
		require.Error(t, err)
		assert.Equal(t, 1, n, "attempts")
		assert.Equal(t, exchangeTimeout-time.Second, time.Since(start))
	})
}

// TestSendNotMadeAtBudgetEdge: a Retry-After that would leave the next
// attempt less than minAttemptTime of the fetch's budget is not waited for,
// and the fetch fails with the vendor's error, not a timeout of ours.
func TestSendNotMadeAtBudgetEdge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		_, err := sendVia(func(r *http.Request) (*http.Response, error) {
			n++
			return unavailable(r, "40"), nil
		}).send(t.Context(), testRequest)
		// Attempts at 0s, 40s and 80s; a fourth at 120s would have no time.
		assert.Equal(t, 3, n, "attempts")
		var re *oauth2.RetrieveError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, http.StatusServiceUnavailable, re.Response.StatusCode)
	})
}
