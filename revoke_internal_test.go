package vendoroauth

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func FuzzRevokeResponse(f *testing.F) {
	for _, seed := range []struct {
		status int
		body   string
	}{
		{400, `{"error":"unsupported_token_type"}`},
		{401, `{"error":"invalid_client","error_description":"secret s3cret wrong"}`},
		{503, `<html>down</html>`},
		{429, ``},
		{302, `{"error":`},
	} {
		f.Add(seed.status, seed.body, "application/json")
	}
	f.Fuzz(func(t *testing.T, status int, body, contentType string) {
		r := &response{status: "x", statusCode: status, header: http.Header{"Content-Type": {contentType}, "Retry-After": {body}}, body: []byte(body)}
		e := newRevokeError("fuzz revoke", r, newRedactor("s3cret"))
		msg := e.Error()
		if strings.Contains(msg, "s3cret") || strings.Contains(string(e.Body), "s3cret") || strings.ContainsAny(msg, "\n\r") {
			t.Errorf("RevokeError for (%d, %q) leaks a secret or spans lines: %q", status, body, msg)
		}
		if e.StatusCode != status {
			t.Errorf("RevokeError.StatusCode = %d, want %d", e.StatusCode, status)
		}
		if got := errors.Is(e, ErrInvalidCredentials); got != (status == 401 || e.ErrorCode == "invalid_client" || e.ErrorCode == "unauthorized_client") {
			t.Errorf("errors.Is(ErrInvalidCredentials) = %v for status %d code %q", got, status, e.ErrorCode)
		}
	})
}
