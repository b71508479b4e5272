package vendoroauth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// A TokenStore keeps a token source's state outside the process, so that it
// survives a restart and can be shared by several processes with the same
// credential. The state is an opaque record that holds secrets (the access
// and refresh tokens) and names the identity it belongs to (vendor, token
// URL, client id and EnduroSat user); a store only keeps the bytes.
// Implementations must be safe for concurrent use and must return soon
// after ctx is done. [FileStore] keeps the record in a file; the module
// github.com/vendoroauth/vendoroauth/redisstore keeps it in Redis.
//
// An error that matches [ErrInvalidConfig] says the store cannot work at
// all (it is misconfigured, or refuses a file it cannot trust): the token
// source returns it from Token. Any other error is taken as a passing
// failure: the source logs it at Warn and carries on without the store.
type TokenStore interface {
	// Load returns the stored record, or nil and no error when there is
	// none.
	Load(ctx context.Context) ([]byte, error)

	// Save replaces the stored record with data. A nil data clears the
	// store.
	Save(ctx context.Context, data []byte) error
}

// A Locker is a [TokenStore] that can also let one holder at a time
// refresh the token, across processes. Lock blocks until the lock is held
// or ctx is done; unlock releases it, must be called exactly once, and must
// not block for long. A lock whose holder died must expire by itself.
type Locker interface {
	TokenStore
	Lock(ctx context.Context) (unlock func(), err error)
}

// storeBudget bounds the store work of one fetch: loading, waiting for the
// lock and loading again before it, and saving and unlocking after it. A
// hung store costs a fetch at most this, twice: once before the vendor is
// asked, once after callers have the token. doc.go's Defaults section states
// the same number.
const storeBudget = 2 * time.Second

// maxForgotten bounds how many refused access tokens a source remembers.
const maxForgotten = 16

// WithStore returns an [Option] that shares the token through s. A token
// source then:
//   - loads the stored token before each fetch and uses it, without a
//     request, if it is its own user's (below), valid, not yet due for
//     refresh by the schedule it was issued with, newer than the token the
//     fetch replaces, and not a token the source dropped as refused
//     ([TokenSource.Invalidate], a 401);
//   - takes a stored refresh token (EnduroSat) only if it was issued after
//     its own;
//   - if s is also a [Locker], fetches under the lock and loads again once
//     it holds it, since another holder may have refreshed meanwhile;
//   - hands a new token to its callers first, then saves it and unlocks;
//   - refreshes a loaded token at the same point of its lifetime as a
//     fetched one, in its early window;
//   - clears the store on Revoke.
//
// A stored token is handed out only to a source of the same identity:
// vendor, token URL and client id, and for EnduroSat the user: the username
// of a password source; for a refresh-only source, which knows no
// username, the user its refresh token belongs to, known by the sub of the
// id_tokens the vendor sent, and before the first of those by the chain of
// refresh tokens the record descends from. A record of another identity is
// replaced, never served. Sources of several identities may share s, but
// each save replaces the others' record, so give each its own. The store
// holds a credential: a password source loads its own user's stored token
// without checking its password, as a restarted process would.
//
// The store work of one fetch is bounded by 2 seconds before the fetch and 2
// seconds after it. A store that fails at run time (unreachable,
// corrupt) is logged at Warn and otherwise ignored: the source keeps serving
// from memory and never loses a token it fetched. A store that cannot work
// at all is an error matching [ErrInvalidConfig] from Token. A nil s means
// no store, the default.
//
// Used by: token sources.
func WithStore(s TokenStore) Option {
	return func(st *settings) { st.store = s }
}

// withStore returns g with store in front of it, or g itself when store is
// nil.
func (c *config) withStore(g grant, store TokenStore, clientID string) grant {
	if store == nil {
		return g
	}
	return &storeGrant{
		inner:  g,
		store:  store,
		owner:  recordOwner{Vendor: c.vendor.name, ClientID: clientID, TokenURL: c.tokenURL()},
		logger: c.logger,
	}
}

// A refresher is a grant that holds a refresh token a store can share.
type refresher interface {
	// refreshState returns the refresh token and when it was issued (zero
	// when it was given to the source).
	refreshState() (rt string, issued time.Time)
	// adopt takes rt, issued at issued, unless the grant's own refresh
	// token was issued at the same time or later.
	adopt(rt string, issued time.Time)
}

// storeGrant is a grant with a store in front of it. Its rules, from
// WithStore's doc, are stated once here:
//   - a token the source forgot as refused is never handed out from the
//     store (forgotten), nor the token a fetch replaces, nor an older one
//     (load's prev);
//   - a loaded token keeps the schedule it was issued with (its record's
//     issue time);
//   - a stored refresh token replaces the grant's only if it is newer
//     (refresher.adopt);
//   - the fetched token is published before it is saved and the lock is
//     released (result.after);
//   - storeBudget bounds the store work before and after a fetch;
//   - a record belongs to one owner, kept outside the token's fields, and
//     is read only by a source of the same identity (identity.go);
//   - an ErrInvalidConfig from the store is the fetch's error.
type storeGrant struct {
	inner  grant
	store  TokenStore
	owner  recordOwner
	logger *slog.Logger

	mu        sync.Mutex           // protects forgotten; forget runs on any goroutine
	forgotten map[string]time.Time // refused access tokens and their expiry
}

// token implements grant.
func (g *storeGrant) token(ctx context.Context, f *fetch) (result, error) {
	bctx, cancel := context.WithTimeout(ctx, storeBudget)
	defer cancel()
	if res, ok, err := g.load(bctx, f); ok || err != nil {
		return res, err
	}
	var unlock func()
	if l, ok := g.store.(Locker); ok {
		u, err := l.Lock(bctx)
		switch {
		case err == nil:
			unlock = u
			if res, ok, err := g.load(bctx, f); ok || err != nil {
				res.after = func(context.Context) { unlock() }
				return res, err
			}
		case errors.Is(err, ErrInvalidConfig):
			return result{}, err
		default:
			g.warn(ctx, "lock", err)
		}
	}
	cancel()

	res, err := g.inner.token(ctx, f)
	if err != nil {
		if unlock != nil {
			res.after = func(context.Context) { unlock() }
		}
		return res, err
	}
	data, encErr := g.encode(res)
	res.after = func(ctx context.Context) {
		if encErr != nil {
			g.warn(ctx, "save", encErr)
		} else {
			sctx, cancel := context.WithTimeout(ctx, storeBudget)
			g.save(sctx, data)
			cancel()
		}
		if unlock != nil {
			unlock()
		}
	}
	return res, nil
}

// load returns the stored token if the source may use it: it is usable by
// the source's schedule (valid, not yet due for refresh by the schedule it
// was issued with), not forgotten, and newer than the token the fetch
// replaces (so that a refresh never takes back the token it is
// refreshing). Only an ErrInvalidConfig from the store is an error; any
// other failure is logged and reads as no token.
func (g *storeGrant) load(ctx context.Context, f *fetch) (result, bool, error) {
	rec, err := g.read(ctx)
	if errors.Is(err, errForeignRecord) {
		return result{}, false, nil // fetch our own, and replace it
	}
	if err != nil || rec == nil {
		return result{}, false, err
	}
	if rec.AccessToken == "" || rec.Expiry.IsZero() || g.isForgotten(rec.AccessToken) {
		return result{}, false, nil
	}
	if p := f.prev; p.tok != nil && (rec.AccessToken == p.tok.AccessToken || !rec.Issued.After(p.issued)) {
		return result{}, false, nil
	}
	tok := g.stored(rec)
	if !f.usable(tok, rec.Issued) {
		return result{}, false, nil
	}
	g.logger.LogAttrs(ctx, slog.LevelDebug, "vendoroauth: using the stored token", slog.String("vendor", g.owner.Vendor))
	return result{tok: tok, extra: rec.Extra, issued: rec.Issued}, true, nil
}

// errForeignRecord is read's error for a record of another owner. It is
// never returned to callers.
var errForeignRecord = errorf("stored token", nil, "belongs to another owner")

// read returns the stored record if it is the source's own, or nil. On the
// way it offers a stored refresh token to the grant. The record of another
// owner is errForeignRecord.
func (g *storeGrant) read(ctx context.Context) (*record, error) {
	data, err := g.store.Load(ctx)
	if errors.Is(err, ErrInvalidConfig) {
		return nil, err
	}
	if err != nil {
		g.warn(ctx, "load", err)
		return nil, nil
	}
	if data == nil {
		return nil, nil
	}
	rec, err := decodeRecord(data)
	if err != nil {
		g.warn(ctx, "load", err)
		return nil, nil
	}
	if !g.owns(rec.Owner) {
		g.logger.LogAttrs(ctx, slog.LevelWarn, "vendoroauth: the stored token belongs to another vendor, client id, token URL or user; ignoring it",
			slog.String("vendor", g.owner.Vendor))
		return nil, errForeignRecord
	}
	if r, ok := g.inner.(refresher); ok {
		r.adopt(rec.RefreshToken, rec.RefreshIssued)
	}
	return rec, nil
}

// stored returns the token a record holds, with the grant's refresh token,
// which may be newer than the stored one.
func (g *storeGrant) stored(rec *record) *oauth2.Token {
	tok := rec.token()
	if r, ok := g.inner.(refresher); ok {
		tok.RefreshToken, _ = r.refreshState()
	}
	return tok
}

// save stores data, logging a failure.
func (g *storeGrant) save(ctx context.Context, data []byte) {
	if err := g.store.Save(ctx, data); err != nil {
		g.warn(ctx, "save", err)
	}
}

// revoke implements grant: it revokes through the inner grant what the
// source holds or, when it holds nothing, what the store holds; then it
// clears the store so that nobody loads the revoked token again. A store
// holding another owner's record is left as it is.
func (g *storeGrant) revoke(ctx context.Context, cur *oauth2.Token) error {
	sctx, cancel := context.WithTimeout(ctx, storeBudget)
	defer cancel()
	rec, err := g.read(sctx)
	foreign := errors.Is(err, errForeignRecord)
	if err != nil && !foreign {
		return err
	}
	if cur == nil && rec != nil && rec.AccessToken != "" && time.Now().Before(rec.Expiry) {
		cur = g.stored(rec)
	}
	cancel()
	if err := g.inner.revoke(ctx, cur); err != nil {
		return err
	}
	if cur != nil {
		g.forget(cur) // a copy left in the store, or a slow replica's save, is never handed out
	}
	if !foreign {
		// A budget of its own: the revocation itself may have taken longer.
		sctx, cancel := context.WithTimeout(ctx, storeBudget)
		defer cancel()
		g.save(sctx, nil)
	}
	return nil
}

// forget implements forgetter.
func (g *storeGrant) forget(tok *oauth2.Token) {
	if tok == nil || tok.AccessToken == "" {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.forgotten == nil {
		g.forgotten = make(map[string]time.Time)
	}
	now := time.Now()
	for at, exp := range g.forgotten {
		if !exp.IsZero() && now.After(exp) {
			delete(g.forgotten, at) // expired: it cannot be handed out anyway
		}
	}
	for at := range g.forgotten {
		if len(g.forgotten) < maxForgotten {
			break
		}
		delete(g.forgotten, at)
	}
	g.forgotten[tok.AccessToken] = tok.Expiry
}

// isForgotten reports whether the source dropped access as refused.
func (g *storeGrant) isForgotten(access string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.forgotten[access]
	return ok
}

// warn logs a store failure; the source carries on without the store.
func (g *storeGrant) warn(ctx context.Context, op string, err error) {
	g.logger.LogAttrs(ctx, slog.LevelWarn, "vendoroauth: token store failed; carrying on without it",
		slog.String("vendor", g.owner.Vendor), slog.String("op", op), slog.Any("err", err))
}

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

// encode returns the record of res for g's owner.
func (g *storeGrant) encode(res result) ([]byte, error) {
	owner := g.owner
	if u, ok := g.inner.(userGrant); ok {
		owner.userID = u.user()
	}
	rec := record{
		Version:      recordVersion,
		Owner:        owner,
		AccessToken:  res.tok.AccessToken,
		TokenType:    res.tok.TokenType,
		RefreshToken: res.tok.RefreshToken,
		Expiry:       res.tok.Expiry.Round(0),
		Issued:       res.issued.Round(0),
		Extra:        res.extra,
	}
	if r, ok := g.inner.(refresher); ok {
		rt, issued := r.refreshState()
		rec.RefreshToken, rec.RefreshIssued = rt, issued.Round(0)
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, errorf("stored token", nil, "encode: %v", err) // a JSON error names no value
	}
	return data, nil
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
