package workspace

import (
	"strings"
	"testing"
)

func TestNewIDIsValidAndUnique(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		id, err := NewID()
		if err != nil {
			t.Fatal(err)
		}
		if !ValidID(id) || seen[id] {
			t.Fatalf("NewID() = %q: valid=%v, seen before=%v", id, ValidID(id), seen[id])
		}
		seen[id] = true
	}
}

func TestValidID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		id   string
		want bool
	}{
		{"16 bytes", "AAECAwQFBgcICQoLDA0ODw", true},
		{"empty", "", false},
		{"15 bytes", "AAECAwQFBgcICQoLDA0O", false},
		{"17 bytes", "AAECAwQFBgcICQoLDA0ODxA", false},
		{"padded", "AAECAwQFBgcICQoLDA0ODw==", false},
		{"std alphabet", "AAECAwQFBgcICQoLDA0O+/", false},
		{"key injection", "AAECAwQFBgcICQoLDA}{0O", false},
		{"long", strings.Repeat("A", 1000), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := ValidID(tc.id); got != tc.want {
				t.Fatalf("ValidID(%q) = %v, want %v", tc.id, got, tc.want)
			}
		})
	}
}
