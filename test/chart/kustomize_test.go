package chart

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// overlays are the kustomize overlays under manifests/overlays.
var overlays = []string{"round-robin-memory", "sticky", "redis"}

// overlayChartValues are the chart values that must render the same strategy as
// the overlay, for release "easel".
func overlayChartValues(overlay string) map[string]any {
	switch overlay {
	case "round-robin-memory":
		return map[string]any{"replicaCount": 3, "session": map[string]any{"store": "memory"},
			"affinity": map[string]any{"mode": "none"}}
	case "sticky":
		return map[string]any{"replicaCount": 3, "session": map[string]any{"store": "memory"},
			"affinity": map[string]any{"mode": "clientIP", "provider": "service"}}
	case "redis":
		return map[string]any{"replicaCount": 3,
			"session":  map[string]any{"store": "redis", "existingSecret": "easel-session"},
			"affinity": map[string]any{"mode": "none"}}
	}
	return nil
}

// kustomizeBuild builds an overlay in-process with kustomize's krusty API.
func kustomizeBuild(t testing.TB, overlay string) []*unstructured.Unstructured {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "manifests", "overlays", overlay)
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := resMap.AsYaml()
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	objs, err := decodeObjects(string(out))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return objs
}

// TestKustomizeAgreesWithChart builds each overlay and compares the fields that
// matter (image, ports, probes, env, security, affinity, Redis) with the chart's
// render of the same strategy.
func TestKustomizeAgreesWithChart(t *testing.T) {
	helmPath(t)
	for _, overlay := range overlays {
		t.Run(overlay, func(t *testing.T) {
			t.Parallel()
			kust := kustomizeBuild(t, overlay)
			chart := render(t, "default", overlayChartValues(overlay))

			for _, o := range kust {
				if o.GetKind() == "ConfigMap" {
					continue // generated name with a content hash; compared through env below
				}
				if find(chart, o.GetKind(), o.GetName()) == nil {
					t.Errorf("overlay has %s %s, the chart renders none", o.GetKind(), o.GetName())
				}
			}

			kDep, cDep := find(kust, "Deployment", "easel"), find(chart, "Deployment", "easel")
			if kDep == nil || cDep == nil {
				t.Fatalf("Deployment missing: kustomize %v, chart %v", kDep != nil, cDep != nil)
			}
			for _, path := range [][]string{
				{"spec", "replicas"},
				{"spec", "selector"},
				{"spec", "strategy"},
				{"spec", "template", "spec", "securityContext"},
				{"spec", "template", "spec", "terminationGracePeriodSeconds"},
				{"spec", "template", "spec", "serviceAccountName"},
				{"spec", "template", "spec", "automountServiceAccountToken"},
				{"spec", "template", "spec", "topologySpreadConstraints"},
				{"spec", "template", "spec", "volumes"},
			} {
				sameField(t, "Deployment", kDep, cDep, path...)
			}
			kc, cc := firstContainer(t, kDep), firstContainer(t, cDep)
			for _, field := range []string{"image", "args", "ports", "startupProbe", "livenessProbe",
				"readinessProbe", "resources", "securityContext", "volumeMounts", "lifecycle"} {
				if !reflect.DeepEqual(kc[field], cc[field]) {
					t.Errorf("container %s differs:\n kustomize: %s\n chart:     %s", field, toYAML(kc[field]), toYAML(cc[field]))
				}
			}
			if ke, ce := effectiveEnv(t, kust, kDep), effectiveEnv(t, chart, cDep); !reflect.DeepEqual(ke, ce) {
				t.Errorf("environment differs:\n kustomize: %v\n chart:     %v", ke, ce)
			}

			kSvc, cSvc := find(kust, "Service", "easel"), find(chart, "Service", "easel")
			for _, f := range []string{"type", "ports", "selector", "sessionAffinity", "sessionAffinityConfig"} {
				sameField(t, "Service", kSvc, cSvc, "spec", f)
			}
			sameField(t, "PodDisruptionBudget", find(kust, "PodDisruptionBudget", "easel"), find(chart, "PodDisruptionBudget", "easel"), "spec")
			sameField(t, "NetworkPolicy", find(kust, "NetworkPolicy", "easel"), find(chart, "NetworkPolicy", "easel"), "spec")

			if overlay == "redis" {
				kSts, cSts := find(kust, "StatefulSet", "easel-redis"), find(chart, "StatefulSet", "easel-redis")
				for _, path := range [][]string{
					{"spec", "replicas"},
					{"spec", "serviceName"},
					{"spec", "selector"},
					{"spec", "template", "spec"},
				} {
					sameField(t, "StatefulSet easel-redis", kSts, cSts, path...)
				}
				sameField(t, "NetworkPolicy easel-redis", find(kust, "NetworkPolicy", "easel-redis"), find(chart, "NetworkPolicy", "easel-redis"), "spec")
				sameField(t, "Service easel-redis", find(kust, "Service", "easel-redis"), find(chart, "Service", "easel-redis"), "spec")
			}
		})
	}
}

// sameField reports a difference of one nested field between the kustomize and chart objects.
func sameField(t *testing.T, what string, k, c *unstructured.Unstructured, path ...string) {
	t.Helper()
	if k == nil || c == nil {
		t.Errorf("%s missing: kustomize %v, chart %v", what, k != nil, c != nil)
		return
	}
	kv, _, _ := unstructured.NestedFieldNoCopy(k.Object, path...)
	cv, _, _ := unstructured.NestedFieldNoCopy(c.Object, path...)
	if !reflect.DeepEqual(kv, cv) {
		t.Errorf("%s %s differs:\n kustomize: %s\n chart:     %s", what, strings.Join(path, "."), toYAML(kv), toYAML(cv))
	}
}

// firstContainer returns the first container of a workload's pod template.
func firstContainer(t testing.TB, workload *unstructured.Unstructured) map[string]any {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(workload.Object, "spec", "template", "spec", "containers")
	if len(containers) == 0 {
		t.Fatalf("%s %s has no containers", workload.GetKind(), workload.GetName())
	}
	return containers[0].(map[string]any)
}

// effectiveEnv is what the container sees: the envFrom ConfigMaps' data
// overlaid by env (references flattened as in containerEnv).
func effectiveEnv(t testing.TB, objs []*unstructured.Unstructured, workload *unstructured.Unstructured) map[string]string {
	t.Helper()
	out := map[string]string{}
	envFrom, _, _ := unstructured.NestedSlice(firstContainer(t, workload), "envFrom")
	for _, ef := range envFrom {
		name, _, _ := unstructured.NestedString(ef.(map[string]any), "configMapRef", "name")
		var cm *unstructured.Unstructured
		for _, o := range objs {
			if o.GetKind() == "ConfigMap" && o.GetName() == name {
				cm = o
			}
		}
		if cm == nil {
			t.Fatalf("envFrom ConfigMap %q not rendered", name)
		}
		data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
		for k, v := range data {
			out[k] = v
		}
	}
	for k, v := range containerEnv(t, workload) {
		out[k] = v
	}
	return out
}

// toYAML formats a value for a failure message.
func toYAML(v any) string {
	b, err := yaml.Marshal(v)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return strings.TrimSpace(string(b))
}
