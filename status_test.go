package vendoroauth_test

import (
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// TestStatusNeverWaits: while a fetch is blocked on a vendor that does not
// answer, Status answers at once (in a bubble, without the clock moving),
// and says a fetch is running.
func TestStatusNeverWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		srv.SetLatency(time.Hour) // no answer within the attempt's 30s, nor ever
		go src.Token()
		synctest.Wait() // the fetch is durably blocked
		start := time.Now()
		st := src.Status()
		assert.Zero(t, time.Since(start), "Status() while a fetch is blocked: the bubble's clock moved")
		assert.True(t, st.Fetching, "Status().Fetching while a fetch is blocked")
		assert.True(t, st.Expiry.IsZero(), "Status().Expiry with no token yet")
	})
}

// TestStatus: what Status says of a source's token and fetches, from the
// first fetch to Close, failures included.
func TestStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, src := bubbleFormlabs(t)
		srv.SetTokenLifetime(time.Hour)
		assert.Equal(t, vendoroauth.Status{Vendor: "formlabs"}, src.Status(), "Status() of a new source")

		tok, err := src.Token()
		require.NoError(t, err, "Token()")
		fetched := time.Now()
		st := src.Status()
		assert.Equal(t, tok.Expiry, st.Expiry, "Status().Expiry")
		assert.Equal(t, fetched, st.LastRefresh, "Status().LastRefresh")
		assert.Equal(t, vendoroauth.OriginVendor, st.Origin, "Status().Origin")
		// Five minutes before expiry, up to a tenth of that earlier (jitter).
		assert.WithinRange(t, st.RefreshAt, tok.Expiry.Add(-5*time.Minute-30*time.Second), tok.Expiry.Add(-5*time.Minute), "Status().RefreshAt")

		// The refresh fails twice, the source keeps its token; a success
		// resets the failures.
		srv.FailTokenUntil(fetched.Add(58*time.Minute), vendoroauthtest.Fault{Status: http.StatusServiceUnavailable})
		time.Sleep(57 * time.Minute)
		synctest.Wait()
		st = src.Status()
		assert.GreaterOrEqual(t, st.ConsecutiveFailures, 2, "Status().ConsecutiveFailures during an outage")
		assert.ErrorContains(t, st.LastError, "503", "Status().LastError during an outage")
		assert.Equal(t, tok.Expiry, st.Expiry, "Status().Expiry: the token kept")
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		st = src.Status()
		assert.Zero(t, st.ConsecutiveFailures, "Status().ConsecutiveFailures after a success")
		assert.NoError(t, st.LastError, "Status().LastError after a success")
		assert.True(t, st.Expiry.After(tok.Expiry), "Status().Expiry after the refresh")

		require.NoError(t, src.Close())
		st = src.Status()
		assert.True(t, st.Closed, "Status().Closed")
		assert.True(t, st.Expiry.IsZero(), "Status().Expiry after Close")
	})
}

// TestStatusRejection: a credential rejection counts once; the answers the
// pause after it gives, with no request, are not new failures.
func TestStatusRejection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
		src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, "CLIENTSECRET-wrong",
			at(srv.URL, srv.InProcessClient())...)
		defer src.Close()
		for range 3 {
			_, err := src.Token()
			require.ErrorIs(t, err, vendoroauth.ErrInvalidCredentials, "Token() with a wrong secret")
		}
		st := src.Status()
		assert.Equal(t, 1, st.ConsecutiveFailures, "Status().ConsecutiveFailures after one rejection and two paused answers")
		assert.True(t, errors.Is(st.LastError, vendoroauth.ErrInvalidCredentials), "Status().LastError matches ErrInvalidCredentials")
		assert.Equal(t, 1, srv.TokenRequests(), "token requests")
	})
}

// TestStatusFromStore: a token loaded from a store has the store as its
// origin, and the zero TokenSource's Status is the zero Status.
func TestStatusFromStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &memStore{}
		srv := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
		opts := append(at(srv.URL, srv.InProcessClient()), vendoroauth.WithStore(store))
		first := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, opts...)
		_, err := first.Token()
		require.NoError(t, err)
		first.Close()
		src := vendoroauth.FormlabsTokenSource(t.Context(), flClientID, flSecret, opts...)
		defer src.Close()
		_, err = src.Token()
		require.NoError(t, err)
		assert.Equal(t, vendoroauth.OriginStore, src.Status().Origin, "Status().Origin of a loaded token")
	})
	var zero vendoroauth.TokenSource
	if diff := cmp.Diff(vendoroauth.Status{}, zero.Status()); diff != "" {
		t.Errorf("zero TokenSource's Status() mismatch (-want +got):\n%s", diff)
	}
}
