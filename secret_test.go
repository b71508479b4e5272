package vendoroauth

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretFormat(t *testing.T) {
	t.Parallel()
	s := secret("hunter2-password")
	holder := struct{ P secret }{s}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "p", s)
	outputs := []string{logged.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		outputs = append(outputs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, holder), fmt.Sprintf(verb, &holder))
	}
	for _, out := range outputs {
		if strings.Contains(out, "hunter2") {
			t.Errorf("formatted secret leaked: %s", out)
		}
	}
}

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
