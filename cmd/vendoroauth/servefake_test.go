package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClaimEnvFile: of serve-fakes claiming one env file at once, one gets
// it and the others an error naming the file and its owner; the file is the
// winner's, whole, and no temporary file is left.
func TestClaimEnvFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "fake.env")
	// The owner is this process, which runs: as a serve-fake in it would.
	data := []byte(fmt.Sprintf("%s%d\n", envFileMarker, os.Getpid()) + fakeEnv("http://127.0.0.1:1"))

	const claimants = 8
	errs := make([]error, claimants)
	var wg sync.WaitGroup
	for i := range claimants {
		wg.Go(func() { errs[i] = claimEnvFile(path, data) })
	}
	wg.Wait()

	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		assert.ErrorContains(t, err, fmt.Sprintf("-env-file %s belongs to the serve-fake with process id %d, which still runs", path, os.Getpid()))
	}
	assert.Equal(t, 1, won, "claims that got the file")
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(data), string(got))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "files in the folder, temporary ones included")
}

// TestClaimStaleEnvFile: of serve-fakes claiming at once a file that a
// killed serve-fake left, one gets it and the others an error naming it;
// none replaces the winner's file, and no temporary file is left.
func TestClaimStaleEnvFile(t *testing.T) {
	t.Parallel()
	// A process id that no longer runs: a child's, once waited for.
	child := exec.Command(os.Args[0], "-test.run=^$")
	require.NoError(t, child.Run(), "a child that exits")
	dead := child.ProcessState.Pid()
	if processAlive(dead) {
		t.Skipf("this platform cannot tell that process %d exited", dead)
	}
	for round := range 50 {
		dir := t.TempDir()
		path := filepath.Join(dir, "fake.env")
		stale := fmt.Sprintf("%s%d\n", envFileMarker, dead) + fakeEnv("http://127.0.0.1:1")
		require.NoError(t, os.WriteFile(path, []byte(stale), 0o600))

		// Each claimant's file differs, and names this process, which runs.
		const claimants = 8
		data := make([][]byte, claimants)
		errs := make([]error, claimants)
		var wg sync.WaitGroup
		for i := range claimants {
			data[i] = []byte(fmt.Sprintf("%s%d\n", envFileMarker, os.Getpid()) + fakeEnv(fmt.Sprintf("http://127.0.0.1:%d", 1000+i)))
			wg.Go(func() { errs[i] = claimEnvFile(path, data[i]) })
		}
		wg.Wait()

		var won []int
		for i, err := range errs {
			if err == nil {
				won = append(won, i)
				continue
			}
			assert.ErrorContains(t, err, fmt.Sprintf("belongs to the serve-fake with process id %d", os.Getpid()), "round %d, claimant %d", round, i)
		}
		require.Len(t, won, 1, "round %d: claims that got the file", round)
		got, err := os.ReadFile(path)
		require.NoError(t, err, "round %d", round)
		assert.Equal(t, string(data[won[0]]), string(got), "round %d: the file is not the winner's", round)
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Len(t, entries, 1, "round %d: files in the folder, temporary ones included", round)
	}
}
