package vendoroauthtest

import (
	"crypto/subtle"
	"net/http"
	"time"
)

// A Formlabs is a fake Formlabs Dashboard Developer API: the token endpoint
// (client_credentials grant with the client id and secret in the form
// body), the revocation endpoint and a protected resource. Its methods,
// except Start, are safe for concurrent use, also while requests run.
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
// WWW-Authenticate, as Formlabs' API does. Formlabs issues no refresh
// tokens: revoking an access token revokes that token alone.
//
// Handle serves the user's own API (such as GET /developer/v1/prints/)
// behind the fake's token check, and Context gives a token source and its
// Client the fake's client at once.
type Formlabs struct {
	// URL is the base URL, http://127.0.0.1:port with no trailing slash;
	// "http://127.0.0.1" until Start for a fake from
	// NewUnstartedFormlabs.
	URL string

	// The state sits behind pointers, so that a Formlabs printed or logged
	// by value, through any path that skips its Format method, shows no
	// credential or token.
	*fake
	*formlabsState
}

// formlabsState is what only the Formlabs fake keeps.
type formlabsState struct {
	secrets map[string]string // client id → client secret; guarded by fake.mu
}

// NewFormlabs starts and returns a new fake Formlabs API on a loopback port
// that accepts the given client credentials and issues 24-hour access
// tokens. The caller should call Close when finished, to shut it down.
func NewFormlabs(clientID, clientSecret string) *Formlabs {
	s := NewUnstartedFormlabs(clientID, clientSecret)
	s.Start()
	return s
}

// NewUnstartedFormlabs returns a new fake Formlabs API, as NewFormlabs
// does, but doesn't start it. After changing its configuration, the caller
// should call Start, and then Close when finished, to shut it down.
//
// Until Start, its URL is "http://127.0.0.1" and nothing listens there:
// reach the fake with InProcessClient (or Client) or ServeHTTP, which need
// no socket. That is the way to use it inside a testing/synctest bubble,
// where it is never started; Close is then not needed.
func NewUnstartedFormlabs(clientID, clientSecret string) *Formlabs {
	s := &Formlabs{
		URL:           unstartedURL,
		fake:          new(fake),
		formlabsState: &formlabsState{secrets: map[string]string{clientID: clientSecret}},
	}
	s.init(http.HandlerFunc(s.ServeHTTP), routes{
		token:    "/developer/v1/o/token/",
		revoke:   "/developer/v1/o/revoke_token/",
		resource: "/developer/v1/printers/",
		listing:  map[string]any{"count": 0, "next": nil, "previous": nil, "results": []any{}}, // a Django REST framework page
	}, "fl", 24*time.Hour)
	return s
}

// Start starts a fake from NewUnstartedFormlabs: it listens on a loopback
// port and sets URL, and Client then returns a client for that socket. The
// configuration set before Start, and tokens issued through InProcessClient,
// carry over. The caller should call Close when finished. Start panics if
// the fake was already started. Unlike the other methods, it must not be
// called concurrently with any other use of the fake.
func (s *Formlabs) Start() { s.URL = s.start("Formlabs") }

// ResourceURL returns the URL of the protected resource,
// s.URL + "/developer/v1/printers/".
func (s *Formlabs) ResourceURL() string { return s.URL + s.routes.resource }

// RevokeAccessTokens makes every access token issued so far get 401 at the
// resource, as a vendor-side revocation would. Formlabs has no refresh
// tokens: a new client_credentials grant gets an access token that the
// resource accepts.
func (s *Formlabs) RevokeAccessTokens() { s.revokeAccess() }

// ServeHTTP serves the fake's endpoints and the handlers registered with
// Handle; other paths get 404.
func (s *Formlabs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case s.routes.token:
		s.serveToken(w, r)
	case s.routes.revoke:
		s.serveRevoke(w, r)
	default:
		s.route(w, r)
	}
}

// AddClient adds a client that the fake accepts, besides the one given to
// NewFormlabs, so that a test can have two clients; for a client id the
// fake knows already, it sets a new secret. [Formlabs.TokenOwner] tells
// which client a token was issued to.
func (s *Formlabs) AddClient(clientID, clientSecret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[clientID] = clientSecret
}

// authenticated reports whether the form carries client credentials this
// fake accepts.
func (s *Formlabs) authenticated(r *http.Request) bool {
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	s.mu.Lock()
	want, ok := s.secrets[id]
	s.mu.Unlock()
	return ok && subtle.ConstantTimeCompare([]byte(secret), []byte(want)) == 1
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
	resp := s.issueAccess(r.PostForm.Get("client_id"), "", s.now())
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
