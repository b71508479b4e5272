package main

import (
	"context"

	"github.com/vendoroauth/vendoroauth"
)

// Environment variables that carry credentials.
const (
	envESClientID     = "ENDUROSAT_CLIENT_ID"
	envESUsername     = "ENDUROSAT_USERNAME"
	envESPassword     = "ENDUROSAT_PASSWORD"
	envESRefreshToken = "ENDUROSAT_REFRESH_TOKEN"
	envFLClientID     = "FORMLABS_CLIENT_ID"
	envFLClientSecret = "FORMLABS_CLIENT_SECRET"
)

// vendorFlags are the flags shared by token and revoke.
type vendorFlags struct {
	vendor  string
	baseURL string
	cache   string
}

// options returns the library options the flags ask for.
func (f vendorFlags) options(extra ...vendoroauth.Option) []vendoroauth.Option {
	var opts []vendoroauth.Option
	if f.baseURL != "" {
		opts = append(opts, vendoroauth.WithBaseURL(f.baseURL))
	}
	return append(opts, extra...)
}

// checkVendor validates -vendor.
func (f vendorFlags) checkVendor(cmd string) error {
	switch f.vendor {
	case "endurosat", "formlabs":
		return nil
	case "":
		return usagef("%s: -vendor is required (endurosat or formlabs)", cmd)
	}
	return usagef("%s: unknown vendor %q (want endurosat or formlabs)", cmd, f.vendor)
}

// require returns the named variables' values, or a usage error naming the
// first one missing.
func require(e env, vendor string, names ...string) ([]string, error) {
	vals := make([]string, len(names))
	for i, n := range names {
		vals[i] = e.getenv(n)
		if vals[i] == "" {
			return nil, usagef("%s: environment variable %s is not set", vendor, n)
		}
	}
	return vals, nil
}

// clientID returns the vendor's client id from the environment.
func clientID(e env, vendor string) (string, error) {
	name := envFLClientID
	if vendor == "endurosat" {
		name = envESClientID
	}
	v, err := require(e, vendor, name)
	if err != nil {
		return "", err
	}
	return v[0], nil
}

// tokenSource builds the vendor's token source from the environment, with
// extra options after those of the flags.
func tokenSource(ctx context.Context, e env, f vendorFlags, extra []vendoroauth.Option) (*vendoroauth.TokenSource, error) {
	opts := f.options(extra...)
	if f.vendor == "formlabs" {
		v, err := require(e, f.vendor, envFLClientID, envFLClientSecret)
		if err != nil {
			return nil, err
		}
		return vendoroauth.FormlabsTokenSource(ctx, v[0], v[1], opts...), nil
	}
	id, err := clientID(e, f.vendor)
	if err != nil {
		return nil, err
	}
	if e.getenv(envESUsername) != "" || e.getenv(envESPassword) != "" {
		v, err := require(e, f.vendor, envESUsername, envESPassword)
		if err != nil {
			return nil, err
		}
		return vendoroauth.EnduroSatPasswordTokenSource(ctx, id, v[0], v[1], opts...), nil
	}
	rt := e.getenv(envESRefreshToken)
	if rt == "" && f.cache == "" { // with -cache, the cached refresh token may do
		return nil, usagef("endurosat: set %s and %s, or %s", envESUsername, envESPassword, envESRefreshToken)
	}
	return vendoroauth.EnduroSatRefreshTokenSource(ctx, id, rt, opts...), nil
}
