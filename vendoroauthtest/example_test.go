package vendoroauthtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// formlabsGrant is a client_credentials grant with the demo credentials.
var formlabsGrant = url.Values{
	"grant_type":    {"client_credentials"},
	"client_id":     {vendoroauthtest.FormlabsClientID},
	"client_secret": {vendoroauthtest.FormlabsClientSecret},
}

func ExampleNewFormlabs() {
	srv := vendoroauthtest.NewFormlabs(vendoroauthtest.FormlabsClientID, vendoroauthtest.FormlabsClientSecret)
	defer srv.Close()

	resp, err := srv.Client().PostForm(srv.URL+"/developer/v1/o/token/", formlabsGrant)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		TokenType string `json:"token_type"`
		ExpiresIn int    `json:"expires_in"`
		Scope     string `json:"scope"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status, tok.TokenType, tok.ExpiresIn, tok.Scope)
	// Output: 200 OK Bearer 86400 developer-api
}

func ExampleFormlabs_Start() {
	// Configure the fake before it listens, as with httptest.NewUnstartedServer.
	srv := vendoroauthtest.NewUnstartedFormlabs(vendoroauthtest.FormlabsClientID, vendoroauthtest.FormlabsClientSecret)
	srv.SetTokenLifetime(10 * time.Minute)
	srv.Start()
	defer srv.Close()

	resp, err := srv.Client().PostForm(srv.URL+"/developer/v1/o/token/", formlabsGrant)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		ExpiresIn int `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status, tok.ExpiresIn)
	// Output: 200 OK 600
}

func ExampleFormlabs_FailToken() {
	srv := vendoroauthtest.NewFormlabs(vendoroauthtest.FormlabsClientID, vendoroauthtest.FormlabsClientSecret)
	defer srv.Close()

	// The next token request gets a 503 asking to come back in 2 seconds;
	// the one after it is served as usual.
	srv.FailToken(1, vendoroauthtest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "2"})
	for range 2 {
		resp, err := srv.Client().PostForm(srv.URL+"/developer/v1/o/token/", formlabsGrant)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(strings.TrimSpace(resp.Status + " " + resp.Header.Get("Retry-After")))
	}
	fmt.Println("token requests:", srv.TokenRequests())
	// Output:
	// 503 Service Unavailable 2
	// 200 OK
	// token requests: 2
}

func ExampleFault() {
	srv := vendoroauthtest.NewUnstartedFormlabs(vendoroauthtest.FormlabsClientID, vendoroauthtest.FormlabsClientSecret)

	// A captive portal's page instead of a token: status 200, but HTML.
	srv.FailToken(1, vendoroauthtest.Fault{Body: "<html><body>Sign in</body></html>"})
	resp, err := srv.InProcessClient().PostForm(srv.URL+"/developer/v1/o/token/", formlabsGrant)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	// Output: 200 text/html; charset=utf-8
}

func ExampleNewUnstartedEnduroSat() {
	// No socket: InProcessClient calls the fake directly, which is what a
	// testing/synctest bubble needs.
	srv := vendoroauthtest.NewUnstartedEnduroSat(vendoroauthtest.EnduroSatClientID, vendoroauthtest.EnduroSatUsername, vendoroauthtest.EnduroSatPassword)
	resp, err := srv.InProcessClient().PostForm(srv.URL+"/oauth2/token", url.Values{
		"grant_type": {"password"},
		"client_id":  {vendoroauthtest.EnduroSatClientID},
		"username":   {vendoroauthtest.EnduroSatUsername},
		"password":   {"wrong-password"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status, e.Error)
	// Output: 401 Unauthorized invalid_grant
}

func ExampleEnduroSat_SetRotateRefreshTokens() {
	srv := vendoroauthtest.NewUnstartedEnduroSat(vendoroauthtest.EnduroSatClientID, vendoroauthtest.EnduroSatUsername, vendoroauthtest.EnduroSatPassword)
	srv.SetRotateRefreshTokens(true)
	c := srv.InProcessClient()

	// token posts a token request and returns the status and refresh token.
	token := func(form url.Values) (int, string) {
		resp, err := c.PostForm(srv.URL+"/oauth2/token", form)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		var tok struct {
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
			log.Fatal(err)
		}
		return resp.StatusCode, tok.RefreshToken
	}
	refresh := func(rt string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "client_id": {vendoroauthtest.EnduroSatClientID}, "refresh_token": {rt}}
	}

	_, first := token(url.Values{
		"grant_type": {"password"},
		"client_id":  {vendoroauthtest.EnduroSatClientID},
		"username":   {vendoroauthtest.EnduroSatUsername},
		"password":   {vendoroauthtest.EnduroSatPassword},
	})
	status, second := token(refresh(first))
	fmt.Println("refresh:", status, "new refresh token:", second != "" && second != first)
	status, _ = token(refresh(first))
	fmt.Println("refresh with the old one:", status)
	// Output:
	// refresh: 200 new refresh token: true
	// refresh with the old one: 400
}

// A printer is what listPrinters reads of a Formlabs printer.
type printer struct {
	Serial string `json:"serial"`
	Alias  string `json:"alias"`
}

// listPrinters is the code under test in ExampleFormlabs_Handle: it lists
// the account's printers from the Formlabs API at baseURL, through c, a
// client that authenticates its requests.
func listPrinters(ctx context.Context, c *http.Client, baseURL string) ([]printer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/developer/v1/printers/", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("list printers: %s", resp.Status)
	}
	var page struct {
		Results []printer `json:"results"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&page); err != nil {
		return nil, fmt.Errorf("list printers: %v", err)
	}
	return page.Results, nil
}

// A user's test of listPrinters: the fake issues the tokens and serves the
// test's printers behind its token check.
func ExampleFormlabs_Handle() {
	srv := vendoroauthtest.NewFormlabs(vendoroauthtest.FormlabsClientID, vendoroauthtest.FormlabsClientSecret)
	defer srv.Close()
	// Handle's patterns take precedence over the fake's own printer listing.
	srv.Handle("GET /developer/v1/printers/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"count": 2, "next": null, "previous": null, "results": [
			{"serial": "Form4-CalmRabbit", "alias": "Left bench"},
			{"serial": "Form3-BraveOtter", "alias": "Right bench"}]}`)
	}))

	// One context gives the token source and its Client the fake's client.
	ctx := srv.Context(context.Background())
	src := vendoroauth.FormlabsTokenSource(ctx, vendoroauthtest.FormlabsClientID, vendoroauthtest.FormlabsClientSecret,
		vendoroauth.WithBaseURL(srv.URL))
	defer src.Close()

	printers, err := listPrinters(ctx, src.Client(ctx), srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range printers {
		fmt.Println(p.Serial, p.Alias)
	}
	fmt.Println("token requests:", srv.TokenRequests())

	// Without a token, the handler is never reached.
	_, err = listPrinters(ctx, srv.Client(), srv.URL)
	fmt.Println(err)
	// Output:
	// Form4-CalmRabbit Left bench
	// Form3-BraveOtter Right bench
	// token requests: 1
	// list printers: 401 Unauthorized
}
