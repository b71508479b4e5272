package vendoroauth

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestFormBody: formBody encodes exactly as url.Values.Encode does for the
// same pairs given sorted, secrets with reserved and non-ASCII bytes
// included.
func TestFormBody(t *testing.T) {
	t.Parallel()
	tests := [][]string{
		{"client_id", "id", "client_secret", "s3cr3t", "grant_type", "client_credentials"},
		{"client_id", "a b&c=d", "grant_type", "password", "password", "pä%ss+/?#", "username", "ünï@example.com"},
		{"client_id", "", "token", "\x00\n\t"},
	}
	for _, pairs := range tests {
		v := url.Values{}
		for i := 0; i < len(pairs); i += 2 {
			v.Set(pairs[i], pairs[i+1])
		}
		assert.Equal(t, v.Encode(), formBody(pairs...))
	}
}
