// Package otelvendoroauth records OpenTelemetry metrics and traces of
// vendoroauth token sources: how long fetches take and why they happen,
// which fail and how, the tokens the API refused, and how long until each
// vendor's tokens expire.
//
//	obs, err := otelvendoroauth.NewObserver() // the global providers; or WithMeterProvider, WithTracerProvider
//	if err != nil {
//		return err
//	}
//	src := vendoroauth.FormlabsTokenSource(ctx, id, secret, vendoroauth.WithObserver(obs))
//
// Its instrumentation scope is its import path, [ScopeName]. The metrics
// are vendoroauth.token.fetch.duration (a histogram, in seconds),
// vendoroauth.token.refusals (a counter) and
// vendoroauth.token.time_to_expiry (an observable gauge, in seconds, per
// vendor); each fetch is a span vendoroauth.token.fetch. Their attributes
// are [VendorKey], [ReasonKey], [OriginKey] and, for a failure,
// [ErrorTypeKey], whose values come from a closed list ([ErrorType]): no
// client id, username, token, secret or error text is ever recorded.
//
// This package is its own module, so that the vendoroauth module depends on
// no telemetry library.
package otelvendoroauth
