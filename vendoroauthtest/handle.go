package vendoroauthtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
)

// The user's own API behind the fake's token check.

// routes are the paths a fake serves itself.
type routes struct {
	token, revoke, resource string // exact paths
	listing                 any    // the resource's answer to a valid token
}

// Handle registers h for the requests that match pattern, as
// [http.ServeMux.Handle] does, with ServeMux's pattern syntax and
// precedence ("GET /v1/items/{id}"), behind the fake's token check. A
// matching request reaches h only if its Authorization header holds, in the
// bearer scheme (in any case), an access token this fake issued that has
// not expired by the fake's clock and was not revoked: by
// RevokeAccessTokens, or at the revocation endpoint (Formlabs revokes the
// access token itself; EnduroSat a refresh token, and with it every access
// token of its login). Any other matching request gets 401 with
// WWW-Authenticate: Bearer error="invalid_token" and an invalid_token JSON
// error, and never reaches h. h sees the request as under a ServeMux:
// PathValue works, and the Authorization header is left in place.
//
// The fake keeps its token and revocation endpoints: requests for their
// paths never reach a handler from Handle, even under a pattern that
// matches them (such as "/"). Handle's patterns do take precedence over the
// fake's protected resource (ResourceURL): a request for the resource's
// path that matches a pattern goes to its handler; the others still reach
// the resource. Requests that match a pattern are neither counted
// (ResourceRequests) nor faulted (FailResource). A request for another path
// that matches no pattern gets a JSON 404, or 405 if only its method
// differs.
//
// Handle panics, as ServeMux does, if h is nil, or if pattern is invalid
// or conflicts with one registered before; and if pattern can match only
// requests for the token or revocation endpoint (its path is one of
// theirs, with no wildcard, such as "POST /oauth2/token"). It is safe to
// call while requests run; requests that arrive after it returns see the
// new handler.
func (s *fake) Handle(pattern string, h http.Handler) {
	if h == nil {
		panic(fmt.Sprintf("vendoroauthtest: Handle(%q): nil handler", pattern))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	register(http.NewServeMux(), pattern, h) // validates pattern
	for _, own := range []string{s.routes.token, s.routes.revoke} {
		if onlyPath(pattern, own) {
			panic(fmt.Sprintf("vendoroauthtest: Handle(%q): pattern can match only requests for the fake's own endpoint %s", pattern, own))
		}
	}
	register(s.mux, pattern, s.requireToken(h))
}

// register is mux.Handle with its panic prefixed by the package and the
// pattern.
func register(mux *http.ServeMux, pattern string, h http.Handler) {
	defer func() {
		if p := recover(); p != nil {
			panic(fmt.Sprintf("vendoroauthtest: Handle(%q): %v", pattern, p))
		}
	}()
	mux.Handle(pattern, h)
}

// onlyPath reports whether the valid ServeMux pattern matches no path but
// path, whatever its method and host.
func onlyPath(pattern, path string) bool {
	// Split off the method and host as ServeMux does.
	rest := pattern
	if i := strings.IndexAny(pattern, " \t"); i >= 0 {
		rest = strings.TrimLeft(pattern[i+1:], " \t")
	}
	rest = rest[strings.IndexByte(rest, '/'):]

	got, want := strings.Split(rest, "/"), strings.Split(exactPattern(path), "/")
	if len(got) != len(want) {
		return false
	}
	for i, seg := range got {
		if !strings.Contains(seg, "{") {
			seg, _ = url.PathUnescape(seg) // a literal, as ServeMux reads it
			if strings.Contains(want[i], "{") {
				return false
			}
		}
		if seg != want[i] {
			return false
		}
	}
	return true
}

// exactPattern returns the ServeMux pattern that matches path alone.
func exactPattern(path string) string {
	if strings.HasSuffix(path, "/") {
		return path + "{$}"
	}
	return path
}

// requireToken returns a handler that passes requests with a valid bearer
// token on to h, and answers the others with 401.
func (s *fake) requireToken(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.authorize(w, r) {
			h.ServeHTTP(w, r)
		}
	})
}

// route serves a request for any path but the token and revocation
// endpoints': with a handler from Handle, the protected resource, or 404 or
// 405.
func (s *fake) route(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	switch {
	case pattern != "":
		s.mux.ServeHTTP(w, r) // sets r.Pattern and the path values
	case r.URL.Path == s.routes.resource:
		s.serveResource(w, r, s.routes.listing)
	default:
		// ServeMux's 404, 405, or redirect to a cleaned path that
		// matches no pattern: the fake's own answers, in JSON.
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rec.Header().Get("Allow"))
			writeError(w, http.StatusMethodNotAllowed, "invalid_request", "method not allowed")
			return
		}
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint")
	}
}
