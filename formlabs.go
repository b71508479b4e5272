package vendoroauth

import (
	"context"
	"log/slog"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// FormlabsBaseURL is the base URL of the Formlabs Dashboard Developer API.
const FormlabsBaseURL = "https://api.formlabs.com"

// FormlabsEndpoint is the OAuth2 endpoint of the Formlabs Dashboard
// Developer API. The client id and secret go in the form body.
var FormlabsEndpoint = oauth2.Endpoint{
	TokenURL:  FormlabsBaseURL + formlabsTokenPath,
	AuthStyle: oauth2.AuthStyleInParams,
}

const (
	formlabsTokenPath  = "/developer/v1/o/token/"
	formlabsRevokePath = "/developer/v1/o/revoke_token/"
)

var formlabs = vendorInfo{
	name:       "formlabs",
	baseURL:    FormlabsBaseURL,
	tokenPath:  formlabsTokenPath,
	revokePath: formlabsRevokePath,
}

// FormlabsConfig returns a plain x/oauth2 client-credentials configuration
// for the Formlabs API, with the credentials pinned to the form body (never
// HTTP Basic, never x/oauth2's auto-detect probe, which would send a wrong
// secret twice). Of the options only [WithBaseURL] applies; an invalid base
// URL leaves TokenURL empty, so that the first request fails.
func FormlabsConfig(clientID, clientSecret string, opts ...Option) *clientcredentials.Config {
	cfg, _ := newConfig(context.Background(), &formlabs, opts)
	return &clientcredentials.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		TokenURL:     cfg.tokenURL(),
		AuthStyle:    oauth2.AuthStyleInParams,
	}
}

// FormlabsTokenSource returns a [TokenSource] that obtains Formlabs access
// tokens with the client_credentials grant, sending clientID and
// clientSecret in the form body. Formlabs issues no refresh token: each
// renewal is a new client_credentials request, made shortly before expiry.
//
// ctx supplies values only (an [oauth2.HTTPClient]); cancelling it does not
// affect the source. An empty clientID or clientSecret, or an unusable
// option, makes the first Token call return an error matching
// [ErrInvalidConfig]. Call Close when done.
func FormlabsTokenSource(ctx context.Context, clientID, clientSecret string, opts ...Option) *TokenSource {
	cfg, st := newConfig(ctx, &formlabs, opts)
	cfg.require("client id", clientID, "client secret", clientSecret)
	return newTokenSource(ctx, cfg, &formlabsGrant{cfg: cfg, clientID: clientID, clientSecret: clientSecret}, st, clientID)
}

// formlabsGrant obtains Formlabs tokens with the client_credentials grant.
// Formlabs issues no refresh token; each renewal is a new grant. It keeps
// only the credentials: the request, its form and its redactor are built
// per fetch, which is rarer than keeping them for every idle source.
type formlabsGrant struct {
	cfg                    *config
	clientID, clientSecret string
}

// token implements grant.
func (g *formlabsGrant) token(ctx context.Context, f *fetch) (result, error) {
	f.grant = "client_credentials"
	return g.cfg.exchange(ctx, request{
		op:       "formlabs client_credentials grant",
		endpoint: tokenEndpoint,
		url:      g.cfg.tokenURL(),
		form:     formBody("client_id", g.clientID, "client_secret", g.clientSecret, "grant_type", "client_credentials"),
		red:      newRedactor(g.clientSecret),
		logAttr:  slog.String("grant", "client_credentials"),
		attempts: &f.attempts,
	})
}

// revoke implements grant: it revokes the access token, the only token
// Formlabs issues.
func (g *formlabsGrant) revoke(ctx context.Context, cur *oauth2.Token) error {
	if cur == nil || cur.AccessToken == "" {
		return nil
	}
	return formlabsRevoker(g.cfg, g.clientID, g.clientSecret).Revoke(ctx, cur.AccessToken)
}
