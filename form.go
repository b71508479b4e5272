package vendoroauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxResponseBytes bounds how much of a token or revoke response is read.
const maxResponseBytes = 1 << 20

// maxDrainBytes bounds how much of an oversized body is drained so that the
// connection can be reused; past it the connection is closed instead.
const maxDrainBytes = 64 << 10

// A response is what postForm read: the status line, headers, and at most
// maxResponseBytes of body.
type response struct {
	status     string // "401 Unauthorized"
	statusCode int
	header     http.Header
	body       []byte
	truncated  bool      // the body was longer than maxResponseBytes
	sent       time.Time // when the request was sent; lifetimes count from it
}

// A request is one call to a vendor endpoint: where it goes, what it sends,
// and the secrets it holds, for redaction.
type request struct {
	op       string // names the vendor and operation in errors: "formlabs revoke"
	endpoint endpoint
	url      string
	form     string    // the url-encoded body, from formBody
	red      redactor  // knows every secret in form
	logAttr  slog.Attr // for logs beside the vendor: the grant, or the operation
}

// formBody url-encodes key, value pairs as an
// application/x-www-form-urlencoded body, in the order given (callers give
// them sorted, as url.Values.Encode would). It builds the string in one
// allocation, where a url.Values costs a map, a slice per value and a
// sort.
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

// send posts req with retries and returns the 2xx response. Any other
// outcome is a *vendorError: no response, an error status, or a redirect
// (never followed). Transient failures are retried as retry.go says.
func (c *config) send(ctx context.Context, req request) (*response, error) {
	msg := "vendoroauth: token request failed; retrying"
	if req.endpoint == revokeEndpoint {
		msg = "vendoroauth: revoke request failed; retrying"
	}
	log := retryLog{ctx: ctx, logger: c.logger, msg: msg, attrs: [2]slog.Attr{slog.String("vendor", c.vendor.name), req.logAttr}}
	return withRetries(ctx, log, func(actx context.Context) (*response, error) {
		r, err := postForm(actx, c.client(), req.url, req.form)
		if err != nil {
			if ctx.Err() == nil {
				err = ownTimeout(err)
			}
			return nil, &vendorError{op: req.op, endpoint: req.endpoint, cause: err}
		}
		if r.statusCode < 200 || r.statusCode > 299 {
			return nil, responseError(req, r)
		}
		return r, nil
	})
}

// ownTimeout turns a deadline of ours (an attempt's, the whole fetch's, the
// default client's) that err reports as [context.DeadlineExceeded] into a
// [*url.Error] whose Timeout reports true but which does not match
// context.DeadlineExceeded: that is kept for the caller's ctx.
func ownTimeout(err error) error {
	if !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	ue, ok := errors.AsType[*url.Error](err)
	if !ok {
		return errTimedOut
	}
	return &url.Error{Op: ue.Op, URL: ue.URL, Err: errTimedOut}
}

// errTimedOut is a deadline of the library's own. It is a net.Error whose
// Timeout is true.
var errTimedOut error = timedOut{}

type timedOut struct{}

func (timedOut) Error() string {
	return fmt.Sprintf("no answer within the request's limit (%v an attempt, %v in all)", attemptTimeout, exchangeTimeout)
}
func (timedOut) Timeout() bool   { return true }
func (timedOut) Temporary() bool { return true }

// postForm sends form to rawURL as an application/x-www-form-urlencoded POST
// asking for JSON, and reads a bounded response. It returns an error only
// when no response arrived; the error is a *url.Error or a context error.
func postForm(ctx context.Context, hc *http.Client, rawURL, form string) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, strings.NewReader(form))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	values := []string{"application/x-www-form-urlencoded", "application/json"} // one allocation for both
	req.Header["Content-Type"] = values[0:1:1]
	req.Header["Accept"] = values[1:2:2]
	sent := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, &url.Error{Op: "Post", URL: rawURL, Err: fmt.Errorf("read response body: %w", err)}
	}
	r := &response{
		status:     resp.Status,
		statusCode: resp.StatusCode,
		header:     resp.Header,
		body:       body,
		sent:       sent,
	}
	if len(body) > maxResponseBytes {
		r.body, r.truncated = body[:maxResponseBytes], true
		// Drain a little so that a slightly long body keeps the connection;
		// Close drops it otherwise.
		_, _ = io.CopyN(io.Discard, resp.Body, maxDrainBytes)
	}
	if r.status == "" {
		r.status = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return r, nil
}

// responseError builds the error for a response with an error status, or a
// 2xx with an RFC 6749 error body. The body is kept, redacted, only when the
// status is not 2xx: a success body may hold live tokens.
func responseError(req request, r *response) *vendorError {
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		URI         string `json:"error_uri"`
	}
	_ = json.Unmarshal(r.body, &body) // an HTML or empty body leaves it zero
	e := &vendorError{
		op:         req.op,
		endpoint:   req.endpoint,
		status:     r.statusCode,
		statusText: cleanText(r.status),
		header:     r.header,
		code:       cleanText(req.red.string(body.Error)),
		desc:       cleanText(req.red.string(body.Description)),
		uri:        cleanText(req.red.string(body.URI)),
	}
	if r.statusCode < 200 || r.statusCode > 299 {
		e.body = req.red.bytes(r.body)
	}
	switch {
	case r.statusCode >= 300 && r.statusCode < 400:
		e.detail = "redirect not followed"
	case e.code == "":
		if mt := mediaType(r); mt != "" && mt != "application/json" {
			e.detail = "non-JSON body (" + cleanText(mt) + ")"
		}
	}
	return e
}

// malformed builds the error for a 2xx token response that is not a usable
// token. It never keeps the body, which may hold tokens.
func malformed(req request, r *response, format string, args ...any) *vendorError {
	return &vendorError{
		op:         req.op,
		endpoint:   req.endpoint,
		status:     r.statusCode,
		statusText: cleanText(r.status),
		header:     r.header,
		detail:     req.red.string(fmt.Sprintf(format, args...)),
		malformed:  true,
	}
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
