package vendoroauthtest

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A Fault is a scripted failure that a fake answers with instead of
// handling a request, queued by FailToken, FailRevoke or FailResource, or
// served during an outage set by FailTokenUntil.
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

// FailToken makes the next n token requests get fault instead of normal
// handling, before any check of the request. Calling it again queues more
// faults behind those; n of 0 queues nothing.
func (s *fake) FailToken(n int, fault Fault) { s.queue(tokenEndpoint, n, fault) }

// FailRevoke is FailToken for the revocation endpoint.
func (s *fake) FailRevoke(n int, fault Fault) { s.queue(revokeEndpoint, n, fault) }

// FailResource is FailToken for the protected resource.
func (s *fake) FailResource(n int, fault Fault) { s.queue(resourceEndpoint, n, fault) }

func (s *fake) queue(ep endpoint, n int, fault Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[ep] = append(s.faults[ep], fault)
	}
}

// FailTokenUntil makes every token request get fault until t (by
// time.Now): a vendor outage. It replaces an earlier outage; a t in the past
// ends it. Queued faults (FailToken) are served first.
func (s *fake) FailTokenUntil(t time.Time, fault Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.downUntil, s.downFault = t, fault
}

// SetRateLimit allows n token requests per period; beyond that, requests
// get 429 with a Retry-After of the seconds left in the period, as
// Formlabs' limit of 1,500 per hour does. Zero n, the default, means no
// limit. Calling it starts a new window. Rejected requests count towards
// the limit too; requests that get a queued fault or an outage's do not.
func (s *fake) SetRateLimit(n int, period time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimit, s.ratePeriod, s.rateStart, s.rateCount = n, period, time.Time{}, 0
}

// nextFault returns the fault a request to ep that arrives at now gets, if
// any: the first queued one, then an outage's, then the rate limit's 429.
// s.mu must be held.
func (s *fake) nextFault(ep endpoint, now time.Time) (Fault, bool) {
	if len(s.faults[ep]) > 0 {
		fault := s.faults[ep][0]
		s.faults[ep] = s.faults[ep][1:]
		return fault, true
	}
	if ep != tokenEndpoint {
		return Fault{}, false
	}
	if now.Before(s.downUntil) {
		return s.downFault, true
	}
	if s.rateLimit > 0 {
		if s.rateStart.IsZero() || !now.Before(s.rateStart.Add(s.ratePeriod)) {
			s.rateStart, s.rateCount = now, 0
		}
		s.rateCount++
		if s.rateCount > s.rateLimit {
			left := s.rateStart.Add(s.ratePeriod).Sub(now)
			return Fault{Status: http.StatusTooManyRequests, RetryAfter: strconv.Itoa(int((left + time.Second - 1) / time.Second))}, true
		}
	}
	return Fault{}, false
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
