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
		if status >= 200 && status <= 299 || status < 100 || status > 999 {
			return // a success (send returns it, no error is built), or no HTTP status at all
		}
		r := &response{status: "x", statusCode: status, header: http.Header{"Content-Type": {contentType}, "Retry-After": {body}}, body: []byte(body)}
		err := responseError(request{op: "fuzz revoke", endpoint: revokeEndpoint, red: newRedactor("s3cret")}, r)
		e, ok := errors.AsType[*RevokeError](err)
		if !ok {
			t.Fatalf("responseError(%d) = %v, not a *RevokeError", status, err)
		}
		for _, msg := range []string{err.Error(), e.Error()} {
			if strings.Contains(msg, "s3cret") || strings.Contains(string(e.Body), "s3cret") || strings.ContainsAny(msg, "\n\r") {
				t.Errorf("RevokeError for (%d, %q) leaks a secret or spans lines: %q", status, body, msg)
			}
		}
		if e.StatusCode != status {
			t.Errorf("RevokeError.StatusCode = %d, want %d", e.StatusCode, status)
		}
		wantRejected := status == 401 || e.ErrorCode == "invalid_client" || e.ErrorCode == "unauthorized_client"
		if status >= 300 && status < 400 {
			wantRejected = false // a redirect is never followed, whatever its body says
		}
		if got := errors.Is(err, ErrInvalidCredentials); got != wantRejected || errors.Is(e, ErrInvalidCredentials) != wantRejected {
			t.Errorf("errors.Is(ErrInvalidCredentials) = %v for status %d code %q, want %v", got, status, e.ErrorCode, wantRejected)
		}
	})
}
