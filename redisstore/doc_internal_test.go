package redisstore

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDefaultsAgree: every default and bound the doc comments state is
// the constant's value.
func TestDefaultsAgree(t *testing.T) {
	store, lock := readText(t, "store.go"), readText(t, "lock.go")
	tests := []struct {
		name   string
		in     string
		text   string
		phrase string
	}{
		{"record TTL", "store.go", store, fmt.Sprintf("Default: %d days", defaultTTL/(24*time.Hour))},
		{"lock TTL", "store.go", store, fmt.Sprintf("Default: %d seconds", defaultLockTTL/time.Second)},
		{"lock TTL bound", "store.go", store, fmt.Sprintf("d must be at least %dms", minLockTTL/time.Millisecond)},
		{"replica wait", "store.go", store, map[time.Duration]string{time.Second: "Default: 1 second."}[defaultReplicaWait]},
		{"release timeout", "lock.go", lock, fmt.Sprintf("it waits at most %dms for Redis", releaseTimeout/time.Millisecond)},
	}
	for _, tt := range tests {
		if tt.phrase == "" || !strings.Contains(tt.text, tt.phrase) {
			t.Errorf("%s: %s does not say %q; make it agree with the constant", tt.name, tt.in, tt.phrase)
		}
	}
}

// readText returns a file's text with comment markers and line breaks
// folded into single spaces.
func readText(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	s := regexp.MustCompile(`(?m)^\s*//\s?`).ReplaceAllString(string(b), "")
	return strings.Join(strings.Fields(s), " ")
}
