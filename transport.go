package vendoroauth

import (
	"context"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// Client returns an HTTP client that adds "Authorization: Bearer <token>"
// to each request for the vendor's API: the base URL's host and port, or a
// subdomain of it, over https (or http to a loopback host). Any other
// destination, a redirect's included, gets no Authorization header from it,
// and a 401 from there is returned as it is.
//
// When the API answers 401, the client forgets the token, fetches a new
// one and sends the request once more, if the request can be replayed (it
// has no body, or GetBody is set). A 401 with a token that itself replaced
// a refused one is returned without a new token request, unless the API
// accepted that token before and it is over a minute old: so a permanent
// 401 costs at most one token request per token, while a token revoked
// after it worked is replaced again. Other statuses, a 403 included, are
// returned as they are.
//
// ctx supplies values only: an [oauth2.HTTPClient] in it provides the base
// transport, redirect policy, cookie jar and timeout, as with
// [oauth2.NewClient]; without one, the source's own client does (the one
// given with [WithHTTPClient], or found in the constructor's context), so
// that a proxy, a private CA or a client certificate given once serves the
// API requests too. A source with neither sends them through
// [http.DefaultTransport] with no client timeout, so bound them with the
// request's context. After [TokenSource.Close], requests to the API fail
// with [ErrClosed]. The caller's requests are not modified.
func (s *TokenSource) Client(ctx context.Context) *http.Client {
	var base *http.Client
	if ctx != nil {
		base, _ = ctx.Value(oauth2.HTTPClient).(*http.Client)
	}
	if base == nil && s != nil && s.grant != nil {
		base = s.cfg.hc
	}
	c := &http.Client{}
	if base != nil {
		*c = *base
	}
	api := s.scope()
	c.Transport = &transport{src: s, api: api, host: api.host(), base: c.Transport}
	return c
}

// scope returns where s's tokens may be sent.
func (s *TokenSource) scope() apiScope {
	if s == nil || s.grant == nil {
		return apiScope{}
	}
	return s.cfg.apiScope()
}

// transport is the RoundTripper behind Client.
type transport struct {
	src  *TokenSource
	api  apiScope          // where src's tokens may go
	host string            // api.host(): the fast path of toAPI
	base http.RoundTripper // nil: http.DefaultTransport
}

// toAPI reports whether a request to u may carry the token. Most requests
// go to the API host itself over https, in the URL.Host form that host
// gives, which a string comparison settles; the others go through the
// scope's rules.
func (t *transport) toAPI(u *url.URL) bool {
	if u != nil && t.host != "" && u.Host == t.host && u.Scheme == "https" {
		return true
	}
	return t.api.covers(u)
}

// RoundTrip implements [http.RoundTripper].
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	src := t.src
	if src == nil || src.grant == nil {
		closeBody(req)
		return nil, errZeroSource // sent on without a token, a request would only meet a 401
	}
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	if !t.toAPI(req.URL) {
		return base.RoundTrip(req) // not the vendor's API: no token goes there
	}
	c, err := src.authorization(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	resp, err := base.RoundTrip(authorized(req, req.Body, src.header(c)))
	if err == nil && resp.StatusCode != http.StatusUnauthorized {
		src.budget.accepted(c)
	}
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !src.refuse(req.Context(), c) || !replayable {
		return resp, err // a request that cannot be replayed still drops the refused token
	}

	// The API refused the token: it may have been revoked or expired
	// early. Try once more with a new one.
	body := req.Body
	if req.GetBody != nil && body != nil && body != http.NoBody {
		if body, err = req.GetBody(); err != nil {
			return resp, nil // cannot replay; the 401 stands
		}
	}
	c2, err := src.authorization(req.Context())
	if err != nil || c2.tok.AccessToken == c.tok.AccessToken {
		if body != req.Body {
			body.Close()
		}
		return resp, nil // no new token (the same one, however re-read); the 401 stands
	}
	drain(resp)
	resp, err = base.RoundTrip(authorized(req, body, src.header(c2)))
	if err == nil && resp.StatusCode != http.StatusUnauthorized {
		src.budget.accepted(c2)
	}
	return resp, err
}

// authorization returns the snapshot whose token a request to the API
// carries, waiting no longer than ctx for it.
func (s *TokenSource) authorization(ctx context.Context) (*cachedToken, error) {
	c := s.cached()
	if c == nil {
		var err error
		if c, err = s.wait(ctx); err != nil {
			return nil, err
		}
	}
	s.budget.sending(c)
	return c, nil
}

// refuse handles a 401 for a request sent with snapshot c: it drops c's
// token if it is still the cached token (drop), so that many requests
// refused with one old token cause one fetch, not one each, and reports
// whether a new token is worth trying. It is not when c's token itself
// replaced a refused one and the API never accepted it, or accepted it less
// than replacementHoldDown ago: a token refused from the start points at
// the endpoint, not the token, so a permanent 401 costs at most one new
// token per token, while a token that worked and is then refused (revoked)
// is replaced again.
func (s *TokenSource) refuse(ctx context.Context, c *cachedToken) bool {
	if !s.budget.mayReplace(c.tok.AccessToken) {
		return false
	}
	s.budget.refused(c.tok.AccessToken)
	if s.drop(c) {
		if refused := s.cfg.ins.observer.Refused; refused != nil {
			refused(ctx, Refusal{Vendor: s.cfg.vendor.name})
		}
	}
	return true
}

// replacementHoldDown is how long a token that replaced a refused one is
// kept, refused or not, before a 401 may replace it in turn.
const replacementHoldDown = time.Minute

// budget is the 401 rule's state for one source: the token that replaced a
// refused one, and whether the API took it. Its hot path, a request with
// no refusal pending, is one atomic load.
type budget struct {
	cur atomic.Pointer[replacement] // the latest refusal and its replacement, or nil
}

// A replacement is a token sent after another was refused: until one is
// sent, token is "" and the refusal is pending.
type replacement struct {
	refused string        // the access token the API refused
	token   string        // the first other token sent after it; "" until then
	since   time.Duration // a monoNow reading: when token was first sent
	proven  atomic.Bool   // the API accepted token
}

// refused records that the API refused tok.
func (b *budget) refused(tok string) {
	b.cur.Store(&replacement{refused: tok})
}

// sending notes that a request goes out with c's token: the first other
// token after a refusal is its replacement.
func (b *budget) sending(c *cachedToken) {
	r := b.cur.Load()
	if r == nil || r.token != "" || c.tok.AccessToken == r.refused {
		return
	}
	b.cur.CompareAndSwap(r, &replacement{refused: r.refused, token: c.tok.AccessToken, since: monoNow()})
}

// accepted records that the API took c's token.
func (b *budget) accepted(c *cachedToken) {
	if r := b.cur.Load(); r != nil && r.token == c.tok.AccessToken && !r.proven.Load() {
		r.proven.Store(true)
	}
}

// mayReplace reports whether a 401 for tok may cost a new token.
func (b *budget) mayReplace(tok string) bool {
	r := b.cur.Load()
	return r == nil || r.token != tok || r.proven.Load() && monoNow()-r.since >= replacementHoldDown
}

// reset forgets the budget: Invalidate.
func (b *budget) reset() { b.cur.Store(nil) }

// authorized returns a shallow copy of req with body and the Authorization
// header authz, in a header map of its own: a RoundTripper must not modify
// the caller's request.
func authorized(req *http.Request, body io.ReadCloser, authz []string) *http.Request {
	r := new(http.Request)
	*r = *req
	r.Body = body
	// A clone copies the map's storage without hashing each key again;
	// the values are shared, which is safe as neither side modifies them.
	r.Header = maps.Clone(req.Header)
	if r.Header == nil {
		r.Header = make(http.Header, 1)
	}
	r.Header["Authorization"] = authz
	return r
}

// closeBody closes a request body we will not send; RoundTrip must close it.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// drain reads a little of a response we discard, so that its connection
// can be reused, and closes it.
func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrainBytes)
	resp.Body.Close()
}

// An apiScope is where a source's bearer token may go: the vendor API's
// host with its port, and its subdomains, over https, or http to loopback.
type apiScope struct {
	hostname string // lower case, no trailing dot
	port     string // explicit, or the scheme's default
}

// newAPIScope returns the scope of the API at base.
func newAPIScope(base *url.URL) apiScope {
	if base == nil {
		return apiScope{}
	}
	return apiScope{hostname: canonicalHost(base.Hostname()), port: portOf(base)}
}

// host returns the URL.Host of an https request to the scope's own host
// and port: the host name alone for port 443, or "" for no scope.
func (a apiScope) host() string {
	switch {
	case a.hostname == "":
		return ""
	case a.port == "443" && strings.Contains(a.hostname, ":"):
		return "[" + a.hostname + "]" // an IPv6 address, as url.Parse leaves it in Host
	case a.port == "443":
		return a.hostname
	}
	return net.JoinHostPort(a.hostname, a.port)
}

// covers reports whether a request to u may carry the token.
func (a apiScope) covers(u *url.URL) bool {
	if a.hostname == "" || u == nil {
		return false
	}
	host := canonicalHost(u.Hostname())
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(host):
	default:
		return false
	}
	if portOf(u) != a.port {
		return false
	}
	return host == a.hostname || strings.HasSuffix(host, "."+a.hostname) && net.ParseIP(a.hostname) == nil
}

// canonicalHost lower-cases a host name and drops a trailing dot.
func canonicalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// portOf returns u's port, or its scheme's default.
func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "http" {
		return "80"
	}
	return "443"
}
