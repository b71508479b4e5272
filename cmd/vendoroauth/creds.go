package main

import (
	"context"
	"net"
	"net/url"
	"strings"

	"github.com/vendoroauth/vendoroauth"
)

// Environment variables.
const (
	envESClientID     = "ENDUROSAT_CLIENT_ID"
	envESUsername     = "ENDUROSAT_USERNAME"
	envESPassword     = "ENDUROSAT_PASSWORD"
	envESRefreshToken = "ENDUROSAT_REFRESH_TOKEN"
	envFLClientID     = "FORMLABS_CLIENT_ID"
	envFLClientSecret = "FORMLABS_CLIENT_SECRET"
	envBaseURL        = "VENDOROAUTH_BASE_URL"
)

// vendorFlags are the flags that token and revoke share.
type vendorFlags struct {
	vendor  string
	baseURL string
	cache   string
}

// addVendorFlags defines -vendor, -base-url and -cache on fs.
func addVendorFlags(fs *flagSet, f *vendorFlags) {
	fs.StringVar(&f.vendor, "vendor", "", "`NAME` of the vendor: endurosat or formlabs (required)")
	fs.StringVar(&f.baseURL, "base-url", "", "base `URL` of the vendor API, https (or http to a loopback host);\n"+
		"default: $"+envBaseURL+" if set, else the vendor's production URL")
	fs.StringVar(&f.cache, "cache", "", "`FILE` that keeps the token between runs (mode 0600), or off;\n"+
		"default: a file per vendor, client id, base URL and EnduroSat user in the user's cache folder")
}

// A vendorSetup is what token and revoke resolved from their flags and the
// environment.
type vendorSetup struct {
	vendor   string
	base     string // the base URL in effect, the vendor's own if none was given
	custom   bool   // base came from -base-url or the environment
	clientID string
}

// setup checks -vendor and the base URL, and reads the client id.
func (f vendorFlags) setup(cmd string, e env) (vendorSetup, error) {
	s, _, err := f.setupWith(cmd, e, false)
	return s, err
}

// credentialSetup is setup that also reads the vendor credential, so that
// one message names every variable missing, the client id's and the
// credential's.
func (f vendorFlags) credentialSetup(cmd string, e env) (vendorSetup, credential, error) {
	return f.setupWith(cmd, e, true)
}

// setupWith is setup, reading and requiring as well the credential's
// variables if withCredential is set.
func (f vendorFlags) setupWith(cmd string, e env, withCredential bool) (vendorSetup, credential, error) {
	s := vendorSetup{vendor: f.vendor}
	switch f.vendor {
	case "endurosat":
		s.base = vendoroauth.EnduroSatBaseURL
	case "formlabs":
		s.base = vendoroauth.FormlabsBaseURL
	case "":
		return s, credential{}, usagef("%s: -vendor is required (endurosat or formlabs)", cmd)
	default:
		return s, credential{}, usagef("%s: -vendor must be endurosat or formlabs", cmd)
	}
	raw, source := f.baseURL, "-base-url"
	if raw == "" {
		raw, source = e.getenv(envBaseURL), envBaseURL
	}
	if raw != "" {
		if problem := baseURLProblem(raw); problem != "" {
			return s, credential{}, usagef("%s: %s %s", cmd, source, problem)
		}
		s.base, s.custom = strings.TrimRight(raw, "/"), true
	}
	name := envFLClientID
	if f.vendor == "endurosat" {
		name = envESClientID
	}
	var c credential
	names := []string{name}
	if withCredential {
		c = readCredential(e, f.vendor)
		names = append(names, c.vars(f.vendor)...)
	}
	v, missing := lookupEnv(e, names...)
	if len(missing) > 0 {
		if withCredential && f.vendor == "endurosat" && c == (credential{}) {
			// An EnduroSat run with no credential either: name it too.
			missing = append(missing, envESUsername+" with "+envESPassword+" (or "+envESRefreshToken+")")
		}
		return s, credential{}, errMissingEnv(f.vendor, missing)
	}
	s.clientID = v[0]
	return s, c, nil
}

// options returns the library options of the setup.
func (s vendorSetup) options(e env) []vendoroauth.Option {
	opts := []vendoroauth.Option{vendoroauth.WithLogger(warnLogger(e.stderr))}
	if s.custom {
		opts = append(opts, vendoroauth.WithBaseURL(s.base))
	}
	return opts
}

// baseURLProblem checks a base URL as the library does and returns what is
// wrong with it, or "". The text says what to write and never repeats the
// value.
func baseURLProblem(raw string) string {
	const hint = "; write https://host, or http://127.0.0.1:PORT for a loopback host such as serve-fake's"
	if !strings.Contains(raw, "://") {
		return "has no scheme" + hint
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "is not a URL" + hint
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "must start with https:// (or http:// for a loopback host)"
	case u.Hostname() == "":
		return "has no host" + hint
	case u.User != nil:
		return "must not hold user info; credentials come from the environment"
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "must not have a query or fragment"
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return "uses plain http to a host that is not loopback; use https"
	}
	return ""
}

// isLoopback reports whether host is localhost or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// lookupEnv returns the named variables' values, and the names of those
// that are not set or empty.
func lookupEnv(e env, names ...string) (vals, missing []string) {
	vals = make([]string, len(names))
	for i, n := range names {
		vals[i] = e.getenv(n)
		if vals[i] == "" {
			missing = append(missing, n)
		}
	}
	return vals, missing
}

// errMissingEnv is the usage error naming every variable missing, at least
// one.
func errMissingEnv(vendor string, missing []string) error {
	if len(missing) == 1 {
		return usagef("%s: environment variable %s is not set, or empty", vendor, missing[0])
	}
	list := strings.Join(missing[:len(missing)-1], ", ") + " and " + missing[len(missing)-1]
	return usagef("%s: environment variables %s are not set, or empty", vendor, list)
}

// A credential is the vendor credential from the environment.
type credential struct {
	secret       string // Formlabs client secret
	username     string // EnduroSat password grant
	password     string
	refreshToken string // EnduroSat refresh-only: ENDUROSAT_REFRESH_TOKEN, maybe empty
}

// refreshOnly reports whether c is an EnduroSat credential without a
// password, whose refresh token must not be lost when it rotates.
func (c credential) refreshOnly(vendor string) bool {
	return vendor == "endurosat" && c.password == ""
}

// vars returns the variables that c, the vendor's credential as read from
// the environment, needs: the Formlabs client secret; the EnduroSat
// username and password once either is set (a password login), else none
// (a refresh-only run, whose refresh token may come from the cache).
func (c credential) vars(vendor string) []string {
	switch {
	case vendor == "formlabs":
		return []string{envFLClientSecret}
	case c.username != "" || c.password != "":
		return []string{envESUsername, envESPassword}
	}
	return nil
}

// readCredential reads the vendor's credential from the environment, whose
// vars the caller checks. An EnduroSat credential may be
// refresh-only with an empty refresh token, for the caller to decide
// whether the cache may supply one.
func readCredential(e env, vendor string) credential {
	switch {
	case vendor == "formlabs":
		return credential{secret: e.getenv(envFLClientSecret)}
	case e.getenv(envESUsername) != "" || e.getenv(envESPassword) != "":
		return credential{username: e.getenv(envESUsername), password: e.getenv(envESPassword)}
	}
	return credential{refreshToken: e.getenv(envESRefreshToken)}
}

// errNoEnduroSatCredential is the usage error for an EnduroSat run with no
// credential at all.
func errNoEnduroSatCredential(cmd, why string) error {
	return usagef("%s: endurosat: set %s and %s, or %s%s", cmd, envESUsername, envESPassword, envESRefreshToken, why)
}

// tokenSource returns the vendor's token source for the credential.
func tokenSource(ctx context.Context, s vendorSetup, c credential, opts []vendoroauth.Option) *vendoroauth.TokenSource {
	switch {
	case s.vendor == "formlabs":
		return vendoroauth.FormlabsTokenSource(ctx, s.clientID, c.secret, opts...)
	case c.password != "":
		return vendoroauth.EnduroSatPasswordTokenSource(ctx, s.clientID, c.username, c.password, opts...)
	}
	return vendoroauth.EnduroSatRefreshTokenSource(ctx, s.clientID, c.refreshToken, opts...)
}
