package vendoroauthtest_test

import (
	"encoding/json"
	"fmt"
	"log"
	"net/url"

	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

func ExampleEnduroSat_SetRotateRefreshTokens() {
	srv := vendoroauthtest.NewUnstartedEnduroSat("my-client", "operator", "my-password")
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
		return url.Values{"grant_type": {"refresh_token"}, "client_id": {"my-client"}, "refresh_token": {rt}}
	}

	_, first := token(url.Values{
		"grant_type": {"password"},
		"client_id":  {"my-client"},
		"username":   {"operator"},
		"password":   {"my-password"},
	})
	status, second := token(refresh(first))
	fmt.Println("refresh:", status, "new refresh token:", second != "" && second != first)
	status, _ = token(refresh(first))
	fmt.Println("refresh with the old one:", status)
	// Output:
	// refresh: 200 new refresh token: true
	// refresh with the old one: 400
}

func ExampleFault() {
	srv := vendoroauthtest.NewUnstartedFormlabs("my-client", "my-secret")

	// A captive portal's page instead of a token: status 200, but HTML.
	srv.FailToken(1, vendoroauthtest.Fault{Body: "<html><body>Sign in</body></html>"})
	resp, err := srv.InProcessClient().PostForm(srv.URL+"/developer/v1/o/token/", url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {"my-client"},
		"client_secret": {"my-secret"},
	})
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	// Output: 200 text/html; charset=utf-8
}
