package vendoroauth

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

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
			if !errors.Is(err, ErrMalformedResponse) {
				t.Errorf("decodeToken(%s) error = %v, want ErrMalformedResponse", tt.body, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("decodeToken(%s) error = %v", tt.body, err)
			continue
		}
		if got := res.tok.Expiry.Sub(start); got != tt.want {
			t.Errorf("decodeToken(%s) lifetime = %v, want %v", tt.body, got, tt.want)
		}
	}
}

func TestDecodeTokenErrorText(t *testing.T) {
	t.Parallel()
	r := &response{
		status: "400 Bad Request", statusCode: 400,
		header: http.Header{"Content-Type": {"application/json"}},
		body:   []byte(`{"error":"invalid_grant","error_description":"bad pw hunter2\nnext line"}`),
	}
	_, err := answer(request{op: "endurosat password grant", red: newRedactor("hunter2")}, r)
	want := "vendoroauth: endurosat password grant: 400 Bad Request: invalid_grant (bad pw [REDACTED] next line)"
	if err == nil || err.Error() != want {
		t.Errorf("decodeToken() error = %v, want %q", err, want)
	}
	re, ok := errors.AsType[*oauth2.RetrieveError](err)
	if !ok || strings.Contains(string(re.Body), "hunter2") || re.Response.StatusCode != 400 {
		t.Errorf("RetrieveError = %+v; want status 400 and a redacted body", re)
	}
	if !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("errors.Is(ErrInvalidCredentials) = false for a 400 invalid_grant")
	}
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
		res, err := answer(request{op: "fuzz grant", red: newRedactor("secret")}, r)
		if err == nil {
			tok := res.tok
			if tok.AccessToken == "" || !tok.Expiry.After(start) {
				t.Errorf("decodeToken(%d, %q) = %+v with no error; want an access token and a future expiry", status, body, tok)
			}
			return
		}
		if msg := err.Error(); strings.Contains(msg, "secret") || strings.ContainsAny(msg, "\n\r") {
			t.Errorf("decodeToken(%d, %q) error %q leaks a secret or spans lines", status, body, msg)
		}
	})
}

// answer is what exchange does with one response: an error status is the
// error it stands for, a 2xx is decoded.
func answer(req request, r *response) (result, error) {
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
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{"expires_in": float64(3600), "scope": "read", "token_type": "bearer"} {
		if got := res.tok.Extra(key); got != want {
			t.Errorf("Extra(%q) = %#v, want %#v", key, got, want)
		}
	}
	if got, ok := res.tok.Extra("n").(map[string]any); !ok || len(got) != 1 {
		t.Errorf("Extra(\"n\") = %#v, want the nested object", res.tok.Extra("n"))
	}
	r.body = []byte(body + ` {"access_token":"b"}`)
	if _, err := decodeToken(request{op: "test grant"}, r); !errors.Is(err, ErrMalformedResponse) {
		t.Errorf("decodeToken with trailing data: err = %v, want ErrMalformedResponse", err)
	}
	r.body = []byte(`{"access_token":"a","x":1e400}`)
	if _, err := decodeToken(request{op: "test grant"}, r); !errors.Is(err, ErrMalformedResponse) || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("decodeToken with a number out of range: err = %v, want ErrMalformedResponse saying so", err)
	}
}
