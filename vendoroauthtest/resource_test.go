package vendoroauthtest_test

import (
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestResourceAuthorization(t *testing.T) {
	t.Parallel()
	const valid = "<valid token>" // replaced by a token the fake issued
	tests := []struct {
		name          string
		authorization string // "" for no header
		want          int
	}{
		{"Bearer", "Bearer " + valid, http.StatusOK},
		{"lower-case scheme", "bearer " + valid, http.StatusOK},
		{"upper-case scheme", "BEARER " + valid, http.StatusOK},
		{"mixed-case scheme", "bEaReR " + valid, http.StatusOK},
		{"no Authorization header", "", http.StatusUnauthorized},
		{"scheme without a token", "Bearer ", http.StatusUnauthorized},
		{"token without a scheme", valid, http.StatusUnauthorized},
		{"Basic scheme", "Basic " + valid, http.StatusUnauthorized},
		{"Token scheme", "Token " + valid, http.StatusUnauthorized},
		{"unknown token", "Bearer at-never-issued", http.StatusUnauthorized},
		{"token of another fake", "Bearer <other fake's token>", http.StatusUnauthorized},
	}
	for _, vendor := range vendors {
		for _, tt := range tests {
			t.Run(vendor+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				tg := newTarget(t, vendor, true)
				c := tg.Client()
				other := newTarget(t, vendor, true)
				auth := strings.ReplaceAll(tt.authorization, valid, tg.token(t, c).str("access_token"))
				auth = strings.ReplaceAll(auth, "<other fake's token>", other.token(t, other.Client()).str("access_token"))

				r := getResource(t, c, tg.ResourceURL(), auth)
				if r.status != tt.want {
					t.Errorf("Do() status = %d, want %d", r.status, tt.want)
				}
				if r.status == http.StatusOK && !r.has(tg.resourceKey) {
					t.Errorf("Do() body has no %q field, want the vendor's listing", tg.resourceKey)
				}
				if r.status != http.StatusUnauthorized {
					return
				}
				if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") || !strings.Contains(got, "invalid_token") {
					t.Errorf("Do() WWW-Authenticate = %q, want a Bearer challenge with invalid_token", got)
				}
				if got := r.str("error"); got != "invalid_token" {
					t.Errorf("Do() error = %q, want %q", got, "invalid_token")
				}
			})
		}
	}
}

func TestResourceTokenExpiry(t *testing.T) {
	t.Parallel()
	for _, vendor := range vendors {
		t.Run(vendor, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				tg := newTarget(t, vendor, false)
				c := tg.InProcessClient()
				auth := "Bearer " + tg.token(t, c).str("access_token")

				time.Sleep(tg.lifetime - time.Second)
				if r := getResource(t, c, tg.ResourceURL(), auth); r.status != http.StatusOK {
					t.Errorf("a second before expiry: Do() status = %d, want %d", r.status, http.StatusOK)
				}
				time.Sleep(time.Second)
				r := getResource(t, c, tg.ResourceURL(), auth)
				if r.status != http.StatusUnauthorized {
					t.Errorf("at expiry: Do() status = %d, want %d", r.status, http.StatusUnauthorized)
				}
				if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("at expiry: WWW-Authenticate = %q, want a Bearer challenge", got)
				}
				if got := tg.ResourceRequests(); got != 2 {
					t.Errorf("ResourceRequests() = %d, want 2", got)
				}
			})
		})
	}
}
