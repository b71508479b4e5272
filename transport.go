package vendoroauth

import (
	"context"
	"io"
	"net/http"

	"golang.org/x/oauth2"
)

// Client returns an HTTP client that adds "Authorization: Bearer <token>"
// to each request, whatever case the vendor gave token_type in. When the
// resource server answers 401, it forgets the token, fetches a new one and
// sends the request once more, if the request can be replayed (it has no
// body, or GetBody is set); a second 401 is returned to the caller. Other
// statuses, a 403 included, are returned as they are.
//
// ctx supplies values only: an [oauth2.HTTPClient] in it provides the base
// transport, redirect policy, cookie jar and timeout, as with
// [oauth2.NewClient]; otherwise requests go through
// [http.DefaultTransport] with no client timeout, so bound them with the
// request's context. After [TokenSource.Close], requests fail with
// [ErrClosed]. The caller's requests are not modified.
func (s *TokenSource) Client(ctx context.Context) *http.Client {
	var base *http.Client
	if ctx != nil {
		base, _ = ctx.Value(oauth2.HTTPClient).(*http.Client)
	}
	c := &http.Client{}
	if base != nil {
		*c = *base
	}
	c.Transport = &transport{src: s, base: c.Transport}
	return c
}

// transport is the RoundTripper behind Client.
type transport struct {
	src  *TokenSource
	base http.RoundTripper // nil: http.DefaultTransport
}

// RoundTrip implements [http.RoundTripper].
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	tok, err := t.src.TokenContext(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	resp, err := base.RoundTrip(authorized(req, tok))
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !replayable {
		return resp, err
	}

	// The resource server refused the token: it may have been revoked or
	// expired early. Try once more with a new one.
	t.src.invalidateToken(tok)
	retry := req.Clone(req.Context())
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			return resp, nil // cannot replay; the 401 stands
		}
		retry.Body = body
	}
	tok2, err := t.src.TokenContext(req.Context())
	if err != nil {
		closeBody(retry)
		return resp, nil // no new token; the 401 stands
	}
	drain(resp)
	return base.RoundTrip(authorized(retry, tok2))
}

// authorized returns a clone of req with tok's Authorization header.
func authorized(req *http.Request, tok *oauth2.Token) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", tok.Type()+" "+tok.AccessToken)
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
