package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestUnknownFlagNamed: an unknown flag's message names the flag, the part
// before any "=", and never its value; a name that does not look like a
// flag's (it may be a secret after a dash) is not repeated either.
func TestUnknownFlagNamed(t *testing.T) {
	t.Parallel()
	const value = "hunter2"
	tests := []struct {
		name     string
		arg      string
		wantText string // "": the message names no flag
	}{
		{"value after =", "-client-secret-x=" + value, "unknown flag -client-secret-x ("},
		{"two dashes", "--client-secret=" + value, "unknown flag -client-secret ("},
		{"no value", "-refresh-now", "unknown flag -refresh-now ("},
		{"empty value", "-secret=", "unknown flag -secret ("},
		{"mixed case", "-Hunter2-Secret", ""},
		{"digits", "-hunter2", ""},
		{"symbols", "-hunter2+secret", ""},
		{"too long", "-" + value + "-abcdefghijklmnopqrstuvwxyz", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runWith(t, withCache(t, flEnv), "", "token", "-vendor", "formlabs", tt.arg)
			assert.Equal(t, 2, r.code, "exit status (err %v)", r.err)
			assert.ErrorContains(t, r.err, "token: unknown flag")
			assert.ErrorContains(t, r.err, "its flags are -base-url -cache -json -refresh -vendor")
			if tt.wantText != "" {
				assert.ErrorContains(t, r.err, tt.wantText)
			} else {
				assert.ErrorContains(t, r.err, "unknown flag (")
			}
			assert.NotContains(t, r.all(), value, "the value, or a name that may be a secret, was echoed")
			assert.NotContains(t, r.all(), "Secret", "a name that may be a secret was echoed")
		})
	}
}
