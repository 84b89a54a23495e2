package e2e

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Cluster providers: where the suite gets its cluster.
const (
	// ProviderLocal is the single-node cluster of hack/cluster (`make
	// cluster-up`): Kubernetes built from source running on this machine,
	// images built here, Traefik on http://127.0.0.1:30080. It needs root
	// and no registry.
	ProviderLocal = "local"
	// ProviderKind creates a kind cluster: it needs a Docker engine that can
	// run privileged containers, and registries to pull from.
	ProviderKind = "kind"
	// ProviderKubeconfig uses any cluster given by E2E_KUBECONFIG, with the
	// image already available to it and an ingress controller at E2E_URL.
	ProviderKubeconfig = "kubeconfig"
)

// Ingress controllers the suite can install.
const (
	// IngressTraefik is the default: Traefik from its Helm chart.
	IngressTraefik = "traefik"
	// IngressNginx is ingress-nginx from its Helm chart. The project was
	// retired in March 2026 but is still widely deployed.
	IngressNginx = "ingress-nginx"
)

// Chart versions of the ingress controllers, overridable with
// E2E_TRAEFIK_CHART_VERSION and E2E_INGRESS_NGINX_CHART_VERSION.
const (
	DefaultTraefikChartVersion      = "37.1.1"
	DefaultIngressNginxChartVersion = "4.13.0"
)

// DefaultClusterName is the kind cluster the suite creates when E2E_CLUSTER
// names none.
const DefaultClusterName = "easel-e2e"

// Config is the suite's configuration, read from E2E_* variables by
// LoadConfig.
type Config struct {
	// Provider is ProviderLocal, ProviderKind or ProviderKubeconfig
	// (E2E_PROVIDER; empty: chosen by ChooseProvider).
	Provider string
	// Kubeconfig is the cluster of ProviderKubeconfig (E2E_KUBECONFIG).
	Kubeconfig string
	// RedisImage, when set (E2E_REDIS_IMAGE), replaces the chart's Redis
	// image; the local provider sets the one it builds.
	RedisImage string
	// Readme (E2E_README=1) rewrites README.md's "measured on Kubernetes"
	// table from this run's results.
	Readme bool
	// ClusterName is the kind cluster; Existing is true when E2E_CLUSTER
	// named it, and the suite then neither creates nor deletes it.
	ClusterName string
	Existing    bool
	// Keep (E2E_KEEP=1) keeps a created cluster after the run.
	Keep bool
	// Ingress is IngressTraefik or IngressNginx (E2E_INGRESS).
	Ingress string
	// IngressChartVersion pins the ingress controller's chart.
	IngressChartVersion string
	// Strategies are the names of the strategies to run (E2E_STRATEGIES,
	// comma-separated; default all).
	Strategies []string
	// Image is the image reference to build and load (E2E_IMAGE, default
	// easel:e2e); SkipBuild (E2E_SKIP_BUILD=1) uses it as already loaded.
	Image     string
	SkipBuild bool
	// NodeImage is the kind node image (E2E_KIND_NODE_IMAGE; empty: kind's
	// default).
	NodeImage string
	// URL is where the ingress answers on the host (E2E_URL, default
	// http://127.0.0.1, port 80 being mapped by kind-config.yaml).
	URL string
	// Users is the probe's virtual users per run (E2E_PROBE_USERS).
	Users int
	// RolloutTimeout bounds every wait for a rollout (E2E_ROLLOUT_TIMEOUT).
	RolloutTimeout time.Duration
	// urlGiven records that E2E_URL set URL, which then wins over the
	// provider's default.
	urlGiven bool
	// Root is the repository root; Helm the helm binary (E2E_HELM, default
	// bin/helm); Artifacts the folder for probe reports and, on failure,
	// cluster logs (E2E_ARTIFACTS, default test/artifacts/e2e-<time>).
	Root, Helm, Artifacts string
}

// LoadConfig reads the configuration through getenv (os.Getenv in the
// suite) for the repository at root; now names the default artifacts
// folder. An empty E2E_PROVIDER is left empty, for ChooseProvider.
func LoadConfig(getenv func(string) string, root string, now time.Time) (Config, error) {
	var err error
	c := Config{
		ClusterName:    DefaultClusterName,
		Ingress:        IngressTraefik,
		Image:          "easel:e2e",
		URL:            "http://127.0.0.1",
		Users:          20,
		RolloutTimeout: 3 * time.Minute,
		Root:           root,
		Helm:           filepath.Join(root, "bin", "helm"),
		Artifacts:      filepath.Join(root, "test", "artifacts", "e2e-"+now.UTC().Format("20060102-150405")),
	}
	c.Provider, c.Kubeconfig, c.RedisImage = getenv("E2E_PROVIDER"), getenv("E2E_KUBECONFIG"), getenv("E2E_REDIS_IMAGE")
	switch c.Provider {
	case "", ProviderLocal, ProviderKind, ProviderKubeconfig:
	default:
		return Config{}, fmt.Errorf("E2E_PROVIDER=%q: want %q, %q or %q", c.Provider, ProviderLocal, ProviderKind, ProviderKubeconfig)
	}
	if c.Provider == "" && c.Kubeconfig != "" {
		c.Provider = ProviderKubeconfig
	}
	if c.Provider == ProviderKubeconfig {
		if c.Kubeconfig == "" {
			return Config{}, errors.New("E2E_PROVIDER=kubeconfig needs E2E_KUBECONFIG, the path of the cluster's kubeconfig")
		}
		if getenv("E2E_URL") == "" {
			return Config{}, errors.New("E2E_KUBECONFIG needs E2E_URL, where the cluster's ingress controller answers (e.g. http://203.0.113.7)")
		}
		c.SkipBuild = true
	}
	if c.Readme, err = boolEnv(getenv, "E2E_README"); err != nil {
		return Config{}, err
	}
	if v := getenv("E2E_CLUSTER"); v != "" {
		c.ClusterName, c.Existing = v, true
	}
	if c.Keep, err = boolEnv(getenv, "E2E_KEEP"); err != nil {
		return Config{}, err
	}
	if skip, err := boolEnv(getenv, "E2E_SKIP_BUILD"); err != nil {
		return Config{}, err
	} else if skip {
		c.SkipBuild = true
	}
	if v := getenv("E2E_INGRESS"); v != "" {
		c.Ingress = v
	}
	switch c.Ingress {
	case IngressTraefik:
		c.IngressChartVersion = or(getenv("E2E_TRAEFIK_CHART_VERSION"), DefaultTraefikChartVersion)
	case IngressNginx:
		c.IngressChartVersion = or(getenv("E2E_INGRESS_NGINX_CHART_VERSION"), DefaultIngressNginxChartVersion)
	default:
		return Config{}, fmt.Errorf("E2E_INGRESS=%q: want %q or %q", c.Ingress, IngressTraefik, IngressNginx)
	}
	for _, name := range strings.Split(getenv("E2E_STRATEGIES"), ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if _, ok := StrategyNamed(name); !ok {
			return Config{}, fmt.Errorf("E2E_STRATEGIES: unknown strategy %q (want some of %s)", name, strings.Join(StrategyNames(), ", "))
		}
		c.Strategies = append(c.Strategies, name)
	}
	if len(c.Strategies) == 0 {
		c.Strategies = StrategyNames()
	}
	if v := getenv("E2E_IMAGE"); v != "" {
		c.Image = v
	}
	if _, _, err := SplitImage(c.Image); err != nil {
		return Config{}, fmt.Errorf("E2E_IMAGE: %w", err)
	}
	c.NodeImage = getenv("E2E_KIND_NODE_IMAGE")
	if v := getenv("E2E_URL"); v != "" {
		c.URL, c.urlGiven = strings.TrimRight(v, "/"), true
	}
	if c.Provider != "" {
		c = c.WithProvider(c.Provider)
	}
	if v := getenv("E2E_PROBE_USERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return Config{}, fmt.Errorf("E2E_PROBE_USERS=%q: want a positive whole number", v)
		}
		c.Users = n
	}
	if v := getenv("E2E_ROLLOUT_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("E2E_ROLLOUT_TIMEOUT=%q: want a positive duration such as 3m", v)
		}
		c.RolloutTimeout = d
	}
	if v := getenv("E2E_HELM"); v != "" {
		c.Helm = v
	}
	if v := getenv("E2E_ARTIFACTS"); v != "" {
		c.Artifacts = v
	}
	return c, nil
}

// WithProvider returns c set up for provider p: the local cluster's ingress
// answers on LocalIngressURL unless E2E_URL said otherwise.
func (c Config) WithProvider(p string) Config {
	c.Provider = p
	if p == ProviderLocal && !c.urlGiven {
		c.URL = LocalIngressURL
	}
	return c
}

// LocalIngressURL is where the local cluster's Traefik answers on the host.
const LocalIngressURL = "http://127.0.0.1:30080"

// Host says what ChooseProvider needs to know of the machine.
type Host struct {
	// DockerAnswers: a Docker engine answers.
	DockerAnswers bool
	// PrivilegedContainers: docker run --privileged can work, i.e. this
	// process's capability bounding set is full (kind's nodes need every
	// capability; a sandbox that drops one, such as CAP_SYS_RESOURCE, makes
	// runc fail with "unable to apply caps").
	PrivilegedContainers bool
	// Root: the local cluster can be started (it needs root).
	Root bool
}

// ChooseProvider picks the provider when E2E_PROVIDER names none: kind where
// Docker can run privileged containers, the local cluster otherwise. It
// explains a machine that can run neither.
func ChooseProvider(c Config, h Host) (string, error) {
	switch {
	case c.Provider != "":
		return c.Provider, nil
	case h.DockerAnswers && h.PrivilegedContainers:
		return ProviderKind, nil
	case h.Root:
		return ProviderLocal, nil
	}
	return "", errors.New("no cluster for the e2e suite: kind needs a Docker engine that can run privileged containers, " +
		"the local cluster (make cluster-up) needs root; or point E2E_KUBECONFIG (and E2E_URL) at a cluster of yours")
}

// FullCapabilityBoundingSet reports whether the bounding set in a
// /proc/self/status text (CapBnd, hexadecimal) holds every capability up to
// lastCap (/proc/sys/kernel/cap_last_cap).
func FullCapabilityBoundingSet(status string, lastCap int) bool {
	for _, line := range strings.Split(status, "\n") {
		v, ok := strings.CutPrefix(line, "CapBnd:")
		if !ok {
			continue
		}
		bnd, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil || lastCap < 0 || lastCap > 62 {
			return false
		}
		want := uint64(1)<<(lastCap+1) - 1
		return bnd&want == want
	}
	return false
}

// boolEnv reads a 0/1 (or false/true) variable; empty is false.
func boolEnv(getenv func(string) string, name string) (bool, error) {
	v := getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want 1 or 0", name, v)
	}
	return b, nil
}

// or returns v, or def when v is empty.
func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// SplitImage splits an image reference into repository and tag, the tag
// being required (kind loads a tagged image, and "latest" would make the
// kubelet try to pull it). A registry port is not mistaken for a tag.
func SplitImage(ref string) (repo, tag string, err error) {
	i := strings.LastIndex(ref, ":")
	if i <= 0 || strings.Contains(ref[i:], "/") || i == len(ref)-1 {
		return "", "", fmt.Errorf("image %q: want repository:tag", ref)
	}
	repo, tag = ref[:i], ref[i+1:]
	if tag == "latest" {
		return "", "", fmt.Errorf("image %q: use a tag other than latest, so that the kubelet does not try to pull it", ref)
	}
	return repo, tag, nil
}
