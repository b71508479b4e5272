package vendoroauthtest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
)

// inProcess is a RoundTripper that hands requests to a handler directly,
// with no socket: what InProcessClient returns.
type inProcess struct {
	h http.Handler
}

// errDropped is returned for a Fault with Drop, standing in for the
// unexpected EOF a socket client would see.
var errDropped = fmt.Errorf("vendoroauthtest: connection dropped by fault: %w", io.ErrUnexpectedEOF)

// RoundTrip implements [http.RoundTripper]. It honours the request's
// context: a request whose context ends gets its error.
func (t *inProcess) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeBody(req)
		return nil, err
	}
	// The handler sees a server-side request, as over a socket.
	in := req.Clone(ctx)
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = "127.0.0.1:1"
	if in.Body == nil {
		in.Body = http.NoBody
	}
	defer in.Body.Close()

	rec := httptest.NewRecorder()
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler { //nolint:errorlint // the sentinel is compared as net/http does
				resp, err = nil, errDropped
				return
			}
			panic(p)
		}
	}()
	t.h.ServeHTTP(rec, in)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	resp = rec.Result()
	resp.Request = req
	return resp, nil
}

// closeBody closes a request body that will not be read.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// newInProcessClient returns a client whose requests go to h in process.
func newInProcessClient(h http.Handler) *http.Client {
	return &http.Client{Transport: &inProcess{h: h}}
}
