package vendoroauthtest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"time"
)

// The wire rules both vendors share: what a token or revoke request must
// look like, how answers and errors are written, and how tokens are minted.

// isForm reports whether r carries an application/x-www-form-urlencoded
// body.
func isForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// checkForm enforces what both vendors require of token and revoke
// requests: POST, each field at most once and the required fields present,
// in a form body if any field is required. It writes the error and returns
// false on a violation.
func checkForm(w http.ResponseWriter, r *http.Request, required ...string) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "method must be POST")
		return false
	}
	if !isForm(r) && len(required) > 0 {
		writeError(w, http.StatusBadRequest, "invalid_request", "content type must be application/x-www-form-urlencoded")
		return false
	}
	for k, vs := range r.PostForm {
		if len(vs) > 1 {
			writeError(w, http.StatusBadRequest, "invalid_request", "parameter "+k+" repeated")
			return false
		}
	}
	for _, k := range required {
		if r.PostForm.Get(k) == "" {
			writeError(w, http.StatusBadRequest, "invalid_request", "missing parameter "+k)
			return false
		}
	}
	return true
}

// hasBasicAuth reports whether r carries HTTP Basic credentials, which
// neither vendor accepts on its token endpoint.
func hasBasicAuth(r *http.Request) bool {
	_, _, ok := r.BasicAuth()
	return ok
}

// writeJSON writes v as a JSON response with status, not to be cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// errorBody returns an RFC 6749 error object. desc must not hold a secret.
func errorBody(code, desc string) map[string]string {
	body := map[string]string{"error": code}
	if desc != "" {
		body["error_description"] = desc
	}
	return body
}

// writeError writes an RFC 6749 error response, with a Bearer challenge for
// a 401 invalid_token. desc must not hold a secret.
func writeError(w http.ResponseWriter, status int, code, desc string) {
	if status == http.StatusUnauthorized && code == "invalid_token" {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	writeJSON(w, status, errorBody(code, desc))
}

// randomToken returns a fresh opaque token with a readable prefix.
func randomToken(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return prefix + "-" + base64.RawURLEncoding.EncodeToString(b)
}

// issueAccess mints and records an access token for subject (a username
// or a client id) in session,
// and returns the token response fields every grant shares. s.mu must be
// held.
func (s *fake) issueAccess(subject, session string, now time.Time) map[string]any {
	var tok string
	if s.jwt {
		tok = s.signJWT(map[string]any{
			"sub": subject,
			"iat": now.Unix(),
			"exp": now.Add(s.lifetime).Unix(),
			"jti": randomToken("jti"),
		})
	} else {
		tok = randomToken(s.prefix + "-at")
	}
	s.access[tok] = &accessToken{expiry: now.Add(s.lifetime), session: session, owner: subject}
	resp := map[string]any{"access_token": tok, "token_type": s.tokenType}
	if !s.omitExpiresIn {
		resp["expires_in"] = int64(s.lifetime / time.Second)
	}
	return resp
}

// signJWT returns an HS256 JWT with claims, signed with the fake's key.
func (s *fake) signJWT(claims map[string]any) string {
	enc := base64.RawURLEncoding
	payload, _ := json.Marshal(claims)
	unsigned := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, s.jwtKey)
	mac.Write([]byte(unsigned))
	return unsigned + "." + enc.EncodeToString(mac.Sum(nil))
}
