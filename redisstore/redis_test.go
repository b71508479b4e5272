package redisstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
)

// exampleRedisAddr is the address of the redis-server that TestMain starts
// for the examples; exampleClusterAddrs are the six nodes of its Redis
// Cluster, and exampleSentinelAddrs the three Sentinels of its Sentinel
// set, which watch the master sentinelMaster.
var (
	exampleRedisAddr     string
	exampleClusterAddrs  []string
	exampleSentinelAddrs []string
)

// TestMain silences go-redis's own log: the tests stop and pause Redis on
// purpose, and its dial errors would bury the test output. It starts a
// redis-server, a Cluster and a Sentinel set for the examples, the two
// topologies at once, and kills them when the tests end. Without
// redis-server or redis-cli the package's tests and examples are skipped,
// except in CI, where that fails.
func TestMain(m *testing.M) {
	redis.SetLogger(&logging.VoidLogger{})
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") != "" {
				fmt.Fprintf(os.Stderr, "%s is not installed: %v\n", bin, err)
				os.Exit(1)
			}
			fmt.Printf("%s is not installed (apt-get install redis-server redis-tools); skipping redisstore's tests and examples\n", bin)
			os.Exit(0)
		}
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
	mt := &mainT{}
	mt.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	mt.run(func() { exampleClusterAddrs = startCluster(mt).addrs() })
	mt.run(func() { exampleSentinelAddrs = startSentinel(mt).sentinelAddrs() })
	mt.wait()
	code := m.Run()
	mt.cleanup()
	os.Exit(code)
}

// A mainT is the topologyT of TestMain. As with a *testing.T, Fatal and
// Skipf end the goroutine that calls them, so the helpers that take it run
// in goroutines started by run; wait then runs the cleanups and exits, 1
// if one of them failed, 0 if one skipped.
type mainT struct {
	wg       sync.WaitGroup
	mu       sync.Mutex
	cleanups []func()
	failed   bool
	skipped  bool
}

// run calls fn in a new goroutine.
func (mt *mainT) run(fn func()) {
	mt.wg.Go(fn)
}

// wait waits for the goroutines started by run. If one of them failed or
// skipped, it runs the cleanups and exits.
func (mt *mainT) wait() {
	mt.wg.Wait()
	if mt.failed || mt.skipped {
		mt.cleanup()
		if mt.failed {
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// cleanup calls the functions passed to Cleanup, the last one first.
func (mt *mainT) cleanup() {
	for i := len(mt.cleanups) - 1; i >= 0; i-- {
		mt.cleanups[i]()
	}
	mt.cleanups = nil
}

func (*mainT) Helper() {}

func (mt *mainT) Cleanup(f func()) {
	mt.mu.Lock()
	defer mt.mu.Unlock()
	mt.cleanups = append(mt.cleanups, f)
}

// TempDir returns a new directory, removed by the cleanups.
func (mt *mainT) TempDir() string {
	dir, err := os.MkdirTemp("", "redisstore-example-")
	if err != nil {
		mt.Fatal(err)
	}
	mt.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func (mt *mainT) Fatal(args ...any) { mt.stop(&mt.failed, os.Stderr, fmt.Sprint(args...)) }

func (mt *mainT) Fatalf(format string, args ...any) {
	mt.stop(&mt.failed, os.Stderr, fmt.Sprintf(format, args...))
}

func (mt *mainT) Skipf(format string, args ...any) {
	mt.stop(&mt.skipped, os.Stdout, fmt.Sprintf(format, args...)+"; skipping redisstore's tests and examples")
}

// stop prints msg to w, sets *flag and ends the calling goroutine.
func (mt *mainT) stop(flag *bool, w io.Writer, msg string) {
	mt.mu.Lock()
	*flag = true
	fmt.Fprintln(w, "TestMain:", msg)
	mt.mu.Unlock()
	runtime.Goexit()
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
