package cluster

import (
	"slices"
	"testing"
)

func TestParseBalance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Balance
		wantErr bool
	}{
		{"", RoundRobin, false},
		{"rr", RoundRobin, false},
		{"round-robin", RoundRobin, false},
		{"ip_hash", IPHash, false},
		{"IP-HASH", IPHash, false},
		{"least_conn", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseBalance(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("ParseBalance(%q) = %q, %v", tc.in, got, err)
			}
		})
	}
}

func TestReplicaEnvDropsInheritedEaselSettings(t *testing.T) {
	t.Parallel()
	env := replicaEnv(
		[]string{"PATH=/bin", "EASEL_SESSION_STORE=redis", "HOME=/root"},
		map[string]string{"EASEL_SESSION_STORE": "memory"},
		[]string{"EASEL_LOG_LEVEL=debug"},
	)
	for _, want := range []string{"PATH=/bin", "HOME=/root", "EASEL_SESSION_STORE=memory", "EASEL_LOG_LEVEL=debug"} {
		if !slices.Contains(env, want) {
			t.Errorf("env lacks %q: %v", want, env)
		}
	}
	if slices.Contains(env, "EASEL_SESSION_STORE=redis") {
		t.Errorf("env kept the caller's EASEL_SESSION_STORE: %v", env)
	}
}

func TestStartValidatesOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts Options
	}{
		{"no binary", Options{Dir: t.TempDir(), Replicas: 1}},
		{"no replicas", Options{Binary: "/bin/true", Dir: t.TempDir()}},
		{"bad store", Options{Binary: "/bin/true", Dir: t.TempDir(), Replicas: 1, Store: "etcd"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Start(t.Context(), tc.opts); err == nil {
				t.Fatal("Start accepted invalid options")
			}
		})
	}
}
