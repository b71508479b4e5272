package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMissingEnvListsAll: a run missing several environment
// variables names all of them in one message, the client id's and the
// credential's alike.
func TestMissingEnvListsAll(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		vars    map[string]string
		args    []string
		wantMsg string
	}{
		{"formlabs, nothing set", nil, []string{"token", "-vendor", "formlabs"},
			"vendoroauth: formlabs: environment variables FORMLABS_CLIENT_ID and FORMLABS_CLIENT_SECRET are not set, or empty"},
		{"formlabs revoke, no secret", map[string]string{envFLClientID: "id"}, []string{"revoke", "-vendor", "formlabs"},
			"vendoroauth: formlabs: environment variable FORMLABS_CLIENT_SECRET is not set, or empty"},
		{"endurosat, username alone", map[string]string{envESUsername: "u"}, []string{"token", "-vendor", "endurosat"},
			"vendoroauth: endurosat: environment variables ENDUROSAT_CLIENT_ID and ENDUROSAT_PASSWORD are not set, or empty"},
		{"status needs no secret", nil, []string{"status", "-vendor", "formlabs"},
			"vendoroauth: formlabs: environment variable FORMLABS_CLIENT_ID is not set, or empty"},
		{"endurosat, nothing set", nil, []string{"token", "-vendor", "endurosat"},
			"vendoroauth: endurosat: environment variables ENDUROSAT_CLIENT_ID and ENDUROSAT_USERNAME with ENDUROSAT_PASSWORD (or ENDUROSAT_REFRESH_TOKEN) are not set, or empty"},
		{"endurosat, nothing set, cache off", nil, []string{"token", "-vendor", "endurosat", "-cache", "off"},
			"vendoroauth: endurosat: environment variables ENDUROSAT_CLIENT_ID and ENDUROSAT_USERNAME with ENDUROSAT_PASSWORD (or ENDUROSAT_REFRESH_TOKEN) are not set, or empty"},
		{"endurosat, client id alone, cache off", map[string]string{envESClientID: "id"}, []string{"token", "-vendor", "endurosat", "-cache", "off"},
			"vendoroauth: token: endurosat: set ENDUROSAT_USERNAME and ENDUROSAT_PASSWORD, or ENDUROSAT_REFRESH_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runWith(t, withCache(t, tt.vars), "", tt.args...)
			assert.Equal(t, 2, r.code, "exit status (err %v)", r.err)
			require.Error(t, r.err)
			assert.Equal(t, tt.wantMsg, r.err.Error(), "run %v", tt.args)
		})
	}
}

// TestMissingEnv: lookupEnv finds every variable missing, and
// errMissingEnv names them all in one message.
func TestMissingEnv(t *testing.T) {
	t.Parallel()
	_, missing := lookupEnv(env{getenv: func(string) string { return "" }}, envESClientID, envESUsername, envESPassword)
	err := errMissingEnv("endurosat", missing)
	require.Error(t, err, "errMissingEnv")
	assert.Equal(t, "vendoroauth: endurosat: environment variables ENDUROSAT_CLIENT_ID, ENDUROSAT_USERNAME and ENDUROSAT_PASSWORD are not set, or empty", err.Error(), "the message")
}
