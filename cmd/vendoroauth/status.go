package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/internal/lifetime"
)

const statusAbout = `Status shows the token that token cached for the vendor and the credential in
the environment: its expiry, its refresh time (from then on the next token run
fetches a new token instead of printing the cached one) and its age. It reads
the cache file and nothing else: it makes no request, and needs no secret, only
the client id and, for an EnduroSat password login, ENDUROSAT_USERNAME, which
name the default cache file. It never prints a token, a client id or a username.

The status is valid, due for refresh (still valid, but the next token run
fetches a new one), expired, or no cached token, with the reason. Exit status 0
when the token is valid or due for refresh, 1 when it has expired or there is
none.`

const statusExample = `  export FORMLABS_CLIENT_ID=...
  vendoroauth status -vendor formlabs
  vendoroauth status -vendor formlabs >/dev/null || echo "no valid cached token"`

// The statuses of a cached token.
const (
	statusValid   = "valid"
	statusDue     = "due for refresh"
	statusExpired = "expired"
	statusNone    = "no cached token"
)

// runStatus prints what the cache file holds for the run's vendor and
// credential: the cached token's expiry, refresh time and age, or why there
// is no cached token. It returns errReported when the token has expired or
// there is none.
func runStatus(ctx context.Context, args []string, e env) error {
	var f vendorFlags
	fs := newFlagSet("status", "-vendor endurosat|formlabs [-base-url URL] [-cache FILE] [-json]", statusAbout, statusExample)
	addVendorFlags(fs, &f)
	fs.Lookup("cache").Usage = "`FILE` to read: the one given to token with -cache FILE;\n" +
		"default: token's default file for the vendor, client id, base URL and EnduroSat user"
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if err := fs.parse(args, e.stdout); err != nil {
		return err
	}
	if f.cache == cacheOff {
		return usagef("status: -cache off leaves no cache to show; leave -cache out for the default file, or name the file with -cache FILE")
	}
	s, err := f.setup("status", e)
	if err != nil {
		return err
	}
	// The username alone names an EnduroSat user's default file; no secret
	// is read.
	var c credential
	if s.vendor == "endurosat" {
		c.username = e.getenv(envESUsername)
	}
	path, err := f.cacheFile("status", e, s, c)
	if err != nil {
		return err
	}
	store := e.openStore(path)
	data, err := store.Load(ctx)
	if err != nil && !errors.Is(err, vendoroauth.ErrCorruptRecord) {
		return store.explain(err)
	}
	owner := cachedOwner{Vendor: s.vendor, ClientID: s.clientID, TokenURL: s.tokenURL(e), User: c.username}
	st := inspectCache(data, err, owner, time.Now())
	st.path = path
	// A failed write is run's to report: e.stdout remembers it.
	if *asJSON {
		st.writeJSON(e)
	} else {
		st.writeText(e)
	}
	if st.status == statusExpired || st.status == statusNone {
		return errReported
	}
	return nil
}

// tokenURL returns the token URL of the setup: the one the library writes
// into the records it stores, as their owner's.
func (s vendorSetup) tokenURL(e env) string {
	if s.vendor == "formlabs" {
		return vendoroauth.FormlabsConfig(s.clientID, "", s.options(e)...).TokenURL
	}
	return vendoroauth.EnduroSatConfig(s.clientID, s.options(e)...).Endpoint.TokenURL
}

// cachedRecordVersion is the version of the library's record format that
// cachedRecord mirrors.
const cachedRecordVersion = 1

// A cachedRecord is the part of the record that the library keeps in a
// cache file that status needs: it mirrors the library's versioned record
// format (version 1) without its secrets. No token and no credential is
// decoded; of the access token, only whether there is one.
type cachedRecord struct {
	Version     int         `json:"version"`
	Owner       cachedOwner `json:"owner"`
	AccessToken presence    `json:"access_token"`
	Expiry      time.Time   `json:"expiry"`
	Issued      time.Time   `json:"issued"` // when the access token was issued
}

// A cachedOwner names whose token a record holds. User is the EnduroSat
// username of a password login.
type cachedOwner struct {
	Vendor   string `json:"vendor"`
	ClientID string `json:"client_id"`
	TokenURL string `json:"token_url"`
	User     string `json:"user"`
}

// A presence is a JSON string decoded only as whether it is not empty; the
// string itself is never kept.
type presence bool

// UnmarshalJSON implements [json.Unmarshaler]. It never fails: a value of
// another type is no string.
func (p *presence) UnmarshalJSON(data []byte) error {
	*p = len(data) > 2 && data[0] == '"'
	return nil
}

// A cacheStatus is what status reports of a cache file.
type cacheStatus struct {
	path   string
	status string // one of the status constants
	reason string // why there is no cached token, when there is none

	// Of a cached token.
	now       time.Time
	expiry    time.Time // the token's
	refreshAt time.Time // from then on the next token run fetches a new token
	issued    time.Time // zero if the record does not say
}

// inspectCache returns the status, at now, of the cache file's data, read
// with the error loadErr (nil, or an ErrCorruptRecord), for a run of owner
// (whose User is empty unless the run has a username). Its reasons never
// show a value from the file.
func inspectCache(data []byte, loadErr error, owner cachedOwner, now time.Time) cacheStatus {
	none := func(reason string) cacheStatus { return cacheStatus{status: statusNone, reason: reason} }
	var rec cachedRecord
	switch {
	case loadErr != nil:
		return none("the cache file cannot be read as a token record")
	case data == nil:
		return none("the cache file does not exist")
	case len(data) == 0:
		return none("the cache file is empty")
	case json.Unmarshal(data, &rec) != nil:
		return none("the cache file does not hold a token record")
	case rec.Version != cachedRecordVersion:
		return none(fmt.Sprintf("the cache file holds a record of another format version, not %d", cachedRecordVersion))
	case !ownedBy(rec.Owner, owner):
		return none("the cached token belongs to another vendor, client id, base URL or user")
	case !bool(rec.AccessToken):
		return none("the cache file holds no access token")
	case rec.Expiry.IsZero():
		return none("the cached token has no expiry, so token does not reuse it")
	}
	// The library's rule for a stored token: its schedule counts from its
	// issue time, or from now if it has none.
	refreshAt, expiresAt := lifetime.Schedule(rec.Expiry, lifetime.IssuedBy(rec.Issued, now), 0)
	st := cacheStatus{status: statusValid, now: now, expiry: rec.Expiry, refreshAt: refreshAt, issued: rec.Issued}
	switch {
	case !now.Before(expiresAt):
		st.status = statusExpired
	case !now.Before(refreshAt):
		st.status = statusDue
	}
	return st
}

// ownedBy reports whether a record of o is the run's, whose owner is run:
// the same vendor, client id and token URL, and the same user when the run
// has one. A Formlabs record has no user.
func ownedBy(o, run cachedOwner) bool {
	if o.Vendor != run.Vendor || o.ClientID != run.ClientID || o.TokenURL != run.TokenURL {
		return false
	}
	return (run.User == "" && run.Vendor != "formlabs") || o.User == run.User
}

// writeText prints the status as aligned lines.
func (st cacheStatus) writeText(e env) {
	line := func(name, format string, args ...any) {
		fmt.Fprintf(e.stdout, "%-9s"+format+"\n", append([]any{name + ":"}, args...)...)
	}
	line("cache", "%s", st.path)
	if st.status == statusNone {
		line("status", "%s (%s)", st.status, st.reason)
		return
	}
	line("expiry", "%s (%s)", utc(st.expiry), relative(st.expiry.Sub(st.now)))
	line("refresh", "%s (%s)", utc(st.refreshAt), relative(st.refreshAt.Sub(st.now)))
	if st.issued.IsZero() {
		line("age", "unknown (the record does not say when the token was issued)")
	} else {
		line("age", "%s (issued %s)", seconds(st.now.Sub(st.issued)), utc(st.issued))
	}
	line("status", "%s", st.status)
}

// writeJSON prints the status as a JSON object. Its times are RFC 3339 in
// UTC, its durations whole seconds, negative when past.
func (st cacheStatus) writeJSON(e env) {
	type out struct {
		Cache     string `json:"cache"`
		Status    string `json:"status"`
		Reason    string `json:"reason,omitempty"`
		Expiry    string `json:"expiry,omitempty"`
		ExpiresIn *int64 `json:"expires_in,omitempty"`
		Refresh   string `json:"refresh,omitempty"`
		RefreshIn *int64 `json:"refresh_in,omitempty"`
		Issued    string `json:"issued,omitempty"`
		Age       *int64 `json:"age,omitempty"`
	}
	o := out{Cache: st.path, Status: st.status, Reason: st.reason}
	secs := func(d time.Duration) *int64 { n := int64(d.Round(time.Second) / time.Second); return &n }
	if st.status != statusNone {
		o.Expiry, o.ExpiresIn = utc(st.expiry), secs(st.expiry.Sub(st.now))
		o.Refresh, o.RefreshIn = utc(st.refreshAt), secs(st.refreshAt.Sub(st.now))
		if !st.issued.IsZero() {
			o.Issued, o.Age = utc(st.issued), secs(st.now.Sub(st.issued))
		}
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(o) // nothing in o fails to encode
}

// utc formats t as RFC 3339 in UTC, to the second.
func utc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// seconds formats d rounded to the second.
func seconds(d time.Duration) string { return d.Round(time.Second).String() }

// relative says when a time d from now is: "in 5m0s", "5m0s ago" or "now".
func relative(d time.Duration) string {
	switch d = d.Round(time.Second); {
	case d > 0:
		return "in " + d.String()
	case d < 0:
		return (-d).String() + " ago"
	}
	return "now"
}
