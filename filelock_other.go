//go:build !unix

package vendoroauth

import "context"

// Lock implements [Locker]. This system has no flock, so it locks nothing:
// processes sharing the file may then refresh at the same time.
func (f *TokenFile) Lock(context.Context) (func(), error) {
	return func() {}, nil
}
