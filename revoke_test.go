package vendoroauth_test

import (
	"errors"
	"net/http"
	"testing"
	"testing/synctest"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

func TestRevokers(t *testing.T) {
	tests := []struct {
		name         string
		faults       []vendoroauthtest.Fault
		token        string
		wantStatus   int // 0: success; -1: not a RevokeError
		wantCreds    bool
		wantRequests int
	}{
		{name: "success", token: "tok-1", wantRequests: 1},
		{name: "503 retried", faults: repeat(2, vendoroauthtest.Fault{Status: 503}), token: "tok-1", wantRequests: 3},
		{name: "429 retried", faults: repeat(1, vendoroauthtest.Fault{Status: 429, RetryAfter: "2"}), token: "tok-1", wantRequests: 2},
		{name: "dropped connection retried", faults: repeat(1, vendoroauthtest.Fault{Drop: true}), token: "tok-1", wantRequests: 2},
		{name: "401", faults: repeat(1, vendoroauthtest.Fault{Status: 401, Body: `{"error":"invalid_client"}`}), token: "tok-1", wantStatus: 401, wantCreds: true, wantRequests: 1},
		{name: "400 unsupported_token_type", faults: repeat(1, vendoroauthtest.Fault{Status: 400, Body: `{"error":"unsupported_token_type"}`}), token: "tok-1", wantStatus: 400, wantRequests: 1},
		{name: "503 gives up", faults: repeat(4, vendoroauthtest.Fault{Status: 503}), token: "tok-1", wantStatus: 503, wantRequests: 4},
		{name: "empty token", token: "", wantStatus: -1, wantRequests: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				es := vendoroauthtest.NewUnstartedEnduroSat(esClientID, esUsername, esPassword)
				fl := vendoroauthtest.NewUnstartedFormlabs(flClientID, flSecret)
				revokers := []struct {
					r     vendoroauth.Revoker
					count func() int
					fail  func(int, vendoroauthtest.Fault)
				}{
					{vendoroauth.EnduroSatRevoker(esClientID, at(es.URL, es.InProcessClient())...), es.RevokeRequests, es.FailRevoke},
					{vendoroauth.FormlabsRevoker(flClientID, flSecret, at(fl.URL, fl.InProcessClient())...), fl.RevokeRequests, fl.FailRevoke},
				}
				for _, rv := range revokers {
					for _, f := range tt.faults {
						rv.fail(1, f)
					}
					err := rv.r.Revoke(t.Context(), tt.token)
					if got := rv.count(); got != tt.wantRequests {
						t.Errorf("revoke requests = %d, want %d", got, tt.wantRequests)
					}
					re, isRevokeErr := errors.AsType[*vendoroauth.RevokeError](err)
					switch {
					case tt.wantStatus == 0 && err != nil:
						t.Errorf("Revoke() error = %v, want nil", err)
					case tt.wantStatus == -1 && (err == nil || isRevokeErr):
						t.Errorf("Revoke() error = %v, want a plain error", err)
					case tt.wantStatus > 0 && (!isRevokeErr || re.StatusCode != tt.wantStatus):
						t.Errorf("Revoke() error = %v, want a *RevokeError with status %d", err, tt.wantStatus)
					}
					if got := errors.Is(err, vendoroauth.ErrInvalidCredentials); got != tt.wantCreds {
						t.Errorf("errors.Is(%v, ErrInvalidCredentials) = %v, want %v", err, got, tt.wantCreds)
					}
				}
			})
		})
	}
}

func TestRevokerRejectsWrongSecret(t *testing.T) {
	t.Parallel()
	srv := newFormlabs(t)
	r := vendoroauth.FormlabsRevoker(flClientID, "wrong-secret", at(srv.URL, srv.Client())...)
	err := r.Revoke(t.Context(), "some-token")
	re, ok := errors.AsType[*vendoroauth.RevokeError](err)
	if !ok || re.StatusCode != http.StatusUnauthorized || re.ErrorCode != "invalid_client" || !errors.Is(err, vendoroauth.ErrInvalidCredentials) {
		t.Errorf("Revoke() with a wrong secret = %v, want a 401 invalid_client *RevokeError", err)
	}
}
