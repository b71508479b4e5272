package vendoroauth

import (
	"encoding/json"
	"time"

	"golang.org/x/oauth2"
)

// The record a store keeps: its format, how it is encoded and decoded, and
// its revision, by which a fenced save tells a newer record from an older
// one.

// recordVersion is the version of the stored record's format.
const recordVersion = 1

// A record is what a store keeps: the token, the response members behind
// its Extra, when its tokens were issued, and its owner. It holds secrets.
type record struct {
	Version       int            `json:"version"`
	Owner         recordOwner    `json:"owner"`
	AccessToken   string         `json:"access_token,omitempty"`
	TokenType     string         `json:"token_type,omitempty"`
	RefreshToken  string         `json:"refresh_token,omitempty"`
	Expiry        time.Time      `json:"expiry,omitzero"`
	Issued        time.Time      `json:"issued,omitzero"`         // when the access token was issued
	RefreshIssued time.Time      `json:"refresh_issued,omitzero"` // when the refresh token was issued; zero: given
	Extra         map[string]any `json:"response,omitempty"`      // the vendor's response members
}

// encode returns the record of tok, issued at issued with the response
// members extra, for g's owner and with the grant's refresh token, and its
// revision. It remembers the record as the grant's last (repair).
func (g *storeGrant) encode(tok *oauth2.Token, extra map[string]any, issued time.Time) ([]byte, int64, error) {
	owner := g.owner
	if u, ok := g.inner.(userGrant); ok {
		owner.userID = u.user()
	}
	rec := &record{
		Version:      recordVersion,
		Owner:        owner,
		AccessToken:  tok.AccessToken,
		TokenType:    tok.TokenType,
		RefreshToken: tok.RefreshToken,
		Expiry:       tok.Expiry.Round(0),
		Issued:       issued.Round(0),
		Extra:        extra,
	}
	if r, ok := g.inner.(refresher); ok {
		rt, rtIssued := r.refreshState()
		rec.RefreshToken, rec.RefreshIssued = rt, rtIssued.Round(0)
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, 0, errorf("stored token", nil, "encode: %v", err) // a JSON error names no value
	}
	g.last = rec
	return data, rec.revision(), nil
}

// revision is the record's place in time, by which a fenced save tells a
// newer record from an older one: when its newest token was issued, in
// microseconds since 1970. A refresh token is never newer than the access
// token it came with, so a newer refresh token means a later revision.
func (rec *record) revision() int64 {
	t := rec.Issued
	if rec.RefreshIssued.After(t) {
		t = rec.RefreshIssued
	}
	return t.UnixMicro()
}

// decodeRecord reads a stored record. Errors name the problem, never the
// data.
func decodeRecord(data []byte) (*record, error) {
	var rec record // Extra's numbers decode as float64, as when first fetched
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, errorf("stored token", nil, "corrupt: not a stored record")
	}
	if rec.Version != recordVersion {
		return nil, errorf("stored token", nil, "format version %d, not %d", rec.Version, recordVersion)
	}
	if rec.AccessToken == "" && rec.RefreshToken == "" {
		return nil, errorf("stored token", nil, "corrupt: no access or refresh token")
	}
	return &rec, nil
}

// token returns the token a record holds, with the vendor's response
// members as its Extra and nothing of ours.
func (rec *record) token() *oauth2.Token {
	tok := &oauth2.Token{
		AccessToken:  rec.AccessToken,
		TokenType:    rec.TokenType,
		RefreshToken: rec.RefreshToken,
		Expiry:       rec.Expiry,
	}
	if rec.Extra != nil {
		tok = tok.WithExtra(rec.Extra)
	}
	return tok
}
