package vendoroauth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// ErrInvalidCredentials is reported, through [errors.Is], when a vendor
// rejects the credentials or the grant: a 400 or 401 answer from a token
// endpoint, or an invalid_grant, invalid_client or unauthorized_client error
// code; from a revocation endpoint, a 401 or an invalid_client or
// unauthorized_client code. Such failures are never retried.
var ErrInvalidCredentials = errors.New("vendoroauth: invalid credentials")

// ErrInvalidConfig is reported, through [errors.Is], by the first Token or
// Revoke call of a source or revoker whose constructor arguments or options
// are unusable: an empty client id, secret, username or password, a base URL
// that is not an absolute https URL (or http to a loopback host), a
// non-positive early-refresh window, or a [TokenStore] that cannot work.
var ErrInvalidConfig = errors.New("vendoroauth: invalid configuration")

// invalidConfig returns an error matching [ErrInvalidConfig] whose text is
// the formatted message alone, without the sentinel's own text after it.
func invalidConfig(format string, args ...any) error {
	return &configError{err: fmt.Errorf(format, args...)}
}

// A configError is an unusable argument, option or store.
type configError struct{ err error }

func (e *configError) Error() string   { return e.err.Error() }
func (e *configError) Unwrap() []error { return []error{e.err, ErrInvalidConfig} }

// ErrMalformedResponse is reported, through [errors.Is], when a vendor
// answers a token request with a success status but a body that is not a
// usable token: not JSON, too large, without access_token, or with an
// unusable expires_in.
var ErrMalformedResponse = errors.New("vendoroauth: malformed token response")

// ErrClosed is returned by the methods of a [TokenSource] after
// [TokenSource.Close], and by requests made through its Client.
var ErrClosed = errors.New("vendoroauth: token source closed")

// An endpoint names which of a vendor's endpoints answered.
type endpoint int

const (
	tokenEndpoint endpoint = iota
	revokeEndpoint
)

// errorKind says how a failed call to a vendor is handled.
type errorKind int

const (
	kindPermanent errorKind = iota // not retried
	kindTransient                  // no response, 408, 429, 5xx: retried
	kindRejected                   // credentials or grant rejected: ErrInvalidCredentials
)

// classify decides, for both endpoints and in one place, what a failed call
// means. status is 0 when no response came; code is the RFC 6749 error
// code, if any.
func classify(ep endpoint, status int, code string) errorKind {
	switch {
	case status == 0:
		return kindTransient // a network error
	case status >= 300 && status < 400:
		return kindPermanent // a redirect, never followed: credentials travel in the body
	case code == "invalid_client" || code == "unauthorized_client":
		return kindRejected
	case ep == tokenEndpoint && code == "invalid_grant":
		return kindRejected
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		return kindTransient
	case status == http.StatusUnauthorized:
		return kindRejected
	case ep == tokenEndpoint && status == http.StatusBadRequest:
		return kindRejected // both vendors answer 400 to bad credentials
	}
	return kindPermanent
}

// A vendorError is a failed token or revoke call: no response, an error
// status, an RFC 6749 error body, or a 2xx token response that could not be
// used. Its text names the vendor, the operation, the status and the
// vendor's error code and description, never the body. Everything else is
// derived from its fields: how it is handled (kind), the sentinel it
// matches (Is), and the public error types it converts to (As).
type vendorError struct {
	op         string      // "endurosat password grant", "formlabs revoke"
	endpoint   endpoint    // which endpoint answered
	status     int         // HTTP status; 0 when no response came
	statusText string      // "401 Unauthorized"
	header     http.Header // response headers, for Retry-After
	code, desc string      // RFC 6749 error and error_description, redacted and cleaned
	uri        string      // RFC 6749 error_uri, redacted and cleaned
	body       []byte      // redacted body; nil for a 2xx, which may hold tokens
	detail     string      // what was wrong, when no code says it
	malformed  bool        // a 2xx token response that is not a usable token
	cause      error       // the network or context error when no response came
}

func (e *vendorError) Error() string {
	var b strings.Builder
	b.WriteString("vendoroauth: ")
	b.WriteString(e.op)
	if e.statusText != "" {
		b.WriteString(": ")
		b.WriteString(e.statusText)
	}
	writeCode(&b, e.code, e.desc)
	if e.detail != "" {
		b.WriteString(": ")
		b.WriteString(e.detail)
	}
	if e.status == 0 && e.cause != nil {
		// No response: a network or context error. A *url.Error names the
		// URL, which carries no secret (credentials travel in the body).
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}
	return b.String()
}

// writeCode appends ": code (description)" when there is a code.
func writeCode(b *strings.Builder, code, desc string) {
	if code == "" {
		return
	}
	b.WriteString(": ")
	b.WriteString(code)
	if desc != "" {
		b.WriteString(" (")
		b.WriteString(desc)
		b.WriteString(")")
	}
}

// kind is how the failure is handled.
func (e *vendorError) kind() errorKind {
	if e.malformed {
		return kindPermanent
	}
	return classify(e.endpoint, e.status, e.code)
}

// retryAfter is the wait the vendor asked for, 0 if none.
func (e *vendorError) retryAfter() time.Duration {
	if e.header == nil {
		return 0
	}
	d, _ := parseRetryAfter(e.header.Get("Retry-After"), time.Now())
	return d
}

// Unwrap returns the network or context error behind a call that got no
// response.
func (e *vendorError) Unwrap() error { return e.cause }

// Is reports whether e matches [ErrInvalidCredentials] or
// [ErrMalformedResponse].
func (e *vendorError) Is(target error) bool {
	switch target {
	case ErrInvalidCredentials:
		return e.kind() == kindRejected
	case ErrMalformedResponse:
		return e.malformed
	}
	return false
}

// As converts e, when a response came, to an [*oauth2.RetrieveError] (token
// endpoint) or a [*RevokeError] (revoke endpoint).
func (e *vendorError) As(target any) bool {
	if e.status == 0 {
		return false
	}
	switch t := target.(type) {
	case **oauth2.RetrieveError:
		if e.endpoint != tokenEndpoint {
			return false
		}
		*t = e.retrieveError()
		return true
	case **RevokeError:
		if e.endpoint != revokeEndpoint {
			return false
		}
		*t = &RevokeError{StatusCode: e.status, ErrorCode: e.code, ErrorDescription: e.desc, Body: e.body, op: e.op}
		return true
	}
	return false
}

// retrieveError builds the [*oauth2.RetrieveError] view of e. The response
// it carries has no body and no request, so that nothing reachable from the
// error can replay the credentials.
func (e *vendorError) retrieveError() *oauth2.RetrieveError {
	return &oauth2.RetrieveError{
		Response: &http.Response{
			Status:     e.statusText,
			StatusCode: e.status,
			Proto:      "HTTP/1.1",
			ProtoMajor: 1,
			ProtoMinor: 1,
			Header:     e.header,
			Body:       http.NoBody,
		},
		Body:             e.body,
		ErrorCode:        e.code,
		ErrorDescription: e.desc,
		ErrorURI:         e.uri,
	}
}

// statusOf returns the HTTP status behind err, or 0 if no response came.
func statusOf(err error) int {
	if e, ok := errors.AsType[*vendorError](err); ok {
		return e.status
	}
	return 0
}

// transient reports whether err is worth another attempt, and how long the
// vendor asked us to wait first.
func transient(err error) (retryAfter time.Duration, ok bool) {
	if e, found := errors.AsType[*vendorError](err); found {
		return e.retryAfter(), e.kind() == kindTransient
	}
	return 0, false
}
