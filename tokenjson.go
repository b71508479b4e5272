package vendoroauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/oauth2"
)

// defaultLifetime is the lifetime of a token whose response has no usable
// expires_in and which is not a JWT with an exp claim.
const defaultLifetime = time.Hour

// maxAccessTokenBytes bounds an access token: it travels in a header of
// every API request.
const maxAccessTokenBytes = 16 << 10

// isB64Token reports whether s is an RFC 6750 b64token, the only form a
// bearer token can take in an Authorization header:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// maxErrorText bounds how much of a vendor's error code or description goes
// into an error message.
const maxErrorText = 200

// exchange sends a token request, with retries, and decodes the answer.
func (c *config) exchange(ctx context.Context, req request) (result, error) {
	r, err := c.send(ctx, req)
	if err != nil {
		return result{}, err
	}
	return decodeToken(req, r)
}

// decodeToken turns a token endpoint's 2xx response into a token. We parse
// the body ourselves rather than through x/oauth2's internal parser because
// that one rejects a float expires_in (3600.0), treats a zero one as "never
// expires", and puts the raw body into its error text.
//
// The expiry is counted from when the request was sent.
func decodeToken(req request, r *response) (result, error) {
	if r.truncated {
		return result{}, malformed(req, r, "response body larger than %d bytes", maxResponseBytes)
	}
	// Numbers decode as float64, as in x/oauth2's Token.Extra.
	var raw map[string]any
	if err := json.Unmarshal(r.body, &raw); errors.As(err, new(*json.UnmarshalTypeError)) {
		return result{}, malformed(req, r, "response holds a number out of range")
	} else if err != nil || raw == nil {
		return result{}, malformed(req, r, "response is not a JSON object (Content-Type %q)", mediaType(r))
	}
	if code, ok := raw["error"].(string); ok && code != "" {
		// An RFC 6749 error body, whatever else it holds; a token beside
		// the error is a secret too.
		for _, k := range []string{"access_token", "refresh_token", "id_token"} {
			if v, ok := raw[k].(string); ok {
				req.red = req.red.with(v)
			}
		}
		return result{}, responseError(req, r)
	}
	access, _ := raw["access_token"].(string)
	switch {
	case access == "":
		return result{}, malformed(req, r, "response has no access_token")
	case len(access) > maxAccessTokenBytes:
		return result{}, malformed(req, r, "access_token is longer than %d bytes", maxAccessTokenBytes)
	case !isB64Token(access):
		return result{}, malformed(req, r, "access_token is not an RFC 6750 bearer token (it holds spaces, control or other bytes)")
	}
	// Both vendors issue bearer tokens, and the API takes no other scheme:
	// the vendor's token_type stays in Extra("token_type").
	tok := &oauth2.Token{
		AccessToken: access,
		TokenType:   "Bearer",
	}
	if rt, ok := raw["refresh_token"].(string); ok {
		tok.RefreshToken = rt
	}
	lifetime, err := expiresIn(raw["expires_in"])
	if err != nil {
		return result{}, malformed(req, r, "%s", err.Error())
	}
	if lifetime == 0 {
		if l, ok := jwtLifetime(access, r.sent); ok {
			lifetime = l
		} else {
			lifetime = defaultLifetime
		}
	}
	tok.Expiry = r.sent.Add(lifetime)
	tok.ExpiresIn = int64(lifetime / time.Second)
	return result{tok: tok.WithExtra(raw), extra: raw, issued: r.sent}, nil
}

// expiresIn reads an expires_in value: a JSON number, integer or not, or a
// string holding one. It returns 0 when the value is missing or zero, which
// callers treat as "unknown" (x/oauth2 would read it as "never expires").
func expiresIn(v any) (time.Duration, error) {
	var secs float64
	switch v := v.(type) {
	case nil:
		return 0, nil
	case float64:
		secs = v
	case string:
		s := strings.TrimSpace(v)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("expires_in %q is not a number", cleanText(s))
		}
		secs = f
	default:
		return 0, fmt.Errorf("expires_in is a JSON %s, not a number", jsonKind(v))
	}
	if secs < 0 {
		return 0, fmt.Errorf("expires_in %v is negative", secs)
	}
	return clampLifetime(secs), nil
}

// jsonKind names the JSON type of a value decoded into an any.
func jsonKind(v any) string {
	switch v.(type) {
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "value"
}

// cleanText makes vendor-supplied text safe for one line of an error
// message: printable characters only, at most maxErrorText bytes.
func cleanText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, s)
	if len(s) > maxErrorText {
		s = strings.ToValidUTF8(s[:maxErrorText], "") + "…"
	}
	return s
}
