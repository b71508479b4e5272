package vendoroauthtest

import (
	"crypto/subtle"
	"net/http"
	"time"
)

// A Formlabs is a fake Formlabs Dashboard Developer API: the token endpoint
// (client_credentials grant with the client id and secret in the form
// body), the revocation endpoint and a protected resource. Its methods are
// safe for concurrent use, also while requests run.
//
// Paths, as the vendor's (a Django OAuth Toolkit server): POST
// /developer/v1/o/token/, POST /developer/v1/o/revoke_token/, and the
// resource GET /developer/v1/printers/. Statuses, as Django OAuth Toolkit
// 1.7 answers them: 400 unsupported_grant_type for a missing or other grant,
// 401 invalid_client for a missing or wrong client id or secret, 400
// invalid_request for a revocation without a token, 200 with an empty body
// for a revocation, 405 for a method other than POST. Stricter than it: HTTP
// Basic credentials and repeated fields get 400 invalid_request. Unlike its
// plain protected views (403), the resource answers a bad token with 401 and
// WWW-Authenticate, as Formlabs' API does.
type Formlabs struct {
	// URL is the base URL, http://127.0.0.1:port with no trailing slash;
	// "http://127.0.0.1" for an unstarted fake.
	URL string

	*fake

	clientID, clientSecret string
}

// NewFormlabs starts and returns a fake Formlabs API on a loopback port that
// accepts the given client credentials and issues 24-hour tokens. The caller
// should call Close when finished.
func NewFormlabs(clientID, clientSecret string) *Formlabs {
	s := NewUnstartedFormlabs(clientID, clientSecret)
	s.URL = s.start()
	return s
}

// NewUnstartedFormlabs returns a fake Formlabs API that does not listen:
// reach it with InProcessClient or ServeHTTP. Its URL is
// "http://127.0.0.1". Close is not needed.
func NewUnstartedFormlabs(clientID, clientSecret string) *Formlabs {
	s := &Formlabs{
		URL:          unstartedURL,
		fake:         newFake("fl", 24*time.Hour),
		clientID:     clientID,
		clientSecret: clientSecret,
	}
	s.handler = http.HandlerFunc(s.ServeHTTP)
	return s
}

// ResourceURL returns the URL of the protected resource,
// s.URL + "/developer/v1/printers/".
func (s *Formlabs) ResourceURL() string { return s.URL + "/developer/v1/printers/" }

// ServeHTTP serves the fake's endpoints; unknown paths get 404.
func (s *Formlabs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/developer/v1/o/token/":
		s.serveToken(w, r)
	case "/developer/v1/o/revoke_token/":
		s.serveRevoke(w, r)
	case "/developer/v1/printers/":
		s.serveResource(w, r, map[string]any{"count": 0, "results": []any{}})
	default:
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint")
	}
}

// authenticated reports whether the form carries this fake's client
// credentials.
func (s *Formlabs) authenticated(r *http.Request) bool {
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	return id == s.clientID && subtle.ConstantTimeCompare([]byte(secret), []byte(s.clientSecret)) == 1
}

func (s *Formlabs) serveToken(w http.ResponseWriter, r *http.Request) {
	if fault, faulted := s.begin(tokenEndpoint, r); faulted {
		serveFault(w, r, fault)
		return
	}
	if !wait(r, s.tokenLatency()) || !checkForm(w, r) {
		return
	}
	if hasBasicAuth(r) {
		// Stricter than Django OAuth Toolkit, which accepts Basic too:
		// Formlabs documents the credentials in the body.
		writeError(w, http.StatusBadRequest, "invalid_request", "client credentials go in the form body, not HTTP Basic")
		return
	}
	// As Django OAuth Toolkit: the grant type first, then the client.
	if g := r.PostForm.Get("grant_type"); g != "client_credentials" {
		writeError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials")
		return
	}
	if !s.authenticated(r) {
		writeError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	s.mu.Lock()
	resp := s.issueAccess(s.clientID, "", s.now())
	s.mu.Unlock()
	resp["scope"] = "developer-api"
	writeJSON(w, http.StatusOK, resp)
}

func (s *Formlabs) serveRevoke(w http.ResponseWriter, r *http.Request) {
	if fault, faulted := s.begin(revokeEndpoint, r); faulted {
		serveFault(w, r, fault)
		return
	}
	// As Django OAuth Toolkit: the client first, then the token.
	if !checkForm(w, r) {
		return
	}
	if !s.authenticated(r) {
		writeError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if !checkForm(w, r, "token") {
		return
	}
	s.mu.Lock()
	if a := s.access[r.PostForm.Get("token")]; a != nil {
		a.revoked = true
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK) // empty body, also for unknown tokens, as Django OAuth Toolkit
}
