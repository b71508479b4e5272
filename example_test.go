package vendoroauth_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

func ExampleFormlabsTokenSource() {
	// A fake Formlabs API stands in for https://api.formlabs.com; its
	// Context carries its HTTP client, for the source and its Client.
	srv := vendoroauthtest.NewFormlabs("my-client-id", "my-client-secret")
	defer srv.Close()
	ctx := srv.Context(context.Background())

	src := vendoroauth.FormlabsTokenSource(ctx, "my-client-id", "my-client-secret",
		vendoroauth.WithBaseURL(srv.URL))
	defer src.Close()

	// Client adds the token to API requests and replaces a refused one.
	resp, err := src.Client(ctx).Get(srv.ResourceURL())
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output: 200 OK
}

// A vendoroauth source nests inside oauth2.NewClient like any x/oauth2
// source; src.Client is the same, and also replaces a token the API
// refuses.
func ExampleFormlabsTokenSource_oauth2NewClient() {
	srv := vendoroauthtest.NewFormlabs("my-client-id", "my-client-secret")
	defer srv.Close()
	ctx := srv.Context(context.Background())
	src := vendoroauth.FormlabsTokenSource(ctx, "my-client-id", "my-client-secret",
		vendoroauth.WithBaseURL(srv.URL))
	defer src.Close()

	resp, err := oauth2.NewClient(ctx, src).Get(srv.ResourceURL())
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output: 200 OK
}

func ExampleEnduroSatPasswordTokenSource() {
	srv := vendoroauthtest.NewEnduroSat("my-client-id", "operator", "my-password")
	defer srv.Close()

	ctx := srv.Context(context.Background())

	src := vendoroauth.EnduroSatPasswordTokenSource(ctx, "my-client-id", "operator", "my-password",
		vendoroauth.WithBaseURL(srv.URL))
	defer src.Close()

	tok, err := src.Token()
	if err != nil {
		log.Fatal(err)
	}
	_, hasIDToken := tok.Extra("id_token").(string)
	fmt.Println(tok.Type(), tok.RefreshToken != "", hasIDToken)
	fmt.Println(srv.TokenRequestsByGrant("password"), "password login")
	// Output:
	// Bearer true true
	// 1 password login
}

func ExampleTokenSource_Client() {
	srv := vendoroauthtest.NewEnduroSat("my-client-id", "operator", "my-password")
	defer srv.Close()
	ctx := srv.Context(context.Background())
	src := vendoroauth.EnduroSatPasswordTokenSource(ctx, "my-client-id", "operator", "my-password",
		vendoroauth.WithBaseURL(srv.URL))
	defer src.Close()
	client := src.Client(ctx)

	resp, err := client.Get(srv.ResourceURL())
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("first call:", resp.Status)

	// The vendor revokes the access token behind our back: Client sees the
	// 401, fetches a new token with the refresh token, and retries once.
	srv.RevokeAccessTokens()
	resp, err = client.Get(srv.ResourceURL())
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("after revocation:", resp.Status)
	fmt.Println("refresh grants:", srv.TokenRequestsByGrant("refresh_token"))
	// Output:
	// first call: 200 OK
	// after revocation: 200 OK
	// refresh grants: 1
}

func ExampleTokenSource_Revoke() {
	srv := vendoroauthtest.NewFormlabs("my-client-id", "my-client-secret")
	defer srv.Close()
	ctx := srv.Context(context.Background())
	src := vendoroauth.FormlabsTokenSource(ctx, "my-client-id", "my-client-secret",
		vendoroauth.WithBaseURL(srv.URL))
	defer src.Close()
	if _, err := src.Token(); err != nil {
		log.Fatal(err)
	}

	// Revoke the access token at Formlabs and forget it, say on shutdown.
	if err := src.Revoke(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("revoke requests:", srv.RevokeRequests())
	// Output: revoke requests: 1
}

func ExampleFormlabsRevoker() {
	srv := vendoroauthtest.NewFormlabs("my-client-id", "my-client-secret")
	defer srv.Close()

	// A Revoker needs no token source: revoke a leaked token by value.
	r := vendoroauth.FormlabsRevoker("my-client-id", "wrong-secret",
		vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithHTTPClient(srv.Client()))
	err := r.Revoke(context.Background(), "leaked-access-token")
	if re, ok := errors.AsType[*vendoroauth.RevokeError](err); ok {
		fmt.Println(re.StatusCode, re.ErrorCode, errors.Is(err, vendoroauth.ErrInvalidCredentials))
	}
	// Output: 401 invalid_client true
}

func Example_invalidCredentials() {
	srv := vendoroauthtest.NewEnduroSat("my-client-id", "operator", "my-password")
	defer srv.Close()
	src := vendoroauth.EnduroSatPasswordTokenSource(srv.Context(context.Background()), "my-client-id", "operator", "not-my-password",
		vendoroauth.WithBaseURL(srv.URL))
	defer src.Close()

	_, err := src.Token()
	switch {
	case errors.Is(err, vendoroauth.ErrInvalidCredentials):
		fmt.Println("rejected:", err)
	case err != nil:
		fmt.Println("try again later:", err)
	}
	if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok {
		fmt.Println(re.Response.StatusCode, re.ErrorCode)
	}
	// Output:
	// rejected: vendoroauth: endurosat password grant: 401 Unauthorized: invalid_grant (incorrect username or password)
	// 401 invalid_grant
}

func ExampleEnduroSatRefreshTokenSource() {
	srv := vendoroauthtest.NewEnduroSat("my-client-id", "operator", "my-password")
	defer srv.Close()
	ctx := srv.Context(context.Background())
	opts := []vendoroauth.Option{vendoroauth.WithBaseURL(srv.URL)}

	// Some other process logged in and handed over its refresh token.
	login := vendoroauth.EnduroSatPasswordTokenSource(ctx, "my-client-id", "operator", "my-password", opts...)
	first, err := login.Token()
	if err != nil {
		log.Fatal(err)
	}
	login.Close()

	// A refresh-only source needs no password.
	src := vendoroauth.EnduroSatRefreshTokenSource(ctx, "my-client-id", first.RefreshToken, opts...)
	defer src.Close()
	src.Invalidate() // not needed in real use: forces the refresh for this example
	tok, err := src.Token()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.AccessToken != first.AccessToken, srv.TokenRequestsByGrant("refresh_token"), "refresh")
	// Output: true 1 refresh
}

func ExampleEnduroSatRevoker() {
	srv := vendoroauthtest.NewEnduroSat("my-client-id", "operator", "my-password")
	defer srv.Close()
	ctx := srv.Context(context.Background())
	src := vendoroauth.EnduroSatPasswordTokenSource(ctx, "my-client-id", "operator", "my-password",
		vendoroauth.WithBaseURL(srv.URL))
	defer src.Close()
	tok, err := src.Token()
	if err != nil {
		log.Fatal(err)
	}

	// Revoke a refresh token by value, say one that leaked.
	r := vendoroauth.EnduroSatRevoker("my-client-id", vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithHTTPClient(srv.Client()))
	fmt.Println(r.Revoke(ctx, tok.RefreshToken))
	// Output: <nil>
}

func ExampleEnduroSatConfig() {
	srv := vendoroauthtest.NewEnduroSat("my-client-id", "operator", "my-password")
	defer srv.Close()
	ctx := srv.Context(context.Background())

	// Plain x/oauth2, with the endpoint and the auth style set right.
	conf := vendoroauth.EnduroSatConfig("my-client-id", vendoroauth.WithBaseURL(srv.URL))
	tok, err := conf.PasswordCredentialsToken(ctx, "operator", "my-password")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Valid(), conf.Endpoint.AuthStyle == oauth2.AuthStyleInParams)
	// Output: true true
}

func ExampleFormlabsConfig() {
	srv := vendoroauthtest.NewFormlabs("my-client-id", "my-client-secret")
	defer srv.Close()
	ctx := srv.Context(context.Background())

	conf := vendoroauth.FormlabsConfig("my-client-id", "my-client-secret", vendoroauth.WithBaseURL(srv.URL))
	tok, err := conf.Token(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Valid(), srv.TokenRequests())
	// Output: true 1
}

func ExampleWithStore() {
	srv := vendoroauthtest.NewFormlabs("my-client-id", "my-client-secret")
	defer srv.Close()
	dir, err := os.MkdirTemp("", "vendoroauth-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store := vendoroauth.FileStore(filepath.Join(dir, "formlabs-token.json"))
	opts := []vendoroauth.Option{vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithStore(store)}

	// Two runs of a program, or two processes, share one token.
	for range 2 {
		src := vendoroauth.FormlabsTokenSource(srv.Context(context.Background()), "my-client-id", "my-client-secret", opts...)
		if _, err := src.Token(); err != nil {
			log.Fatal(err)
		}
		src.Close() // the save is done before Close returns
	}
	fmt.Println(srv.TokenRequests(), "token request")
	// Output: 1 token request
}

func ExampleFileStore() {
	dir, err := os.MkdirTemp("", "vendoroauth-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "token.json")

	// A file others may read is refused, as a configuration error.
	if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
		log.Fatal(err)
	}
	_, err = vendoroauth.FileStore(path).Load(context.Background())
	fmt.Println(errors.Is(err, vendoroauth.ErrInvalidConfig))
	// Output: true
}

func ExampleWithToken() {
	srv := vendoroauthtest.NewFormlabs("my-client-id", "my-client-secret")
	defer srv.Close()

	// A token saved before a restart: no request while it is valid.
	saved := &oauth2.Token{AccessToken: "saved-token", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}
	src := vendoroauth.FormlabsTokenSource(srv.Context(context.Background()), "my-client-id", "my-client-secret",
		vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithToken(saved))
	defer src.Close()
	tok, err := src.Token()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.AccessToken, srv.TokenRequests())
	// Output: saved-token 0
}

func ExampleTokenSource_TokenContext() {
	srv := vendoroauthtest.NewFormlabs("my-client-id", "my-client-secret")
	defer srv.Close()
	srv.SetLatency(time.Second) // a slow vendor
	src := vendoroauth.FormlabsTokenSource(srv.Context(context.Background()), "my-client-id", "my-client-secret",
		vendoroauth.WithBaseURL(srv.URL))
	defer src.Close()

	// The caller stops waiting after 50ms; the fetch goes on for others.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := src.TokenContext(ctx)
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	// Output: true
}

func ExampleTokenSource_Invalidate() {
	srv := vendoroauthtest.NewFormlabs("my-client-id", "my-client-secret")
	defer srv.Close()
	src := vendoroauth.FormlabsTokenSource(srv.Context(context.Background()), "my-client-id", "my-client-secret",
		vendoroauth.WithBaseURL(srv.URL))
	defer src.Close()
	first, err := src.Token()
	if err != nil {
		log.Fatal(err)
	}

	// The API refused the token (say, an admin revoked it): forget it.
	src.Invalidate()
	second, err := src.Token()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(first.AccessToken != second.AccessToken, srv.TokenRequests())
	// Output: true 2
}

// A readiness probe built on Status: it never waits for a fetch and makes
// no request, so a probe stays fast while the vendor is down. The service
// is not ready while its token is expired or missing, and an operator is
// told early when background refreshes are failing inside the early
// window.
func ExampleTokenSource_Status() {
	srv := vendoroauthtest.NewFormlabs("my-client-id", "my-client-secret")
	defer srv.Close()
	src := vendoroauth.FormlabsTokenSource(srv.Context(context.Background()), "my-client-id", "my-client-secret",
		vendoroauth.WithBaseURL(srv.URL))
	defer src.Close()

	ready := func(w http.ResponseWriter, r *http.Request) {
		st := src.Status()
		switch {
		case st.Expiry.IsZero() || time.Until(st.Expiry) <= 0:
			http.Error(w, "no valid token", http.StatusServiceUnavailable)
		case st.ConsecutiveFailures > 0 && !st.RefreshAt.IsZero() && time.Now().After(st.RefreshAt):
			// Valid, but every refresh since RefreshAt failed: alert.
			fmt.Fprintf(w, "ready, refresh failing: %d failures\n", st.ConsecutiveFailures)
		default:
			fmt.Fprintln(w, "ready")
		}
	}
	probe := func() {
		rec := httptest.NewRecorder()
		ready(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		fmt.Print(rec.Code, " ", rec.Body.String())
	}

	probe() // no token yet
	if _, err := src.Token(); err != nil {
		log.Fatal(err)
	}
	probe()
	// Output:
	// 503 no valid token
	// 200 ready
}

// Errors returned through Client are the token source's, wrapped in the
// [*url.Error] net/http returns, so errors.Is and errors.As see through
// it: a rejected secret (fix the configuration), a vendor outage (try
// again later) and the caller's own deadline are told apart.
func ExampleTokenSource_Client_errors() {
	srv := vendoroauthtest.NewFormlabs("my-client-id", "my-client-secret")
	defer srv.Close()
	ctx := srv.Context(context.Background())
	get := func(ctx context.Context, secret string) error {
		src := vendoroauth.FormlabsTokenSource(ctx, "my-client-id", secret, vendoroauth.WithBaseURL(srv.URL))
		defer src.Close()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.ResourceURL(), nil)
		if err != nil {
			return err
		}
		resp, err := src.Client(ctx).Do(req)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}
	classify := func(err error) {
		switch re, isRetrieve := errors.AsType[*oauth2.RetrieveError](err); {
		case errors.Is(err, vendoroauth.ErrInvalidCredentials) && isRetrieve:
			fmt.Println("rejected, fix the configuration:", re.ErrorCode)
		case errors.Is(err, context.DeadlineExceeded):
			fmt.Println("our own deadline passed")
		case isRetrieve && re.Response != nil && re.Response.StatusCode >= 500:
			fmt.Println("the vendor is down, try again later:", re.Response.Status)
		default:
			fmt.Println("other:", err)
		}
	}

	classify(get(ctx, "not-my-secret"))

	// An outage: every token request gets 503 for an hour. The source
	// retries a few times, then reports the last answer.
	srv.FailTokenUntil(time.Now().Add(time.Hour), vendoroauthtest.Fault{Status: http.StatusServiceUnavailable})
	classify(get(ctx, "my-client-secret"))

	// The caller stops waiting first.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	classify(get(short, "my-client-secret"))
	// Output:
	// rejected, fix the configuration: invalid_client
	// the vendor is down, try again later: 503 Service Unavailable
	// our own deadline passed
}

// WithLogger reports what a source does: retries and failures at Warn and
// Error, each fetch at Debug. Records never hold a secret or a token.
func ExampleWithLogger() {
	srv := vendoroauthtest.NewFormlabs("my-client-id", "my-client-secret")
	defer srv.Close()
	ctx := srv.Context(context.Background())
	srv.FailToken(1, vendoroauthtest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "1"})

	// A text handler, without the time so that the output is stable.
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))
	src := vendoroauth.FormlabsTokenSource(ctx, "my-client-id", "my-client-secret",
		vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithLogger(logger))
	defer src.Close()
	if _, err := src.Token(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// level=DEBUG msg="vendoroauth: fetching token" vendor=formlabs background=false
	// level=WARN msg="vendoroauth: token request failed; retrying" vendor=formlabs grant=client_credentials attempt=1 status=503 wait=1s err="vendoroauth: formlabs client_credentials grant: 503 Service Unavailable: temporarily_unavailable"
	// level=DEBUG msg="vendoroauth: token fetched" vendor=formlabs expires_in=24h0m0s
}

// Constructors return no error: a service that should not start with bad
// configuration or credentials asks for a token at start, with a deadline,
// and tells "fix the configuration" apart from "the vendor is down".
func Example_startupCheck() {
	srv := vendoroauthtest.NewFormlabs("my-client-id", "my-client-secret")
	defer srv.Close()
	ctx := srv.Context(context.Background())
	src := vendoroauth.FormlabsTokenSource(ctx, "my-client-id", "a-mistyped-secret",
		vendoroauth.WithBaseURL(srv.URL))
	defer src.Close()

	check, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := src.TokenContext(check)
	switch {
	case err == nil:
		fmt.Println("ready")
	case errors.Is(err, vendoroauth.ErrInvalidCredentials), errors.Is(err, vendoroauth.ErrInvalidConfig):
		// Retrying will not help: a service would log.Fatal here.
		fmt.Println("refusing to start:", err)
	default:
		// The vendor or the network is down, or the check's deadline
		// passed: start anyway, and let the source keep trying.
		fmt.Println("starting without a token:", err)
	}
	// Output: refusing to start: vendoroauth: formlabs client_credentials grant: 401 Unauthorized: invalid_client (client authentication failed)
}
