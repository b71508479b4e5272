package vendoroauth

import (
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	t.Parallel()
	r := newRedactor("abc", "", "abcdef")
	if got, want := r.string("x abcdef y abc"), "x [REDACTED] y [REDACTED]"; got != want {
		t.Errorf("redactor.string() = %q, want %q", got, want)
	}
	in := []byte("nothing here")
	if got := r.bytes(in); &got[0] != &in[0] {
		t.Errorf("redactor.bytes() copied a body with no secret")
	}
	if got := r.with("here").string("nothing here"); got != "nothing [REDACTED]" {
		t.Errorf("redactor.with().string() = %q", got)
	}
}

func TestRedactorJSONEscapes(t *testing.T) {
	t.Parallel()
	const secret = "p<w>&d/ä😀\"x"
	r := newRedactor(secret)
	for _, echo := range []string{
		secret,
		`p\u003cw\u003e\u0026d/ä😀\"x`,  // Go's encoding/json
		`p<w>&d/\u00e4\ud83d\ude00\"x`, // Python's json.dumps
		`p\u003Cw\u003E\u0026d\/\u00E4\uD83D\uDE00\"x`, // upper-case hex, PHP's \/
	} {
		body := `{"error":"invalid_client","error_description":"bad secret ` + echo + `"}`
		if got := r.string(body); strings.Contains(got, "d/") || strings.Contains(got, `d\/`) {
			t.Errorf("redactor.string(%q) = %q, want the echo redacted", body, got)
		}
	}
}
