module github.com/vendoroauth/vendoroauth/tools/readmecheck

go 1.26.0

require (
	github.com/redis/go-redis/v9 v9.23.0
	github.com/vendoroauth/vendoroauth v0.1.0
	github.com/vendoroauth/vendoroauth/redisstore v0.0.0
	golang.org/x/oauth2 v0.38.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace (
	github.com/vendoroauth/vendoroauth => ../..
	github.com/vendoroauth/vendoroauth/redisstore => ../../redisstore
)
