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
// code. Such failures are never retried.
var ErrInvalidCredentials = errors.New("vendoroauth: invalid credentials")

// ErrInvalidConfig is reported, through [errors.Is], by the first Token or
// Revoke call of a source or revoker whose constructor arguments or options
// are unusable: an empty client id, secret, username or password, a base URL
// that is not an absolute https URL (or http to a loopback host), or a
// non-positive early-refresh window.
var ErrInvalidConfig = errors.New("vendoroauth: invalid configuration")

// ErrMalformedResponse is reported, through [errors.Is], when a vendor
// answers a token request with a success status but a body that is not a
// usable token: not JSON, too large, without access_token, or with an
// unusable expires_in.
var ErrMalformedResponse = errors.New("vendoroauth: malformed token response")

// ErrClosed is returned by the methods of a [TokenSource] after
// [TokenSource.Close], and by requests made through its Client.
var ErrClosed = errors.New("vendoroauth: token source closed")

// errorKind says how a failed exchange with a vendor is handled.
type errorKind int

const (
	kindPermanent errorKind = iota // not retried
	kindTransient                  // network error, 408, 429, 5xx: retried
	kindRejected                   // credentials or grant rejected: ErrInvalidCredentials
)

// classifyStatus decides, once for token and revoke endpoints, what an error
// status and RFC 6749 error code mean.
func classifyStatus(status int, code string) errorKind {
	switch code {
	case "invalid_grant", "invalid_client", "unauthorized_client":
		return kindRejected
	}
	switch {
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		return kindTransient
	case status == http.StatusBadRequest || status == http.StatusUnauthorized:
		return kindRejected
	}
	return kindPermanent
}

// An exchangeError is a failed token request. Its text names the vendor, the
// grant, the status and the vendor's error code and description, never the
// body. It unwraps to the cause (an [*oauth2.RetrieveError], a network or
// context error) and to the sentinel that classifies it.
type exchangeError struct {
	op         string        // "endurosat password grant"
	status     string        // "401 Unauthorized", or "" when no response
	statusCode int           // 401, or 0 when no response
	code, desc string        // RFC 6749 error and error_description, redacted
	detail     string        // what was wrong, when no code says it
	kind       errorKind     // how it is handled
	retryAfter time.Duration // the vendor's Retry-After, 0 if none
	cause      error         // *oauth2.RetrieveError, *url.Error, context error …
	sentinel   error         // ErrInvalidCredentials, ErrMalformedResponse or nil
}

func (e *exchangeError) Error() string {
	var b strings.Builder
	b.WriteString("vendoroauth: ")
	b.WriteString(e.op)
	if e.status != "" {
		b.WriteString(": ")
		b.WriteString(e.status)
	}
	if e.code != "" {
		b.WriteString(": ")
		b.WriteString(e.code)
		if e.desc != "" {
			fmt.Fprintf(&b, " (%s)", e.desc)
		}
	}
	if e.detail != "" {
		b.WriteString(": ")
		b.WriteString(e.detail)
	}
	if e.status == "" && e.cause != nil {
		// No response: a network or context error. A *url.Error names the
		// URL, which carries no secret (credentials travel in the body).
		// With a response, the cause is a RetrieveError, whose text would
		// print the raw body; it is never appended.
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}
	return b.String()
}

// Unwrap returns the cause and the classifying sentinel, so that errors.Is
// and errors.As reach both.
func (e *exchangeError) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	if e.sentinel != nil {
		errs = append(errs, e.sentinel)
	}
	return errs
}

// statusOf returns the HTTP status behind err, or 0 if no response came.
func statusOf(err error) int {
	if e, ok := errors.AsType[*exchangeError](err); ok {
		return e.statusCode
	}
	if e, ok := errors.AsType[*RevokeError](err); ok {
		return e.StatusCode
	}
	return 0
}

// transient reports whether err is worth another attempt, and how long the
// vendor asked us to wait first.
func transient(err error) (retryAfter time.Duration, ok bool) {
	if e, found := errors.AsType[*exchangeError](err); found {
		return e.retryAfter, e.kind == kindTransient
	}
	if e, found := errors.AsType[*RevokeError](err); found {
		return e.retryAfter, classifyStatus(e.StatusCode, e.ErrorCode) == kindTransient
	}
	return 0, false
}

// retrieveError builds the [*oauth2.RetrieveError] for an error response.
// The copy of the response it keeps has no body and no request, so that
// nothing reachable from the error can replay the credentials.
func retrieveError(r *response, red redactor, code, desc, uri string) *oauth2.RetrieveError {
	resp := &http.Response{
		Status:     r.status,
		StatusCode: r.statusCode,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     r.header,
		Body:       http.NoBody,
	}
	return &oauth2.RetrieveError{
		Response:         resp,
		Body:             red.bytes(r.body),
		ErrorCode:        code,
		ErrorDescription: desc,
		ErrorURI:         uri,
	}
}
