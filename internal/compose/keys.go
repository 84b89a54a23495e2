package compose

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"
)

// LoadAPIKey returns the API key from file (its content, trimmed) when file
// is set, else value. The key itself never appears in the error.
func LoadAPIKey(file, value string) (string, error) {
	if file == "" {
		return strings.TrimSpace(value), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("reading the AI API key file: %w", err)
	}
	k := strings.TrimSpace(string(b))
	if k == "" {
		return "", fmt.Errorf("the AI API key file %s is empty", file)
	}
	return k, nil
}

// randomJitter returns a random duration in [0, d).
func randomJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}
