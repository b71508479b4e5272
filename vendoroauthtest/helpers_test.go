package vendoroauthtest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// Test helpers: they set up, send and read; the tests check. All test
// credentials, paths and forms are declared here.

// Credentials the fakes in these tests accept. The secrets are long and
// distinctive, so that a response echoing one is easy to spot.
const (
	satClientID = "sat-ops-client"
	satUser     = "flight-director@example.org"
	satPassword = "pw-SECRET-9f3e1c77"
	fabClientID = "fab-floor-client"
	fabSecret   = "cs-SECRET-4b7a2d19"
)

// The vendors' paths, as DESIGN.md gives them.
const (
	satTokenPath  = "/oauth2/token"
	satRevokePath = "/oauth2/revoke"
	fabTokenPath  = "/developer/v1/o/token/"
	fabRevokePath = "/developer/v1/o/revoke_token/"
)

const formType = "application/x-www-form-urlencoded"

// nowhere is a host nothing answers on: only an in-process client reaches a
// fake there.
const nowhere = "http://127.0.0.1:1"

// liveRefreshToken in a form field is replaced by a valid EnduroSat refresh
// token before the request is sent.
const liveRefreshToken = "<live refresh token>"

// pairs returns the key, value pairs of kv as url.Values; a key given twice
// gets two values.
func pairs(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// withField returns a copy of v with key set to value.
func withField(v url.Values, key, value string) url.Values {
	c := cloneForm(v)
	c.Set(key, value)
	return c
}

// withoutField returns a copy of v without key.
func withoutField(v url.Values, key string) url.Values {
	c := cloneForm(v)
	c.Del(key)
	return c
}

// plusField returns a copy of v with value added to key's values.
func plusField(v url.Values, key, value string) url.Values {
	c := cloneForm(v)
	c.Add(key, value)
	return c
}

func cloneForm(v url.Values) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// satLoginForm returns a valid EnduroSat password grant.
func satLoginForm() url.Values {
	return pairs("grant_type", "password", "client_id", satClientID, "username", satUser, "password", satPassword)
}

// satRefreshForm returns an EnduroSat refresh grant for rt.
func satRefreshForm(rt string) url.Values {
	return pairs("grant_type", "refresh_token", "client_id", satClientID, "refresh_token", rt)
}

// satRevokeForm returns an EnduroSat revocation of the refresh token rt.
func satRevokeForm(rt string) url.Values {
	return pairs("client_id", satClientID, "token", rt)
}

// fabTokenForm returns a valid Formlabs client_credentials grant.
func fabTokenForm() url.Values {
	return pairs("grant_type", "client_credentials", "client_id", fabClientID, "client_secret", fabSecret)
}

// fabRevokeForm returns a Formlabs revocation of the access token tok.
func fabRevokeForm(tok string) url.Values {
	return pairs("token", tok, "client_id", fabClientID, "client_secret", fabSecret)
}

// A reply is a response read in full.
type reply struct {
	status int
	header http.Header
	raw    []byte
	fields map[string]any // the body as a JSON object, numbers as json.Number; nil if it is not one
}

// str returns the string field key of the body, or "".
func (r reply) str(key string) string {
	s, _ := r.fields[key].(string)
	return s
}

// has reports whether the body has the field key.
func (r reply) has(key string) bool {
	_, ok := r.fields[key]
	return ok
}

// newRequest returns a request with form as its form-encoded body, bound
// to t's context.
func newRequest(t *testing.T, method, u string, form url.Values) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, strings.NewReader(form.Encode()))
	require.NoError(t, err, "NewRequestWithContext()")
	req.Header.Set("Content-Type", formType)
	return req
}

// send sends req with c and reads the whole answer. A transport error
// stops the test; tests that expect one call c.Do themselves.
func send(t *testing.T, c *http.Client, req *http.Request) reply {
	t.Helper()
	resp, err := c.Do(req)
	require.NoErrorf(t, err, "Do(%s %s)", req.Method, req.URL.Path)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoErrorf(t, err, "reading the answer to %s %s", req.Method, req.URL.Path)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&r.fields) != nil {
		r.fields = nil
	}
	return r
}

// postForm POSTs form to u, as the vendors expect.
func postForm(t *testing.T, c *http.Client, u string, form url.Values) reply {
	t.Helper()
	return send(t, c, newRequest(t, http.MethodPost, u, form))
}

// getResource GETs u with the Authorization header set to authorization,
// or with none if it is empty.
func getResource(t *testing.T, c *http.Client, u, authorization string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	require.NoError(t, err, "NewRequestWithContext()")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return send(t, c, req)
}

// leaked returns the names of the form's secret fields whose values (of 8
// bytes or more, so that they cannot match by chance) appear in body.
func leaked(body []byte, form url.Values) []string {
	var names []string
	for _, k := range []string{"password", "client_secret", "refresh_token", "token"} {
		for _, v := range form[k] {
			if len(v) >= 8 && bytes.Contains(body, []byte(v)) {
				names = append(names, k)
			}
		}
	}
	return names
}

// jwtSegment decodes segment i (0 the header, 1 the claims) of the JWT tok
// as a JSON object with json.Number numbers; nil if tok is not a JWT.
func jwtSegment(tok string, i int) map[string]any {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		return nil
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if dec.Decode(&m) != nil {
		return nil
	}
	return m
}

// fakeAPI is what both fakes offer; tests that hold for either vendor use it.
type fakeAPI interface {
	http.Handler
	Start()
	Client() *http.Client
	InProcessClient() *http.Client
	Close()
	ResourceURL() string
	Handle(pattern string, h http.Handler)
	Context(ctx context.Context) context.Context
	SetTokenLifetime(time.Duration)
	SetOmitExpiresIn(bool)
	SetJWTAccessTokens(bool)
	SetTokenType(string)
	SetLatency(time.Duration)
	SetClockOffset(time.Duration)
	RevokeAccessTokens()
	FailToken(int, vendoroauthtest.Fault)
	FailRevoke(int, vendoroauthtest.Fault)
	FailResource(int, vendoroauthtest.Fault)
	FailTokenUntil(time.Time, vendoroauthtest.Fault)
	SetRateLimit(int, time.Duration)
	TokenRequests() int
	RevokeRequests() int
	ResourceRequests() int
	TokenRequestsByGrant(string) int
	LastTokenForm() url.Values
	LastTokenHeader() http.Header
	LastRevokeForm() url.Values
}

var (
	_ fakeAPI = (*vendoroauthtest.EnduroSat)(nil)
	_ fakeAPI = (*vendoroauthtest.Formlabs)(nil)
)

// The vendors of the tests that run against both fakes.
const (
	enduroSat = "EnduroSat"
	formlabs  = "Formlabs"
)

var vendors = []string{enduroSat, formlabs}

// A target is a fake of either vendor, with what a test needs to call it.
type target struct {
	fakeAPI
	baseURL     func() string // reads the fake's URL field
	url         string        // the fake's base URL when made or started
	tokenURL    string        // the token endpoint, likewise
	revokeURL   string        // the revocation endpoint, likewise
	tokenPath   string
	revokePath  string
	grantType   string     // the grant_type of tokenForm
	tokenForm   url.Values // a valid token request
	lifetime    time.Duration
	revokeOK    int                         // the status of a successful revocation
	revokable   string                      // the token response field that revocation takes
	revokeForm  func(tok string) url.Values // a valid revocation of tok
	resourceKey string                      // a field of the resource's answer
}

// newTarget returns a fake of vendor that accepts the test credentials,
// listening on loopback if started. Its Close runs when t ends.
func newTarget(t *testing.T, vendor string, started bool) *target {
	t.Helper()
	var tg target
	switch vendor {
	case enduroSat:
		s := vendoroauthtest.NewUnstartedEnduroSat(satClientID, satUser, satPassword)
		tg = target{
			fakeAPI: s, baseURL: func() string { return s.URL }, tokenPath: satTokenPath, revokePath: satRevokePath,
			grantType: "password", tokenForm: satLoginForm(), lifetime: time.Hour,
			revokeOK: http.StatusNoContent, revokable: "refresh_token", revokeForm: satRevokeForm,
			resourceKey: "satellites",
		}
	case formlabs:
		s := vendoroauthtest.NewUnstartedFormlabs(fabClientID, fabSecret)
		tg = target{
			fakeAPI: s, baseURL: func() string { return s.URL }, tokenPath: fabTokenPath, revokePath: fabRevokePath,
			grantType: "client_credentials", tokenForm: fabTokenForm(), lifetime: 24 * time.Hour,
			revokeOK: http.StatusOK, revokable: "access_token", revokeForm: fabRevokeForm,
			resourceKey: "results",
		}
	default:
		t.Fatalf("unknown vendor %q", vendor)
	}
	t.Cleanup(tg.Close)
	if started {
		tg.Start()
	}
	tg.readURLs()
	return &tg
}

// start starts tg's fake and reads its new URLs.
func (tg *target) start() {
	tg.Start()
	tg.readURLs()
}

// readURLs sets tg's URLs from the fake's URL field.
func (tg *target) readURLs() {
	tg.url = tg.baseURL()
	tg.tokenURL, tg.revokeURL = tg.url+tg.tokenPath, tg.url+tg.revokePath
}

// token gets a token response from tg through c; anything but 200 stops
// the test.
func (tg *target) token(t *testing.T, c *http.Client) reply {
	t.Helper()
	r := postForm(t, c, tg.tokenURL, tg.tokenForm)
	require.Equalf(t, http.StatusOK, r.status, "token request: Do() status (error %q)", r.str("error"))
	require.NotEmpty(t, r.str("access_token"), "token request: access_token")
	return r
}

// A rejectCase is a request a fake must refuse.
type rejectCase struct {
	name       string
	method     string     // "" for POST
	path       string     // the request path
	form       url.Values // the body; liveRefreshToken values are replaced
	edit       func(r *http.Request, form url.Values)
	wantStatus int
	wantError  string // the body's error code; "" to leave it unchecked
}

// runRejectCases sends each case, in a parallel subtest, to a fresh fake
// from open, which returns the fake's base URL, a client for it and a live
// refresh token ("" for Formlabs). It checks the status, the error code,
// Allow on 405, a JSON error body, and that no submitted secret comes back.
func runRejectCases(t *testing.T, open func(t *testing.T) (base string, c *http.Client, rt string), tests []rejectCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			base, c, rt := open(t)
			form := cloneForm(tt.form)
			for _, vs := range form {
				for i, v := range vs {
					if v == liveRefreshToken {
						vs[i] = rt
					}
				}
			}
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req := newRequest(t, method, base+tt.path, form)
			if tt.edit != nil {
				tt.edit(req, form)
			}
			r := send(t, c, req)
			if r.status != tt.wantStatus {
				t.Errorf("Do() status = %d, want %d (error %q)", r.status, tt.wantStatus, r.str("error"))
			}
			if tt.wantError != "" && r.str("error") != tt.wantError {
				t.Errorf("Do() error = %q, want %q", r.str("error"), tt.wantError)
			}
			if r.status == http.StatusMethodNotAllowed && r.header.Get("Allow") != http.MethodPost {
				t.Errorf("Do() Allow = %q, want %q", r.header.Get("Allow"), http.MethodPost)
			}
			if r.status >= 400 && (r.fields == nil || r.header.Get("Content-Type") != "application/json") {
				t.Errorf("Do() error body is not a JSON object (Content-Type %q)", r.header.Get("Content-Type"))
			}
			if names := leaked(r.raw, form); len(names) > 0 {
				t.Errorf("Do() body contains the submitted %s", strings.Join(names, ", "))
			}
			if bytes.Contains(r.raw, []byte(satPassword)) || bytes.Contains(r.raw, []byte(fabSecret)) {
				t.Errorf("Do() body contains a configured secret")
			}
		})
	}
}

// setBody replaces the body of r.
func setBody(r *http.Request, body string) {
	r.Body = io.NopCloser(strings.NewReader(body))
	r.ContentLength = int64(len(body))
	r.GetBody = nil
}

// asJSON sends the form's fields as a JSON object instead.
func asJSON(r *http.Request, form url.Values) {
	m := map[string]string{}
	for k := range form {
		m[k] = form.Get(k)
	}
	b, _ := json.Marshal(m)
	setBody(r, string(b))
	r.Header.Set("Content-Type", "application/json")
}

// contentType returns an edit that sets the Content-Type header, or
// removes it if ct is empty, keeping the form-encoded body.
func contentType(ct string) func(*http.Request, url.Values) {
	return func(r *http.Request, _ url.Values) {
		if ct == "" {
			r.Header.Del("Content-Type")
			return
		}
		r.Header.Set("Content-Type", ct)
	}
}

// inQuery moves the form from the body into the query string.
func inQuery(r *http.Request, form url.Values) {
	r.URL.RawQuery = form.Encode()
	setBody(r, "")
}

// basicAuth returns an edit that adds HTTP Basic credentials.
func basicAuth(user, password string) func(*http.Request, url.Values) {
	return func(r *http.Request, _ url.Values) { r.SetBasicAuth(user, password) }
}

// A userAPI is a user's own API on a vendor's fake, served with Handle.
type userAPI struct {
	pattern string // the pattern to register
	path    string // a path it matches
	id      string // the path's {id}
}

// userAPIs are the user's APIs of the tests, by vendor.
var userAPIs = map[string]userAPI{
	enduroSat: {"GET /v1/passes/{id}", "/v1/passes/pass-42", "pass-42"},
	formlabs:  {"GET /developer/v1/printers/{id}/", "/developer/v1/printers/Form4-CalmRabbit/", "Form4-CalmRabbit"},
}

// An apiHandler stands in for a user's handler: it records what reached
// it and answers {"id": <the path's id>}.
type apiHandler struct {
	mu      sync.Mutex
	calls   int
	id      string // PathValue("id") of the last call
	pattern string // Pattern of the last call
	bearer  string // Authorization header of the last call
}

func (h *apiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.calls++
	h.id, h.pattern, h.bearer = r.PathValue("id"), r.Pattern, r.Header.Get("Authorization")
	h.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"id": r.PathValue("id")})
}

// seen returns how many calls reached h and what the last one carried.
func (h *apiHandler) seen() (calls int, id, pattern, bearer string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls, h.id, h.pattern, h.bearer
}

// handleAPI registers the vendor's userAPI on tg and returns its handler
// and API.
func handleAPI(tg *target, vendor string) (*apiHandler, userAPI) {
	h, api := &apiHandler{}, userAPIs[vendor]
	tg.Handle(api.pattern, h)
	return h, api
}
