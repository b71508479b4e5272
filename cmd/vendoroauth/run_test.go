package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVersionFlags: -v, -version and --version print what the version
// command prints.
func TestVersionFlags(t *testing.T) {
	t.Parallel()
	want := runWith(t, nil, "", "version")
	require.Equal(t, 0, want.code, "version: %v", want.err)
	require.NotEmpty(t, want.stdout)
	for _, flag := range []string{"-v", "-version", "--version"} {
		t.Run(flag, func(t *testing.T) {
			t.Parallel()
			r := runWith(t, nil, "", flag)
			assert.Equal(t, 0, r.code, "%s: %v", flag, r.err)
			assert.Equal(t, want.stdout, r.stdout, "%s and version print different lines", flag)
			assert.Empty(t, r.stderr)
		})
	}
}
