package vendoroauth

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
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
// A store shared by several processes must also be a [Locker], and one
// whose writes can be lost (a replicated database that fails over) a
// [VersionedStore]: WithStore says what a source does with each.
//
// An error that matches [ErrInvalidConfig] says the store cannot work at
// all (it is misconfigured, or refuses a file it cannot trust): the token
// source returns it from Token. A Load error that matches
// [ErrCorruptRecord] says the store holds a record it cannot give back
// (sealed under another key, say): the source takes it as no record, and
// replaces it. Any other error says the store is unavailable for now.
type TokenStore interface {
	// Load returns the stored record, or nil and no error when there is
	// none.
	Load(ctx context.Context) ([]byte, error)

	// Save replaces the stored record with data. A nil data clears the
	// store.
	Save(ctx context.Context, data []byte) error
}

// A Locker is a [TokenStore] that lets one holder at a time refresh the
// token, across processes. Lock takes the lock if it is free and returns
// at once: unlock, or, when another holder has the lock, an error matching
// [ErrLocked]; a source then re-reads the record until the holder's token
// is there, rather than queue for the lock. unlock releases the lock, must
// be called exactly once, and must not block for long. A lock whose holder
// died must expire by itself.
type Locker interface {
	TokenStore
	Lock(ctx context.Context) (unlock func(), err error)
}

// A VersionedStore is a [TokenStore] whose saves are fenced and durable, for
// stores whose writes a failover can lose, such as a replicated Redis.
// SaveVersion stores data as revision version, unless the store holds a
// record of a later revision: then it stores nothing and reports saved
// false, so that a record holding a newer refresh token is never replaced
// by an older one. Saving a revision again is allowed, and confirms it. It
// returns once the save is durable as the store defines it (redisstore:
// acknowledged by the replicas); an error, including a save made but not
// yet durable, makes the source save again, for a while. A nil data is not
// allowed.
type VersionedStore interface {
	TokenStore
	SaveVersion(ctx context.Context, data []byte, version int64) (saved bool, err error)
}

// ErrLocked is what a [Locker]'s Lock reports, through [errors.Is], when
// another holder has the lock.
var ErrLocked = errors.New("vendoroauth: token store is locked by another holder")

// ErrCorruptRecord is what a [TokenStore]'s Load reports, through
// [errors.Is], when it holds a record it cannot give back: one sealed under
// another key, or too large. A source takes it as no record, and replaces
// it.
var ErrCorruptRecord = errors.New("vendoroauth: stored record cannot be read")

// ErrStoreUnavailable is reported, through [errors.Is], when a source with a
// store had to have it and could not read it, or could not have its lock in
// time: a refresh-only EnduroSat source with no valid token, which never
// presents a refresh token that another process may have rotated, and a
// background refresh of a valid token, which the source keeps serving and
// refreshes again later.
var ErrStoreUnavailable = errors.New("vendoroauth: token store unavailable")

// Store timing; doc.go's Defaults section states the same numbers.
const (
	// storeBudget bounds each step of store work: loading, taking the lock
	// and loading again before a fetch; saving and unlocking after it.
	storeBudget = 2 * time.Second

	// holderWait bounds how long a fetch re-reads the record while another
	// holder has the lock: that holder's fetch, retries included, and its
	// save.
	holderWait = exchangeTimeout + storeBudget

	// durableBudget bounds how long a fetcher that holds a new refresh
	// token saves it again, keeping the lock, until the store says the save
	// is durable: across a failover of the store.
	durableBudget = 30 * time.Second

	// The pause between two reads of the record while another holder
	// fetches: it doubles from firstReread up to maxReread, jittered.
	firstReread = 50 * time.Millisecond
	maxReread   = time.Second
)

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
//     its own, and writes its own back when it holds a newer one than the
//     store (a store that lost a save);
//   - if s is a [Locker], fetches only under the lock, after loading again
//     once it holds it; while another process holds the lock, it re-reads
//     the record until that process's token is there (for up to 2 minutes
//     and 2 seconds, the other's fetch and save), and never queues for the
//     lock;
//   - hands a new token to its callers first, then saves it and unlocks;
//     if s is a [VersionedStore], a fenced save, made again until it is
//     durable, for up to 30 seconds, with the lock kept meanwhile;
//   - refreshes a loaded token at the same point of its lifetime as a
//     fetched one, in its early window;
//   - clears the store on Revoke.
//
// An EnduroSat refresh token is shared by everyone who loads it, so a
// source never presents one without holding s's lock: when s cannot be
// read or locked in time, a source keeps serving its valid token and tries
// again later; with none, a password source logs in (a session of its own:
// it costs a login and revokes nobody's), and a refresh-only source waits
// for s, bounded by its callers' contexts, and otherwise fails with an
// error matching [ErrStoreUnavailable]. A Formlabs source, which has no
// refresh token to share, fetches on its own when s is unavailable.
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
// The store work before and after a fetch is bounded by 2 seconds each. A
// store that cannot work at all is an error matching [ErrInvalidConfig]
// from Token. A nil s means no store, the default.
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
		logger: c.logger(),
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
	// canLogin reports whether the grant can get a token without a refresh
	// token (a password).
	canLogin() bool
}

// storeGrant is a grant with a store in front of it. Its rules, from
// WithStore's doc, are stated once here:
//   - a token the source forgot as refused is never handed out from the
//     store (forgotten), nor the token a fetch replaces, nor an older one
//     (load);
//   - a loaded token keeps the schedule it was issued with (the fetch's
//     usable, with the record's issue time);
//   - a stored refresh token replaces the grant's only if it is newer
//     (refresher.adopt), and a newer one of the grant's is written back
//     (repair);
//   - a refresh token is presented only under the lock, after a load made
//     while holding it (round); a held lock means re-reading, not
//     queueing (token);
//   - a store that cannot be read or locked is never "nothing stored"
//     (without);
//   - the fetched token is published before it is saved and the lock is
//     released (result.after), and a versioned store's save is fenced and
//     repeated until durable (saveDurably);
//   - storeBudget bounds each step of store work;
//   - a record belongs to one owner, kept outside the token's fields, and
//     is read only by a source of the same identity (identity.go);
//   - an ErrInvalidConfig from the store is the fetch's error.
type storeGrant struct {
	inner  grant
	store  TokenStore
	owner  recordOwner
	logger *slog.Logger

	last *record // the latest record of the source's own that it loaded or saved; used by one job at a time

	mu        sync.Mutex           // protects forgotten; forget runs on any goroutine
	forgotten map[string]time.Time // refused access tokens and their expiry
}

// The outcomes of one round of store work.
type roundOutcome int

const (
	roundDone        roundOutcome = iota // a token or an error to return
	roundLocked                          // another holder has the lock: read again later
	roundUnavailable                     // the store could not be read or locked
)

// token implements grant: rounds of store work, re-reading while another
// holder has the lock, until a token is loaded or fetched under the lock,
// or the store fails.
func (g *storeGrant) token(ctx context.Context, f *fetch) (result, error) {
	until := time.Now().Add(holderWait)
	pause := firstReread
	for {
		res, outcome, err := g.round(ctx, f)
		switch {
		case outcome == roundDone:
			if res.loaded || errors.Is(err, ErrInvalidConfig) && f.attempts == 0 {
				f.origin = OriginStore
			}
			return res, err
		case outcome == roundUnavailable && !g.mustWait(f):
			return g.without(ctx, f, err)
		case time.Now().After(until):
			if outcome == roundLocked {
				err = errorf("token store", nil, "another process held the lock for over %v", holderWait)
			}
			return g.without(ctx, f, err)
		}
		g.logger.LogAttrs(ctx, slog.LevelDebug, "vendoroauth: waiting for the token store",
			slog.String("vendor", g.owner.Vendor), slog.Bool("locked", outcome == roundLocked))
		if sleep(ctx, pause/2+rand.N(pause/2+1)) != nil {
			f.origin = OriginStore
			return result{}, wrapErr(g.owner.Vendor+" token", ErrStoreUnavailable, ctx.Err(), "waiting for the token store")
		}
		pause = min(2*pause, maxReread)
	}
}

// mustWait reports whether a fetch whose store is unavailable must wait for
// it: a refresh-only source with no valid token, which has no other safe
// way to a token.
func (g *storeGrant) mustWait(f *fetch) bool {
	r, ok := g.inner.(refresher)
	return ok && !r.canLogin() && !f.keeps()
}

// round is one round of store work: load, and if the stored token is not
// usable, take the lock, load again, and fetch under it. It reports
// roundLocked when another holder has the lock and roundUnavailable, with
// the store's error, when the store cannot be read or locked.
func (g *storeGrant) round(ctx context.Context, f *fetch) (result, roundOutcome, error) {
	bctx, cancel := context.WithTimeout(ctx, storeBudget)
	defer cancel()
	rec, err := g.load(bctx, f)
	switch {
	case errors.Is(err, ErrInvalidConfig):
		return result{}, roundDone, err
	case err != nil:
		return result{}, roundUnavailable, err
	case rec.usable:
		return rec.res, roundDone, nil
	}
	g.repair(bctx, rec.rec)

	l, ok := g.store.(Locker)
	if !ok {
		// A store without a lock is one process's: nobody else presents
		// its refresh token.
		cancel()
		return g.fetch(ctx, f, nil)
	}
	unlock, err := l.Lock(bctx)
	switch {
	case errors.Is(err, ErrLocked):
		return result{}, roundLocked, nil
	case errors.Is(err, ErrInvalidConfig):
		return result{}, roundDone, err
	case err != nil:
		return result{}, roundUnavailable, err
	}
	rec, err = g.load(bctx, f)
	if err != nil || rec.usable {
		unlock()
		if err != nil {
			return result{}, roundUnavailable, err
		}
		return rec.res, roundDone, nil
	}
	cancel()
	return g.fetch(ctx, f, unlock)
}

// fetch fetches a token from the vendor, with the lock held when unlock is
// not nil, and saves it once callers have it: as its after work, the save,
// then the unlock.
func (g *storeGrant) fetch(ctx context.Context, f *fetch, unlock func()) (result, roundOutcome, error) {
	res, err := g.inner.token(ctx, f)
	if err != nil {
		if unlock != nil {
			res.after = func(context.Context) { unlock() }
		}
		return res, roundDone, err
	}
	data, version, encErr := g.encode(res.tok, res.extra, res.issued)
	res.after = func(ctx context.Context) {
		if unlock != nil {
			defer unlock()
		}
		if encErr != nil {
			g.warn(ctx, "save", encErr)
			return
		}
		g.saveDurably(ctx, data, version)
	}
	return res, roundDone, nil
}

// without obtains a token when the store is unavailable (cause): a
// background refresh gives up, for the source keeps its valid token and
// tries again later; a password source logs in, a session of its own; a
// source with no refresh token to share (Formlabs) fetches; a refresh-only
// source has waited for the store in vain. What it obtains is saved, fenced,
// once callers have it, so that the store takes it up when it is back.
func (g *storeGrant) without(ctx context.Context, f *fetch, cause error) (result, error) {
	r, shares := g.inner.(refresher)
	switch {
	case shares && f.keeps():
		f.origin = OriginStore
		return result{}, wrapErr(g.owner.Vendor+" token", ErrStoreUnavailable, cause, "keeping the current token")
	case shares && !r.canLogin():
		f.origin = OriginStore
		return result{}, wrapErr(g.owner.Vendor+" token", ErrStoreUnavailable, cause, "a refresh-only source presents its refresh token only under the store's lock")
	}
	g.warn(ctx, "load or lock", cause)
	login := *f
	login.loginOnly = shares
	res, _, err := g.fetch(ctx, &login, nil)
	return res, err
}

// A loaded record is what load found: the stored record, if any of the
// source's own, and whether its token may be cached as it is.
type loaded struct {
	rec    *record // nil: none, or another identity's
	usable bool
	res    result // the token, when usable
}

// load reads the record and decides whether its token is usable: it is
// usable by the source's schedule (valid, not yet due for refresh by the
// schedule it was issued with), not forgotten, and newer than the token the
// fetch replaces (so that a refresh never takes back the token it is
// refreshing). A record that is corrupt, or another identity's, is as good
// as none: the source fetches its own and replaces it. The error is the
// store's, when it could not be read.
func (g *storeGrant) load(ctx context.Context, f *fetch) (loaded, error) {
	rec, err := g.read(ctx)
	if err != nil || rec == nil {
		return loaded{}, err
	}
	l := loaded{rec: rec}
	if rec.AccessToken == "" || rec.Expiry.IsZero() || g.isForgotten(rec.AccessToken) {
		return l, nil
	}
	if p := f.prev; p.tok != nil && (rec.AccessToken == p.tok.AccessToken || !rec.Issued.After(p.issued)) {
		return l, nil
	}
	tok := g.stored(rec)
	if !f.usable(tok, rec.Issued) {
		return l, nil
	}
	l.usable, l.res = true, result{tok: tok, extra: rec.Extra, issued: rec.Issued, loaded: true}
	g.last = rec
	return l, nil
}

// read returns the stored record if it is the source's own, or nil: for
// none, a corrupt record (logged), one the store cannot give back, or
// another identity's. On the way it
// offers a stored refresh token to the grant. Its error is the store's.
func (g *storeGrant) read(ctx context.Context) (*record, error) {
	data, err := g.store.Load(ctx)
	if errors.Is(err, ErrCorruptRecord) {
		g.warn(ctx, "load", err)
		return nil, nil
	}
	if err != nil {
		return nil, err
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
		g.logger.LogAttrs(ctx, slog.LevelWarn, "vendoroauth: the stored token belongs to another vendor, client id, token URL or user; replacing it",
			slog.String("vendor", g.owner.Vendor))
		return nil, nil
	}
	if r, ok := g.inner.(refresher); ok {
		r.adopt(rec.RefreshToken, rec.RefreshIssued)
	}
	return rec, nil
}

// repair writes the source's state back to the store when the grant holds
// a newer refresh token than rec (the store lost a save, in a failover):
// its last record, with the grant's refresh token, in a fenced save, which
// never replaces a newer record.
func (g *storeGrant) repair(ctx context.Context, rec *record) {
	r, ok := g.inner.(refresher)
	vs, versioned := g.store.(VersionedStore)
	last := g.last
	if !ok || !versioned || rec == nil || last == nil {
		return
	}
	if rt, issued := r.refreshState(); rt == "" || rt == rec.RefreshToken || !issued.After(rec.RefreshIssued) {
		return
	}
	data, version, err := g.encode(last.token(), last.Extra, last.Issued)
	if err != nil {
		return
	}
	if _, err := vs.SaveVersion(ctx, data, version); err != nil {
		g.warn(ctx, "repair", err)
		return
	}
	g.logger.LogAttrs(ctx, slog.LevelInfo, "vendoroauth: wrote a newer refresh token back to the token store",
		slog.String("vendor", g.owner.Vendor))
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

// saveDurably saves data, as revision version: a versioned store's fenced
// save, made again until the store says it is durable or durableBudget
// runs out (ctx too: Close ends it after its grace); any other store's
// Save, once, within storeBudget. Failures are logged.
func (g *storeGrant) saveDurably(ctx context.Context, data []byte, version int64) {
	vs, ok := g.store.(VersionedStore)
	if !ok {
		sctx, cancel := context.WithTimeout(ctx, storeBudget)
		defer cancel()
		if err := g.store.Save(sctx, data); err != nil {
			g.warn(ctx, "save", err)
		}
		return
	}
	until := time.Now().Add(durableBudget)
	pause := firstReread
	for {
		sctx, cancel := context.WithTimeout(ctx, storeBudget)
		_, err := vs.SaveVersion(sctx, data, version)
		cancel()
		if err == nil || errors.Is(err, ErrInvalidConfig) || ctx.Err() != nil || time.Now().Add(pause).After(until) {
			if err != nil {
				g.warn(ctx, "save", err)
			}
			return
		}
		if sleep(ctx, pause) != nil {
			return
		}
		pause = min(2*pause, maxReread)
	}
}

// revoke implements grant: it revokes through the inner grant what the
// source holds or, when it holds nothing, what the store holds; then it
// clears the store so that nobody loads the revoked token again. A store
// holding another owner's record is left as it is.
func (g *storeGrant) revoke(ctx context.Context, cur *oauth2.Token) error {
	sctx, cancel := context.WithTimeout(ctx, storeBudget)
	defer cancel()
	data, err := g.store.Load(sctx)
	switch {
	case errors.Is(err, ErrInvalidConfig):
		return err
	case err != nil:
		g.warn(ctx, "load", err)
	}
	var rec *record
	foreign := false
	if data != nil {
		if r, derr := decodeRecord(data); derr == nil {
			if foreign = !g.owns(r.Owner); !foreign {
				rec = r
				if rf, ok := g.inner.(refresher); ok {
					rf.adopt(r.RefreshToken, r.RefreshIssued)
				}
			}
		}
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
		if err := g.store.Save(sctx, nil); err != nil {
			g.warn(ctx, "clear", err)
		}
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

// warn logs a store failure at Warn.
func (g *storeGrant) warn(ctx context.Context, op string, err error) {
	g.logger.LogAttrs(ctx, slog.LevelWarn, "vendoroauth: token store failed",
		slog.String("vendor", g.owner.Vendor), slog.String("op", op), slog.Any("err", err))
}
