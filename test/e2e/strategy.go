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
	// Expectation says in words what the probe must show.
	Expectation string
	// HelmTestPasses is whether `helm test` (the probe through the Service,
	// expecting 100%) must pass. With memory sessions on more than one
	// replica it fails, which is the point of the comparison; and the
	// Service does not apply the ingress's cookie affinity.
	HelmTestPasses bool
}

// Strategies returns the three strategies the suite compares.
func Strategies() []Strategy {
	return []Strategy{
		{Name: "memory-rr", Title: "memory + round robin", Store: "memory", Affinity: "none",
			Expectation: "consistency below 50% (the original bug)"},
		{Name: "memory-cookie", Title: "memory + cookie affinity", Store: "memory", Affinity: "cookie",
			Expectation: "100% consistency while no pod dies"},
		{Name: "redis-rr", Title: "redis + round robin", Store: "redis", Affinity: "none",
			Expectation:    "100% consistency, shares within ±15% of the mean, 100% through pod deletion, restart and scaling",
			HelmTestPasses: true},
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
// or IngressNginx) with the image repo:tag. The release starts with one
// replica: the suite scales it to 3 through the scale subresource. The
// Ingress has no host, so that the probe reaches it at the node's mapped
// port with any Host header.
func (s Strategy) Values(ingress, repo, tag string) map[string]any {
	provider, class := "traefik", "traefik"
	if ingress == IngressNginx {
		provider, class = "ingress-nginx", "nginx"
	}
	return map[string]any{
		"replicaCount": 1,
		"image":        map[string]any{"repository": repo, "tag": tag, "pullPolicy": "IfNotPresent"},
		"session":      map[string]any{"store": s.Store},
		"redis":        map[string]any{"enabled": s.Store == "redis"},
		"affinity":     map[string]any{"mode": s.Affinity, "provider": provider},
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
