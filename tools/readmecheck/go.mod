module github.com/vendoroauth/vendoroauth/tools/readmecheck

go 1.26.0

require (
	github.com/redis/go-redis/v9 v9.23.0
	github.com/vendoroauth/vendoroauth v0.1.0
	github.com/vendoroauth/vendoroauth/redisstore v0.0.0
	golang.org/x/oauth2 v0.38.0
)

require (
	github.com/go-logr/logr v1.4.4 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	go.opentelemetry.io/auto/sdk v1.2.1 // indirect
	go.opentelemetry.io/otel v1.47.0 // indirect
	go.opentelemetry.io/otel/log v1.47.0 // indirect
	go.opentelemetry.io/otel/metric v1.47.0 // indirect
	go.opentelemetry.io/otel/trace v1.47.0 // indirect
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/vendoroauth/vendoroauth/otelvendoroauth v0.0.0
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace (
	github.com/vendoroauth/vendoroauth => ../..
	github.com/vendoroauth/vendoroauth/redisstore => ../../redisstore
)

replace github.com/vendoroauth/vendoroauth/otelvendoroauth => ../../otelvendoroauth
