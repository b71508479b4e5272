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

// ErrMalformedResponse is reported, through [errors.Is], when a vendor
// answers a token request with a success status but a body that is not a
// usable token: not JSON, too large, without access_token, with an unusable
// expires_in, or a token that expired on arrival.
var ErrMalformedResponse = errors.New("vendoroauth: malformed token response")

// ErrClosed is returned by the methods of a [TokenSource] after
// [TokenSource.Close], and by requests made through its Client.
var ErrClosed = errors.New("vendoroauth: token source closed")

// An opError is every error the library builds: what failed, what went
// wrong, the sentinel it matches and the error behind it, and for a call to
// a vendor, the vendor's answer. Its text is "vendoroauth: op: msg: cause",
// never with a sentinel's own text, and never a secret: msg and the
// answer's texts are secret-free by construction (redacted, cleaned).
// Build it with errorf, wrapErr or callFailed; nothing else makes errors.
type opError struct {
	op    string  // "formlabs client_credentials grant", "endurosat token", "token file /path"
	msg   string  // what went wrong; may be empty
	kind  error   // the sentinel it matches through errors.Is, or nil
	cause error   // the error behind it, through errors.Unwrap, or nil
	call  *answer // a call to a vendor: how it ended; nil otherwise
}

// errorf returns an error for op matching kind (a sentinel, or nil) whose
// message is the formatted text. args must hold no error: wrap a cause with
// wrapErr.
func errorf(op string, kind error, format string, args ...any) error {
	return &opError{op: op, kind: kind, msg: fmt.Sprintf(format, args...)}
}

// wrapErr returns an error for op matching kind (a sentinel, or nil) and
// wrapping cause, whose text ends with cause's.
func wrapErr(op string, kind, cause error, format string, args ...any) error {
	return &opError{op: op, kind: kind, cause: cause, msg: fmt.Sprintf(format, args...)}
}

// An answer is how a call to a vendor endpoint ended: no response, an error
// status, an RFC 6749 error body, or a 2xx token response that could not
// be used. Everything else is derived from it: how the failure is handled
// (kind), the sentinel it matches, and the public error types it converts
// to.
type answer struct {
	endpoint   endpoint    // which endpoint answered
	status     int         // HTTP status; 0 when no response came
	statusText string      // "401 Unauthorized", cleaned
	header     http.Header // response headers, for Retry-After
	code, desc string      // RFC 6749 error and error_description, redacted and cleaned
	uri        string      // RFC 6749 error_uri, redacted and cleaned
	body       []byte      // redacted body; nil for a 2xx, which may hold tokens
	malformed  bool        // a 2xx token response that is not a usable token
}

// callFailed returns the error of a call to a vendor that ended as a says;
// detail says what was wrong when no code says it, and cause is the
// network or context error when no response came.
func callFailed(op string, a *answer, detail string, cause error) error {
	return &opError{op: op, msg: detail, cause: cause, call: a}
}

func (e *opError) Error() string {
	var b strings.Builder
	b.WriteString("vendoroauth: ")
	b.WriteString(e.op)
	if a := e.call; a != nil {
		if a.statusText != "" {
			b.WriteString(": ")
			b.WriteString(a.statusText)
		}
		writeCode(&b, a.code, a.desc)
	}
	if e.msg != "" {
		b.WriteString(": ")
		b.WriteString(e.msg)
	}
	if e.cause != nil {
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

// Unwrap returns the error behind e: the network or context error of a call
// that got no response, or a store's or file's error.
func (e *opError) Unwrap() error { return e.cause }

// Is reports whether e matches target: its own sentinel, or for a call to a
// vendor, [ErrInvalidCredentials] when the vendor rejected the credentials
// and [ErrMalformedResponse] for an unusable token response.
func (e *opError) Is(target error) bool {
	if target == e.kind && target != nil {
		return true
	}
	if a := e.call; a != nil {
		switch target {
		case ErrInvalidCredentials:
			return a.kind() == kindRejected
		case ErrMalformedResponse:
			return a.malformed
		}
	}
	return false
}

// As converts a call to a vendor that got a response to an
// [*oauth2.RetrieveError] (token endpoint) or a [*RevokeError] (revoke
// endpoint): views of the same answer, for callers who branch on the
// status or code.
func (e *opError) As(target any) bool {
	a := e.call
	if a == nil || a.status == 0 {
		return false
	}
	switch t := target.(type) {
	case **oauth2.RetrieveError:
		if a.endpoint != tokenEndpoint {
			return false
		}
		*t = a.retrieveError()
		return true
	case **RevokeError:
		if a.endpoint != revokeEndpoint {
			return false
		}
		*t = &RevokeError{StatusCode: a.status, ErrorCode: a.code, ErrorDescription: a.desc, Body: a.body, op: e.op}
		return true
	}
	return false
}

// retrieveError builds the [*oauth2.RetrieveError] view of a. The response
// it carries has no body and no request, so that nothing reachable from the
// error can replay the credentials.
func (a *answer) retrieveError() *oauth2.RetrieveError {
	return &oauth2.RetrieveError{
		Response: &http.Response{
			Status:     a.statusText,
			StatusCode: a.status,
			Proto:      "HTTP/1.1",
			ProtoMajor: 1,
			ProtoMinor: 1,
			Header:     a.header,
			Body:       http.NoBody,
		},
		Body:             a.body,
		ErrorCode:        a.code,
		ErrorDescription: a.desc,
		ErrorURI:         a.uri,
	}
}

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

// kind is how the failure is handled.
func (a *answer) kind() errorKind {
	if a.malformed {
		return kindPermanent
	}
	return classify(a.endpoint, a.status, a.code)
}

// retryAfter is the wait the vendor asked for, 0 if none.
func (a *answer) retryAfter() time.Duration {
	if a.header == nil {
		return 0
	}
	d, _ := parseRetryAfter(a.header.Get("Retry-After"), time.Now())
	return d
}

// answerOf returns the answer of the vendor call behind err, or nil.
func answerOf(err error) *answer {
	if e, ok := errors.AsType[*opError](err); ok {
		return e.call
	}
	return nil
}

// statusOf returns the HTTP status behind err, or 0 if no response came.
func statusOf(err error) int {
	if a := answerOf(err); a != nil {
		return a.status
	}
	return 0
}

// transient reports whether err is worth another attempt, and how long the
// vendor asked us to wait first.
func transient(err error) (retryAfter time.Duration, ok bool) {
	if a := answerOf(err); a != nil {
		return a.retryAfter(), a.kind() == kindTransient
	}
	return 0, false
}
