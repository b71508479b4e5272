package vendoroauth

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDefaultsAgree fails when doc.go's Defaults section or the README's
// options table states a default that is not the constant's value.
func TestDefaultsAgree(t *testing.T) {
	docs := readText(t, "doc.go")
	docs = docs[strings.Index(docs, "# Defaults"):strings.Index(docs, "# Errors")]
	readme := readText(t, "README.md")
	options, store, tokensource, transport, filestore := readText(t, "options.go"), readText(t, "store.go"),
		readText(t, "tokensource.go"), readText(t, "transport.go"), readText(t, "filestore.go")
	tests := []struct {
		name   string
		in     string // doc.go or README.md
		text   string
		phrase string
	}{
		{"early refresh", "doc.go", docs, fmt.Sprintf("the smaller of %d minutes and a fifth", defaultEarlyRefresh/time.Minute)},
		{"early refresh", "README.md", readme, fmt.Sprintf("the smaller of %d min and a fifth", defaultEarlyRefresh/time.Minute)},
		{"expiry margin", "doc.go", docs, fmt.Sprintf("expired %d seconds (or a twentieth", expiryDelta/time.Second)},
		{"lifetime without expires_in", "doc.go", docs, fmt.Sprintf("otherwise %d hour", defaultLifetime/time.Hour)},
		{"attempt timeout", "doc.go", docs, fmt.Sprintf("attempt is bounded by %d seconds", attemptTimeout/time.Second)},
		{"attempt timeout", "README.md", readme, fmt.Sprintf("each attempt is bounded by %d s", attemptTimeout/time.Second)},
		{"fetch timeout", "doc.go", docs, fmt.Sprintf("retries included, by %d minutes", exchangeTimeout/time.Minute)},
		{"fetch timeout", "README.md", readme, fmt.Sprintf("and a fetch by %d min", exchangeTimeout/time.Minute)},
		{"attempts", "doc.go", docs, fmt.Sprintf("tried up to %d times", maxAttempts)},
		{"last retry", "doc.go", docs, fmt.Sprintf("less than %d second of that left", minAttemptTime/time.Second)},
		{"backoff", "doc.go", docs, fmt.Sprintf("from %dms capped at %ds", initialBackoff/time.Millisecond, maxBackoff/time.Second)},
		{"Retry-After cap", "doc.go", docs, fmt.Sprintf("Retry-After of up to %d minute", maxRetryAfter/time.Minute)},
		{"rejection hold-down", "doc.go", docs, fmt.Sprintf("same error for %d seconds", rejectHoldDown/time.Second)},
		{"response bound", "doc.go", docs, fmt.Sprintf("at most %d MiB is read", maxResponseBytes>>20)},
		{"access token bound", "doc.go", docs, fmt.Sprintf("at most %d KiB", maxAccessTokenBytes>>10)},
		{"store budget", "doc.go", docs, fmt.Sprintf("bounded by %d seconds before it", storeBudget/time.Second)},
		{"store budget after", "doc.go", docs, fmt.Sprintf("and %d seconds after it", storeBudget/time.Second)},
		{"re-read pauses", "doc.go", docs, fmt.Sprintf("%dms apart at first and doubling up to %d second", firstReread/time.Millisecond, maxReread/time.Second)},
		{"holder wait", "doc.go", docs, fmt.Sprintf("for up to %d minutes and %d seconds", holderWait/time.Minute, (holderWait%time.Minute)/time.Second)},
		{"durable budget", "doc.go", docs, fmt.Sprintf("until it is durable, for up to %d seconds", durableBudget/time.Second)},
		{"background cap", "doc.go", docs, fmt.Sprintf("at most %d in flight", maxBackgroundFetches)},
		{"401 hold-down", "doc.go", docs, "within the " + map[time.Duration]string{time.Minute: "last minute"}[replacementHoldDown]},
		{"close grace", "doc.go", docs, map[time.Duration]string{500 * time.Millisecond: "half a second"}[closeGrace] + " to finish"},
		// The defaults stated in doc comments.
		{"attempt timeout", "options.go", options, fmt.Sprintf("attempt is bounded by %d seconds", attemptTimeout/time.Second)},
		{"fetch timeout", "options.go", options, fmt.Sprintf("and a fetch by %d minutes", exchangeTimeout/time.Minute)},
		{"early refresh", "options.go", options, fmt.Sprintf("Default: the smaller of %d minutes and a fifth", defaultEarlyRefresh/time.Minute)},
		{"holder wait", "store.go", store, fmt.Sprintf("for up to %d minutes and %d seconds", holderWait/time.Minute, (holderWait%time.Minute)/time.Second)},
		{"durable budget", "store.go", store, fmt.Sprintf("until it is durable, for up to %d seconds", durableBudget/time.Second)},
		{"store budget", "store.go", store, fmt.Sprintf("bounded by %d seconds each", storeBudget/time.Second)},
		{"close grace", "tokensource.go", tokensource, map[time.Duration]string{500 * time.Millisecond: "given half a second"}[closeGrace] + " to finish"},
		{"401 hold-down", "transport.go", transport, "over " + map[time.Duration]string{time.Minute: "a minute"}[replacementHoldDown] + " old"},
		{"token file bound", "filestore.go", filestore, fmt.Sprintf("a file larger than %d MiB) do not match", maxResponseBytes>>20)},
		{"token file bound on Load", "filestore.go", filestore, fmt.Sprintf("A file larger than %d MiB is an error", maxResponseBytes>>20)},
	}
	for _, tt := range tests {
		if !strings.Contains(tt.text, tt.phrase) || strings.HasSuffix(tt.phrase, " ") || strings.HasPrefix(tt.phrase, " ") {
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
