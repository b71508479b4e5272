package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// Demo timing: the fakes issue 3-second tokens so that an early refresh
// happens within the demo; the window starts halfway through.
const (
	demoLifetime = 3 * time.Second
	demoEarly    = 1500 * time.Millisecond
)

const demoAbout = `Demo walks both vendors through the token lifecycle against fakes inside the
process: login, an authenticated call, a refresh ahead of expiry, refresh-token
rotation, recovery from a 401, and revocation. It needs no credentials or network.`

// demoFake is what the demo needs of either fake.
type demoFake interface {
	Client() *http.Client
	ResourceURL() string
	RevokeAccessTokens()
	TokenRequests() int
	SetTokenLifetime(time.Duration)
}

// demoStep prints one numbered line for a vendor.
type demoStep struct {
	w      io.Writer
	vendor string
	n      int
}

func (s *demoStep) printf(format string, args ...any) {
	s.n++
	fmt.Fprintf(s.w, "%-9s %d. %s\n", s.vendor, s.n, fmt.Sprintf(format, args...))
}

func runDemo(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("demo", "", demoAbout, "  vendoroauth demo")
	if err := fs.parse(args, e.stdout); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "vendoroauth demo: fake vendors on loopback, %v tokens, no credentials or network needed\n\n", demoLifetime)

	es := vendoroauthtest.NewEnduroSat(vendoroauthtest.EnduroSatClientID, vendoroauthtest.EnduroSatUsername, vendoroauthtest.EnduroSatPassword)
	defer es.Close()
	es.SetTokenLifetime(demoLifetime)
	esSrc := vendoroauth.EnduroSatPasswordTokenSource(ctx, vendoroauthtest.EnduroSatClientID,
		vendoroauthtest.EnduroSatUsername, vendoroauthtest.EnduroSatPassword,
		vendoroauth.WithBaseURL(es.URL), vendoroauth.WithHTTPClient(es.Client()), vendoroauth.WithEarlyRefresh(demoEarly))
	defer esSrc.Close()
	if err := demoVendor(ctx, e.stdout, "endurosat", es, esSrc, func(step *demoStep) error {
		// Rotation: the fake now issues a new refresh token on each refresh
		// and rejects the old one.
		es.SetRotateRefreshTokens(true)
		before, err := esSrc.TokenContext(ctx)
		if err != nil {
			return err
		}
		esSrc.Invalidate()
		after, err := esSrc.TokenContext(ctx)
		if err != nil {
			return err
		}
		esSrc.Invalidate()
		if _, err := esSrc.TokenContext(ctx); err != nil {
			return err
		}
		step.printf("rotated refresh token: refresh returned a new one (changed: %v); the source uses it, the old one is dead",
			before.RefreshToken != after.RefreshToken)
		return nil
	}); err != nil {
		return err // it names the vendor and the grant
	}
	fmt.Fprintln(e.stdout)

	fl := vendoroauthtest.NewFormlabs(vendoroauthtest.FormlabsClientID, vendoroauthtest.FormlabsClientSecret)
	defer fl.Close()
	fl.SetTokenLifetime(demoLifetime)
	flSrc := vendoroauth.FormlabsTokenSource(ctx, vendoroauthtest.FormlabsClientID, vendoroauthtest.FormlabsClientSecret,
		vendoroauth.WithBaseURL(fl.URL), vendoroauth.WithHTTPClient(fl.Client()), vendoroauth.WithEarlyRefresh(demoEarly))
	defer flSrc.Close()
	if err := demoVendor(ctx, e.stdout, "formlabs", fl, flSrc, nil); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "\ndemo complete")
	return nil
}

// demoVendor walks one vendor through the lifecycle; extra, if not nil,
// adds vendor-specific steps after the early refresh.
func demoVendor(ctx context.Context, w io.Writer, vendor string, fake demoFake, src *vendoroauth.TokenSource, extra func(*demoStep) error) error {
	step := &demoStep{w: w, vendor: vendor}
	client := src.Client(context.WithValue(ctx, oauth2.HTTPClient, fake.Client()))

	tok, err := src.TokenContext(ctx)
	if err != nil {
		return err
	}
	grant := "client_credentials grant"
	if vendor == "endurosat" {
		grant = "password grant"
	}
	step.printf("login: %s → %s token valid for %v (token requests so far: %d)",
		grant, tok.Type(), time.Until(tok.Expiry).Round(100*time.Millisecond), fake.TokenRequests())

	status, err := demoGet(ctx, client, fake.ResourceURL())
	if err != nil {
		return err
	}
	step.printf("authenticated API call: GET %s → %s", pathOf(fake.ResourceURL()), status)

	// Refresh ahead of expiry: the source renews a token it handed out at
	// its refresh time by itself, with no call, so no caller ever waits.
	fresh, err := waitForNewToken(ctx, src, tok)
	if err != nil {
		return err
	}
	left := time.Until(tok.Expiry)
	t0 := time.Now()
	if _, err := src.TokenContext(ctx); err != nil {
		return err
	}
	step.printf("refresh ahead of expiry: %v before the old token expired, the source had renewed it by itself (changed: %v); the next caller got it in %v",
		left.Round(100*time.Millisecond), fresh.AccessToken != tok.AccessToken, time.Since(t0).Round(time.Millisecond))

	if extra != nil {
		if err := extra(step); err != nil {
			return err
		}
	}

	fake.RevokeAccessTokens()
	before := fake.TokenRequests()
	status, err = demoGet(ctx, client, fake.ResourceURL())
	if err != nil {
		return err
	}
	step.printf("401 recovered: the vendor killed the access token; the API answered 401, the client fetched a new token (%d request) and retried → %s",
		fake.TokenRequests()-before, status)

	current, err := src.TokenContext(ctx)
	if err != nil {
		return err
	}
	if err := src.Revoke(ctx); err != nil {
		return err
	}
	what := "access token"
	if vendor == "endurosat" {
		what = "refresh token (its access tokens die with it)"
	}
	step.printf("revocation: revoked the %s and forgot it", what)

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fake.ResourceURL(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+current.AccessToken)
	resp, err := fake.Client().Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	step.printf("the revoked token now fails: GET %s → %s", pathOf(fake.ResourceURL()), resp.Status)
	return nil
}

// demoGet GETs url through c and returns the status line.
func demoGet(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Status, nil
}

// waitForNewToken waits, up to the demo token's lifetime, until src hands
// out a token other than old: the background refresh has landed.
func waitForNewToken(ctx context.Context, src *vendoroauth.TokenSource, old *oauth2.Token) (*oauth2.Token, error) {
	deadline := time.Now().Add(demoLifetime)
	for {
		tok, err := src.TokenContext(ctx)
		if err != nil || tok.AccessToken != old.AccessToken || time.Now().After(deadline) {
			return tok, err
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// sleepCtx waits for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pathOf returns the path of a URL, for shorter lines.
func pathOf(u string) string {
	for i := len("http://"); i < len(u); i++ {
		if u[i] == '/' {
			return u[i:]
		}
	}
	return u
}
