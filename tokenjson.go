package vendoroauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/oauth2"
)

// defaultLifetime is the lifetime of a token whose response has no usable
// expires_in and which is not a JWT with an exp claim.
const defaultLifetime = time.Hour

// maxErrorText bounds how much of a vendor's error code or description goes
// into an error message.
const maxErrorText = 200

// decodeToken turns a token endpoint's response into a token. We parse the
// body ourselves rather than through x/oauth2's internal parser because that
// one rejects a float expires_in (3600.0), treats a zero one as "never
// expires", and puts the raw body into its error text.
//
// start is when the request was sent; the expiry is counted from it.
func decodeToken(op string, r *response, start time.Time, red redactor) (*oauth2.Token, error) {
	if r.statusCode < 200 || r.statusCode > 299 {
		return nil, statusError(op, r, red)
	}
	malformed := func(format string, args ...any) error {
		return &exchangeError{
			op:         op,
			status:     r.status,
			statusCode: r.statusCode,
			detail:     fmt.Sprintf(format, args...),
			kind:       kindPermanent,
			cause:      retrieveError(r, red, "", "", ""),
			sentinel:   ErrMalformedResponse,
		}
	}
	if r.truncated {
		return nil, malformed("response body larger than %d bytes", maxResponseBytes)
	}
	var raw map[string]any
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, malformed("response is not a JSON object (Content-Type %q)", mediaType(r))
	}
	access, _ := raw["access_token"].(string)
	if access == "" {
		if code, ok := raw["error"].(string); ok && code != "" {
			// Some servers answer 200 with an RFC 6749 error body.
			desc, _ := raw["error_description"].(string)
			e := statusError(op, r, red).(*exchangeError)
			e.code, e.desc = cleanText(red.string(code)), cleanText(red.string(desc))
			e.kind = classifyStatus(r.statusCode, code)
			if e.kind == kindRejected {
				e.sentinel = ErrInvalidCredentials
			}
			return nil, e
		}
		return nil, malformed("response has no access_token")
	}
	tok := &oauth2.Token{
		AccessToken: access,
		TokenType:   "Bearer",
	}
	if tt, ok := raw["token_type"].(string); ok && tt != "" {
		tok.TokenType = tt
	}
	if rt, ok := raw["refresh_token"].(string); ok {
		tok.RefreshToken = rt
	}
	lifetime, err := expiresIn(raw["expires_in"])
	if err != nil {
		return nil, malformed("%s", red.string(err.Error()))
	}
	if lifetime == 0 {
		if l, ok := jwtLifetime(access, start); ok {
			lifetime = l
		} else {
			lifetime = defaultLifetime
		}
	}
	tok.Expiry = start.Add(lifetime)
	tok.ExpiresIn = int64(lifetime / time.Second)
	return tok.WithExtra(raw), nil
}

// expiresIn reads an expires_in value: a JSON number, integer or not, or a
// string holding one. It returns 0 when the value is missing or zero, which
// callers treat as "unknown" (x/oauth2 would read it as "never expires").
func expiresIn(v any) (time.Duration, error) {
	var s string
	switch v := v.(type) {
	case nil:
		return 0, nil
	case json.Number:
		s = string(v)
	case string:
		s = strings.TrimSpace(v)
	default:
		return 0, fmt.Errorf("expires_in is a JSON %T, not a number", v)
	}
	secs, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) {
		return 0, fmt.Errorf("expires_in %q is not a number", cleanText(s))
	}
	if secs < 0 {
		return 0, fmt.Errorf("expires_in %s is negative", s)
	}
	return clampLifetime(secs), nil
}

// statusError builds the error for a token response with a status other
// than 2xx.
func statusError(op string, r *response, red redactor) error {
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		URI         string `json:"error_uri"`
	}
	_ = json.Unmarshal(r.body, &body) // an HTML or empty body leaves it zero
	code := cleanText(red.string(body.Error))
	desc := cleanText(red.string(body.Description))
	e := &exchangeError{
		op:         op,
		status:     r.status,
		statusCode: r.statusCode,
		code:       code,
		desc:       desc,
		kind:       classifyStatus(r.statusCode, body.Error),
		cause:      retrieveError(r, red, code, desc, cleanText(red.string(body.URI))),
	}
	if r.statusCode >= 300 && r.statusCode < 400 {
		e.kind, e.detail = kindPermanent, "redirect not followed"
	}
	if code == "" && e.detail == "" {
		if mt := mediaType(r); mt != "" && mt != "application/json" {
			e.detail = "non-JSON body (" + cleanText(mt) + ")"
		}
	}
	if d, ok := parseRetryAfter(r.header.Get("Retry-After"), time.Now()); ok {
		e.retryAfter = d
	}
	if e.kind == kindRejected {
		e.sentinel = ErrInvalidCredentials
	}
	return e
}

// mediaType returns the response's media type without parameters.
func mediaType(r *response) string {
	mt, _, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
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
