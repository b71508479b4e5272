package vendoroauthtest

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A Fault is a scripted failure that a fake answers with instead of
// handling a request, queued by FailToken, FailRevoke or FailResource.
type Fault struct {
	// Status is the status to answer with. Zero means 200, for a Body
	// that is not a token (an HTML page with status 200, say).
	Status int

	// RetryAfter, if not empty, is sent as the Retry-After header:
	// delay-seconds or an HTTP date.
	RetryAfter string

	// ContentType is the Content-Type header. If empty, it is
	// application/json when the body starts with '{', else
	// text/html; charset=utf-8.
	ContentType string

	// Body is the response body. If empty and BodySize is 0, the body is an
	// RFC 6749 error object suited to Status (server_error,
	// temporarily_unavailable, rate_limit_exceeded …).
	Body string

	// BodySize, if positive, makes the body this many bytes of JSON-looking
	// filler, written in chunks without being held in memory: for "huge
	// response" tests.
	BodySize int

	// Latency is how long to wait before answering. A request whose
	// context ends first gets no answer.
	Latency time.Duration

	// Drop closes the connection without an answer (after Latency). Over
	// a socket the client sees an unexpected EOF; through InProcessClient,
	// RoundTrip returns an error.
	Drop bool
}

// errorCodeFor returns the RFC 6749-style error code a fault with no body
// answers with.
func errorCodeFor(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "rate_limit_exceeded"
	case status == http.StatusServiceUnavailable:
		return "temporarily_unavailable"
	case status == http.StatusUnauthorized:
		return "invalid_token"
	case status >= 500:
		return "server_error"
	case status >= 400:
		return "invalid_request"
	}
	return ""
}

// serveFault answers r with f.
func serveFault(w http.ResponseWriter, r *http.Request, f Fault) {
	if !wait(r, f.Latency) {
		return
	}
	if f.Drop {
		panic(http.ErrAbortHandler) // net/http closes the connection
	}
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	body := f.Body
	if body == "" && f.BodySize <= 0 {
		if code := errorCodeFor(status); code != "" {
			body = `{"error":"` + code + `"}`
		}
	}
	ct := f.ContentType
	if ct == "" {
		ct = "text/html; charset=utf-8"
		if strings.HasPrefix(body, "{") || f.BodySize > 0 {
			ct = "application/json"
		}
	}
	w.Header().Set("Content-Type", ct)
	if f.BodySize > 0 {
		w.Header().Set("Content-Length", strconv.Itoa(f.BodySize))
		w.WriteHeader(status)
		writeFiller(w, f.BodySize)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// writeFiller writes n bytes of the form {"pad":"xxxx…"} (cut off at n).
func writeFiller(w http.ResponseWriter, n int) {
	bw := bufio.NewWriterSize(w, 32<<10)
	head := `{"pad":"`
	if n < len(head) {
		head = head[:n]
	}
	_, _ = bw.WriteString(head)
	chunk := []byte(strings.Repeat("x", 4096))
	for left := n - len(head); left > 0; left -= len(chunk) {
		if left < len(chunk) {
			chunk = chunk[:left]
		}
		if _, err := bw.Write(chunk); err != nil {
			return
		}
	}
	_ = bw.Flush()
}

// wait sleeps for d unless r's context ends first; it reports whether the
// request should still be answered.
func wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}
