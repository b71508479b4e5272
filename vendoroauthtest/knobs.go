package vendoroauthtest

import (
	"net/http"
	"net/url"
	"time"
)

// The knobs both fakes share: how tokens are shaped, and what tests read
// back (counters and the last requests). Each takes effect for requests
// that arrive after it returns; all are safe to call while requests run.
// Scripted failures are in fault.go.

// SetTokenLifetime sets the lifetime of access tokens issued from now on,
// which expires_in reports in whole seconds.
func (s *fake) SetTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lifetime = d
}

// SetOmitExpiresIn makes token responses leave out expires_in (on) or
// include it (off, the default).
func (s *fake) SetOmitExpiresIn(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.omitExpiresIn = on
}

// SetJWTAccessTokens makes the fake issue access tokens that are HS256 JWTs
// with exp, iat, sub and jti claims (on), or opaque strings (off, the
// default).
func (s *fake) SetJWTAccessTokens(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jwt = on
}

// SetTokenType sets the token_type of token responses; the default is
// "Bearer". The resource accepts the bearer scheme in any case regardless.
func (s *fake) SetTokenType(t string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenType = t
}

// SetLatency makes every token request wait d before it is answered; a
// request whose context ends first gets no answer. The default is 0.
func (s *fake) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// tokenLatency returns the latency set by SetLatency.
func (s *fake) tokenLatency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latency
}

// SetClockOffset makes the fake's clock run d ahead of (or, negative,
// behind) time.Now, as after a jump of the vendor's wall clock. Tokens are
// issued and checked by the fake's clock, so a jump forward after a token
// was issued makes it expire early at the resource.
func (s *fake) SetClockOffset(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clockOffset = d
}

// now returns the fake's clock. s.mu must be held.
func (s *fake) now() time.Time { return time.Now().Add(s.clockOffset) }

// revokeAccess makes every access token issued so far fail at the
// resource; the vendors' RevokeAccessTokens.
func (s *fake) revokeAccess() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.access {
		a.revoked = true
	}
}

// TokenRequests returns how many requests reached the token endpoint,
// faulted and rejected ones included.
func (s *fake) TokenRequests() int { return s.count(tokenEndpoint) }

// RevokeRequests returns how many requests reached the revocation endpoint,
// faulted and rejected ones included.
func (s *fake) RevokeRequests() int { return s.count(revokeEndpoint) }

// ResourceRequests returns how many requests reached the protected
// resource, faulted and rejected ones included.
func (s *fake) ResourceRequests() int { return s.count(resourceEndpoint) }

func (s *fake) count(ep endpoint) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[ep]
}

// TokenRequestsByGrant returns how many token requests had the form field
// grant_type set to grantType, faulted and rejected ones included.
func (s *fake) TokenRequestsByGrant(grantType string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grants[grantType]
}

// LastTokenForm returns a copy of the form of the last token request,
// faulted and rejected ones included, or nil if there was none.
func (s *fake) LastTokenForm() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneValues(s.lastForm)
}

// LastTokenHeader returns a copy of the headers of the last token request,
// faulted and rejected ones included, or nil if there was none.
func (s *fake) LastTokenHeader() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastHeader.Clone()
}

// LastRevokeForm returns a copy of the form of the last revocation request,
// faulted and rejected ones included, or nil if there was none.
func (s *fake) LastRevokeForm() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneValues(s.lastRevoke)
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	return url.Values(http.Header(v).Clone())
}

// begin starts every request to ep: it counts the request, records what
// the Last methods return, and pops the fault, if any, that the request
// gets instead of normal handling. It parses the form of token and revoke
// requests.
func (s *fake) begin(ep endpoint, r *http.Request) (Fault, bool) {
	if ep != resourceEndpoint && isForm(r) {
		_ = r.ParseForm()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[ep]++
	switch ep {
	case tokenEndpoint:
		if g := r.PostForm.Get("grant_type"); g != "" {
			s.grants[g]++
		}
		s.lastForm = cloneValues(r.PostForm)
		s.lastHeader = r.Header.Clone()
	case revokeEndpoint:
		s.lastRevoke = cloneValues(r.PostForm)
	}
	return s.nextFault(ep, time.Now())
}
