package main

import (
	"fmt"
	"os"
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
