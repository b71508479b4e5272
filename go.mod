module github.com/vendoroauth/vendoroauth

go 1.26.0

require golang.org/x/oauth2 v0.38.0

require github.com/google/go-cmp v0.7.0

require (
	github.com/stretchr/testify v1.12.1
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
