package vendoroauth

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// An Option configures a token source, a revoker or a Config; each With
// function says which it applies to. Options are applied in order, so the
// last of two that set the same thing wins. A nil Option is ignored.
type Option func(*settings)

// settings is what the options set, before validation.
type settings struct {
	baseURL      string
	baseURLSet   bool
	hc           *http.Client
	token        *oauth2.Token
	earlyRefresh time.Duration
	earlySet     bool
	logger       *slog.Logger
	store        TokenStore
	observer     Observer
}

// WithBaseURL returns an [Option] that sends requests to rawURL instead of
// the vendor's base URL: a staging host, a proxy, or a fake from
// vendoroauthtest. The vendor's paths are kept and appended to rawURL's path,
// so "https://proxy.example/es" sends EnduroSat token requests to
// "https://proxy.example/es/oauth2/token".
//
// rawURL must be an absolute https URL with no user info, query or fragment;
// http is accepted only for a loopback host (localhost, 127.0.0.0/8, ::1).
// Otherwise the first Token or Revoke call returns an error matching
// [ErrInvalidConfig]. An empty rawURL means the default, the vendor's base
// URL, so that WithBaseURL(os.Getenv("VENDOR_URL")) works where the
// variable is unset.
//
// Used by: token sources, revokers and Configs.
func WithBaseURL(rawURL string) Option {
	return func(s *settings) { s.baseURL, s.baseURLSet = rawURL, true }
}

// WithHTTPClient returns an [Option] that makes token and revoke requests
// with c, and makes [TokenSource.Client] send API requests through c's
// transport, redirect policy, cookie jar and timeout when its context
// carries no [oauth2.HTTPClient]: give a proxy, a private CA or a client
// certificate once. The client is not modified: token and revoke requests
// refuse redirects on a shallow copy made for each request, since
// credentials travel in request bodies. Like any [http.Client] in use, and
// like the client x/oauth2 takes from a context, c must not be changed once
// given. A nil c means the default: the [oauth2.HTTPClient] in the
// constructor's context if there is one, else one transport, a clone of
// [http.DefaultTransport], that all sources and revokers given no client
// share, with no client timeout. Whatever the client, each token or revoke
// attempt is bounded by 30 seconds and a fetch by 2 minutes.
//
// Used by: token sources (their token requests and Client) and revokers.
func WithHTTPClient(c *http.Client) Option {
	return func(s *settings) { s.hc = c }
}

// WithToken returns an [Option] that starts a token source from t, a token
// obtained earlier (say, saved before a restart), so that no request is made
// while it is valid. An EnduroSat source also takes t's refresh token. A
// zero t.Expiry means the access token never expires, as in x/oauth2. A nil
// t, or one with no access token and no refresh token, is ignored. The
// source keeps its own copy.
//
// Used by: token sources.
func WithToken(t *oauth2.Token) Option {
	return func(s *settings) {
		if t == nil {
			s.token = nil
			return
		}
		cp := *t
		s.token = &cp
	}
}

// WithEarlyRefresh returns an [Option] that sets how long before expiry a
// [TokenSource] starts one background refresh; callers keep getting the
// current token meanwhile. d must be positive, or the first Token call
// returns an error matching [ErrInvalidConfig]. The window is capped at half
// of each token's lifetime, so that a short-lived token is not refreshed on
// every call.
//
// Default: the smaller of 5 minutes and a fifth of the token's lifetime.
//
// Used by: token sources.
func WithEarlyRefresh(d time.Duration) Option {
	return func(s *settings) { s.earlyRefresh, s.earlySet = d, true }
}

// WithLogger returns an [Option] that reports fetches and refreshes
// (Debug), retries, background failures and store failures (Warn), and
// failed fetches and revocations (Error) to l, with the keys vendor, grant,
// op, attempt, status, wait, background, expires_in and err. No secret is
// ever logged. A nil l means no logging, the default.
//
// Used by: token sources and revokers.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) { s.logger = l }
}

// config is what a source or a revoker keeps of its options, validated. It
// is made once, by newConfig, and only read afterwards; a source and its
// grant share it. Every idle source holds one, so it is small: the URLs
// and the API scope are derived from base when needed.
type config struct {
	vendor *vendorInfo
	base   string        // the base URL, as joinPath spells it, no trailing slash; "" when WithBaseURL's is not valid
	hc     *http.Client  // the caller's or the context's client, used through client; nil: the shared default
	early  time.Duration // the early-refresh window; 0: the default rule
	ins    *instruments  // the logger and observer; never nil
	err    error         // the first problem found; reported by the first call
}

// vendorInfo is what differs between the two vendors' endpoints.
type vendorInfo struct {
	name       string // for errors and logs
	baseURL    string
	tokenPath  string
	revokePath string
}

// newConfig applies opts and validates the result; it returns the config
// and the settings, whose token and store the constructors read. ctx
// supplies an oauth2.HTTPClient when the caller gave no client; it may be
// nil. The constructors check their own arguments with require before
// anything else sees the config.
func newConfig(ctx context.Context, v *vendorInfo, opts []Option) (*config, settings) {
	var s settings
	for _, o := range opts {
		if o != nil {
			o(&s)
		}
	}
	c := &config{vendor: v, base: v.baseURL, ins: noInstruments, hc: s.hc}
	if o := s.observer; s.logger != nil || o.Attach != nil || o.FetchStart != nil || o.FetchDone != nil || o.Refused != nil {
		c.ins = &instruments{logger: cmp.Or(s.logger, discardLogger), observer: o}
	}
	if s.baseURLSet && s.baseURL != "" {
		if u, problem := parseBaseURL(s.baseURL); problem != "" {
			c.base = ""
			c.err = errorf(v.name, ErrInvalidConfig, "base URL: %s", problem)
		} else {
			// The caller's own string when it is spelled as joinPath would
			// spell it, so that an idle source keeps no copy of it
			// (BenchmarkIdleSourceHeap).
			c.base = joinPath(u, "")
			if raw := strings.TrimRight(s.baseURL, "/"); raw == c.base {
				c.base = raw
			}
		}
	}
	if s.earlySet {
		if s.earlyRefresh <= 0 && c.err == nil {
			c.err = errorf(v.name, ErrInvalidConfig, "early refresh %v is not positive", s.earlyRefresh)
		}
		c.early = s.earlyRefresh
	}
	if c.hc == nil && ctx != nil {
		c.hc, _ = ctx.Value(oauth2.HTTPClient).(*http.Client)
	}
	return c, s
}

// require records, unless c has a problem already, an ErrInvalidConfig
// error naming the first empty value among name/value pairs.
func (c *config) require(pairs ...string) {
	for i := 0; i+1 < len(pairs) && c.err == nil; i += 2 {
		if pairs[i+1] == "" {
			c.err = errorf(c.vendor.name, ErrInvalidConfig, "%s is empty", pairs[i])
		}
	}
}

// logger returns the logger to report to.
func (c *config) logger() *slog.Logger { return c.ins.logger }

// tokenURL returns the vendor's token endpoint under c's base URL, or ""
// when the base URL is not valid.
func (c *config) tokenURL() string { return c.endpointURL(c.vendor.tokenPath) }

// revokeURL returns the vendor's revocation endpoint under c's base URL,
// or "" when the base URL is not valid.
func (c *config) revokeURL() string { return c.endpointURL(c.vendor.revokePath) }

// endpointURL returns path under c's base URL, or "" when the base URL is
// not valid. path is plain ASCII that needs no escaping, so appending it to
// the spelled-out base is what joinPath would give.
func (c *config) endpointURL(path string) string {
	if c.base == "" {
		return ""
	}
	return c.base + path
}

// apiScope returns where c's tokens may be sent: the host of c's base URL,
// or nowhere when it is not valid.
func (c *config) apiScope() apiScope {
	if c.base == "" {
		return apiScope{}
	}
	u, err := url.Parse(c.base)
	if err != nil {
		return apiScope{}
	}
	return newAPIScope(u)
}

// client returns the client for token and revoke requests: the caller's,
// then the context's, then the shared default. It never follows a
// redirect, since credentials travel in request bodies: the caller's
// client is not modified, and a shallow copy of it, made per request,
// refuses them.
func (c *config) client() *http.Client {
	if c.hc == nil {
		return defaultClient()
	}
	cp := *c.hc
	cp.CheckRedirect = noRedirect
	return &cp
}

// discardLogger is the logger of every source and revoker given none. It
// is never changed.
var discardLogger = slog.New(slog.DiscardHandler)

// defaultClient is the client of every source and revoker given none: one
// transport for all of them, so that a closed source leaves no connection
// or goroutine of its own and a new one reuses a warm connection. It is a
// clone of [http.DefaultTransport], made on first use and never changed,
// and it does not follow redirects. It has no Timeout: every attempt has a
// deadline of its own (withRetries), and a second one here would cost each
// request another timer and context.
var defaultClient = sync.OnceValue(func() *http.Client {
	var rt http.RoundTripper = http.DefaultTransport
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		rt = t.Clone()
	}
	return &http.Client{Transport: rt, CheckRedirect: noRedirect}
})

// parseBaseURL checks a base URL: absolute, https (or http to loopback),
// with a host and no user info, query or fragment. problem says what is
// wrong, without echoing the URL, which might hold a secret; "" when
// nothing is.
func parseBaseURL(raw string) (u *url.URL, problem string) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "not a URL"
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Sprintf("scheme must be https, not %q", cleanText(u.Scheme))
	case u.Host == "" || u.Hostname() == "":
		return nil, "no host"
	case u.User != nil:
		return nil, "user info is not allowed"
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, "query and fragment are not allowed"
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return nil, fmt.Sprintf("plain http is allowed only to a loopback host, not %q", cleanText(u.Hostname()))
	}
	return u, ""
}

// isLoopback reports whether host is localhost or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// joinPath appends a vendor path to the base URL's path.
func joinPath(base *url.URL, p string) string {
	u := *base
	u.Path = strings.TrimRight(u.Path, "/") + p
	u.RawPath = ""
	return u.String()
}
