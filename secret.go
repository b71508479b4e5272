package vendoroauth

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf16"
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
	slices.SortFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
	return r
}

// with returns a redactor that also knows the non-empty values in more.
func (r redactor) with(more ...string) redactor {
	return newRedactor(append(append([]string(nil), r.secrets...), more...)...)
}

// string returns s with every known secret replaced by [REDACTED], in the
// forms a vendor may echo it: as sent, and as a JSON string escapes it.
func (r redactor) string(s string) string {
	for _, sec := range r.secrets {
		for _, form := range echoes(sec) {
			if strings.Contains(s, form) {
				s = strings.ReplaceAll(s, form, redacted)
			}
		}
	}
	return s
}

// echoes returns the forms in which a JSON body can carry secret: itself,
// and its escapes by the common encoders: Go's (\u003c for <, >, &), ASCII
// only (\u00e4 for ä, as Python's json.dumps does), either hex case, and /
// as \/ (as PHP does). The longest come first.
func echoes(secret string) []string {
	forms := []string{secret}
	for _, html := range []bool{false, true} {
		for _, ascii := range []bool{false, true} {
			f := jsonEscape(secret, html, ascii)
			for _, g := range []string{f, upperHex(f)} {
				for _, h := range []string{g, strings.ReplaceAll(g, "/", `\/`)} {
					if !slices.Contains(forms, h) {
						forms = append(forms, h)
					}
				}
			}
		}
	}
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	return forms
}

// jsonEscape escapes s as the inside of a JSON string: always ", \ and
// control characters; <, > and & too if html; every non-ASCII rune as
// \uXXXX (with surrogate pairs) if ascii.
func jsonEscape(s string, html, ascii bool) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20, html && (r == '<' || r == '>' || r == '&'), ascii && r >= 0x80:
			if r >= 0x10000 {
				r1, r2 := utf16.EncodeRune(r)
				fmt.Fprintf(&b, "\\u%04x\\u%04x", r1, r2)
			} else {
				fmt.Fprintf(&b, "\\u%04x", r)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// upperHex returns an escaped string with the hex digits of its \u
// escapes in upper case.
func upperHex(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == '\\':
			b.WriteString(`\\`) // an escaped backslash, not an escape
			i++
		case s[i] == '\\' && i+5 < len(s) && s[i+1] == 'u':
			b.WriteString(`\u` + strings.ToUpper(s[i+2:i+6]))
			i += 5
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// bytes is string for a body; it returns b itself when nothing matched.
func (r redactor) bytes(b []byte) []byte {
	s := r.string(string(b))
	if len(s) == len(b) && s == string(b) {
		return b
	}
	return []byte(s)
}
