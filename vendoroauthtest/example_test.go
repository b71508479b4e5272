package vendoroauthtest_test

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"strings"

	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

func ExampleNewFormlabs() {
	srv := vendoroauthtest.NewFormlabs("my-client", "my-secret")
	defer srv.Close()

	resp, err := srv.Client().PostForm(srv.URL+"/developer/v1/o/token/", url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {"my-client"},
		"client_secret": {"my-secret"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		TokenType string `json:"token_type"`
		ExpiresIn int    `json:"expires_in"`
		Scope     string `json:"scope"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	fmt.Println(resp.Status, tok.TokenType, tok.ExpiresIn, tok.Scope)
	// Output: 200 OK Bearer 86400 developer-api
}

func ExampleFormlabs_FailToken() {
	srv := vendoroauthtest.NewFormlabs("my-client", "my-secret")
	defer srv.Close()

	// The next token request gets a 503 asking to come back in 2 seconds;
	// the one after it is served as usual.
	srv.FailToken(1, vendoroauthtest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: "2"})
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"my-client"}, "client_secret": {"my-secret"}}
	for range 2 {
		resp, err := srv.Client().PostForm(srv.URL+"/developer/v1/o/token/", form)
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

func ExampleNewUnstartedEnduroSat() {
	// No socket: InProcessClient calls the fake directly, which is what a
	// testing/synctest bubble needs.
	srv := vendoroauthtest.NewUnstartedEnduroSat("my-client", "operator", "my-password")
	resp, err := srv.InProcessClient().PostForm(srv.URL+"/oauth2/token", url.Values{
		"grant_type": {"password"},
		"client_id":  {"my-client"},
		"username":   {"operator"},
		"password":   {"wrong-password"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&e)
	fmt.Println(resp.Status, e.Error)
	// Output: 401 Unauthorized invalid_grant
}
