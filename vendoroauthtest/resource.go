package vendoroauthtest

import (
	"net/http"
	"strings"
)

// serveResource answers the protected resource: ok as JSON for a valid
// bearer token, 401 invalid_token with a Bearer challenge otherwise.
func (s *fake) serveResource(w http.ResponseWriter, r *http.Request, ok any) {
	if fault, faulted := s.begin(resourceEndpoint, r); faulted {
		if fault.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		serveFault(w, r, fault)
		return
	}
	if s.authorize(w, r) {
		writeJSON(w, http.StatusOK, ok)
	}
}

// authorize reports whether r carries a valid bearer token; if not, it
// answers 401 invalid_token with a Bearer challenge.
func (s *fake) authorize(w http.ResponseWriter, r *http.Request) bool {
	tok, found := bearerToken(r)
	if !found {
		writeError(w, http.StatusUnauthorized, "invalid_token", "missing bearer token")
		return false
	}
	if !s.validAccess(tok) {
		writeError(w, http.StatusUnauthorized, "invalid_token", "the access token is invalid, expired or revoked")
		return false
	}
	return true
}

// bearerToken returns the token of r's Authorization header, which must
// use the bearer scheme, in any case.
func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	return tok, strings.EqualFold(scheme, "Bearer") && tok != ""
}

// validAccess reports whether tok is an access token this fake issued that
// is neither revoked nor expired by the fake's clock.
func (s *fake) validAccess(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.access[tok]
	return a != nil && !a.revoked && s.now().Before(a.expiry)
}
