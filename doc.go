// Package vendoroauth provides [golang.org/x/oauth2] token sources for the
// EnduroSat ground-station API and the Formlabs Dashboard Developer API.
//
// A [TokenSource] caches the access token, fetches one at a time for all
// callers, and renews a token it handed out at its refresh time in the
// background, with no call needed. Use [TokenSource.Client], which sends the
// token only to the vendor's API host and recovers from a 401 once; or plug
// the source into [oauth2.NewClient], which works too but sends the token
// on every redirect hop, does not replay after a 401, and keeps its own copy
// of the token after [TokenSource.Revoke] or [TokenSource.Close]. A
// TokenSource is also a gRPC credentials.PerRPCCredentials.
// [EnduroSatConfig] and [FormlabsConfig] return plain x/oauth2
// configurations for callers who want x/oauth2 alone.
//
//	src := vendoroauth.FormlabsTokenSource(ctx, clientID, clientSecret)
//	defer src.Close() // not needed for a source that lives as long as the process
//	client := src.Client(ctx)
//
// # Defaults
//
//   - Early refresh: the smaller of 5 minutes and a fifth of the token's
//     lifetime before expiry ([WithEarlyRefresh] overrides it, capped at half
//     the lifetime).
//   - Expiry margin: a token counts as expired 10 seconds (or a twentieth of
//     its lifetime, if less) before its expiry, as in x/oauth2.
//   - Token lifetime when the response has no expires_in: the JWT exp claim
//     when the access token is a JWT, otherwise 1 hour.
//   - HTTP: with no [WithHTTPClient] and no [oauth2.HTTPClient] in the
//     constructor's context, one transport that all such sources and
//     revokers share for token requests, and [http.DefaultTransport] for
//     [TokenSource.Client]'s API requests; the client given or found is
//     used for both, unless Client's own context carries one. Whatever
//     the client, every token or revoke attempt is bounded by 30 seconds,
//     and a whole fetch, retries included, by 2 minutes; no retry is made
//     with less than 1 second of that left.
//   - Retries: network errors, 408, 429 and 5xx are tried up to 4 times in
//     all, with full-jitter exponential backoff from 500ms capped at 10s; a
//     Retry-After of up to 1 minute is honoured, a longer one fails the
//     fetch at once. Credential rejections are never retried.
//   - After a credential rejection, Token returns the same error for 30
//     seconds without asking the vendor again, so a wrong password cannot
//     lock the account; [TokenSource.Invalidate] ends that wait. A
//     background refresh the vendor rejected waits as long before it tries
//     again.
//   - Responses: at most 1 MiB is read; an access token may be at most 16
//     KiB, of RFC 6750 characters only.
//   - Stores ([WithStore]): the store work of one fetch is bounded by 2
//     seconds before it (load, lock, load again) and 2 seconds after it
//     (save, unlock), which runs once callers have the token. While another
//     process holds the lock, a fetch re-reads the record, 50ms apart at
//     first and doubling up to 1 second, for up to 2 minutes and 2 seconds
//     (the other's fetch and save). A save to a [VersionedStore] is made
//     again, the lock kept, until it is durable, for up to 30 seconds. A
//     store that cannot be read or locked is unavailable: a source keeps
//     its valid token, a password source with none logs in, a refresh-only
//     one waits and then fails with [ErrStoreUnavailable]; a store that
//     cannot work at all is an error matching [ErrInvalidConfig].
//   - [TokenSource.Client]: the token only to the API host, its subdomains,
//     over https (or http to loopback); one replay after a 401 (not after a
//     403), and none when the token itself replaced a refused one within the
//     last minute or was never accepted; no client timeout of its own, so
//     bound resource requests with their context.
//   - Background refreshes: at most 64 in flight in the process; refresh
//     times come up to a tenth of the early window early, at random.
//   - [TokenSource.Close]: a save to a store that is running gets half a
//     second to finish.
//   - Logging: none, unless [WithLogger].
//
// # Errors
//
// Every error has one form, "vendoroauth: <operation>: <what went wrong>",
// naming the vendor and the operation or grant that failed, for example
// "vendoroauth: endurosat password grant: 401 Unauthorized: invalid_grant";
// no error repeats a sentinel's text.
// Use [errors.Is] with [ErrInvalidCredentials] (the vendor rejected the
// credentials or the grant), [ErrInvalidConfig] (a constructor argument or
// option is unusable), [ErrMalformedResponse] (the vendor's answer could not
// be used) and [ErrClosed]; [errors.As] finds an [*oauth2.RetrieveError] for
// every token response with an error status, a [*RevokeError] for a failed
// revocation, and a [*url.Error] for network failures. Context errors are
// wrapped, so errors.Is(err, context.DeadlineExceeded) works; it means your
// ctx ended. A vendor that does not answer within the library's own limits
// is a timeout instead: errors.Is(err, os.ErrDeadlineExceeded), and a
// [net.Error] whose Timeout reports true.
//
// Requests through [TokenSource.Client] return these errors inside the
// [*url.Error] net/http gives; errors.Is and errors.As see through it.
//
// Constructors return no error, so that a source nests inside
// [oauth2.NewClient]. A service that should not start with bad
// configuration asks for a token at start, with a deadline of its own:
// [ErrInvalidCredentials] or [ErrInvalidConfig] means "fix the
// configuration", and retrying will not help; a timeout, a 5xx or 429 after
// retries, or a network error means the vendor is down, and the service may
// start anyway, as the source keeps trying on each call:
//
//	check, cancel := context.WithTimeout(ctx, 10*time.Second)
//	defer cancel()
//	_, err := src.TokenContext(check)
//	if errors.Is(err, vendoroauth.ErrInvalidCredentials) || errors.Is(err, vendoroauth.ErrInvalidConfig) {
//		log.Fatal(err)
//	}
//
// # Observability
//
// [TokenSource.Status] is a snapshot for readiness probes and dashboards:
// the token's expiry and refresh time, the last successful fetch, the last
// error and the failures since; it does no I/O and never waits for a
// fetch. [WithObserver] tells an [Observer] of each fetch's start and end
// and of each token the API refused, with a context the fetch's requests
// and log records share, so a span can hang on it; the cached read calls
// no observer. Package github.com/vendoroauth/vendoroauth/otelvendoroauth,
// its own module, makes an Observer that records OpenTelemetry metrics and
// spans.
//
// # Secrets
//
// Passwords, client secrets, refresh tokens and access tokens never appear in
// an error message, a log record, or the fmt output of any value of this
// package. Error texts carry the status and the vendor's RFC 6749 error code
// and description, never the raw body; any known secret that a vendor echoes
// is replaced by [REDACTED], also in the Body of a returned
// [*oauth2.RetrieveError] or [*RevokeError]. Tokens returned by Token are
// plain [*oauth2.Token] values: printing them is the caller's choice.
//
// # Testing
//
// Package [github.com/vendoroauth/vendoroauth/vendoroauthtest] has fake
// EnduroSat and Formlabs servers. Point a source at one with [WithBaseURL],
// and give it the fake's client through the context, where the source and
// its Client both find it:
//
//	srv := vendoroauthtest.NewFormlabs("id", "secret")
//	defer srv.Close()
//	ctx = srv.Context(ctx)
//	src := vendoroauth.FormlabsTokenSource(ctx, "id", "secret",
//		vendoroauth.WithBaseURL(srv.URL))
//	defer src.Close()
//	api := src.Client(ctx) // the code under test's client
package vendoroauth
