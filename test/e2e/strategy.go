package e2e

import "slices"

// Strategy is one session strategy of the comparison, installed as one
// chart release.
type Strategy struct {
	// Name is the short name used in E2E_STRATEGIES and namespaces.
	Name string
	// Title is how reports name it.
	Title string
	// Store is the chart's session.store; Affinity its affinity.mode.
	Store, Affinity string
	// ViaService: the probe goes to the Service's ClusterIP instead of the
	// ingress, since the affinity is the Service's own (kube-proxy's
	// ClientIP). It needs a host that reaches ClusterIPs (the local cluster).
	ViaService bool
	// Expectation says in words what the probe must show.
	Expectation string
	// HelmTest is what `helm test` must do: the probe through the Service
	// with a new connection per request, expecting 100 %.
	HelmTest HelmTestOutcome
}

// HelmTestOutcome is the expected result of `helm test`.
type HelmTestOutcome string

// Outcomes of `helm test`.
const (
	// HelmTestPasses: every flow consistent through the Service.
	HelmTestPasses HelmTestOutcome = "passes"
	// HelmTestFails: memory sessions without an affinity the Service
	// applies: the test must see the inconsistency and fail.
	HelmTestFails HelmTestOutcome = "fails"
)

// Strategies returns the strategies the suite compares: README's table, on
// Kubernetes.
func Strategies() []Strategy {
	return []Strategy{
		{Name: "memory-rr", Title: "memory + round robin", Store: "memory", Affinity: "none",
			Expectation: "consistency below 50% (the original bug)",
			HelmTest:    HelmTestFails},
		// The Service has no cookie affinity (Traefik applies it), so helm
		// test, which goes through the Service, fails here too.
		{Name: "memory-cookie", Title: "memory + cookie affinity (Traefik)", Store: "memory", Affinity: "cookie",
			Expectation: "100% consistency while no pod dies; users lose their work when their pod dies",
			HelmTest:    HelmTestFails},
		{Name: "memory-clientip", Title: "memory + Service ClientIP affinity", Store: "memory", Affinity: "clientIP", ViaService: true,
			Expectation: "100% consistency, but every user from one address lands on one pod",
			HelmTest:    HelmTestPasses},
		{Name: "redis-rr", Title: "redis + round robin", Store: "redis", Affinity: "none",
			Expectation: "100% consistency, shares within ±15% of the mean, 100% through pod deletion, restart and scaling",
			HelmTest:    HelmTestPasses},
	}
}

// StrategyNames returns the names of Strategies, in order.
func StrategyNames() []string {
	var out []string
	for _, s := range Strategies() {
		out = append(out, s.Name)
	}
	return out
}

// StrategyNamed returns the strategy called name.
func StrategyNamed(name string) (Strategy, bool) {
	i := slices.IndexFunc(Strategies(), func(s Strategy) bool { return s.Name == name })
	if i < 0 {
		return Strategy{}, false
	}
	return Strategies()[i], true
}

// Values returns the chart values that install s behind ingress (IngressTraefik
// or IngressNginx) with the image repo:tag, and redisImage (repository:tag;
// empty keeps the chart's) for the bundled Redis. The release starts with one
// replica: the suite scales it to 3 through the scale subresource. The
// Ingress has no host, so that the probe reaches it at the node's mapped
// port with any Host header.
func (s Strategy) Values(ingress, repo, tag, redisImage string) map[string]any {
	provider, class := "traefik", "traefik"
	if ingress == IngressNginx {
		provider, class = "ingress-nginx", "nginx"
	}
	if s.Affinity == "clientIP" {
		provider = "service"
	}
	redis := map[string]any{"enabled": s.Store == "redis"}
	if redisImage != "" {
		r, t, err := SplitImage(redisImage)
		if err == nil {
			redis["image"] = map[string]any{"repository": r, "tag": t, "pullPolicy": "IfNotPresent"}
		}
	}
	return map[string]any{
		"replicaCount": 1,
		"image":        map[string]any{"repository": repo, "tag": tag, "pullPolicy": "IfNotPresent"},
		"session":      map[string]any{"store": s.Store},
		"redis":        redis,
		"affinity":     map[string]any{"mode": s.Affinity, "provider": provider},
		// The probe is one client (one address) playing many users: the
		// per-client upload limits would refuse it, and are not what this
		// suite measures (internal/server/limits_test.go does).
		"config": map[string]any{"uploadsPerMinute": 0, "uploadBytesPerHour": "0",
			"sessionUploadsPerMinute": 0, "sessionUploadBytesPerHour": "0"},
		"ingress": map[string]any{
			"enabled":   true,
			"className": class,
			"hosts": []any{map[string]any{
				"host":  "",
				"paths": []any{map[string]any{"path": "/", "pathType": "Prefix"}},
			}},
		},
	}
}
