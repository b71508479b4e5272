package vendoroauth_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

func ExampleFormlabsTokenSource() {
	// A fake Formlabs API stands in for https://api.formlabs.com.
	srv := vendoroauthtest.NewFormlabs("my-client-id", "my-client-secret")
	defer srv.Close()
	ctx := context.Background()

	src := vendoroauth.FormlabsTokenSource(ctx, "my-client-id", "my-client-secret",
		vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithHTTPClient(srv.Client()))
	defer src.Close()

	// The source nests inside oauth2.NewClient like any x/oauth2 source.
	client := oauth2.NewClient(context.WithValue(ctx, oauth2.HTTPClient, srv.Client()), src)
	resp, err := client.Get(srv.ResourceURL())
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

	src := vendoroauth.EnduroSatPasswordTokenSource(context.Background(), "my-client-id", "operator", "my-password",
		vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithHTTPClient(srv.Client()))
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
	ctx := context.Background()
	src := vendoroauth.EnduroSatPasswordTokenSource(ctx, "my-client-id", "operator", "my-password",
		vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithHTTPClient(srv.Client()))
	defer src.Close()
	client := src.Client(context.WithValue(ctx, oauth2.HTTPClient, srv.Client()))

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
	ctx := context.Background()
	src := vendoroauth.FormlabsTokenSource(ctx, "my-client-id", "my-client-secret",
		vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithHTTPClient(srv.Client()))
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
	src := vendoroauth.EnduroSatPasswordTokenSource(context.Background(), "my-client-id", "operator", "not-my-password",
		vendoroauth.WithBaseURL(srv.URL), vendoroauth.WithHTTPClient(srv.Client()))
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
