package vendoroauth

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"golang.org/x/oauth2"
)

// EnduroSatBaseURL is the base URL of the EnduroSat ground-station API.
const EnduroSatBaseURL = "https://api.ground-station.endurosat.com"

// EnduroSatEndpoint is the OAuth2 endpoint of the EnduroSat ground-station
// API. It is a public client: the client id goes in the form body and there
// is no secret.
var EnduroSatEndpoint = oauth2.Endpoint{
	TokenURL:  EnduroSatBaseURL + enduroSatTokenPath,
	AuthStyle: oauth2.AuthStyleInParams,
}

const (
	enduroSatTokenPath  = "/oauth2/token"
	enduroSatRevokePath = "/oauth2/revoke"
)

var enduroSat = vendorInfo{
	name:       "endurosat",
	baseURL:    EnduroSatBaseURL,
	tokenPath:  enduroSatTokenPath,
	revokePath: enduroSatRevokePath,
}

// EnduroSatConfig returns a plain x/oauth2 configuration for the EnduroSat
// API, for callers who want x/oauth2 alone: use its PasswordCredentialsToken
// to log in and its TokenSource to refresh. Of the options only
// [WithBaseURL] applies; an invalid base URL leaves TokenURL empty, so that
// the first request fails.
//
// Plain x/oauth2 lacks what [EnduroSatPasswordTokenSource] adds: a fetch
// that callers can leave, retries, early refresh, logging in again when the
// refresh token dies, and redacted errors.
func EnduroSatConfig(clientID string, opts ...Option) *oauth2.Config {
	cfg, _ := newConfig(context.Background(), &enduroSat, opts)
	return &oauth2.Config{
		ClientID: clientID,
		Endpoint: oauth2.Endpoint{TokenURL: cfg.tokenURL(), AuthStyle: oauth2.AuthStyleInParams},
	}
}

// EnduroSatPasswordTokenSource returns a [TokenSource] that logs in to the
// EnduroSat API with the password grant, then renews the access token with
// the refresh grant. It keeps the old refresh token when a refresh returns
// none and takes the new one when it rotates. When the vendor rejects the
// refresh token (it expired or was revoked), it logs in again with the
// password, once per fetch; if that is rejected too, Token returns an error
// matching [ErrInvalidCredentials]. The id_token is in Token().Extra("id_token").
//
// ctx supplies values only (an [oauth2.HTTPClient]); cancelling it does not
// affect the source. An empty clientID, username or password, or an
// unusable option, makes the first Token call return an error matching
// [ErrInvalidConfig]. Call Close when done.
func EnduroSatPasswordTokenSource(ctx context.Context, clientID, username, password string, opts ...Option) *TokenSource {
	cfg, st := newConfig(ctx, &enduroSat, opts)
	cfg.require("client id", clientID, "username", username, "password", password)
	return newEnduroSatSource(ctx, cfg, st, clientID, username, password, initialRefreshToken(st, ""))
}

// EnduroSatRefreshTokenSource returns a [TokenSource] that obtains EnduroSat
// access tokens with the refresh grant alone, starting from refreshToken
// (or from the refresh token of a [WithToken] token when refreshToken is
// empty). It follows rotation like [EnduroSatPasswordTokenSource]; having no
// password, it reports a rejected refresh token as an error matching
// [ErrInvalidCredentials].
//
// With [WithStore], refreshToken may be empty: the source then takes the
// stored refresh token.
//
// ctx supplies values only. An empty clientID, no refresh token at all, or
// an unusable option, makes the first Token call return an error matching
// [ErrInvalidConfig]. Call Close when done.
func EnduroSatRefreshTokenSource(ctx context.Context, clientID, refreshToken string, opts ...Option) *TokenSource {
	cfg, st := newConfig(ctx, &enduroSat, opts)
	refreshToken = initialRefreshToken(st, refreshToken)
	cfg.require("client id", clientID)
	if st.store == nil {
		cfg.require("refresh token", refreshToken)
	}
	return newEnduroSatSource(ctx, cfg, st, clientID, "", "", refreshToken)
}

// initialRefreshToken is the refresh token a source starts from: given, or
// else the refresh token of a [WithToken] token.
func initialRefreshToken(st settings, given string) string {
	if given == "" && st.token != nil {
		return st.token.RefreshToken
	}
	return given
}

// newEnduroSatSource returns a source over the EnduroSat grant.
func newEnduroSatSource(ctx context.Context, cfg *config, st settings, clientID, username, password, refreshToken string) *TokenSource {
	g := &enduroSatGrant{
		cfg:       cfg,
		clientID:  clientID,
		username:  username,
		password:  password,
		fromStore: password == "" && refreshToken == "",
	}
	g.setRefresh(refreshToken, time.Time{})
	if password == "" && refreshToken != "" {
		g.given = []string{fingerprint(refreshToken)}
	}
	return newTokenSource(ctx, cfg, g, st, clientID)
}

// enduroSatGrant obtains EnduroSat tokens: the refresh grant while it has a
// refresh token, the password grant when it has none or the vendor rejected
// it and a password is known. It owns the refresh token and its rotation.
// Its TokenSource calls it from one goroutine at a time.
type enduroSatGrant struct {
	cfg                *config
	clientID, username string
	password           string // empty for a refresh-only source

	refresh  string    // the latest refresh token; "" when none is left
	obtained time.Time // when the vendor issued refresh; zero when it was given

	// Who the user is, for stores (userGrant): the sub of the id_tokens
	// seen, the fingerprints of the refresh tokens given to refresh-only
	// sources of the chain (its own first), and of the latest refresh
	// tokens the chain held. fromStore: a refresh-only source given no
	// refresh token, which takes the chain of the first record it finds.
	subject   string
	given     []string
	recent    []string
	fromStore bool
}

// setRefresh makes rt, issued at obtained, the grant's refresh token, and
// remembers it as its chain's latest.
func (g *enduroSatGrant) setRefresh(rt string, obtained time.Time) {
	g.refresh, g.obtained = rt, obtained
	if rt != "" {
		g.recent = lastFingerprints(g.recent, fingerprint(rt))
	}
}

// token implements grant.
func (g *enduroSatGrant) token(ctx context.Context, f *fetch) (result, error) {
	if rt := g.refresh; rt != "" && !f.loginOnly {
		f.grant = "refresh_token"
		res, err := g.cfg.exchange(ctx, request{
			op:       "endurosat refresh_token grant",
			endpoint: tokenEndpoint,
			url:      g.cfg.tokenURL(),
			form:     formBody("client_id", g.clientID, "grant_type", "refresh_token", "refresh_token", rt),
			red:      newRedactor(g.password, rt),
			logAttr:  slog.String("grant", "refresh_token"),
			attempts: &f.attempts,
		})
		if err == nil {
			g.learn(res)
			if res.tok.RefreshToken == "" {
				res.tok.RefreshToken = rt // no rotation: keep the old one
			} else if res.tok.RefreshToken != rt {
				g.setRefresh(res.tok.RefreshToken, res.issued)
			}
			return res, nil
		}
		if g.password == "" || !errors.Is(err, ErrInvalidCredentials) {
			return result{}, err
		}
		g.cfg.logger().LogAttrs(ctx, slog.LevelWarn, "vendoroauth: refresh token rejected; logging in again",
			slog.String("vendor", g.cfg.vendor.name), slog.Any("err", err))
		g.setRefresh("", time.Time{})
	}
	if g.password == "" {
		return result{}, errorf("endurosat refresh_token grant", ErrInvalidCredentials, "no refresh token left (revoked or rejected)")
	}
	f.grant = "password"
	res, err := g.cfg.exchange(ctx, request{
		op:       "endurosat password grant",
		endpoint: tokenEndpoint,
		url:      g.cfg.tokenURL(),
		form:     formBody("client_id", g.clientID, "grant_type", "password", "password", g.password, "username", g.username),
		red:      newRedactor(g.password),
		logAttr:  slog.String("grant", "password"),
		attempts: &f.attempts,
	})
	if err == nil {
		g.learn(res)
		if res.tok.RefreshToken != "" {
			g.setRefresh(res.tok.RefreshToken, res.issued)
		}
	}
	return res, err
}

// learn takes the user's sub from the id_token of a response, if any: the
// vendor says whose tokens they are.
func (g *enduroSatGrant) learn(res result) {
	if id, ok := res.extra["id_token"].(string); ok {
		if sub := jwtSubject(id); sub != "" {
			g.subject = sub
		}
	}
}

// revoke implements grant: it revokes the refresh token, which also ends
// the access tokens issued from it. EnduroSat revokes refresh tokens only:
// holding an access token alone is an error, since it stays valid.
func (g *enduroSatGrant) revoke(ctx context.Context, cur *oauth2.Token) error {
	if g.refresh == "" {
		if cur != nil && cur.AccessToken != "" {
			return errAccessTokenOnly
		}
		return nil
	}
	if err := enduroSatRevoker(g.cfg, g.clientID).Revoke(ctx, g.refresh); err != nil {
		return err
	}
	g.setRefresh("", time.Time{})
	return nil
}

// errAccessTokenOnly is Revoke's error for an EnduroSat source that holds an
// access token and no refresh token.
var errAccessTokenOnly = errorf("endurosat revoke", nil, "the source holds an access token and no refresh token; "+
	"EnduroSat revokes refresh tokens only, so the access token stays valid until it expires")

// canLogin implements refresher.
func (g *enduroSatGrant) canLogin() bool { return g.password != "" }

// refreshState implements refresher.
func (g *enduroSatGrant) refreshState() (string, time.Time) { return g.refresh, g.obtained }

// adopt implements refresher: it takes rt, issued at obtained, unless its
// own refresh token is as new or newer.
func (g *enduroSatGrant) adopt(rt string, obtained time.Time) {
	if rt == "" || rt == g.refresh {
		return
	}
	if g.refresh == "" || obtained.After(g.obtained) {
		g.setRefresh(rt, obtained)
	}
}
