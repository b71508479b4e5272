package readmecheck

import (
	"errors"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"regexp"
	"strings"
	"testing"
)

// prelude opens every snippet that is not a file of its own.
const prelude = `package snippet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/vendoroauth/vendoroauth"
	"github.com/vendoroauth/vendoroauth/otelvendoroauth"
	"github.com/vendoroauth/vendoroauth/redisstore"
	"github.com/vendoroauth/vendoroauth/vendoroauthtest"
)

// Names the snippets take as given.
var (
	ctx                                     = context.Background()
	id, secret, clientID, clientSecret      string
	user, username, pw, password            string
	refreshToken, leakedToken               string
	key                                     []byte
	rdb                                     *redis.Client
	src                                     *vendoroauth.TokenSource
	t                                       interface{ Helper(); Cleanup(func()); Fatal(...any) }
)

var (
	_ = errors.Is
	_ = fmt.Println
	_ = io.EOF
	_ = log.Println
	_ = slog.Info
	_ = http.Get
	_ = os.Exit
	_ = time.Now
	_ oauth2.TokenSource
	_ = otelvendoroauth.NewObserver
	_ = redisstore.New
	_ = vendoroauthtest.NewFormlabs
)
`

var goBlock = regexp.MustCompile("(?ms)^```go\n(.*?)^```")

func TestREADMEGoBlocks(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlock.FindAllSubmatch(readme, -1)
	if len(blocks) == 0 {
		t.Fatal("README.md has no Go blocks")
	}
	imp := importer.ForCompiler(token.NewFileSet(), "source", nil)
	for i, m := range blocks {
		block := string(m[1])
		line := 1 + strings.Count(string(readme[:strings.Index(string(readme), block)]), "\n")
		var file string
		switch {
		case strings.HasPrefix(block, "package "):
			file = block
		case regexp.MustCompile(`(?m)^(func|type) `).MatchString(block):
			file = prelude + block
		default:
			file = prelude + "func _() {\n" + block + "\n}\n"
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "README.md", file, 0)
		if err != nil {
			t.Errorf("README.md:%d: Go block %d does not parse: %v\n%s", line, i+1, err, block)
			continue
		}
		var errs []string
		conf := types.Config{Importer: imp, Error: func(err error) {
			var te types.Error
			if errors.As(err, &te) && te.Soft {
				return // unused variables and imports: a snippet is a step, not a program
			}
			errs = append(errs, err.Error())
		}}
		conf.Check("snippet", fset, []*ast.File{f}, nil)
		if len(errs) > 0 {
			t.Errorf("README.md:%d: Go block %d does not compile:\n  %s\n%s", line, i+1, strings.Join(errs, "\n  "), block)
		}
	}
	t.Logf("%d Go blocks checked", len(blocks))
}
