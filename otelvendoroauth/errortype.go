package otelvendoroauth

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"strconv"

	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
)

// rfc6749Codes are the error codes of RFC 6749 (section 5.2, and the two of
// section 4.1.2.1 that token endpoints use too) that error.type takes as
// they are.
var rfc6749Codes = map[string]bool{
	"invalid_request":         true,
	"invalid_client":          true,
	"invalid_grant":           true,
	"unauthorized_client":     true,
	"unsupported_grant_type":  true,
	"invalid_scope":           true,
	"temporarily_unavailable": true,
	"server_error":            true,
}

// ErrorType returns the error.type of a failed fetch's error, from a closed
// list, so that it is a low-cardinality attribute and never carries a
// vendor's text:
//   - an RFC 6749 error code the vendor answered with (invalid_request,
//     invalid_client, invalid_grant, unauthorized_client,
//     unsupported_grant_type, invalid_scope, temporarily_unavailable,
//     server_error);
//   - otherwise the HTTP status of the vendor's answer, as a number ("403",
//     "503");
//   - otherwise "closed" (the source was closed), "config" (an unusable
//     configuration or store), "store" (the store was unavailable),
//     "malformed_response" (a 2xx that is not a token), "timeout" (no
//     answer in time, the caller's or the library's limit), "network" (no
//     answer at all);
//   - "_OTHER" for anything else, a vendor's own error codes included.
func ErrorType(err error) string {
	if err == nil {
		return ""
	}
	if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok && re.Response != nil {
		if rfc6749Codes[re.ErrorCode] {
			return re.ErrorCode
		}
		return strconv.Itoa(re.Response.StatusCode)
	}
	var ne net.Error
	switch {
	case errors.Is(err, vendoroauth.ErrClosed):
		return "closed"
	case errors.Is(err, vendoroauth.ErrInvalidConfig):
		return "config"
	case errors.Is(err, vendoroauth.ErrStoreUnavailable):
		return "store"
	case errors.Is(err, vendoroauth.ErrMalformedResponse):
		return "malformed_response"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.As(err, new(*url.Error)), errors.As(err, new(*net.OpError)), errors.Is(err, context.Canceled):
		return "network"
	}
	return "_OTHER"
}
