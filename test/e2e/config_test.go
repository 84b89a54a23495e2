package e2e

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 9, 8, 7, 0, time.UTC)
	tests := []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, c Config)
		wantErr string
	}{
		{name: "defaults", check: func(t *testing.T, c Config) {
			if c.ClusterName != DefaultClusterName || c.Existing || c.Keep || c.Ingress != IngressTraefik ||
				c.IngressChartVersion != DefaultTraefikChartVersion || c.Image != "easel:e2e" || c.URL != "http://127.0.0.1" ||
				c.Helm != filepath.Join("/repo", "bin", "helm") || c.Artifacts != "/repo/test/artifacts/e2e-20261125-090807" ||
				!slices.Equal(c.Strategies, StrategyNames()) || c.Users != 20 || c.RolloutTimeout != 3*time.Minute {
				t.Errorf("defaults = %+v", c)
			}
		}},
		{name: "existing cluster, kept, nginx", env: map[string]string{
			"E2E_CLUSTER": "dev", "E2E_KEEP": "1", "E2E_INGRESS": "ingress-nginx", "E2E_INGRESS_NGINX_CHART_VERSION": "4.12.1",
			"E2E_STRATEGIES": "redis-rr, memory-rr", "E2E_URL": "http://localhost:8080/", "E2E_PROBE_USERS": "5",
			"E2E_ROLLOUT_TIMEOUT": "90s", "E2E_IMAGE": "localhost:5000/easel:dev", "E2E_SKIP_BUILD": "true",
		}, check: func(t *testing.T, c Config) {
			if c.ClusterName != "dev" || !c.Existing || !c.Keep || c.Ingress != IngressNginx || c.IngressChartVersion != "4.12.1" ||
				!slices.Equal(c.Strategies, []string{"redis-rr", "memory-rr"}) || c.URL != "http://localhost:8080" ||
				c.Users != 5 || c.RolloutTimeout != 90*time.Second || c.Image != "localhost:5000/easel:dev" || !c.SkipBuild {
				t.Errorf("config = %+v", c)
			}
		}},
		{name: "bad ingress", env: map[string]string{"E2E_INGRESS": "haproxy"}, wantErr: `E2E_INGRESS="haproxy"`},
		{name: "bad strategy", env: map[string]string{"E2E_STRATEGIES": "sticky"}, wantErr: `unknown strategy "sticky"`},
		{name: "bad keep", env: map[string]string{"E2E_KEEP": "yes please"}, wantErr: "E2E_KEEP"},
		{name: "bad users", env: map[string]string{"E2E_PROBE_USERS": "0"}, wantErr: "E2E_PROBE_USERS"},
		{name: "bad timeout", env: map[string]string{"E2E_ROLLOUT_TIMEOUT": "soon"}, wantErr: "E2E_ROLLOUT_TIMEOUT"},
		{name: "untagged image", env: map[string]string{"E2E_IMAGE": "easel"}, wantErr: "want repository:tag"},
		{name: "local provider", env: map[string]string{"E2E_PROVIDER": "local", "E2E_README": "1"}, check: func(t *testing.T, c Config) {
			if c.Provider != ProviderLocal || c.URL != LocalIngressURL || !c.Readme || c.SkipBuild {
				t.Errorf("config = %+v", c)
			}
		}},
		{name: "local provider, own URL", env: map[string]string{"E2E_PROVIDER": "local", "E2E_URL": "http://127.0.0.1:8081"}, check: func(t *testing.T, c Config) {
			if c.URL != "http://127.0.0.1:8081" {
				t.Errorf("URL = %q, want E2E_URL's", c.URL)
			}
		}},
		{name: "any cluster by kubeconfig", env: map[string]string{"E2E_KUBECONFIG": "/k/config", "E2E_URL": "http://203.0.113.7"}, check: func(t *testing.T, c Config) {
			if c.Provider != ProviderKubeconfig || c.Kubeconfig != "/k/config" || !c.SkipBuild || c.URL != "http://203.0.113.7" {
				t.Errorf("config = %+v", c)
			}
		}},
		{name: "kubeconfig without URL", env: map[string]string{"E2E_KUBECONFIG": "/k/config"}, wantErr: "E2E_URL"},
		{name: "kubeconfig provider without kubeconfig", env: map[string]string{"E2E_PROVIDER": "kubeconfig"}, wantErr: "E2E_KUBECONFIG"},
		{name: "bad provider", env: map[string]string{"E2E_PROVIDER": "minikube"}, wantErr: `E2E_PROVIDER="minikube"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := LoadConfig(func(k string) string { return tt.env[k] }, "/repo", now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadConfig = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestSplitImage(t *testing.T) {
	t.Parallel()
	tests := []struct{ ref, repo, tag, wantErr string }{
		{ref: "easel:e2e", repo: "easel", tag: "e2e"},
		{ref: "localhost:5000/easel:dev", repo: "localhost:5000/easel", tag: "dev"},
		{ref: "ghcr.io/easelhq/easel:v1.2.3", repo: "ghcr.io/easelhq/easel", tag: "v1.2.3"},
		{ref: "localhost:5000/easel", wantErr: "want repository:tag"},
		{ref: "easel:", wantErr: "want repository:tag"},
		{ref: "easel:latest", wantErr: "other than latest"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			t.Parallel()
			repo, tag, err := SplitImage(tt.ref)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("SplitImage(%q) = %v, want an error containing %q", tt.ref, err, tt.wantErr)
				}
				return
			}
			if err != nil || repo != tt.repo || tag != tt.tag {
				t.Errorf("SplitImage(%q) = %q, %q, %v; want %q, %q", tt.ref, repo, tag, err, tt.repo, tt.tag)
			}
		})
	}
}

func TestStrategyValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		strategy, ingress, provider, class string
		redis                              bool
	}{
		{"memory-rr", IngressTraefik, "traefik", "traefik", false},
		{"memory-cookie", IngressNginx, "ingress-nginx", "nginx", false},
		{"redis-rr", IngressTraefik, "traefik", "traefik", true},
		{"memory-clientip", IngressTraefik, "service", "traefik", false},
	}
	for _, tt := range tests {
		t.Run(tt.strategy+"/"+tt.ingress, func(t *testing.T) {
			t.Parallel()
			s, ok := StrategyNamed(tt.strategy)
			if !ok {
				t.Fatalf("no strategy %q", tt.strategy)
			}
			v := s.Values(tt.ingress, "easel", "e2e", "easel.local/redis:7.0.15")
			aff := v["affinity"].(map[string]any)
			ing := v["ingress"].(map[string]any)
			if aff["provider"] != tt.provider || aff["mode"] != s.Affinity || ing["className"] != tt.class ||
				v["redis"].(map[string]any)["enabled"] != tt.redis || v["session"].(map[string]any)["store"] != s.Store {
				t.Errorf("values = %v", v)
			}
			if img := v["redis"].(map[string]any)["image"].(map[string]any); img["repository"] != "easel.local/redis" || img["tag"] != "7.0.15" {
				t.Errorf("redis image = %v, want easel.local/redis:7.0.15", img)
			}
		})
	}
	if _, ok := StrategyNamed("nope"); ok {
		t.Error(`StrategyNamed("nope") found one`)
	}
}

func TestChooseProvider(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		explicit string
		host     Host
		want     string
		wantErr  bool
	}{
		{"explicit wins", ProviderKind, Host{Root: true}, ProviderKind, false},
		{"docker with every capability: kind", "", Host{DockerAnswers: true, PrivilegedContainers: true, Root: true}, ProviderKind, false},
		{"docker in a sandbox without privileged containers: local", "", Host{DockerAnswers: true, Root: true}, ProviderLocal, false},
		{"no docker, root: local", "", Host{Root: true}, ProviderLocal, false},
		{"neither", "", Host{DockerAnswers: true}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ChooseProvider(Config{Provider: tt.explicit}, tt.host)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("ChooseProvider = %q, %v; want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "E2E_KUBECONFIG") {
				t.Errorf("the error does not say how to bring a cluster: %v", err)
			}
		})
	}
}

// TestFullCapabilityBoundingSet reads /proc/self/status as this machine's
// sandbox has it (CAP_SYS_RESOURCE, bit 24, missing: docker run --privileged
// fails) and as an ordinary root shell has it.
func TestFullCapabilityBoundingSet(t *testing.T) {
	t.Parallel()
	status := func(bnd string) string { return "Name:\tbash\nCapEff:\t0\nCapBnd:\t" + bnd + "\nSeccomp:\t0\n" }
	tests := []struct {
		status  string
		lastCap int
		want    bool
	}{
		{status("000001ffffffffff"), 40, true},
		{status("000001fffeffffff"), 40, false},
		{status("000000ffffffffff"), 40, false},
		{status("000001ffffffffff"), 39, true},
		{"Name:\tbash\n", 40, false},
	}
	for _, tt := range tests {
		if got := FullCapabilityBoundingSet(tt.status, tt.lastCap); got != tt.want {
			t.Errorf("FullCapabilityBoundingSet(%q, %d) = %v, want %v", tt.status, tt.lastCap, got, tt.want)
		}
	}
}
