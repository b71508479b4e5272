package redisstore_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

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
	_, port, _ := net.SplitHostPort(r.addr)
	r.cmd = exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	out, _ := r.cmd.StdoutPipe()
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
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
	case <-time.After(10 * time.Second):
		r.t.Fatal("redis-server did not start within 10s")
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

// uniqueKey returns a Redis key for one test.
func uniqueKey(t *testing.T) string {
	return fmt.Sprintf("vendoroauth:test:%s:%d", t.Name(), time.Now().UnixNano())
}
