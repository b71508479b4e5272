// Package vendoroauthtest provides fake EnduroSat and Formlabs OAuth2
// servers for end-to-end tests, in the manner of [net/http/httptest].
//
// The fakes are an independent reading of the vendors' API documents: they
// do not import package vendoroauth, so a misreading in one cannot hide in
// code both share. They are as strict as the vendors: a wrong method, content
// type, missing or repeated field, HTTP Basic credentials or a wrong secret
// gets the vendor's status and an RFC 6749 error body, and no answer ever
// echoes a secret.
//
// Each fake serves the vendor's token and revocation endpoints and a
// protected resource that accepts only valid, unrevoked, unexpired bearer
// tokens. Handle adds the user's own API behind the same token check, so
// that a test can run the code under test against the fake end to end.
// Methods change its behaviour while requests run: token lifetime,
// refresh-token rotation and lifetime (EnduroSat's; Formlabs issues no
// refresh tokens), JWT access tokens, a missing expires_in, scripted faults
// ([Fault]: statuses, Retry-After, latency, HTML or huge bodies, dropped
// connections) and request counters.
//
// [NewEnduroSat] and [NewFormlabs] start a fake on a loopback port, as
// [httptest.NewServer] does; the caller should Close it when finished.
// [NewUnstartedEnduroSat] and [NewUnstartedFormlabs] return one that does
// not listen yet, as [httptest.NewUnstartedServer] does: configure it, then
// call Start (and later Close). Until Start, reach it with InProcessClient,
// which calls ServeHTTP directly, with no socket. That is the way to use a
// fake inside a [testing/synctest] bubble, where sockets hang and the fake's
// latency and token expiry follow the bubble's fake clock.
//
// Context puts the fake's client (in process or not) into a context as
// [golang.org/x/oauth2.HTTPClient], where a vendoroauth token source and its
// Client method both find it:
//
//	ctx = srv.Context(ctx)
//	src := vendoroauth.FormlabsTokenSource(ctx, id, secret, vendoroauth.WithBaseURL(srv.URL))
//	defer src.Close()
//	api := src.Client(ctx)
//
// The demo credentials ([EnduroSatClientID] and the rest) are for programs,
// examples and tests that do not care which credentials a fake accepts.
//
// The package does not import testing, so programs (such as the vendoroauth
// command's serve-fake) can use it too.
package vendoroauthtest
