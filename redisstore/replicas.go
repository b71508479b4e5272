package redisstore

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Writes that count once replicated: a write script on the key's master
// and WAIT on the same connection, so that a failover to a replica cannot
// lose a save or a lock that a caller was told had happened.

// onMaster runs write, one script call, on a connection to the key's
// master, followed on that connection by WAIT for the replicas a write must
// reach (replicaCount). It reports whether the script returned non-zero,
// and an error when Redis failed, or when the script wrote and the
// replicas did not all acknowledge it within the replica wait.
func (s *Store) onMaster(ctx context.Context, write func(context.Context, redis.Pipeliner) *redis.Cmd) (bool, error) {
	node, err := s.master(ctx)
	if err != nil {
		return false, err
	}
	info, err := node.Info(ctx, "replication").Result()
	if err != nil {
		s.lostMaster(ctx)
		return false, err
	}
	replid, connected, isMaster := parseReplication(info)
	if !isMaster {
		s.lostMaster(ctx)
		return false, fmt.Errorf("the node answering for the key is not a master (a failover under way?)")
	}
	want := s.replicas.want(replid, connected, time.Now())
	pipe := node.Pipeline()
	res := write(ctx, pipe)
	var acked *redis.Cmd
	if want > 0 {
		acked = pipe.Do(ctx, "WAIT", want, s.replicaWait.Milliseconds())
	}
	if _, err := pipe.Exec(ctx); err != nil && res.Err() != nil {
		s.lostMaster(ctx)
		return false, res.Err()
	}
	n, err := res.Int64()
	if err != nil {
		return false, err
	}
	if n == 0 {
		return false, nil // nothing was written: there is nothing to wait for
	}
	if acked != nil {
		if got, err := acked.Int64(); err != nil || got < int64(want) {
			return true, fmt.Errorf("written, but acknowledged by %d of %d replicas within %v", got, want, s.replicaWait)
		}
	}
	return true, nil
}

// master returns a client whose pipelines use one connection to the key's
// master: a Cluster's node for the key's slot, or rdb itself (one server,
// or Sentinel's current master).
func (s *Store) master(ctx context.Context) (redis.Cmdable, error) {
	if c, ok := s.rdb.(*redis.ClusterClient); ok {
		return c.MasterForKey(ctx, s.recKey)
	}
	return s.rdb, nil
}

// lostMaster makes a Cluster client learn the slots anew after a node
// failed or answered as a replica, so that the next call finds the
// promoted master; other clients find it by themselves.
func (s *Store) lostMaster(ctx context.Context) {
	if c, ok := s.rdb.(*redis.ClusterClient); ok {
		c.ReloadState(ctx)
	}
}

// parseReplication reads INFO replication: the replication id, the
// connected replicas, and whether the node is a master.
func parseReplication(info string) (replid string, connected int, isMaster bool) {
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		switch k {
		case "role":
			isMaster = v == "master"
		case "connected_slaves":
			connected, _ = strconv.Atoi(v)
		case "master_replid":
			replid = v
		}
	}
	return replid, connected, isMaster
}
