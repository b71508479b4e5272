package vendoroauthtest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// unstartedURL is the URL of a fake that does not listen. Only
// InProcessClient and ServeHTTP reach it; any host would do.
const unstartedURL = "http://127.0.0.1"

// An endpoint is one of the three things a fake serves.
type endpoint int

const (
	tokenEndpoint endpoint = iota
	revokeEndpoint
	resourceEndpoint
	numEndpoints
)

// fake is the state and behaviour both vendors' fakes share. Its exported
// methods are promoted to EnduroSat and Formlabs.
type fake struct {
	server  *httptest.Server // nil when unstarted
	handler http.Handler     // the vendor's ServeHTTP
	prefix  string           // token prefix, "es" or "fl"
	jwtKey  []byte           // signs JWT access tokens

	mu            sync.Mutex // protects everything below
	lifetime      time.Duration
	omitExpiresIn bool
	jwt           bool
	tokenType     string
	latency       time.Duration
	access        map[string]*accessToken // issued access tokens
	faults        [numEndpoints][]Fault
	requests      [numEndpoints]int
	grants        map[string]int
	lastForm      url.Values
	lastHeader    http.Header
	lastRevoke    url.Values
	clockOffset   time.Duration
	downUntil     time.Time // token requests before it get downFault
	downFault     Fault
	rateLimit     int           // token requests allowed per ratePeriod; 0: unlimited
	ratePeriod    time.Duration // the window of rateLimit
	rateStart     time.Time     // start of the current rate window
	rateCount     int           // token requests in the current window
}

// An accessToken is the fake's record of an issued access token.
type accessToken struct {
	expiry  time.Time
	session string // the login it descends from; "" for Formlabs
	revoked bool
}

// newFake returns the shared part of a fake with default knobs.
func newFake(prefix string, lifetime time.Duration) *fake {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &fake{
		prefix:    prefix,
		jwtKey:    key,
		lifetime:  lifetime,
		tokenType: "Bearer",
		access:    make(map[string]*accessToken),
		grants:    make(map[string]int),
	}
}

// start starts listening on loopback and returns the base URL.
func (f *fake) start() string {
	f.server = httptest.NewServer(f.handler)
	return f.server.URL
}

// Client returns an HTTP client for the fake: the listening server's client
// when started, otherwise InProcessClient.
func (f *fake) Client() *http.Client {
	if f.server != nil {
		return f.server.Client()
	}
	return f.InProcessClient()
}

// InProcessClient returns an HTTP client whose transport calls the fake's
// ServeHTTP directly, with no socket, whatever the URL's host. It honours
// each request's context. Use it inside testing/synctest bubbles.
func (f *fake) InProcessClient() *http.Client {
	return newInProcessClient(f.handler)
}

// Close shuts a started fake down, blocking until all outstanding requests
// on it have completed. It does nothing for an unstarted fake or a second
// time.
func (f *fake) Close() {
	if f.server != nil {
		f.server.Close()
	}
}

// SetTokenLifetime sets the lifetime of access tokens issued from now on,
// which expires_in reports in whole seconds.
func (f *fake) SetTokenLifetime(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lifetime = d
}

// SetOmitExpiresIn makes token responses leave out expires_in (on) or
// include it (off, the default).
func (f *fake) SetOmitExpiresIn(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.omitExpiresIn = on
}

// SetJWTAccessTokens makes the fake issue access tokens that are HS256 JWTs
// with exp, iat, sub and jti claims (on), or opaque strings (off, the
// default).
func (f *fake) SetJWTAccessTokens(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.jwt = on
}

// SetTokenType sets the token_type of token responses; the default is
// "Bearer". The resource accepts the bearer scheme in any case regardless.
func (f *fake) SetTokenType(t string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenType = t
}

// SetLatency makes every token request wait d before it is answered; a
// request whose context ends first gets no answer. The default is 0.
func (f *fake) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// SetClockOffset makes the fake's clock run d ahead of (or, negative,
// behind) time.Now, as after a jump of the vendor's wall clock. Tokens are
// issued and checked by the fake's clock, so a jump forward after a token
// was issued makes it expire early at the resource.
func (f *fake) SetClockOffset(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clockOffset = d
}

// now returns the fake's clock. f.mu must be held.
func (f *fake) now() time.Time { return time.Now().Add(f.clockOffset) }

// FailTokenUntil makes every token request get fault until t (by
// time.Now): a vendor outage. It replaces an earlier outage; a t in the past
// ends it. Queued faults (FailToken) are served first.
func (f *fake) FailTokenUntil(t time.Time, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.downUntil, f.downFault = t, fault
}

// SetRateLimit allows n token requests per period; beyond that, requests
// get 429 with a Retry-After of the seconds left in the period, as
// Formlabs' limit of 1,500 per hour does. Zero n, the default, means no
// limit. Rejected requests count towards the limit's window too.
func (f *fake) SetRateLimit(n int, period time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rateLimit, f.ratePeriod, f.rateStart, f.rateCount = n, period, time.Time{}, 0
}

// RevokeAccessTokens makes every access token issued so far fail at the
// resource, as a vendor-side revocation would. Refresh tokens keep working.
func (f *fake) RevokeAccessTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.access {
		a.revoked = true
	}
}

// FailToken makes the next n token requests get fault instead of normal
// handling. Calling it again queues more faults behind those.
func (f *fake) FailToken(n int, fault Fault) { f.queue(tokenEndpoint, n, fault) }

// FailRevoke is FailToken for the revocation endpoint.
func (f *fake) FailRevoke(n int, fault Fault) { f.queue(revokeEndpoint, n, fault) }

// FailResource is FailToken for the protected resource.
func (f *fake) FailResource(n int, fault Fault) { f.queue(resourceEndpoint, n, fault) }

func (f *fake) queue(ep endpoint, n int, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.faults[ep] = append(f.faults[ep], fault)
	}
}

// TokenRequests returns how many requests reached the token endpoint,
// faulted and rejected ones included.
func (f *fake) TokenRequests() int { return f.count(tokenEndpoint) }

// RevokeRequests returns how many requests reached the revocation endpoint.
func (f *fake) RevokeRequests() int { return f.count(revokeEndpoint) }

// ResourceRequests returns how many requests reached the protected resource.
func (f *fake) ResourceRequests() int { return f.count(resourceEndpoint) }

func (f *fake) count(ep endpoint) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[ep]
}

// TokenRequestsByGrant returns how many token requests had the form field
// grant_type set to grantType, faulted and rejected ones included.
func (f *fake) TokenRequestsByGrant(grantType string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.grants[grantType]
}

// LastTokenForm returns a copy of the form of the last token request, or nil
// if there was none.
func (f *fake) LastTokenForm() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return cloneValues(f.lastForm)
}

// LastTokenHeader returns a copy of the headers of the last token request,
// or nil if there was none.
func (f *fake) LastTokenHeader() http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastHeader.Clone()
}

// LastRevokeForm returns a copy of the form of the last revocation request,
// or nil if there was none.
func (f *fake) LastRevokeForm() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return cloneValues(f.lastRevoke)
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	return url.Values(http.Header(v).Clone())
}

// begin counts a request to ep, records what tests inspect, and pops the
// next fault for ep. It parses the form of token and revoke requests.
func (f *fake) begin(ep endpoint, r *http.Request) (Fault, bool) {
	if ep != resourceEndpoint && isForm(r) {
		_ = r.ParseForm()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests[ep]++
	switch ep {
	case tokenEndpoint:
		if g := r.PostForm.Get("grant_type"); g != "" {
			f.grants[g]++
		}
		f.lastForm = cloneValues(r.PostForm)
		f.lastHeader = r.Header.Clone()
	case revokeEndpoint:
		f.lastRevoke = cloneValues(r.PostForm)
	}
	if len(f.faults[ep]) > 0 {
		fault := f.faults[ep][0]
		f.faults[ep] = f.faults[ep][1:]
		return fault, true
	}
	if ep != tokenEndpoint {
		return Fault{}, false
	}
	now := time.Now()
	if now.Before(f.downUntil) {
		return f.downFault, true
	}
	if f.rateLimit > 0 {
		if f.rateStart.IsZero() || !now.Before(f.rateStart.Add(f.ratePeriod)) {
			f.rateStart, f.rateCount = now, 0
		}
		f.rateCount++
		if f.rateCount > f.rateLimit {
			left := f.rateStart.Add(f.ratePeriod).Sub(now)
			return Fault{Status: http.StatusTooManyRequests, RetryAfter: strconv.Itoa(int((left + time.Second - 1) / time.Second))}, true
		}
	}
	return Fault{}, false
}

// isForm reports whether r carries an application/x-www-form-urlencoded
// body.
func isForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// checkForm enforces what both vendors require of token and revoke
// requests: POST, each field at most once and the required fields present,
// in a form body if any field is required. It writes the error and returns
// false on a violation.
func checkForm(w http.ResponseWriter, r *http.Request, required ...string) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "method must be POST")
		return false
	}
	if !isForm(r) && len(required) > 0 {
		writeError(w, http.StatusBadRequest, "invalid_request", "content type must be application/x-www-form-urlencoded")
		return false
	}
	for k, vs := range r.PostForm {
		if len(vs) > 1 {
			writeError(w, http.StatusBadRequest, "invalid_request", "parameter "+k+" repeated")
			return false
		}
	}
	for _, k := range required {
		if r.PostForm.Get(k) == "" {
			writeError(w, http.StatusBadRequest, "invalid_request", "missing parameter "+k)
			return false
		}
	}
	return true
}

// writeJSON writes v as a JSON response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// errorBody returns an RFC 6749 error object. desc must not hold a secret.
func errorBody(code, desc string) map[string]string {
	body := map[string]string{"error": code}
	if desc != "" {
		body["error_description"] = desc
	}
	return body
}

// writeError writes an RFC 6749 error response. desc must not hold a
// secret.
func writeError(w http.ResponseWriter, status int, code, desc string) {
	body := errorBody(code, desc)
	if status == http.StatusUnauthorized && code == "invalid_token" {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	writeJSON(w, status, body)
}

// randomToken returns a fresh opaque token with a readable prefix.
func randomToken(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return prefix + "-" + base64.RawURLEncoding.EncodeToString(b)
}

// issueAccess mints and records an access token for session, and returns
// the token response fields it shares with every grant. f.mu must be held.
func (f *fake) issueAccess(subject, session string, now time.Time) map[string]any {
	var tok string
	if f.jwt {
		tok = f.signJWT(map[string]any{
			"sub": subject,
			"iat": now.Unix(),
			"exp": now.Add(f.lifetime).Unix(),
			"jti": randomToken("jti"),
		})
	} else {
		tok = randomToken(f.prefix + "-at")
	}
	f.access[tok] = &accessToken{expiry: now.Add(f.lifetime), session: session}
	resp := map[string]any{"access_token": tok, "token_type": f.tokenType}
	if !f.omitExpiresIn {
		resp["expires_in"] = int64(f.lifetime / time.Second)
	}
	return resp
}

// signJWT returns an HS256 JWT with claims.
func (f *fake) signJWT(claims map[string]any) string {
	enc := base64.RawURLEncoding
	payload, _ := json.Marshal(claims)
	unsigned := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, f.jwtKey)
	mac.Write([]byte(unsigned))
	return unsigned + "." + enc.EncodeToString(mac.Sum(nil))
}

// tokenLatency returns the configured token latency.
func (f *fake) tokenLatency() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latency
}

// serveResource answers the protected resource: ok with a valid bearer
// token, 401 otherwise.
func (f *fake) serveResource(w http.ResponseWriter, r *http.Request, ok any) {
	if fault, faulted := f.begin(resourceEndpoint, r); faulted {
		if fault.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		}
		serveFault(w, r, fault)
		return
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		writeError(w, http.StatusUnauthorized, "invalid_token", "missing bearer token")
		return
	}
	f.mu.Lock()
	a := f.access[strings.TrimSpace(tok)]
	valid := a != nil && !a.revoked && f.now().Before(a.expiry)
	f.mu.Unlock()
	if !valid {
		writeError(w, http.StatusUnauthorized, "invalid_token", "the access token is invalid, expired or revoked")
		return
	}
	writeJSON(w, http.StatusOK, ok)
}

// hasBasicAuth reports whether r carries HTTP Basic credentials, which
// neither vendor accepts on its token endpoint.
func hasBasicAuth(r *http.Request) bool {
	_, _, ok := r.BasicAuth()
	return ok
}

// Format prints a fake as its type and URL only, for every verb, so that
// printing one never shows the credentials it accepts.
func (s *EnduroSat) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "vendoroauthtest.EnduroSat{URL: %s}", s.URL)
}

// Format prints a fake as its type and URL only, for every verb, so that
// printing one never shows the credentials it accepts.
func (s *Formlabs) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "vendoroauthtest.Formlabs{URL: %s}", s.URL)
}
