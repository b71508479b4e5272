package vendoroauth

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// A Revoker revokes tokens at a vendor's revocation endpoint (RFC 7009).
// Implementations are safe for concurrent use by multiple goroutines.
type Revoker interface {
	// Revoke revokes token. It returns nil when the vendor answered 2xx,
	// which it also does for a token that was already invalid. Otherwise
	// it returns a [*RevokeError], a network error, or ctx's error.
	Revoke(ctx context.Context, token string) error
}

// A RevokeError is a revocation the vendor refused: any status other than
// 2xx. Use [errors.As] to reach it; errors.Is(err, [ErrInvalidCredentials])
// reports whether the vendor rejected the client credentials.
type RevokeError struct {
	StatusCode       int    // the HTTP status, such as 400 or 401
	ErrorCode        string // RFC 6749 "error", when the body had one
	ErrorDescription string // RFC 6749 "error_description", when present
	Body             []byte // the response body, at most 1 MiB, with known secrets redacted

	op         string        // "formlabs revoke"
	retryAfter time.Duration // the vendor's Retry-After, 0 if none
}

// Error returns the vendor, the status and the RFC 6749 error, never the
// body.
func (e *RevokeError) Error() string {
	op := e.op
	if op == "" {
		op = "revoke"
	}
	s := fmt.Sprintf("vendoroauth: %s: %d %s", op, e.StatusCode, http.StatusText(e.StatusCode))
	if e.ErrorCode != "" {
		s += ": " + e.ErrorCode
		if e.ErrorDescription != "" {
			s += " (" + e.ErrorDescription + ")"
		}
	}
	return s
}

// Is reports whether target is [ErrInvalidCredentials] and the vendor
// rejected the client: a 401, or an invalid_client or unauthorized_client
// error code.
func (e *RevokeError) Is(target error) bool {
	if target != ErrInvalidCredentials {
		return false
	}
	return e.StatusCode == http.StatusUnauthorized || e.ErrorCode == "invalid_client" || e.ErrorCode == "unauthorized_client"
}

// EnduroSatRevoker returns a [Revoker] for EnduroSat refresh tokens: a POST
// of client_id and token to /oauth2/revoke, which answers 204. Revoking a
// refresh token also ends the access tokens issued from it. Options:
// [WithBaseURL], [WithHTTPClient], [WithLogger]. An empty clientID or
// unusable option makes Revoke return an error matching [ErrInvalidConfig].
func EnduroSatRevoker(clientID string, opts ...Option) Revoker {
	cfg := newConfig(context.Background(), enduroSat, opts)
	if cfg.err == nil {
		cfg.err = requireFields("endurosat", "client id", clientID)
	}
	return enduroSatRevoker(cfg, clientID)
}

// FormlabsRevoker returns a [Revoker] for Formlabs access tokens: a POST of
// token, client_id and client_secret to /developer/v1/o/revoke_token/, which
// answers 200. Options: [WithBaseURL], [WithHTTPClient], [WithLogger]. An
// empty clientID or clientSecret, or an unusable option, makes Revoke return
// an error matching [ErrInvalidConfig].
func FormlabsRevoker(clientID, clientSecret string, opts ...Option) Revoker {
	cfg := newConfig(context.Background(), formlabs, opts)
	if cfg.err == nil {
		cfg.err = requireFields("formlabs", "client id", clientID, "client secret", clientSecret)
	}
	return formlabsRevoker(cfg, clientID, clientSecret)
}

func enduroSatRevoker(cfg *config, clientID string) *revoker {
	return &revoker{cfg: cfg, op: "endurosat revoke", form: func(token string) url.Values {
		return url.Values{"client_id": {clientID}, "token": {token}}
	}}
}

func formlabsRevoker(cfg *config, clientID, clientSecret string) *revoker {
	return &revoker{cfg: cfg, op: "formlabs revoke", red: newRedactor(clientSecret), form: func(token string) url.Values {
		return url.Values{"token": {token}, "client_id": {clientID}, "client_secret": {clientSecret}}
	}}
}

// revoker is the Revoker of both vendors; they differ in the form only.
type revoker struct {
	cfg  *config
	op   string
	red  redactor                      // secrets of the form apart from the token
	form func(token string) url.Values // the vendor's revoke form
}

// Revoke implements [Revoker]. 429, 5xx and network errors are retried like
// token requests.
func (r *revoker) Revoke(ctx context.Context, token string) error {
	if r.cfg.err != nil {
		return r.cfg.err
	}
	if token == "" {
		return fmt.Errorf("vendoroauth: %s: token is empty", r.op)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	red := r.red.with(token)
	form := r.form(token)
	hooks := logRetries(ctx, r.cfg.logger, "vendoroauth: revoke request failed; retrying",
		slog.String("vendor", r.cfg.vendor), slog.String("op", "revoke"))
	_, err := withRetries(ctx, hooks, func(ctx context.Context) (struct{}, error) {
		resp, err := postForm(ctx, r.cfg.hc, r.cfg.revokeURL, form)
		if err != nil {
			return struct{}{}, &exchangeError{op: r.op, kind: kindTransient, cause: err}
		}
		if resp.statusCode >= 200 && resp.statusCode <= 299 {
			return struct{}{}, nil // the body, if any, is not ours to parse
		}
		return struct{}{}, newRevokeError(r.op, resp, red)
	})
	if err != nil {
		r.cfg.logger.LogAttrs(ctx, slog.LevelError, "vendoroauth: revoke failed",
			slog.String("vendor", r.cfg.vendor), slog.Any("err", err))
		return err
	}
	r.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "vendoroauth: token revoked", slog.String("vendor", r.cfg.vendor))
	return nil
}

// newRevokeError reads the RFC 6749 error, if any, from a refused
// revocation.
func newRevokeError(op string, resp *response, red redactor) *RevokeError {
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if mediaType(resp) == "application/json" || strings.HasPrefix(strings.TrimSpace(string(resp.body)), "{") {
		_ = json.Unmarshal(resp.body, &body)
	}
	e := &RevokeError{
		StatusCode:       resp.statusCode,
		ErrorCode:        cleanText(red.string(body.Error)),
		ErrorDescription: cleanText(red.string(body.Description)),
		Body:             red.bytes(resp.body),
		op:               op,
	}
	if d, ok := parseRetryAfter(resp.header.Get("Retry-After"), time.Now()); ok {
		e.retryAfter = d
	}
	return e
}

// Revoke revokes what the source holds at the vendor (the refresh token
// for EnduroSat, which also ends its access tokens; the access token for
// Formlabs) and then forgets it. It first waits for a running fetch, so
// that the token it revokes is the latest. If the source holds nothing to
// revoke, it forgets the cache and returns nil. On failure the source
// keeps its tokens, so that Revoke can be tried again.
//
// After Revoke, a source that knows a password or client secret logs in
// again on the next Token call; a refresh-only EnduroSat source reports
// [ErrInvalidCredentials].
func (s *TokenSource) Revoke(ctx context.Context) error {
	if s == nil || s.cfg == nil {
		return errZeroSource
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if s.closed.Load() {
		return ErrClosed
	}
	if s.cfg.err != nil {
		return s.cfg.err
	}
	s.mu.Lock()
	c := s.inflight
	s.mu.Unlock()
	if c != nil {
		select {
		case <-c.done:
		case <-ctx.Done():
			return fmt.Errorf("vendoroauth: %s: gave up waiting for the fetch: %w", s.rev.op, ctx.Err())
		}
	}
	s.mu.Lock()
	rt, cur := s.refreshToken, s.cur.Load()
	s.mu.Unlock()
	target := s.revokeTarget(rt, curToken(cur))
	if target != "" {
		if err := s.rev.Revoke(ctx, target); err != nil {
			return err
		}
	}
	s.mu.Lock()
	if s.refreshToken == rt {
		s.refreshToken = ""
	}
	s.cur.CompareAndSwap(cur, nil)
	s.mu.Unlock()
	if s.cfg.store != nil {
		s.save(ctx, nil) // the store must not hand the revoked token out again
	}
	return nil
}

// curToken returns c's token, or nil.
func curToken(c *cachedToken) *oauth2.Token {
	if c == nil {
		return nil
	}
	return c.tok
}
