package vendoroauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/oauth2"
)

// The wire: one request to a vendor's token or revoke endpoint, from the
// form to the decoded token or the classified error, as x/oauth2's
// internal/token.go owns its wire. Retries wrap it (send); their policy is
// in retry.go.

// Bounds on what is read and kept from a vendor; doc.go's Defaults section
// states the same numbers.
const (
	maxResponseBytes    = 1 << 20   // a token or revoke response is read up to this
	maxDrainBytes       = 64 << 10  // an oversized body is drained this far for reuse, then dropped
	maxAccessTokenBytes = 16 << 10  // an access token travels in a header of every API request
	maxErrorText        = 200       // of a vendor's error code or description in an error message
	defaultLifetime     = time.Hour // of a token with no usable expires_in and no JWT exp
)

// A request is one call to a vendor endpoint: where it goes, what it sends,
// and the secrets it holds, for redaction.
type request struct {
	op       string // names the vendor and operation in errors: "formlabs revoke"
	endpoint endpoint
	url      string
	form     string    // the url-encoded body, from formBody
	red      redactor  // knows every secret in form
	logAttr  slog.Attr // for logs beside the vendor: the grant, or the operation
	attempts *int      // if not nil, counts the attempts sent
}

// A response is what post read: the status line, headers, and at most
// maxResponseBytes of body.
type response struct {
	status     string // "401 Unauthorized"
	statusCode int
	header     http.Header
	body       []byte
	truncated  bool      // the body was longer than maxResponseBytes
	sent       time.Time // when the request was sent; lifetimes count from it
	received   time.Time // when the body was read
}

// formBody url-encodes key, value pairs as an
// application/x-www-form-urlencoded body, in the order given (callers give
// them sorted, as url.Values.Encode would), in one allocation where a
// url.Values costs a map, a slice per value and a sort (BenchmarkColdFetch).
func formBody(pairs ...string) string {
	n := 0
	for _, p := range pairs {
		n += len(p) + 1
	}
	var b strings.Builder
	b.Grow(n + n/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(pairs[i]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(pairs[i+1]))
	}
	return b.String()
}

// exchange sends a token request, with retries, and decodes the answer.
func (c *config) exchange(ctx context.Context, req request) (result, error) {
	r, err := c.send(ctx, req)
	if err != nil {
		return result{}, err
	}
	return decodeToken(req, r)
}

// send posts req until it succeeds, fails in a way that is not transient,
// or maxAttempts is reached, and returns the 2xx response. Each attempt
// gets one deadline of its own, attemptTimeout or what is left of
// exchangeTimeout, whichever is sooner; a retry that would leave its attempt
// less than minAttemptTime of that budget is not made, so that the last
// error is the vendor's, not a timeout of our own. Every failure is an
// *opError with the call's answer.
func (c *config) send(ctx context.Context, req request) (*response, error) {
	budget := time.Now().Add(exchangeTimeout)
	for n := 1; ; n++ {
		deadline := time.Now().Add(attemptTimeout)
		if deadline.After(budget) {
			deadline = budget
		}
		actx, cancel := context.WithDeadline(ctx, deadline)
		if req.attempts != nil {
			*req.attempts++
		}
		r, err := c.post(actx, req)
		cancel()
		if err == nil {
			return r, nil
		}
		if ctx.Err() == nil {
			ownDeadline(err)
		}
		retryAfter, ok := transient(err)
		if !ok || n == maxAttempts || ctx.Err() != nil {
			return nil, err
		}
		wait, ok := backoff(n, retryAfter)
		if !ok || time.Until(budget)-wait < minAttemptTime {
			return nil, err
		}
		c.retrying(ctx, req, n, wait, err)
		if sleep(ctx, wait) != nil {
			return nil, err
		}
	}
}

// post makes one attempt: it sends req's form as an
// application/x-www-form-urlencoded POST asking for JSON, reads a bounded
// response, always drains and closes the body, and returns a 2xx response
// or the classified error: no response, an error status, or a redirect,
// never followed.
func (c *config) post(ctx context.Context, req request) (*response, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, req.url, strings.NewReader(req.form))
	if err != nil {
		return nil, noAnswer(req, err)
	}
	values := []string{"application/x-www-form-urlencoded", "application/json"} // one allocation for both
	hr.Header["Content-Type"] = values[0:1:1]
	hr.Header["Accept"] = values[1:2:2]
	sent := time.Now()
	resp, err := c.client().Do(hr)
	if err != nil {
		return nil, noAnswer(req, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, noAnswer(req, &url.Error{Op: "Post", URL: req.url, Err: fmt.Errorf("read response body: %w", err)})
	}
	r := &response{status: resp.Status, statusCode: resp.StatusCode, header: resp.Header, body: body, sent: sent, received: time.Now()}
	if len(body) > maxResponseBytes {
		r.body, r.truncated = body[:maxResponseBytes], true
		// Drain a little so that a slightly long body keeps the connection;
		// Close drops it otherwise.
		_, _ = io.CopyN(io.Discard, resp.Body, maxDrainBytes)
	}
	if r.status == "" {
		r.status = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if r.statusCode < 200 || r.statusCode > 299 {
		return nil, responseError(req, r)
	}
	return r, nil
}

// noAnswer is the error of an attempt that got no response.
func noAnswer(req request, err error) error {
	return callFailed(req.op, &answer{endpoint: req.endpoint}, "", err)
}

// ownDeadline rewrites err, an attempt's error, when the attempt got no
// response because a deadline of ours ran out (an attempt's, the fetch's),
// which the network error reports as [context.DeadlineExceeded]: it becomes
// [os.ErrDeadlineExceeded], a timeout that does not match
// context.DeadlineExceeded, which is kept for the caller's ctx.
func ownDeadline(err error) {
	e, ok := err.(*opError)
	if !ok || e.call == nil || e.call.status != 0 || !errors.Is(e.cause, context.DeadlineExceeded) {
		return
	}
	e.msg = fmt.Sprintf("no answer within the request's limit (%v an attempt, %v in all)", attemptTimeout, exchangeTimeout)
	if ue, ok := errors.AsType[*url.Error](e.cause); ok {
		e.cause = &url.Error{Op: ue.Op, URL: ue.URL, Err: os.ErrDeadlineExceeded}
	} else {
		e.cause = os.ErrDeadlineExceeded
	}
}

// responseError builds the error for a response with an error status, or a
// 2xx with an RFC 6749 error body. The body is kept, redacted, only when the
// status is not 2xx: a success body may hold live tokens.
func responseError(req request, r *response) error {
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		URI         string `json:"error_uri"`
	}
	_ = json.Unmarshal(r.body, &body) // an HTML or empty body leaves it zero
	a := &answer{
		endpoint:   req.endpoint,
		status:     r.statusCode,
		statusText: cleanText(r.status),
		header:     r.header,
		code:       cleanText(req.red.string(body.Error)),
		desc:       cleanText(req.red.string(body.Description)),
		uri:        cleanText(req.red.string(body.URI)),
	}
	if r.statusCode < 200 || r.statusCode > 299 {
		a.body = req.red.bytes(r.body)
	}
	detail := ""
	switch {
	case r.statusCode >= 300 && r.statusCode < 400:
		detail = "redirect not followed"
	case a.code == "":
		if mt := mediaType(r); mt != "" && mt != "application/json" {
			detail = "non-JSON body (" + cleanText(mt) + ")"
		}
	}
	return callFailed(req.op, a, detail, nil)
}

// malformed builds the error for a 2xx token response that is not a usable
// token. It never keeps the body, which may hold tokens.
func malformed(req request, r *response, format string, args ...any) error {
	a := &answer{
		endpoint:   req.endpoint,
		status:     r.statusCode,
		statusText: cleanText(r.status),
		header:     r.header,
		malformed:  true,
	}
	return callFailed(req.op, a, req.red.string(fmt.Sprintf(format, args...)), nil)
}

// decodeToken turns a token endpoint's 2xx response into a token. We parse
// the body ourselves rather than through x/oauth2's internal parser because
// that one rejects a float expires_in (3600.0), treats a zero one as "never
// expires", and puts the raw body into its error text.
//
// The expiry is counted from when the request was sent; a token that
// expired before it arrived is malformed.
func decodeToken(req request, r *response) (result, error) {
	if r.truncated {
		return result{}, malformed(req, r, "response body larger than %d bytes", maxResponseBytes)
	}
	// Numbers decode as float64, as in x/oauth2's Token.Extra.
	var raw map[string]any
	if err := json.Unmarshal(r.body, &raw); errors.As(err, new(*json.UnmarshalTypeError)) {
		return result{}, malformed(req, r, "response holds a number out of range")
	} else if err != nil || raw == nil {
		return result{}, malformed(req, r, "response is not a JSON object (Content-Type %q)", mediaType(r))
	}
	if code, ok := raw["error"].(string); ok && code != "" {
		// An RFC 6749 error body, whatever else it holds; a token beside
		// the error is a secret too.
		for _, k := range []string{"access_token", "refresh_token", "id_token"} {
			if v, ok := raw[k].(string); ok {
				req.red = req.red.with(v)
			}
		}
		return result{}, responseError(req, r)
	}
	access, _ := raw["access_token"].(string)
	switch {
	case access == "":
		return result{}, malformed(req, r, "response has no access_token")
	case len(access) > maxAccessTokenBytes:
		return result{}, malformed(req, r, "access_token is longer than %d bytes", maxAccessTokenBytes)
	case !isB64Token(access):
		return result{}, malformed(req, r, "access_token is not an RFC 6750 bearer token (it holds spaces, control or other bytes)")
	}
	// Both vendors issue bearer tokens, and the API takes no other scheme:
	// the vendor's token_type stays in Extra("token_type").
	tok := &oauth2.Token{AccessToken: access, TokenType: "Bearer"}
	if rt, ok := raw["refresh_token"].(string); ok {
		tok.RefreshToken = rt
	}
	lifetime, problem := expiresIn(raw["expires_in"])
	if problem != "" {
		return result{}, malformed(req, r, "%s", problem)
	}
	if lifetime == 0 {
		if l, ok := jwtLifetime(access, r.sent); ok {
			lifetime = l
		} else {
			lifetime = defaultLifetime
		}
	}
	tok.Expiry = r.sent.Add(lifetime)
	tok.ExpiresIn = int64(lifetime / time.Second)
	if _, expiry := schedule(tok, r.sent, 0); !r.received.Before(expiry) {
		return result{}, malformed(req, r, "the token expired on arrival (a lifetime of %v)", lifetime)
	}
	return result{tok: tok.WithExtra(raw), extra: raw, issued: r.sent}, nil
}

// expiresIn reads an expires_in value: a JSON number, integer or not, or a
// string holding one. It returns 0 when the value is missing or zero, which
// callers treat as "unknown" (x/oauth2 would read it as "never expires"),
// and a problem when it is not a usable number.
func expiresIn(v any) (lifetime time.Duration, problem string) {
	var secs float64
	switch v := v.(type) {
	case nil:
		return 0, ""
	case float64:
		secs = v
	case string:
		s := strings.TrimSpace(v)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Sprintf("expires_in %q is not a number", cleanText(s))
		}
		secs = f
	default:
		return 0, "expires_in is a JSON " + jsonKind(v) + ", not a number"
	}
	if secs < 0 {
		return 0, fmt.Sprintf("expires_in %v is negative", secs)
	}
	return clampLifetime(secs), ""
}

// jsonKind names the JSON type of a value decoded into an any.
func jsonKind(v any) string {
	switch v.(type) {
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "value"
}

// isB64Token reports whether s is an RFC 6750 b64token, the only form a
// bearer token can take in an Authorization header:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// cleanText makes vendor-supplied text safe for one line of an error
// message: printable characters only, at most maxErrorText bytes.
func cleanText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, s)
	if len(s) > maxErrorText {
		s = strings.ToValidUTF8(s[:maxErrorText], "") + "…"
	}
	return s
}

// mediaType returns the response's media type without parameters.
func mediaType(r *response) string {
	mt, _, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

// noRedirect is the CheckRedirect of every client we send credentials with:
// the credentials are in the body, and a redirect must not carry them on.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
