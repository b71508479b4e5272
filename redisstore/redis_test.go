package redisstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
)

// TestMain silences go-redis's own log: the tests stop and pause Redis on
// purpose, and its dial errors would bury the test output.
// exampleRedisAddr is the address of the redis-server that TestMain starts
// for the examples.
var exampleRedisAddr string

// TestMain starts a redis-server for the examples. Without redis-server the
// package's tests and examples are skipped, except in CI, where that fails.
func TestMain(m *testing.M) {
	redis.SetLogger(&logging.VoidLogger{})
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, "redis-server is not installed:", err)
			os.Exit(1)
		}
		fmt.Println("redis-server is not installed (apt-get install redis-server); skipping redisstore's tests and examples")
		os.Exit(0)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	exampleRedisAddr = ln.Addr().String()
	ln.Close()
	cmd, err := runRedis(exampleRedisAddr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	cmd.Process.Kill()
	cmd.Wait()
	os.Exit(code)
}

// A redisServer is a redis-server process on a loopback port, for one test.
type redisServer struct {
	t    *testing.T
	addr string
	cmd  *exec.Cmd
}

// startRedis starts redis-server on a free loopback port. Without
// redis-server it skips the test, except in CI, where it fails.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis-server is not installed: %v", err)
		}
		t.Skipf("redis-server is not installed (apt-get install redis-server): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := &redisServer{t: t, addr: addr}
	r.start()
	t.Cleanup(r.stop)
	return r
}

// start runs redis-server on r.addr and waits until it answers.
func (r *redisServer) start() {
	r.t.Helper()
	cmd, err := runRedis(r.addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.cmd = cmd
}

// runRedis starts redis-server on addr, with no persistence, and waits
// until it accepts connections.
func runRedis(addr string) (*exec.Cmd, error) {
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start redis-server: %w", err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				ready <- true
			}
		}
	}()
	select {
	case <-ready:
		return cmd, nil
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		return nil, errors.New("redis-server did not start within 10s")
	}
}

// stop kills redis-server, as a crash would.
func (r *redisServer) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
		r.cmd = nil
	}
}

// client returns a client for r with short timeouts, closed with the test.
func (r *redisServer) client() *redis.Client {
	c := redis.NewClient(&redis.Options{
		Addr: r.addr, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond, MaxRetries: -1,
	})
	r.t.Cleanup(func() { c.Close() })
	return c
}

// defaultClient returns a client for r with go-redis's default options:
// ReadTimeout 5s and ContextTimeoutEnabled false, so the client itself
// ignores ctx deadlines on socket reads. It is closed with the test.
func (r *redisServer) defaultClient() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: r.addr})
	r.t.Cleanup(func() { c.Close() })
	return c
}

// pause stops redis-server with SIGSTOP: connections stay open and
// commands get no answer, as with a hung server. It resumes (SIGCONT)
// when the test ends.
func (r *redisServer) pause() {
	r.t.Helper()
	pid := r.cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		r.t.Fatalf("SIGSTOP redis-server: %v", err)
	}
	r.t.Cleanup(func() { r.resume(pid) })
}

// resume sends SIGCONT to the redis-server process pid.
func (r *redisServer) resume(pid int) {
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		r.t.Logf("SIGCONT redis-server: %v", err)
	}
}

// A writeHook reports, on wrote, each write a client has made to a
// socket: once a command is written, go-redis without
// ContextTimeoutEnabled no longer looks at its ctx.
type writeHook struct{ wrote chan struct{} }

func (h writeHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return writeConn{c, h.wrote}, nil
	}
}
func (h writeHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h writeHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// A writeConn is a net.Conn that reports its writes.
type writeConn struct {
	net.Conn
	wrote chan struct{}
}

func (c writeConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	select {
	case c.wrote <- struct{}{}:
	default:
	}
	return n, err
}

// uniqueKey returns a Redis key for one test.
func uniqueKey(t *testing.T) string {
	return fmt.Sprintf("vendoroauth:test:%s:%d", t.Name(), time.Now().UnixNano())
}
