package vendoroauth

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/oauth2"
)

// A TokenStore keeps a token outside the process, so that it survives a
// restart and can be shared by several processes with the same credential.
// Implementations must be safe for concurrent use. [FileStore] keeps it in a
// file; the module github.com/vendoroauth/vendoroauth/redisstore keeps it in
// Redis.
type TokenStore interface {
	// Load returns the stored token, or nil and no error when there is
	// none. A token that cannot be read (corrupt, sealed with another key)
	// is an error; the source then ignores the store and fetches.
	Load(ctx context.Context) (*oauth2.Token, error)

	// Save stores tok, replacing what was stored. A nil tok clears the
	// store.
	Save(ctx context.Context, tok *oauth2.Token) error
}

// A Locker is a [TokenStore] that can also let one holder at a time
// refresh the token, across processes. Lock blocks until the lock is held
// or ctx is done; unlock releases it and must be called exactly once. A
// lock whose holder died must expire by itself.
type Locker interface {
	Lock(ctx context.Context) (unlock func(), err error)
}

// Store timing; doc.go's Defaults section states the same numbers.
const (
	storeTimeout = 5 * time.Second  // bound on one Load or Save
	lockWait     = 15 * time.Second // bound on waiting for a Locker
)

// WithStore returns an [Option] that shares the token through s. A token
// source then:
//   - loads the stored token before each fetch and uses it, without a
//     request, if it is valid and not yet due for refresh, or refreshes
//     from its refresh token (EnduroSat);
//   - if s is also a [Locker], fetches under the lock and loads again once
//     it holds it, since another holder may have refreshed meanwhile;
//   - saves every new token, and clears the store on Revoke.
//
// A failing store (unreachable, corrupt, another client's token) is logged
// at Warn and otherwise ignored: the source keeps serving from memory and
// never loses a token it fetched. A nil s means no store, the default.
//
// Used by: token sources.
func WithStore(s TokenStore) Option {
	return func(st *settings) { st.store = s }
}

// ownerKey is the extra field that names the vendor and client a stored
// token belongs to, so that a store shared by mistake is noticed.
const ownerKey = "vendoroauth_owner"

// storedToken is the stored form of a token.
type storedToken struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	IDToken      string    `json:"id_token,omitempty"`
	Owner        string    `json:"owner,omitempty"`
}

// EncodeToken returns the JSON form in which stores keep a token: its
// access, refresh and id tokens, type and expiry, and the vendor and client
// id of the source that saved it. The result holds secrets. It is what
// [FileStore] writes, and what other TokenStore implementations may use.
func EncodeToken(tok *oauth2.Token) ([]byte, error) {
	if tok == nil {
		return nil, fmt.Errorf("vendoroauth: encode token: nil token")
	}
	st := storedToken{
		AccessToken:  tok.AccessToken,
		TokenType:    tok.TokenType,
		RefreshToken: tok.RefreshToken,
		Expiry:       tok.Expiry.Round(0),
	}
	st.IDToken, _ = tok.Extra("id_token").(string)
	st.Owner, _ = tok.Extra(ownerKey).(string)
	return json.Marshal(st)
}

// DecodeToken reverses [EncodeToken]. Errors name the problem, never the
// data.
func DecodeToken(data []byte) (*oauth2.Token, error) {
	var st storedToken
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("vendoroauth: decode token: not a stored token")
	}
	if st.AccessToken == "" && st.RefreshToken == "" {
		return nil, fmt.Errorf("vendoroauth: decode token: no access or refresh token")
	}
	tok := &oauth2.Token{
		AccessToken:  st.AccessToken,
		TokenType:    st.TokenType,
		RefreshToken: st.RefreshToken,
		Expiry:       st.Expiry,
	}
	extra := map[string]any{}
	if st.IDToken != "" {
		extra["id_token"] = st.IDToken
	}
	if st.Owner != "" {
		extra[ownerKey] = st.Owner
	}
	return tok.WithExtra(extra), nil
}

// obtain returns a new token for the source: one that another holder of the
// store saved, or one from the vendor, which it then saves.
func (s *TokenSource) obtain(ctx context.Context) (*oauth2.Token, error) {
	store := s.cfg.store
	if store == nil {
		return s.fetch(ctx)
	}
	if tok := s.loadUsable(ctx); tok != nil {
		return tok, nil
	}
	if l, ok := store.(Locker); ok {
		lctx, cancel := context.WithTimeout(ctx, lockWait)
		unlock, err := l.Lock(lctx)
		cancel()
		if err != nil {
			s.storeFailed(ctx, "lock", err)
		} else {
			defer unlock()
			if tok := s.loadUsable(ctx); tok != nil {
				return tok, nil
			}
		}
	}
	tok, err := s.fetch(ctx)
	if err != nil {
		return nil, err
	}
	s.save(ctx, tok)
	return tok, nil
}

// loadUsable loads the stored token. It adopts a stored refresh token that
// is newer than its own (the fleet's latest, under rotation) and returns the token if its access token
// is valid, not yet due for refresh, and not the one the source already
// holds; otherwise nil.
func (s *TokenSource) loadUsable(ctx context.Context) *oauth2.Token {
	lctx, cancel := context.WithTimeout(ctx, storeTimeout)
	tok, err := s.cfg.store.Load(lctx)
	cancel()
	if err != nil {
		s.storeFailed(ctx, "load", err)
		return nil
	}
	if tok == nil {
		return nil
	}
	if owner, _ := tok.Extra(ownerKey).(string); owner != "" && owner != s.owner() {
		s.storeFailed(ctx, "load", fmt.Errorf("stored token belongs to another vendor or client; ignoring it"))
		return nil
	}
	s.mu.Lock()
	cur := s.cur.Load()
	// Take the stored refresh token unless ours is newer: a store that lost
	// a save (it was down) must not hand back a rotated-out refresh token.
	if tok.RefreshToken != "" && s.usesRefreshTokens && (cur == nil || tok.Expiry.After(cur.tok.Expiry)) {
		s.refreshToken = tok.RefreshToken
	}
	s.mu.Unlock()
	if tok.AccessToken == "" || tok.Expiry.IsZero() || (cur != nil && cur.tok.AccessToken == tok.AccessToken) {
		return nil
	}
	now := time.Now()
	if c := newCachedToken(tok, now, s.cfg.earlyRefresh); !now.Before(c.refreshAt) {
		return nil
	}
	s.cfg.logger.LogAttrs(ctx, slog.LevelDebug, "vendoroauth: using the stored token", slog.String("vendor", s.cfg.vendor))
	return tok
}

// save stores tok, marked with the source's owner.
func (s *TokenSource) save(ctx context.Context, tok *oauth2.Token) {
	var stored *oauth2.Token
	if tok != nil {
		cp := *tok
		extra := map[string]any{ownerKey: s.owner()}
		if id, ok := tok.Extra("id_token").(string); ok {
			extra["id_token"] = id
		}
		stored = cp.WithExtra(extra)
	}
	sctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := s.cfg.store.Save(sctx, stored); err != nil {
		s.storeFailed(ctx, "save", err)
	}
}

// storeFailed logs a store failure; the source carries on without it.
func (s *TokenSource) storeFailed(ctx context.Context, op string, err error) {
	s.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "vendoroauth: token store failed; carrying on without it",
		slog.String("vendor", s.cfg.vendor), slog.String("op", op), slog.Any("err", err))
}

// owner names the vendor and client id of the source, for stored tokens.
func (s *TokenSource) owner() string { return s.cfg.vendor + ":" + s.clientID }
