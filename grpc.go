package vendoroauth

import "context"

// GetRequestMetadata returns {"authorization": "Bearer <token>"} for one RPC,
// so that a TokenSource is a gRPC credentials.PerRPCCredentials without this
// package importing gRPC:
//
//	conn, err := grpc.NewClient(target,
//		grpc.WithTransportCredentials(credentials.NewTLS(nil)),
//		grpc.WithPerRPCCredentials(src))
//
// It waits for a token no longer than ctx, the RPC's context, allows; the
// fetch goes on for other callers. uri is ignored. Errors are those of
// [TokenSource.TokenContext].
func (s *TokenSource) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	c := s.cached()
	if c == nil {
		var err error
		if c, err = s.wait(ctx); err != nil {
			return nil, err
		}
	}
	return map[string]string{"authorization": s.header(c)[0]}, nil
}

// RequireTransportSecurity reports true: gRPC must not send the token over
// a connection without transport security.
func (s *TokenSource) RequireTransportSecurity() bool { return true }
