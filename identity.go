package vendoroauth

import (
	"crypto/sha256"
	"encoding/base64"
	"slices"
)

// Identity: a stored token is handed out only to a source of the same
// identity, the vendor, token URL and client id, and for EnduroSat, where a
// client has many users, the user. This file holds the record's owner and
// the rules that tell one user's record from another's.

// A recordOwner names whose token a record holds: a token fetched from one
// host, for one client or for one user must never be handed out for
// another. Vendor, client id and token URL must be equal; the user is
// decided by the grant (userGrant), since only EnduroSat has several
// users per client.
type recordOwner struct {
	Vendor   string `json:"vendor"`
	ClientID string `json:"client_id"`
	TokenURL string `json:"token_url"`
	userID
}

// A userID is what identifies the user of an EnduroSat record: the
// username of a password source; the sub of the id_tokens the vendor sent
// for it; and the chain of refresh tokens it descends from, as
// fingerprints, so that a refresh-only source, which knows no username,
// recognises its own chain's record before it has seen an id_token: Given
// holds the refresh tokens given to refresh-only sources of the chain
// (kept, since every replica of a fleet starts from the same one), Recent
// the latest refresh tokens the chain held.
type userID struct {
	User    string   `json:"user,omitempty"`
	Subject string   `json:"subject,omitempty"`
	Given   []string `json:"given,omitempty"`
	Recent  []string `json:"recent,omitempty"`
}

// maxFingerprints bounds each list of fingerprints a record keeps.
const maxFingerprints = 8

// sameClient reports whether a and b name the same vendor, token URL and
// client id.
func (a recordOwner) sameClient(b recordOwner) bool {
	return a.Vendor == b.Vendor && a.TokenURL == b.TokenURL && a.ClientID == b.ClientID
}

// A userGrant is a grant for one user among the client's: it writes its
// user into the records it saves and takes only its user's records.
type userGrant interface {
	// user returns what the grant knows of its user.
	user() userID
	// claims reports whether a record of u belongs to the grant's user,
	// and if so learns what u adds (its sub, its chain).
	claims(u userID) bool
}

// owns reports whether a record of o is the source's own.
func (g *storeGrant) owns(o recordOwner) bool {
	if !o.sameClient(g.owner) {
		return false
	}
	if u, ok := g.inner.(userGrant); ok {
		return u.claims(o.userID)
	}
	return o.userID.User == "" && o.userID.Subject == ""
}

// user implements userGrant.
func (g *enduroSatGrant) user() userID {
	return userID{User: g.username, Subject: g.subject, Given: g.given, Recent: g.recent}
}

// claims implements userGrant. A record is the grant's user's when
//   - for a password source, it names the same username, or no username
//     but the same sub;
//   - for a refresh-only source, it names the same sub; or, when the sub is
//     unknown on either side (the source has seen no id_token yet), it
//     descends from the same chain: a refresh token in common, given or
//     recent. A source given no refresh token at all takes the chain of
//     the first record it finds.
//
// It is never the grant's user's when both know a sub and the subs
// differ. A claimed record teaches the grant its sub and chain.
func (g *enduroSatGrant) claims(u userID) bool {
	if g.subject != "" && u.Subject != "" && g.subject != u.Subject {
		return false
	}
	sameSub := g.subject != "" && u.Subject == g.subject
	var ok bool
	switch {
	case g.password != "":
		ok = u.User == g.username || u.User == "" && sameSub
	case sameSub:
		ok = true
	default:
		mine := append(slices.Clip(g.given), g.recent...)
		ok = sharesAny(mine, u.Given) || sharesAny(mine, u.Recent) ||
			g.fromStore && g.subject == "" && len(g.recent) == 0
	}
	if ok {
		if g.subject == "" {
			g.subject = u.Subject
		}
		g.given = mergeFingerprints(g.given, u.Given)
		g.recent = lastFingerprints(g.recent, u.Recent...)
	}
	return ok
}

// fingerprint returns a one-way digest of a refresh token, by which one
// chain's records are told from another's. It is kept in the record only,
// which holds the refresh token itself; never in a file name or key.
func fingerprint(rt string) string {
	sum := sha256.Sum256([]byte("vendoroauth refresh token\n" + rt))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// sharesAny reports whether a and b have an element in common.
func sharesAny(a, b []string) bool {
	return slices.ContainsFunc(a, func(x string) bool { return slices.Contains(b, x) })
}

// mergeFingerprints returns own with those of more it lacks, own's first,
// at most maxFingerprints.
func mergeFingerprints(own, more []string) []string {
	for _, x := range more {
		if len(own) < maxFingerprints && !slices.Contains(own, x) {
			own = append(own, x)
		}
	}
	return own
}

// lastFingerprints returns list with those of more it lacks appended, and
// only the last maxFingerprints kept.
func lastFingerprints(list []string, more ...string) []string {
	for _, x := range more {
		if !slices.Contains(list, x) {
			list = append(list, x)
		}
	}
	if n := len(list) - maxFingerprints; n > 0 {
		list = slices.Delete(list, 0, n)
	}
	return list
}
