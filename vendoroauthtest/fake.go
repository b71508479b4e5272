package vendoroauthtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"time"

	"golang.org/x/oauth2"
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

// fake is the state and behaviour both vendors' fakes share. EnduroSat and
// Formlabs embed it, so its exported methods are theirs. It must be set up
// with init before use.
type fake struct {
	// Set by init, then only read.
	handler      http.Handler              // the vendor's ServeHTTP
	refreshOwner func(token string) string // the owner of a refresh token; nil without them; called with mu held
	routes       routes                    // the fake's own paths
	prefix       string                    // token prefix, "es" or "fl"
	jwtKey       []byte                    // signs JWT access tokens and ID tokens

	// The handlers from Handle (handle.go). ServeMux is safe for
	// concurrent use; Handle registers with mu held.
	mux *http.ServeMux

	// Set once by start, before the fake is shared; nil until then.
	server *httptest.Server

	mu sync.Mutex // protects everything below

	// Token shaping, set by the knobs (knobs.go).
	lifetime      time.Duration
	omitExpiresIn bool
	jwt           bool
	tokenType     string
	latency       time.Duration
	clockOffset   time.Duration
	access        map[string]*accessToken // issued access tokens

	// What tests inspect (knobs.go).
	requests   [numEndpoints]int
	grants     map[string]int // token requests by grant_type
	lastForm   url.Values
	lastHeader http.Header
	lastRevoke url.Values

	// Scripted failures (fault.go).
	faults     [numEndpoints][]Fault
	downUntil  time.Time // token requests before it get downFault
	downFault  Fault
	rateLimit  int           // token requests allowed per ratePeriod; 0: unlimited
	ratePeriod time.Duration // the window of rateLimit
	rateStart  time.Time     // start of the current rate window
	rateCount  int           // token requests in the current window
}

// An accessToken is the fake's record of an issued access token.
type accessToken struct {
	expiry  time.Time
	session string // the login it descends from; "" for Formlabs
	owner   string // the username (EnduroSat) or client id (Formlabs) it was issued to
	revoked bool
}

// init sets up the shared part of a fake that serves h on its routes, with
// default knobs: tokens of the given lifetime and prefix, token_type Bearer.
func (s *fake) init(h http.Handler, rt routes, prefix string, lifetime time.Duration) {
	s.handler = h
	s.routes = rt
	s.mux = http.NewServeMux()
	s.prefix = prefix
	s.jwtKey = make([]byte, 32)
	_, _ = rand.Read(s.jwtKey)
	s.lifetime = lifetime
	s.tokenType = "Bearer"
	s.access = make(map[string]*accessToken)
	s.grants = make(map[string]int)
}

// start starts listening on loopback and returns the base URL. It panics
// if the fake was started before; vendor names it in the panic.
func (s *fake) start(vendor string) string {
	if s.server != nil {
		panic("vendoroauthtest: " + vendor + " already started")
	}
	s.server = httptest.NewServer(s.handler)
	return s.server.URL
}

// Client returns an HTTP client for the fake. Once the fake is started, it
// is the loopback server's client, as [httptest.Server.Client]; before
// Start, it is InProcessClient.
func (s *fake) Client() *http.Client {
	if s.server != nil {
		return s.server.Client()
	}
	return s.InProcessClient()
}

// InProcessClient returns an HTTP client whose transport calls the fake's
// ServeHTTP directly, with no socket, whatever the URL's host, started or
// not. It honours each request's context. Use it inside testing/synctest
// bubbles.
func (s *fake) InProcessClient() *http.Client {
	return newInProcessClient(s.handler)
}

// Context returns a context derived from ctx that carries the fake's
// Client as [oauth2.HTTPClient]: InProcessClient for an unstarted fake, the
// loopback server's client for a started one. The client is chosen when
// Context is called; the in-process one keeps reaching the fake after
// Start too.
//
// Code that takes its HTTP client from the context then reaches the fake,
// so a single
//
//	ctx = srv.Context(ctx)
//
// serves a vendoroauth token source given ctx, srv.URL as its base URL and
// no WithHTTPClient (its token requests), and that source's Client(ctx)
// (the API requests, to the fake's resource or to handlers from Handle),
// also inside a testing/synctest bubble. x/oauth2's [oauth2.NewClient] and
// [oauth2.Config] methods read ctx the same way.
func (s *fake) Context(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, s.Client())
}

// Close shuts a started fake down, blocking until all outstanding requests
// on its socket have completed. It does nothing for an unstarted fake or a
// second time. InProcessClient and ServeHTTP keep working after it.
func (s *fake) Close() {
	if s.server != nil {
		s.server.Close()
	}
}

// String returns the fake's type and URL only, so that printing one, by
// value or by pointer, never shows the credentials it accepts or the
// tokens it issued.
func (s EnduroSat) String() string { return "vendoroauthtest.EnduroSat{URL: " + s.URL + "}" }

// Format prints s.String() for every verb.
func (s EnduroSat) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// LogValue implements [slog.LogValuer]: a logged fake shows s.String().
func (s EnduroSat) LogValue() slog.Value { return slog.StringValue(s.String()) }

// String returns the fake's type and URL only, so that printing one, by
// value or by pointer, never shows the credentials it accepts or the
// tokens it issued.
func (s Formlabs) String() string { return "vendoroauthtest.Formlabs{URL: " + s.URL + "}" }

// Format prints s.String() for every verb.
func (s Formlabs) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// LogValue implements [slog.LogValuer]: a logged fake shows s.String().
func (s Formlabs) LogValue() slog.Value { return slog.StringValue(s.String()) }

// TokenOwner returns whom the fake issued token to: the username (for an
// EnduroSat access or refresh token) or the client id (for a Formlabs
// access token); "" for a token the fake did not issue. A revoked or
// expired token keeps its owner. Tests use it to check that a token source
// only ever presents its own user's tokens.
func (s *fake) TokenOwner(token string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.access[token]; a != nil {
		return a.owner
	}
	if s.refreshOwner != nil {
		return s.refreshOwner(token)
	}
	return ""
}
