package vendoroauthtest_test

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"strings"
	"time"

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
