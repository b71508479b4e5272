// Package grpcinterop holds tests proving that a [vendoroauth.TokenSource]
// is a working grpc-go credentials.PerRPCCredentials, although package
// vendoroauth does not import gRPC. They run a real grpc-go server with TLS
// (a self-signed certificate made in the test) and the standard health
// service, behind interceptors that check each RPC's bearer token at a
// vendoroauthtest.Formlabs fake, and show that:
//
//   - every RPC, unary or streaming, carries "Bearer <token>", the token the
//     source hands out, and the server accepts it;
//   - an RPC waits for a slow token fetch no longer than its own deadline;
//   - after the source refreshes its token, RPCs carry the new one, and no
//     RPC fails across the switch;
//   - grpc-go sends no token over a connection without transport security,
//     because RequireTransportSecurity reports true.
//
// It is a module of its own, so that the root module never requires
// google.golang.org/grpc. Its go.mod replaces the root module with ../..;
// that is safe because a test-only module is never required by another,
// and a replace directive applies only in the main module. Run it with:
//
//	cd interop/grpc && go vet ./... && go test -race -count=1 ./...
//
// [vendoroauth.TokenSource]: https://pkg.go.dev/github.com/vendoroauth/vendoroauth#TokenSource
package grpcinterop
