package vendoroauth

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"golang.org/x/oauth2"
)

// A Revoker revokes tokens at a vendor's revocation endpoint (RFC 7009).
// Implementations are safe for concurrent use by multiple goroutines.
type Revoker interface {
	// Revoke revokes token. It returns nil when the vendor answered 2xx,
	// which it also does for a token that was already invalid. Otherwise
	// it returns an error that is a [*RevokeError] through [errors.As]
	// when the vendor answered, a network error, or ctx's error.
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

	op string // "formlabs revoke"
}

// Error returns the vendor, the status and the RFC 6749 error, never the
// body.
func (e *RevokeError) Error() string {
	op := e.op
	if op == "" {
		op = "revoke"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "vendoroauth: %s: %d %s", op, e.StatusCode, http.StatusText(e.StatusCode))
	writeCode(&b, e.ErrorCode, e.ErrorDescription)
	return b.String()
}

// Is reports whether target is [ErrInvalidCredentials] and the vendor
// rejected the client: a 401, or an invalid_client or unauthorized_client
// error code.
func (e *RevokeError) Is(target error) bool {
	return target == ErrInvalidCredentials && classify(revokeEndpoint, e.StatusCode, e.ErrorCode) == kindRejected
}

// EnduroSatRevoker returns a [Revoker] for EnduroSat refresh tokens: a POST
// of client_id and token to /oauth2/revoke, which answers 204. Revoking a
// refresh token also ends the access tokens issued from it. Options:
// [WithBaseURL], [WithHTTPClient], [WithLogger]. An empty clientID or
// unusable option makes Revoke return an error matching [ErrInvalidConfig].
func EnduroSatRevoker(clientID string, opts ...Option) Revoker {
	cfg, _ := newConfig(context.Background(), &enduroSat, opts)
	cfg.require("client id", clientID)
	return enduroSatRevoker(cfg, clientID)
}

// FormlabsRevoker returns a [Revoker] for Formlabs access tokens: a POST of
// token, client_id and client_secret to /developer/v1/o/revoke_token/, which
// answers 200. Options: [WithBaseURL], [WithHTTPClient], [WithLogger]. An
// empty clientID or clientSecret, or an unusable option, makes Revoke return
// an error matching [ErrInvalidConfig].
func FormlabsRevoker(clientID, clientSecret string, opts ...Option) Revoker {
	cfg, _ := newConfig(context.Background(), &formlabs, opts)
	cfg.require("client id", clientID, "client secret", clientSecret)
	return formlabsRevoker(cfg, clientID, clientSecret)
}

func enduroSatRevoker(cfg *config, clientID string) *revoker {
	return &revoker{cfg: cfg, op: "endurosat revoke", form: func(token string) string {
		return formBody("client_id", clientID, "token", token)
	}}
}

func formlabsRevoker(cfg *config, clientID, clientSecret string) *revoker {
	return &revoker{cfg: cfg, op: "formlabs revoke", red: newRedactor(clientSecret), form: func(token string) string {
		return formBody("client_id", clientID, "client_secret", clientSecret, "token", token)
	}}
}

// revoker is the Revoker of both vendors; they differ in the form only.
type revoker struct {
	cfg  *config
	op   string
	red  redactor                  // secrets of the form apart from the token
	form func(token string) string // the vendor's revoke form, from formBody
}

// Format prints the operation and never a secret, for every verb: fmt
// would otherwise print the client secret held for the form.
func (r *revoker) Format(f fmt.State, _ rune) { io.WriteString(f, r.describe()) }

// LogValue implements [slog.LogValuer], so that logging a revoker logs only
// its operation.
func (r *revoker) LogValue() slog.Value { return slog.StringValue(r.describe()) }

func (r *revoker) describe() string { return "vendoroauth.Revoker{" + r.op + "}" }

// Revoke implements [Revoker]. 429, 5xx and network errors are retried like
// token requests.
func (r *revoker) Revoke(ctx context.Context, token string) error {
	if r.cfg.err != nil {
		return r.cfg.err
	}
	if token == "" {
		return errorf(r.op, nil, "token is empty")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	_, err := r.cfg.send(ctx, request{
		op:       r.op,
		endpoint: revokeEndpoint,
		url:      r.cfg.revokeURL(),
		form:     r.form(token),
		red:      r.red.with(token),
		logAttr:  slog.String("op", "revoke"),
	})
	if err != nil {
		r.cfg.logger().LogAttrs(ctx, slog.LevelError, "vendoroauth: revoke failed",
			slog.String("vendor", r.cfg.vendor.name), slog.Any("err", err))
		return err
	}
	r.cfg.logger().LogAttrs(ctx, slog.LevelDebug, "vendoroauth: token revoked", slog.String("vendor", r.cfg.vendor.name))
	return nil // the body of a 2xx, if any, is not ours to parse
}

// Revoke revokes what the source holds at the vendor (the refresh token
// for EnduroSat, which also ends its access tokens; the access token for
// Formlabs) and then forgets it, also in a store. It first waits for a
// running fetch, so that the token it revokes is the latest. With a store,
// it revokes what the store holds if the source holds nothing, and clears
// the store of its own record. If there is nothing to revoke, it returns
// nil; an EnduroSat source holding an access token and no refresh token
// returns an error instead, since EnduroSat revokes refresh tokens only. On
// failure the source keeps its tokens, so that Revoke can be tried again.
//
// After Revoke, a source that knows a password or client secret logs in
// again on the next Token call; a refresh-only EnduroSat source reports
// [ErrInvalidCredentials].
func (s *TokenSource) Revoke(ctx context.Context) error {
	if s == nil || s.grant == nil {
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
	j, err := s.claim(ctx)
	if err != nil {
		return err
	}
	defer s.finish(j)
	cur := s.cur.Load()
	var tok *oauth2.Token
	if cur != nil {
		tok = &cur.tok
	}
	if err := s.grant.revoke(ctx, tok); err != nil {
		return err
	}
	s.mu.Lock()
	// The token revoked, in whatever snapshot a hand-out made of it since.
	if c := s.cur.Load(); c != nil && cur != nil && c.tok.AccessToken == cur.tok.AccessToken {
		s.storeLocked(nil)
	}
	s.mu.Unlock()
	return nil
}
