package vendoroauth

import (
	"context"
	"log/slog"
	"net/url"
	"time"

	"golang.org/x/oauth2"
)

// exchange sends one token request, with retries, and decodes the answer.
// op names the vendor and grant in errors and logs ("formlabs
// client_credentials grant"); red knows every secret in form.
func (c *config) exchange(ctx context.Context, op string, form url.Values, red redactor) (*oauth2.Token, error) {
	hooks := logRetries(ctx, c.logger, "vendoroauth: token request failed; retrying",
		slog.String("vendor", c.vendor), slog.String("grant", form.Get("grant_type")))
	return withRetries(ctx, hooks, func(ctx context.Context) (*oauth2.Token, error) {
		start := time.Now()
		r, err := postForm(ctx, c.hc, c.tokenURL, form)
		if err != nil {
			return nil, &exchangeError{op: op, kind: kindTransient, cause: err}
		}
		return decodeToken(op, r, start, red)
	})
}
