package vendoroauth

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
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
	truncated  bool // the body was longer than maxResponseBytes
}

// postForm sends form to rawURL as an application/x-www-form-urlencoded POST
// asking for JSON, and reads a bounded response. It returns an error only
// when no response arrived; the error is a *url.Error or a context error.
func postForm(ctx context.Context, hc *http.Client, rawURL string, form url.Values) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
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

// noRedirect is the CheckRedirect of every client we send credentials with:
// the credentials are in the body, and a redirect must not carry them on.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
