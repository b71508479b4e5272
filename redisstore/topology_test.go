package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// This file starts real Redis topologies (a Redis Cluster, a Sentinel set)
// on loopback for failover tests and the examples. Each topology belongs to
// one test, or to TestMain for the examples: its processes are started
// fresh, killed by PID on cleanup, and keep all their files under
// t.TempDir().

// A topologyT is what the topology helpers need of a *testing.T. TestMain,
// which has no *testing.T, passes a mainT (redis_test.go) to start the
// examples' topologies.
type topologyT interface {
	Helper()
	Cleanup(func())
	TempDir() string
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
}

// pollEvery is how often the topology helpers poll Redis while they wait.
const pollEvery = 50 * time.Millisecond

// requireRedisBinaries skips t when redis-server or redis-cli is missing,
// except in CI, where it fails.
func requireRedisBinaries(t topologyT) {
	t.Helper()
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed: %v", bin, err)
			}
			t.Skipf("%s is not installed (apt-get install redis-server redis-tools): %v", bin, err)
		}
	}
}

// freePorts returns n distinct free loopback ports. It keeps every listener
// open until it has all n, so that no port is returned twice.
func freePorts(t topologyT, n int) []int {
	t.Helper()
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free loopback port: %v", err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// loopback returns "127.0.0.1:port".
func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// portOf returns the port of the "host:port" address addr.
func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// nodeClient returns a client for the one Redis process at addr, for the
// helpers' own commands: short timeouts, no retries, one dial attempt.
// The caller closes it.
func nodeClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: addr, DialTimeout: 200 * time.Millisecond, DialerRetries: 1,
		ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond, MaxRetries: -1,
	})
}

// onNode runs fn with a fresh nodeClient for addr. A fresh client per call
// keeps a killed and restarted node from being seen through a pool that
// still remembers its dial errors.
func onNode(addr string, fn func(*redis.Client) error) error {
	c := nodeClient(addr)
	defer c.Close()
	return fn(c)
}

// infoFields parses the "key:value" lines of INFO or CLUSTER INFO.
func infoFields(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			m[k] = v
		}
	}
	return m
}

// role returns the first element of ROLE on addr: "master", "slave" or
// "sentinel".
func role(ctx context.Context, addr string) (string, error) {
	var r string
	err := onNode(addr, func(c *redis.Client) error {
		v, err := c.Do(ctx, "ROLE").Slice()
		if err != nil {
			return err
		}
		if len(v) == 0 {
			return errors.New("empty ROLE reply")
		}
		r, _ = v[0].(string)
		return nil
	})
	return r, err
}

// A redisProc is one redis-server process of a topology (a data node,
// a cluster node or a Sentinel). It can be killed and started again with
// the same arguments.
type redisProc struct {
	addr string
	args []string // redis-server's arguments
	log  string   // file that gets its stdout and stderr, across restarts
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd has exited and been reaped
}

// start runs the process and waits (at most 10s) until it answers (INFO
// server, with its own process_id).
func (p *redisProc) start(t topologyT) {
	t.Helper()
	out, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("open redis-server log: %v", err)
	}
	cmd := exec.Command("redis-server", p.args...)
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Start()
	out.Close()
	if err != nil {
		t.Fatalf("start redis-server for %s: %v", p.addr, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	p.cmd, p.done = cmd, done

	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := onNode(p.addr, func(c *redis.Client) error {
			// Another test's redis-server may have taken the port: make sure
			// the process that answers is this one.
			s, err := c.Info(ctx, "server").Result()
			if err == nil && infoFields(s)["process_id"] != strconv.Itoa(cmd.Process.Pid) {
				err = fmt.Errorf("another process (pid %s) answers on %s", infoFields(s)["process_id"], p.addr)
			}
			return err
		})
		cancel()
		if err == nil {
			return
		}
		select {
		case <-done:
			t.Fatalf("redis-server for %s exited at start (%v); its log ends:\n%s", p.addr, cmd.ProcessState, p.logTail())
		default:
		}
		if time.Now().After(deadline) {
			p.kill()
			t.Fatalf("redis-server for %s did not answer within 10s (%v); its log ends:\n%s", p.addr, err, p.logTail())
		}
		time.Sleep(pollEvery)
	}
}

// logTail returns the end of the process's log, for failure messages.
func (p *redisProc) logTail() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// running reports whether the process is started and has not exited.
func (p *redisProc) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL to the process, as a crash would, and reaps it.
func (p *redisProc) kill() {
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.done
}

// signal sends sig to the process if it is still running.
func (p *redisProc) signal(sig syscall.Signal) error {
	if !p.running() {
		return fmt.Errorf("redis-server for %s is not running", p.addr)
	}
	return p.cmd.Process.Signal(sig)
}

// A redisCluster is a six-node Redis Cluster on loopback: three masters,
// each with one replica.
type redisCluster struct {
	t     topologyT
	nodes []*redisProc // in the order given to redis-cli --cluster create
}

// startCluster starts a six-node Redis Cluster (three masters, three
// replicas) and waits until every node reports it healthy. Every node is
// killed when the test ends. Without redis-server or redis-cli it skips
// the test, except in CI, where it fails.
//
// Each node has a config file and a nodes file under t.TempDir(), so that
// restart brings a killed node back into the cluster. Its cluster bus
// listens on a free port of its own (cluster-port), as port+10000 may be
// out of range.
func startCluster(t topologyT) *redisCluster {
	t.Helper()
	requireRedisBinaries(t)
	dir := t.TempDir()
	c := &redisCluster{t: t}
	t.Cleanup(c.stop) // runs before TempDir's removal
	ports := freePorts(t, 12)
	for i := range 6 {
		port, bus := ports[i], ports[6+i]
		ndir := filepath.Join(dir, strconv.Itoa(port))
		if err := os.Mkdir(ndir, 0o700); err != nil {
			t.Fatal(err)
		}
		conf := filepath.Join(dir, fmt.Sprintf("redis-%d.conf", port))
		text := strings.Join([]string{
			fmt.Sprintf("port %d", port),
			"bind 127.0.0.1",
			"cluster-enabled yes",
			fmt.Sprintf("cluster-config-file %q", filepath.Join(dir, fmt.Sprintf("nodes-%d.conf", port))),
			"cluster-node-timeout 1000",
			fmt.Sprintf("cluster-port %d", bus),
			"cluster-announce-ip 127.0.0.1",
			"cluster-replica-validity-factor 0",
			"repl-diskless-sync-delay 0",
			"appendonly no",
			`save ""`,
			fmt.Sprintf("dir %q", ndir),
			"daemonize no",
			"protected-mode no",
		}, "\n") + "\n"
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		p := &redisProc{addr: loopback(port), args: []string{conf}, log: filepath.Join(dir, fmt.Sprintf("redis-%d.log", port))}
		c.nodes = append(c.nodes, p)
		p.start(t)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append(append([]string{"--cluster", "create"}, c.addrs()...), "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var err error
	for {
		if err = c.healthy(ctx); err == nil {
			return c
		}
		select {
		case <-ctx.Done():
			t.Fatalf("cluster not healthy within 20s: %v", err)
		case <-time.After(pollEvery):
		}
	}
}

// stop kills every node.
func (c *redisCluster) stop() {
	for _, p := range c.nodes {
		p.kill()
	}
}

// addrs returns the addresses of all six nodes, "127.0.0.1:port".
func (c *redisCluster) addrs() []string {
	a := make([]string, len(c.nodes))
	for i, p := range c.nodes {
		a[i] = p.addr
	}
	return a
}

// node returns the node at addr, or fails the test.
func (c *redisCluster) node(addr string) *redisProc {
	c.t.Helper()
	for _, p := range c.nodes {
		if p.addr == addr {
			return p
		}
	}
	c.t.Fatalf("%s is not a node of the cluster %v", addr, c.addrs())
	return nil
}

// client returns a cluster client for c with short timeouts, closed when
// the test ends.
func (c *redisCluster) client() *redis.ClusterClient {
	cl := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: c.addrs(), DialTimeout: 200 * time.Millisecond, DialerRetries: 1,
		ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond, MaxRetries: 3,
	})
	c.t.Cleanup(func() { cl.Close() })
	return cl
}

// A clusterNode is one line of CLUSTER NODES.
type clusterNode struct {
	id, addr, master, link string
	flags                  []string
	epoch                  int64    // config epoch
	slots                  []string // "0-5460", "5461", "[…]" for slots in migration
}

// serves reports whether n's line lists slot as one of its own.
func (n clusterNode) serves(slot int64) bool {
	for _, r := range n.slots {
		if strings.HasPrefix(r, "[") {
			continue
		}
		lo, hi, found := strings.Cut(r, "-")
		if !found {
			hi = lo
		}
		l, err1 := strconv.ParseInt(lo, 10, 64)
		h, err2 := strconv.ParseInt(hi, 10, 64)
		if err1 == nil && err2 == nil && l <= slot && slot <= h {
			return true
		}
	}
	return false
}

func (n clusterNode) is(flag string) bool {
	for _, f := range n.flags {
		if f == flag {
			return true
		}
	}
	return false
}

// clusterNodes returns CLUSTER NODES on addr.
func clusterNodes(ctx context.Context, addr string) ([]clusterNode, error) {
	var s string
	err := onNode(addr, func(c *redis.Client) (err error) {
		s, err = c.ClusterNodes(ctx).Result()
		return err
	})
	if err != nil {
		return nil, err
	}
	var nodes []clusterNode
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			return nil, fmt.Errorf("CLUSTER NODES line %q", line)
		}
		a, _, _ := strings.Cut(f[1], "@")
		epoch, _ := strconv.ParseInt(f[6], 10, 64)
		nodes = append(nodes, clusterNode{
			id: f[0], addr: a, flags: strings.Split(f[2], ","), master: f[3], epoch: epoch, link: f[7], slots: f[8:],
		})
	}
	return nodes, nil
}

// healthy returns nil when every node is up and says cluster_state:ok,
// and sees six connected nodes: three masters with slots, each with one
// replica whose replication link is up.
func (c *redisCluster) healthy(ctx context.Context) error {
	for _, p := range c.nodes {
		var info, repl map[string]string
		err := onNode(p.addr, func(cl *redis.Client) error {
			s, err := cl.ClusterInfo(ctx).Result()
			if err != nil {
				return err
			}
			info = infoFields(s)
			s, err = cl.Info(ctx, "replication").Result()
			repl = infoFields(s)
			return err
		})
		if err != nil {
			return fmt.Errorf("%s: %w", p.addr, err)
		}
		if info["cluster_state"] != "ok" || info["cluster_known_nodes"] != "6" || info["cluster_slots_ok"] != "16384" {
			return fmt.Errorf("%s: cluster_state:%s cluster_known_nodes:%s cluster_slots_ok:%s",
				p.addr, info["cluster_state"], info["cluster_known_nodes"], info["cluster_slots_ok"])
		}
		if repl["role"] == "slave" && repl["master_link_status"] != "up" {
			return fmt.Errorf("%s: replica's master_link_status:%s", p.addr, repl["master_link_status"])
		}
		nodes, err := clusterNodes(ctx, p.addr)
		if err != nil {
			return fmt.Errorf("%s: %w", p.addr, err)
		}
		replicas := map[string]int{} // master id -> replicas
		for _, n := range nodes {
			if n.is("fail") || n.is("fail?") || n.is("handshake") || n.is("noaddr") || n.link != "connected" {
				return fmt.Errorf("%s sees %s as %v, link %s", p.addr, n.addr, n.flags, n.link)
			}
			if n.is("master") && len(n.slots) > 0 {
				replicas[n.id] += 0
			}
		}
		for _, n := range nodes {
			if n.is("slave") {
				if _, ok := replicas[n.master]; !ok {
					return fmt.Errorf("%s sees replica %s of %s, not a master with slots", p.addr, n.addr, n.master)
				}
				replicas[n.master]++
			}
		}
		if len(replicas) != 3 {
			return fmt.Errorf("%s sees %d masters with slots", p.addr, len(replicas))
		}
		for id, r := range replicas {
			if r != 1 {
				return fmt.Errorf("%s sees %d replicas of master %s", p.addr, r, id)
			}
		}
	}
	return nil
}

// slotOwner asks the node at addr which node is master for key's slot:
// it returns that master's address and ID.
func slotOwner(ctx context.Context, addr, key string) (owner, id string, err error) {
	err = onNode(addr, func(c *redis.Client) error {
		slot, err := c.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			return err
		}
		shards, err := c.ClusterShards(ctx).Result()
		if err != nil {
			return err
		}
		for _, sh := range shards {
			for _, r := range sh.Slots {
				if r.Start > slot || slot > r.End {
					continue
				}
				for _, n := range sh.Nodes {
					if n.Role == "master" {
						owner, id = loopback(int(n.Port)), n.ID
						return nil
					}
				}
			}
		}
		return fmt.Errorf("slot %d has no master", slot)
	})
	return owner, id, err
}

// masterOf returns the address of the node that is master for key's slot
// now. Nodes learn of a failover at different times, so it asks every live
// node for CLUSTER NODES and, as the cluster itself does, takes the claim
// on the slot with the highest config epoch. It fails the test if no node
// answers.
func (c *redisCluster) masterOf(ctx context.Context, key string) string {
	c.t.Helper()
	var slot int64 = -1
	best, bestEpoch := "", int64(-1)
	var lastErr error
	for _, p := range c.nodes {
		if !p.running() {
			continue
		}
		if slot < 0 {
			err := onNode(p.addr, func(cl *redis.Client) (err error) {
				slot, err = cl.ClusterKeySlot(ctx, key).Result()
				return err
			})
			if err != nil {
				slot, lastErr = -1, err
				continue
			}
		}
		nodes, err := clusterNodes(ctx, p.addr)
		if err != nil {
			lastErr = err
			continue
		}
		for _, n := range nodes {
			if n.is("master") && n.serves(slot) && n.epoch > bestEpoch {
				best, bestEpoch = n.addr, n.epoch
			}
		}
	}
	if best == "" {
		c.t.Fatalf("no cluster node says which node is master for %q: %v", key, lastErr)
	}
	return best
}

// kill sends SIGKILL to the node at addr, as a crash would, and reaps it.
func (c *redisCluster) kill(addr string) {
	c.t.Helper()
	c.node(addr).kill()
}

// restart starts the killed node at addr again with its config file and
// nodes file, so that it rejoins the cluster (as a replica of the node
// promoted in its place), and waits until it answers PING.
func (c *redisCluster) restart(addr string) {
	c.t.Helper()
	p := c.node(addr)
	if p.running() {
		c.t.Fatalf("restart %s: it is still running", addr)
	}
	p.start(c.t)
}

// waitFailover polls, until ctx is done, for a live node other than old
// that is master for key's slot in its own view and says cluster_state:ok
// in CLUSTER INFO. It returns that node's address.
func (c *redisCluster) waitFailover(ctx context.Context, key, old string) (promoted string, err error) {
	last := errors.New("no node answered")
	for {
		for _, p := range c.nodes {
			if p.addr == old || !p.running() {
				continue
			}
			if err := c.ownsSlotOK(ctx, p.addr, key); err != nil {
				last = err
				continue
			}
			return p.addr, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no node other than %s became master for %q: %w (last: %v)", old, key, ctx.Err(), last)
		case <-time.After(pollEvery):
		}
	}
}

// ownsSlotOK returns nil if the node at addr sees itself as master for
// key's slot, and says cluster_state:ok.
func (c *redisCluster) ownsSlotOK(ctx context.Context, addr, key string) error {
	var myID string
	var info map[string]string
	err := onNode(addr, func(cl *redis.Client) error {
		id, err := cl.Do(ctx, "CLUSTER", "MYID").Text()
		if err != nil {
			return err
		}
		s, err := cl.ClusterInfo(ctx).Result()
		myID, info = id, infoFields(s)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	_, owner, err := slotOwner(ctx, addr, key)
	if err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	if owner != myID {
		return fmt.Errorf("%s is not master for %q", addr, key)
	}
	if info["cluster_state"] != "ok" {
		return fmt.Errorf("%s: cluster_state:%s", addr, info["cluster_state"])
	}
	return nil
}

// sentinelMaster is the name under which the Sentinels of a sentinelSet
// monitor its master.
const sentinelMaster = "vendoroauth-test"

// A sentinelSet is a Redis master with one replica, watched by three
// Sentinels (quorum 2), on loopback.
type sentinelSet struct {
	t         topologyT
	dir       string
	data      []*redisProc // the two data nodes; data[0] starts as master
	sentinels []*redisProc
}

// startSentinel starts a master, its replica and three Sentinels, and
// waits until every Sentinel knows the master, the replica and the two
// other Sentinels. Every process is killed when the test ends. Without
// redis-server or redis-cli it skips the test, except in CI, where it
// fails.
func startSentinel(t topologyT) *sentinelSet {
	t.Helper()
	requireRedisBinaries(t)
	s := &sentinelSet{t: t, dir: t.TempDir()}
	t.Cleanup(s.stop) // runs before TempDir's removal
	ports := freePorts(t, 5)
	for i, port := range ports[:2] {
		if err := os.Mkdir(filepath.Join(s.dir, strconv.Itoa(port)), 0o700); err != nil {
			t.Fatal(err)
		}
		p := &redisProc{addr: loopback(port), args: s.dataArgs(port), log: filepath.Join(s.dir, fmt.Sprintf("redis-%d.log", port))}
		if i == 1 {
			p.args = append(p.args, "--replicaof", "127.0.0.1", strconv.Itoa(ports[0]))
		}
		s.data = append(s.data, p)
		p.start(t)
	}
	master, replica := s.data[0].addr, s.data[1].addr

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := waitLinkUp(ctx, replica, master); err != nil {
		t.Fatalf("replica %s not linked to master %s within 20s: %v", replica, master, err)
	}

	for _, port := range ports[2:] {
		conf := filepath.Join(s.dir, fmt.Sprintf("sentinel-%d.conf", port))
		text := strings.Join([]string{
			fmt.Sprintf("port %d", port),
			"bind 127.0.0.1",
			"protected-mode no",
			fmt.Sprintf("dir %q", s.dir),
			fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 2", sentinelMaster, ports[0]),
			fmt.Sprintf("sentinel down-after-milliseconds %s 1000", sentinelMaster),
			fmt.Sprintf("sentinel failover-timeout %s 3000", sentinelMaster),
			fmt.Sprintf("sentinel parallel-syncs %s 1", sentinelMaster),
		}, "\n") + "\n"
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		p := &redisProc{addr: loopback(port), args: []string{conf, "--sentinel"}, log: filepath.Join(s.dir, fmt.Sprintf("sentinel-%d.log", port))}
		s.sentinels = append(s.sentinels, p)
		p.start(t)
	}

	var err error
	for {
		if err = s.settled(ctx, master, replica); err == nil {
			return s
		}
		select {
		case <-ctx.Done():
			t.Fatalf("sentinels not settled within 20s: %v", err)
		case <-time.After(pollEvery):
		}
	}
}

// dataArgs returns redis-server's arguments for a data node on port,
// without replicaof.
func (s *sentinelSet) dataArgs(port int) []string {
	return []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--appendonly", "no", "--save", "",
		"--dir", filepath.Join(s.dir, strconv.Itoa(port)), "--protected-mode", "no",
		"--repl-diskless-sync-delay", "0",
	}
}

// settled returns nil when every Sentinel reports master as the master,
// with replica as its one replica and two other Sentinels.
func (s *sentinelSet) settled(ctx context.Context, master, replica string) error {
	for _, p := range s.sentinels {
		sc := redis.NewSentinelClient(&redis.Options{
			Addr: p.addr, DialTimeout: 200 * time.Millisecond, DialerRetries: 1,
			ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond, MaxRetries: -1,
		})
		m, err := sc.Master(ctx, sentinelMaster).Result()
		var rs []map[string]string
		if err == nil {
			rs, err = sc.Replicas(ctx, sentinelMaster).Result()
		}
		sc.Close()
		if err != nil {
			return fmt.Errorf("sentinel %s: %w", p.addr, err)
		}
		if got := loopback(atoi(m["port"])); m["ip"] != "127.0.0.1" || got != master || m["flags"] != "master" {
			return fmt.Errorf("sentinel %s reports master %s:%s flags %s", p.addr, m["ip"], m["port"], m["flags"])
		}
		if m["num-other-sentinels"] != "2" || m["num-slaves"] != "1" {
			return fmt.Errorf("sentinel %s: num-other-sentinels %s num-slaves %s", p.addr, m["num-other-sentinels"], m["num-slaves"])
		}
		if len(rs) != 1 || rs[0]["name"] != replica || rs[0]["flags"] != "slave" || rs[0]["master-link-status"] != "ok" {
			return fmt.Errorf("sentinel %s reports replicas %v", p.addr, rs)
		}
	}
	return nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// waitLinkUp polls, until ctx is done, until the node at addr is a replica
// of master with master_link_status:up.
func waitLinkUp(ctx context.Context, addr, master string) error {
	var last error
	for {
		var repl map[string]string
		err := onNode(addr, func(c *redis.Client) error {
			s, err := c.Info(ctx, "replication").Result()
			repl = infoFields(s)
			return err
		})
		switch {
		case err != nil:
			last = err
		case repl["role"] != "slave" || repl["master_port"] != portOf(master) || repl["master_link_status"] != "up":
			last = fmt.Errorf("role:%s master_port:%s master_link_status:%s", repl["role"], repl["master_port"], repl["master_link_status"])
		default:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-time.After(pollEvery):
		}
	}
}

// stop kills every process of s.
func (s *sentinelSet) stop() {
	for _, p := range append(s.sentinels, s.data...) {
		p.kill()
	}
}

// node returns the data node at addr, or fails the test.
func (s *sentinelSet) node(addr string) *redisProc {
	s.t.Helper()
	for _, p := range s.data {
		if p.addr == addr {
			return p
		}
	}
	s.t.Fatalf("%s is not a data node of the sentinel set (%s, %s)", addr, s.data[0].addr, s.data[1].addr)
	return nil
}

// sentinelAddrs returns the addresses of the three Sentinels.
func (s *sentinelSet) sentinelAddrs() []string {
	a := make([]string, len(s.sentinels))
	for i, p := range s.sentinels {
		a[i] = p.addr
	}
	return a
}

// client returns a failover client for s with short timeouts, closed
// when the test ends.
func (s *sentinelSet) client() *redis.Client {
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName: sentinelMaster, SentinelAddrs: s.sentinelAddrs(), DialTimeout: 200 * time.Millisecond, DialerRetries: 1,
		ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond, MaxRetries: 3,
	})
	s.t.Cleanup(func() { c.Close() })
	return c
}

// reportedMaster asks every live Sentinel for the master's address and
// returns the answer most of them give, and how many gave it.
func (s *sentinelSet) reportedMaster(ctx context.Context) (addr string, votes int, err error) {
	count := map[string]int{}
	for _, p := range s.sentinels {
		if !p.running() {
			continue
		}
		sc := redis.NewSentinelClient(&redis.Options{
			Addr: p.addr, DialTimeout: 200 * time.Millisecond, DialerRetries: 1,
			ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond, MaxRetries: -1,
		})
		a, e := sc.GetMasterAddrByName(ctx, sentinelMaster).Result()
		sc.Close()
		if e != nil || len(a) != 2 {
			err = fmt.Errorf("sentinel %s: %v %v", p.addr, a, e)
			continue
		}
		m := net.JoinHostPort(a[0], a[1])
		count[m]++
		if count[m] > votes {
			addr, votes = m, count[m]
		}
	}
	if addr == "" {
		return "", 0, fmt.Errorf("no sentinel reports the master: %w", err)
	}
	return addr, votes, nil
}

// master returns the master's address as most Sentinels report it now
// (SENTINEL get-master-addr-by-name). It fails the test if none answers.
func (s *sentinelSet) master(ctx context.Context) string {
	s.t.Helper()
	addr, _, err := s.reportedMaster(ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	return addr
}

// replica returns the address of the data node that is not master.
func (s *sentinelSet) replica(ctx context.Context) string {
	s.t.Helper()
	if m := s.master(ctx); m == s.data[0].addr {
		return s.data[1].addr
	}
	return s.data[0].addr
}

// pause stops the data node at addr with SIGSTOP: its connections stay
// open and get no answer, as with a hung server. It resumes (SIGCONT) when
// the test ends, if it has not been resumed or killed before.
func (s *sentinelSet) pause(addr string) {
	s.t.Helper()
	p := s.node(addr)
	if err := p.signal(syscall.SIGSTOP); err != nil {
		s.t.Fatalf("SIGSTOP %s: %v", addr, err)
	}
	cmd := p.cmd
	s.t.Cleanup(func() {
		if p.cmd == cmd && p.running() {
			p.signal(syscall.SIGCONT)
		}
	})
}

// resume continues the paused data node at addr (SIGCONT).
func (s *sentinelSet) resume(addr string) {
	s.t.Helper()
	if err := s.node(addr).signal(syscall.SIGCONT); err != nil {
		s.t.Fatalf("SIGCONT %s: %v", addr, err)
	}
}

// cutReplicas makes the master at addr drop its replicas' connections
// (CLIENT KILL TYPE replica). A paused replica cannot reconnect.
func (s *sentinelSet) cutReplicas(ctx context.Context, master string) {
	s.t.Helper()
	err := onNode(master, func(c *redis.Client) error {
		return c.ClientKillByFilter(ctx, "TYPE", "replica").Err()
	})
	if err != nil {
		s.t.Fatalf("CLIENT KILL TYPE replica on %s: %v", master, err)
	}
}

// kill sends SIGKILL to the data node at addr, as a crash would, and reaps
// it.
func (s *sentinelSet) kill(addr string) {
	s.t.Helper()
	s.node(addr).kill()
}

// restartAsReplica starts the killed data node at addr again, on its old
// port, as a replica of the current master, and waits (until ctx is done,
// at most 20s) until its replication link is up.
func (s *sentinelSet) restartAsReplica(ctx context.Context, addr string) {
	s.t.Helper()
	p := s.node(addr)
	if p.running() {
		s.t.Fatalf("restart %s: it is still running", addr)
	}
	master := s.master(ctx)
	if master == addr {
		s.t.Fatalf("restart %s as a replica: the sentinels still report it as master", addr)
	}
	port, _ := strconv.Atoi(portOf(addr))
	p.args = append(s.dataArgs(port), "--replicaof", "127.0.0.1", portOf(master))
	p.start(s.t)
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := waitLinkUp(ctx, addr, master); err != nil {
		s.t.Fatalf("restarted %s not linked to master %s: %v; its log ends:\n%s", addr, master, err, p.logTail())
	}
}

// waitFailover polls, until ctx is done, until most Sentinels report a
// master other than old and that node answers ROLE as master. It returns
// the new master's address.
func (s *sentinelSet) waitFailover(ctx context.Context, old string) (promoted string, err error) {
	var last error
	for {
		m, votes, err := s.reportedMaster(ctx)
		switch {
		case err != nil:
			last = err
		case m == old || votes < 2:
			last = fmt.Errorf("sentinels report %s (%d of 3)", m, votes)
		default:
			r, err := role(ctx, m)
			if err == nil && r == "master" {
				return m, nil
			}
			last = fmt.Errorf("%s: ROLE %q %v", m, r, err)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no failover away from %s: %w (last: %v)", old, ctx.Err(), last)
		case <-time.After(pollEvery):
		}
	}
}

// TestClusterTopology checks the cluster helpers: a killed master's
// replica takes over its slots, the data stays readable, and the killed
// node rejoins as a replica.
func TestClusterTopology(t *testing.T) {
	begin := time.Now()
	c := startCluster(t)
	t.Logf("cluster of six nodes healthy after %v", time.Since(begin).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := c.client()
	key := uniqueKey(t)

	require.NoError(t, cl.Set(ctx, key, "v1", 0).Err(), "SET through the cluster client")
	old := c.masterOf(ctx, key)
	require.Contains(t, c.addrs(), old, "masterOf returns a node of the cluster")
	err := onNode(old, func(n *redis.Client) error {
		acked, err := n.Wait(ctx, 1, time.Second).Result()
		if err == nil && acked != 1 {
			err = fmt.Errorf("%d replicas acknowledged", acked)
		}
		return err
	})
	require.NoError(t, err, "WAIT for the replica of %s to have the key", old)

	c.kill(old)
	killed := time.Now()
	fctx, fcancel := context.WithTimeout(ctx, 10*time.Second)
	defer fcancel()
	promoted, err := c.waitFailover(fctx, key, old)
	require.NoError(t, err, "a replica takes over the key's slot within 10s")
	t.Logf("cluster failover %s -> %s took %v", old, promoted, time.Since(killed).Round(time.Millisecond))
	assert.NotEqual(t, old, promoted, "the promoted node is not the killed one")
	assert.Equal(t, promoted, c.masterOf(ctx, key), "masterOf reports the promoted node")

	var got string
	begin = time.Now()
	for range 20 {
		cl.ReloadState(ctx)
		if got, err = cl.Get(ctx, key).Result(); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, err, "GET through the cluster client after the failover")
	assert.Equal(t, "v1", got, "the value survives the failover")
	t.Logf("the cluster client read the key from the promoted node after %v", time.Since(begin).Round(time.Millisecond))

	begin = time.Now()
	c.restart(old)
	assert.Eventually(t, func() bool {
		r, err := role(ctx, old)
		return err == nil && r == "slave"
	}, 10*time.Second, pollEvery, "the restarted node %s rejoins as a replica", old)
	lctx, lcancel := context.WithTimeout(ctx, 10*time.Second)
	defer lcancel()
	assert.NoError(t, waitLinkUp(lctx, old, promoted), "the restarted node %s replicates the promoted %s", old, promoted)
	t.Logf("restarted %s replicated %s after %v", old, promoted, time.Since(begin).Round(time.Millisecond))
}

// TestSentinelTopology checks the Sentinel helpers: the Sentinels promote
// the replica of a killed master, the failover client follows, and the
// killed node comes back as a replica.
func TestSentinelTopology(t *testing.T) {
	begin := time.Now()
	s := startSentinel(t)
	t.Logf("sentinel set settled after %v", time.Since(begin).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := s.client()
	key := uniqueKey(t)

	require.NoError(t, cl.Set(ctx, key, "v1", 0).Err(), "SET through the failover client")
	old, replica := s.master(ctx), s.replica(ctx)
	require.NotEqual(t, old, replica, "master and replica are different nodes")
	acked, err := cl.Wait(ctx, 1, time.Second).Result()
	require.NoError(t, err, "WAIT for the replica")
	require.EqualValues(t, 1, acked, "the replica acknowledges the SET")

	s.kill(old)
	killed := time.Now()
	fctx, fcancel := context.WithTimeout(ctx, 10*time.Second)
	defer fcancel()
	promoted, err := s.waitFailover(fctx, old)
	require.NoError(t, err, "the sentinels promote the replica within 10s")
	t.Logf("sentinel failover %s -> %s took %v", old, promoted, time.Since(killed).Round(time.Millisecond))
	assert.Equal(t, replica, promoted, "the replica is promoted")

	var got string
	begin = time.Now()
	for range 20 {
		if got, err = cl.Get(ctx, key).Result(); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, err, "GET through the failover client after the failover")
	assert.Equal(t, "v1", got, "the value survives the failover")
	require.NoError(t, cl.Set(ctx, key, "v2", 0).Err(), "SET through the failover client after the failover")
	t.Logf("the failover client read and wrote on the promoted node after %v", time.Since(begin).Round(time.Millisecond))

	begin = time.Now()
	s.restartAsReplica(ctx, old)
	t.Logf("restarted %s replicated %s after %v", old, promoted, time.Since(begin).Round(time.Millisecond))
	assert.Equal(t, old, s.replica(ctx), "the restarted node is the replica")
	r, err := role(ctx, old)
	require.NoError(t, err, "ROLE on the restarted node")
	assert.Equal(t, "slave", r, "the restarted node is a replica")
}
