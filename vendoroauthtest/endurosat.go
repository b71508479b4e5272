package vendoroauthtest

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// An EnduroSat is a fake EnduroSat ground-station API: the token endpoint
// (password and refresh_token grants for a public client), the revocation
// endpoint and a protected resource. Its methods, except Start, are safe
// for concurrent use, also while requests run.
//
// Paths, as the vendor's: POST /oauth2/token, POST /oauth2/revoke, and the
// resource GET /v1/satellites. Statuses, as the vendor documents them: 400
// for a malformed request or a bad refresh token (invalid_grant), 401 for an
// unknown client (invalid_client) or a wrong username or password
// (invalid_grant), 204 for a revocation, 405 for a method other than POST.
// Revoking a refresh token ends its login: every access and refresh token
// issued from it.
//
// Handle serves the user's own API (such as GET /v1/passes/{id}) behind the
// fake's token check, and Context gives a token source and its Client the
// fake's client at once.
type EnduroSat struct {
	// URL is the base URL, http://127.0.0.1:port with no trailing slash;
	// "http://127.0.0.1" until Start for a fake from
	// NewUnstartedEnduroSat.
	URL string

	// The state sits behind pointers, so that an EnduroSat printed or
	// logged by value, through any path that skips its Format method,
	// shows no credential or token.
	*fake
	*enduroSatState
}

// enduroSatState is what only the EnduroSat fake keeps.
type enduroSatState struct {
	clientID string

	// Guarded by fake.mu.
	passwords   map[string]string // username → password
	rotate      bool
	detectReuse bool // a rotated-out refresh token presented again revokes its family
	reuses      int  // rotated-out refresh tokens presented again
	revoked     int  // families revoked for a reuse
	rtLifetime  time.Duration
	refresh     map[string]*refreshToken
	sessionSeq  int
	sessionUser map[string]string // session → username
	deadSession map[string]bool
}

// A refreshToken is the fake's record of an issued refresh token.
type refreshToken struct {
	issued  time.Time
	session string
	dead    bool
	rotated bool // replaced by a new one when it was used
}

// NewEnduroSat starts and returns a new fake EnduroSat API on a loopback
// port that accepts the given credentials and issues 1-hour access tokens.
// The caller should call Close when finished, to shut it down.
func NewEnduroSat(clientID, username, password string) *EnduroSat {
	s := NewUnstartedEnduroSat(clientID, username, password)
	s.Start()
	return s
}

// NewUnstartedEnduroSat returns a new fake EnduroSat API, as NewEnduroSat
// does, but doesn't start it. After changing its configuration, the caller
// should call Start, and then Close when finished, to shut it down.
//
// Until Start, its URL is "http://127.0.0.1" and nothing listens there:
// reach the fake with InProcessClient (or Client) or ServeHTTP, which need
// no socket. That is the way to use it inside a testing/synctest bubble,
// where it is never started; Close is then not needed.
func NewUnstartedEnduroSat(clientID, username, password string) *EnduroSat {
	s := &EnduroSat{
		URL:  unstartedURL,
		fake: new(fake),
		enduroSatState: &enduroSatState{
			clientID:    clientID,
			passwords:   map[string]string{username: password},
			refresh:     make(map[string]*refreshToken),
			sessionUser: make(map[string]string),
			deadSession: make(map[string]bool),
		},
	}
	s.init(http.HandlerFunc(s.ServeHTTP), routes{
		token:    "/oauth2/token",
		revoke:   "/oauth2/revoke",
		resource: "/v1/satellites",
		listing:  map[string]any{"satellites": []any{}},
	}, "es", time.Hour)
	s.refreshOwner = s.refreshTokenOwner
	return s
}

// Start starts a fake from NewUnstartedEnduroSat: it listens on a loopback
// port and sets URL, and Client then returns a client for that socket. The
// configuration set before Start, and tokens issued through InProcessClient,
// carry over. The caller should call Close when finished. Start panics if
// the fake was already started. Unlike the other methods, it must not be
// called concurrently with any other use of the fake.
func (s *EnduroSat) Start() { s.URL = s.start("EnduroSat") }

// ResourceURL returns the URL of the protected resource,
// s.URL + "/v1/satellites".
func (s *EnduroSat) ResourceURL() string { return s.URL + s.routes.resource }

// AddUser adds an account that the password grant accepts, besides the one
// given to NewEnduroSat, so that a test can have two users of one client;
// for a username the fake knows already, it sets a new password. Tokens
// issued to a user are that user's: [EnduroSat.TokenOwner] tells whose a
// token is, and each user's id_token has the username as its sub.
func (s *EnduroSat) AddUser(username, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.passwords[username] = password
}

// SetRotateRefreshTokens makes each refresh return a new refresh token and
// invalidate the old one (on), or return no refresh token (off, the
// default).
func (s *EnduroSat) SetRotateRefreshTokens(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotate = on
}

// SetReuseDetection makes the fake treat a rotated-out refresh token that
// is presented again as stolen, as Ory Hydra and oidc-provider do (on): the
// request gets 400 invalid_grant and the token's whole family, every
// refresh and access token issued from the same login, is revoked. Off,
// the default, such a request only gets 400 invalid_grant. Either way
// RefreshTokenReuses counts it. It matters only with
// SetRotateRefreshTokens(true).
func (s *EnduroSat) SetReuseDetection(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.detectReuse = on
}

// RefreshTokenReuses returns how many refresh grants presented a refresh
// token that an earlier refresh had rotated out.
func (s *EnduroSat) RefreshTokenReuses() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reuses
}

// RevokedFamilies returns how many token families reuse detection revoked
// (see SetReuseDetection).
func (s *EnduroSat) RevokedFamilies() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revoked
}

// SetRefreshTokenLifetime makes refresh tokens die d after they were issued;
// a refresh with one then gets 400 invalid_grant. Zero, the default, means
// they never expire.
func (s *EnduroSat) SetRefreshTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rtLifetime = d
}

// RevokeAccessTokens makes every access token issued so far get 401 at the
// resource, as a vendor-side revocation of access tokens would. Refresh
// tokens keep working: a refresh, or a new login, gets an access token that
// the resource accepts.
func (s *EnduroSat) RevokeAccessTokens() { s.revokeAccess() }

// ExpireRefreshTokens makes every refresh token issued so far fail with 400
// invalid_grant.
func (s *EnduroSat) ExpireRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rt := range s.refresh {
		rt.dead = true
	}
}

// ServeHTTP serves the fake's endpoints and the handlers registered with
// Handle; other paths get 404.
func (s *EnduroSat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case s.routes.token:
		s.serveToken(w, r)
	case s.routes.revoke:
		s.serveRevoke(w, r)
	default:
		s.route(w, r)
	}
}

func (s *EnduroSat) serveToken(w http.ResponseWriter, r *http.Request) {
	if fault, faulted := s.begin(tokenEndpoint, r); faulted {
		serveFault(w, r, fault)
		return
	}
	if !wait(r, s.tokenLatency()) || !checkForm(w, r, "grant_type", "client_id") {
		return
	}
	if hasBasicAuth(r) || r.PostForm.Has("client_secret") {
		writeError(w, http.StatusBadRequest, "invalid_request", "public client: no client authentication allowed")
		return
	}
	grant := r.PostForm.Get("grant_type")
	if grant != "password" && grant != "refresh_token" {
		writeError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be password or refresh_token")
		return
	}
	required := []string{"username", "password"}
	if grant == "refresh_token" {
		required = []string{"refresh_token"}
	}
	if !checkForm(w, r, required...) {
		return
	}
	if r.PostForm.Get("client_id") != s.clientID {
		writeError(w, http.StatusUnauthorized, "invalid_client", "unknown client")
		return
	}
	status, body := s.grant(grant, r.PostForm)
	writeJSON(w, status, body)
}

// grant performs a password or refresh_token grant on a checked form and
// returns the response status and body.
func (s *EnduroSat) grant(grant string, form url.Values) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var session, newRT string
	if grant == "password" {
		user := form.Get("username")
		if pw, ok := s.passwords[user]; !ok || subtle.ConstantTimeCompare([]byte(form.Get("password")), []byte(pw)) != 1 {
			return http.StatusUnauthorized, errorBody("invalid_grant", "incorrect username or password")
		}
		s.sessionSeq++
		session = "session-" + strconv.Itoa(s.sessionSeq)
		s.sessionUser[session] = user
		newRT = s.issueRefresh(session, now)
	} else {
		rt := s.refresh[form.Get("refresh_token")]
		if rt != nil && rt.rotated {
			s.reuses++
			if s.detectReuse && !s.deadSession[rt.session] {
				s.revoked++
				s.endSession(rt.session)
			}
		}
		if rt == nil || rt.dead || s.deadSession[rt.session] || (s.rtLifetime > 0 && !now.Before(rt.issued.Add(s.rtLifetime))) {
			return http.StatusBadRequest, errorBody("invalid_grant", "refresh token is invalid or expired")
		}
		session = rt.session
		if s.rotate {
			rt.dead, rt.rotated = true, true
			newRT = s.issueRefresh(session, rt.issued)
		}
	}
	user := s.sessionUser[session]
	resp := s.issueAccess(user, session, now)
	resp["id_token"] = s.signJWT(map[string]any{
		"sub": user, "aud": s.clientID, "iat": now.Unix(), "exp": now.Add(s.lifetime).Unix(), "token_use": "id",
	})
	if newRT != "" {
		resp["refresh_token"] = newRT
	}
	return http.StatusOK, resp
}

// endSession revokes every refresh and access token issued from session.
// s.mu must be held.
func (s *EnduroSat) endSession(session string) {
	s.deadSession[session] = true
	for _, a := range s.access {
		if a.session == session {
			a.revoked = true
		}
	}
}

// refreshTokenOwner returns the username a refresh token was issued to, or
// "". s.mu must be held.
func (s *EnduroSat) refreshTokenOwner(token string) string {
	if rt := s.refresh[token]; rt != nil {
		return s.sessionUser[rt.session]
	}
	return ""
}

// issueRefresh mints a refresh token for session. A rotated token keeps
// the issue time of the login, so that the refresh-token lifetime counts
// from the login, as Cognito's does. s.mu must be held.
func (s *EnduroSat) issueRefresh(session string, issued time.Time) string {
	tok := randomToken("es-rt")
	s.refresh[tok] = &refreshToken{issued: issued, session: session}
	return tok
}

func (s *EnduroSat) serveRevoke(w http.ResponseWriter, r *http.Request) {
	if fault, faulted := s.begin(revokeEndpoint, r); faulted {
		serveFault(w, r, fault)
		return
	}
	if !checkForm(w, r, "client_id", "token") {
		return
	}
	if r.PostForm.Get("client_id") != s.clientID {
		writeError(w, http.StatusBadRequest, "invalid_client", "unknown client")
		return
	}
	s.mu.Lock()
	if rt := s.refresh[r.PostForm.Get("token")]; rt != nil {
		// Revoking a refresh token ends its session: every refresh and
		// access token issued from the same login.
		s.endSession(rt.session)
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent) // also for unknown tokens (RFC 7009)
}
