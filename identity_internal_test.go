package vendoroauth

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestClaims: which records an EnduroSat grant takes as its user's, by
// the rules claims states.
func TestClaims(t *testing.T) {
	fpA, fpB, fpOld := fingerprint("rt-alice"), fingerprint("rt-bob"), fingerprint("rt-alice-old")
	password := func() *enduroSatGrant { return &enduroSatGrant{username: "alice", password: "pw"} }
	refreshOnly := func() *enduroSatGrant {
		g := &enduroSatGrant{given: []string{fpA}}
		g.setRefresh("rt-alice", time.Time{})
		return g
	}
	knowsSub := func() *enduroSatGrant { g := refreshOnly(); g.subject = "sub-alice"; return g }
	fromStore := func() *enduroSatGrant { return &enduroSatGrant{fromStore: true} }
	tests := []struct {
		name  string
		grant func() *enduroSatGrant
		rec   userID
		want  bool
	}{
		{"password: same username", password, userID{User: "alice"}, true},
		{"password: same username and sub", password, userID{User: "alice", Subject: "sub-alice"}, true},
		{"password: another username", password, userID{User: "bob"}, false},
		{"password: no username, unknown sub", password, userID{Subject: "sub-alice", Given: []string{fpA}}, false},
		{"password: an old record with no user", password, userID{}, false},
		{"refresh-only: given the record's root", refreshOnly, userID{Given: []string{fpA}}, true},
		{"refresh-only: given a refresh token the chain held", refreshOnly, userID{User: "alice", Recent: []string{fpOld, fpA}}, true},
		{"refresh-only: another chain", refreshOnly, userID{User: "bob", Given: []string{fpB}, Recent: []string{fpB}}, false},
		{"refresh-only: a record with no chain", refreshOnly, userID{}, false},
		{"refresh-only knowing its sub: same sub", knowsSub, userID{Subject: "sub-alice"}, true},
		{"refresh-only knowing its sub: another sub, same chain", knowsSub, userID{Subject: "sub-bob", Given: []string{fpA}}, false},
		{"refresh-only knowing its sub: no sub, same chain", knowsSub, userID{Recent: []string{fpA}}, true},
		{"from the store: any record", fromStore, userID{User: "bob", Subject: "sub-bob"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.grant().claims(tt.rec))
		})
	}
}

// TestClaimsLearns: a claimed record teaches the grant its sub and chain,
// so that a source that took a record from the store keeps to that user.
func TestClaimsLearns(t *testing.T) {
	g := &enduroSatGrant{fromStore: true}
	fp := fingerprint("rt-bob")
	assert.True(t, g.claims(userID{Subject: "sub-bob", Recent: []string{fp}}), "the first record")
	assert.Equal(t, "sub-bob", g.subject, "the sub learned")
	assert.Equal(t, []string{fp}, g.recent, "the chain learned")
	assert.False(t, g.claims(userID{Subject: "sub-alice"}), "another user's record, after the first")
	assert.True(t, g.claims(userID{Subject: "sub-bob"}), "the same user's record")
}

// TestFingerprintsBounded: a record's chain keeps its roots and the latest
// refresh tokens, each list at most maxFingerprints long.
func TestFingerprintsBounded(t *testing.T) {
	g := &enduroSatGrant{given: []string{fingerprint("root")}}
	for i := range 3 * maxFingerprints {
		g.setRefresh(string(rune('a'+i)), time.Time{})
		g.claims(userID{Given: []string{fingerprint(string(rune('A' + i)))}, Recent: g.recent})
	}
	assert.Len(t, g.recent, maxFingerprints, "recent")
	assert.Equal(t, fingerprint(string(rune('a'+3*maxFingerprints-1))), g.recent[maxFingerprints-1], "the latest refresh token is kept")
	assert.Len(t, g.given, maxFingerprints, "given")
	assert.Equal(t, fingerprint("root"), g.given[0], "the source's own root is kept")
}
