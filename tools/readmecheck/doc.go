// Package readmecheck holds a test that type-checks every Go block of the
// repository's README.md, so that a snippet a user copies compiles. It is a
// module of its own, never released, so that it can see both the root
// module and redisstore (whose replaces here are never seen by consumers).
//
// A block that starts with "package" is checked as a file. Any other block
// is checked as the body of a function, or, if it declares functions or
// types at its top level, as declarations, after a prelude that imports the
// packages snippets use and declares the names they take as given (ctx,
// clientID, clientSecret, src …). Unused variables and imports are not
// errors here: a snippet shows a step, not a program.
package readmecheck

// Imports that README snippets use, so that go mod tidy keeps them.
import (
	_ "github.com/redis/go-redis/v9"
	_ "github.com/vendoroauth/vendoroauth"
	_ "github.com/vendoroauth/vendoroauth/otelvendoroauth"
	_ "github.com/vendoroauth/vendoroauth/redisstore"
	_ "github.com/vendoroauth/vendoroauth/vendoroauthtest"
	_ "golang.org/x/oauth2"
)
