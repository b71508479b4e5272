package vendoroauth

import (
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
