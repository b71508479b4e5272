package vendoroauth

import (
	"sort"
	"strings"
)

// redacted is what every formatted secret prints.
const redacted = "[REDACTED]"

// redactor replaces known secret values in text that came from elsewhere:
// a vendor's error description or body may echo what we sent.
type redactor struct {
	secrets []string // longest first, so that overlapping secrets go whole
}

// newRedactor returns a redactor for the non-empty values among secrets.
func newRedactor(secrets ...string) redactor {
	var r redactor
	for _, s := range secrets {
		if s != "" {
			r.secrets = append(r.secrets, s)
		}
	}
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	return r
}

// with returns a redactor that also knows the non-empty values in more.
func (r redactor) with(more ...string) redactor {
	return newRedactor(append(append([]string(nil), r.secrets...), more...)...)
}

// string returns s with every known secret replaced by [REDACTED].
func (r redactor) string(s string) string {
	for _, sec := range r.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	return s
}

// bytes is string for a body; it returns b itself when nothing matched.
func (r redactor) bytes(b []byte) []byte {
	s := r.string(string(b))
	if len(s) == len(b) && s == string(b) {
		return b
	}
	return []byte(s)
}
