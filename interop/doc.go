// Package interop holds tests, behind the build tag "interop", that run
// vendoroauth against Django OAuth Toolkit (the server behind Formlabs'
// token and revocation endpoints), started from dot_server.py:
//
//	apt-get install -y python3-django-oauth-toolkit
//	go test -tags interop ./interop
package interop
