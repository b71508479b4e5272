module github.com/vendoroauth/vendoroauth

go 1.26.0

require golang.org/x/oauth2 v0.38.0

require github.com/google/go-cmp v0.7.0
