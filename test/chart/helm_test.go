package chart

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestHelmCombinations lints and renders every combination of session.store ×
// affinity.mode × affinity.provider. Valid combinations must lint cleanly and
// render the affinity where their provider puts it; the others must fail with a
// message that names the problem.
func TestHelmCombinations(t *testing.T) {
	helmPath(t)
	for _, c := range allCombos() {
		t.Run(c.name(), func(t *testing.T) {
			t.Parallel()
			if want := c.wantErr(); want != "" {
				_, err := helmTemplate(t, "default", c.values())
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("helm template: want an error containing %q, got %v", want, err)
				}
				return
			}
			if out, err := helmLint(t, c.values()); err != nil {
				t.Fatalf("helm lint: %v\n%s", err, out)
			}
			checkCombo(t, c, render(t, c.name(), c.values()))
		})
	}
}

// checkCombo asserts what a valid combination must render.
func checkCombo(t *testing.T, c combo, objs []*unstructured.Unstructured) {
	t.Helper()
	checkCommon(t, objs)

	cm := find(objs, "ConfigMap", "easel")
	if got := str(cm, "data", "EASEL_SESSION_STORE"); got != c.store {
		t.Errorf("EASEL_SESSION_STORE = %q, want %q", got, c.store)
	}

	svc := find(objs, "Service", "easel")
	wantAffinity := "None"
	if c.mode == "clientIP" && c.provider == "service" {
		wantAffinity = "ClientIP"
	}
	if got := str(svc, "spec", "sessionAffinity"); got != wantAffinity {
		t.Errorf("Service sessionAffinity = %q, want %q", got, wantAffinity)
	}
	traefikSticky := svc.GetAnnotations()["traefik.ingress.kubernetes.io/service.sticky.cookie"] == "true"
	if want := c.mode == "cookie" && c.provider == "traefik"; traefikSticky != want {
		t.Errorf("Service traefik sticky cookie annotation present = %v, want %v", traefikSticky, want)
	}

	ing := find(objs, "Ingress", "easel")
	if wantIng := c.provider == "ingress-nginx" || c.provider == "traefik"; (ing != nil) != wantIng {
		t.Fatalf("Ingress rendered = %v, want %v", ing != nil, wantIng)
	}
	if ing != nil {
		ann := ing.GetAnnotations()
		if got, want := ann["nginx.ingress.kubernetes.io/affinity"], map[bool]string{true: "cookie"}[c.mode == "cookie" && c.provider == "ingress-nginx"]; got != want {
			t.Errorf("nginx affinity annotation = %q, want %q", got, want)
		}
		if c.mode == "cookie" && c.provider == "ingress-nginx" {
			if ann["nginx.ingress.kubernetes.io/session-cookie-name"] == "" || ann["nginx.ingress.kubernetes.io/session-cookie-max-age"] == "" || ann["nginx.ingress.kubernetes.io/affinity-mode"] == "" {
				t.Errorf("nginx cookie affinity annotations incomplete: %v", ann)
			}
		}
		hashBy := ann["nginx.ingress.kubernetes.io/upstream-hash-by"] != ""
		if want := c.mode == "clientIP" && c.provider == "ingress-nginx"; hashBy != want {
			t.Errorf("nginx upstream-hash-by present = %v, want %v", hashBy, want)
		}
		wantClass := map[string]string{"ingress-nginx": "nginx", "traefik": "traefik"}[c.provider]
		if got := str(ing, "spec", "ingressClassName"); got != wantClass {
			t.Errorf("ingressClassName = %q, want %q", got, wantClass)
		}
	}

	route := find(objs, "HTTPRoute", "easel")
	if (route != nil) != (c.provider == "gateway") {
		t.Fatalf("HTTPRoute rendered = %v, want %v", route != nil, c.provider == "gateway")
	}
	if route != nil {
		rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
		_, hasSP := rules[0].(map[string]any)["sessionPersistence"]
		if want := c.mode == "cookie"; hasSP != want {
			t.Errorf("HTTPRoute sessionPersistence present = %v, want %v", hasSP, want)
		}
	}

	if got, want := find(objs, "StatefulSet", "redis") != nil, c.store == "redis"; got != want {
		t.Errorf("bundled Redis StatefulSet rendered = %v, want %v", got, want)
	}
	if got, want := find(objs, "NetworkPolicy", "redis") != nil, c.store == "redis"; got != want {
		t.Errorf("Redis NetworkPolicy rendered = %v, want %v", got, want)
	}
	if find(objs, "PodDisruptionBudget", "easel") == nil {
		t.Error("no PodDisruptionBudget for 3 replicas")
	}
	if find(objs, "ServiceMonitor", "easel") == nil {
		t.Error("no ServiceMonitor although metrics.serviceMonitor.enabled")
	}
}

// checkCommon asserts what every render must contain whatever the values.
func checkCommon(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	dep := find(objs, "Deployment", "easel")
	if dep == nil {
		t.Fatal("no Deployment rendered")
	}
	grace, _, _ := unstructured.NestedInt64(dep.Object, "spec", "template", "spec", "terminationGracePeriodSeconds")
	if grace <= 20 {
		t.Errorf("terminationGracePeriodSeconds = %d, want > drain delay + shutdown timeout (20)", grace)
	}
	for _, key := range []string{"checksum/config", "checksum/secrets"} {
		if v, _, _ := unstructured.NestedString(dep.Object, "spec", "template", "metadata", "annotations", key); v == "" {
			t.Errorf("pod template lacks annotation %s", key)
		}
	}
	env := containerEnv(t, dep)
	if env["EASEL_POD_NAME"] != "fieldRef:metadata.name" {
		t.Errorf("EASEL_POD_NAME = %q, want the downward API metadata.name", env["EASEL_POD_NAME"])
	}
	if !strings.HasPrefix(env["EASEL_SESSION_KEYS"], "secret:") {
		t.Errorf("EASEL_SESSION_KEYS = %q, want a secretKeyRef", env["EASEL_SESSION_KEYS"])
	}
	sa := find(objs, "ServiceAccount", "easel")
	if sa == nil {
		t.Fatal("no ServiceAccount rendered")
	}
	if auto, found, _ := unstructured.NestedBool(sa.Object, "automountServiceAccountToken"); !found || auto {
		t.Error("ServiceAccount must set automountServiceAccountToken: false")
	}
	pod := find(objs, "Pod", "test-probe")
	if pod == nil {
		t.Fatal("no helm test Pod rendered")
	}
	if hook := pod.GetAnnotations()["helm.sh/hook"]; hook != "test" {
		t.Errorf("test pod hook = %q, want test", hook)
	}
	args := containerArgs(t, pod)
	if len(args) == 0 || args[0] != "probe" || !slices.Contains(args, "--expect-consistency") {
		t.Errorf("test pod args = %v, want easel probe ... --expect-consistency", args)
	}
	// Through a Service (per-connection balancing) only a new connection per
	// request reveals memory sessions on several pods.
	if i := slices.Index(args, "--connections"); i < 0 || i+1 >= len(args) || args[i+1] != "per-request" {
		t.Errorf("test pod args = %v, want --connections per-request", args)
	}
}

// containerEnv flattens the first container's env to name → value, where
// references read "fieldRef:<path>" or "secret:<name>/<key>".
func containerEnv(t testing.TB, workload *unstructured.Unstructured) map[string]string {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(workload.Object, "spec", "template", "spec", "containers")
	if len(containers) == 0 {
		t.Fatalf("%s/%s has no containers", workload.GetKind(), workload.GetName())
	}
	c := containers[0].(map[string]any)
	env, _, _ := unstructured.NestedSlice(c, "env")
	out := map[string]string{}
	for _, e := range env {
		m := e.(map[string]any)
		name, _ := m["name"].(string)
		if v, ok := m["value"].(string); ok {
			out[name] = v
			continue
		}
		if p, ok, _ := unstructured.NestedString(m, "valueFrom", "fieldRef", "fieldPath"); ok {
			out[name] = "fieldRef:" + p
			continue
		}
		sn, _, _ := unstructured.NestedString(m, "valueFrom", "secretKeyRef", "name")
		sk, _, _ := unstructured.NestedString(m, "valueFrom", "secretKeyRef", "key")
		out[name] = "secret:" + sn + "/" + sk
	}
	return out
}

// containerArgs returns the args of a Pod's first container.
func containerArgs(t testing.TB, pod *unstructured.Unstructured) []string {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(pod.Object, "spec", "containers")
	if len(containers) == 0 {
		t.Fatalf("pod %s has no containers", pod.GetName())
	}
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	return args
}

// TestHelmFeatures renders the cases beyond the toggle matrix.
func TestHelmFeatures(t *testing.T) {
	helmPath(t)
	for _, fc := range featureCases() {
		t.Run(fc.name, func(t *testing.T) {
			t.Parallel()
			if out, err := helmLint(t, fc.values); err != nil {
				t.Fatalf("helm lint: %v\n%s", err, out)
			}
			objs := render(t, "f-"+fc.name, fc.values)
			checkCommon(t, objs)
			fc.check(t, objs)
		})
	}
}

// TestHelmBadValues checks that bad values fail helm template with a message
// that names the setting.
func TestHelmBadValues(t *testing.T) {
	helmPath(t)
	base := map[string]any{"session": map[string]any{"store": "redis", "keys": []string{testSessionKey}}}
	tests := []struct {
		name    string
		set     func(v map[string]any)
		wantErr []string
	}{
		{"affinity mode sometimes", func(v map[string]any) { v["affinity"] = map[string]any{"mode": "sometimes"} },
			[]string{"/affinity/mode", "must be one of 'none', 'cookie', 'clientIP'"}},
		{"negative replicas", func(v map[string]any) { v["replicaCount"] = -1 },
			[]string{"/replicaCount", "minimum: got -1, want 0"}},
		{"redis store without redis", func(v map[string]any) { v["redis"] = map[string]any{"enabled": false} },
			[]string{"session.store=redis needs a Redis"}},
		{"redis store without keys offline", func(v map[string]any) { delete(v["session"].(map[string]any), "keys") },
			[]string{"session.store=redis needs stable session keys", "session.existingSecret"}},
		{"short session key", func(v map[string]any) { v["session"].(map[string]any)["keys"] = []string{"short"} },
			[]string{"/session/keys/0", "minLength"}},
		{"unknown store", func(v map[string]any) { v["session"].(map[string]any)["store"] = "memcached" },
			[]string{"/session/store", "must be one of 'memory', 'redis'"}},
		{"unknown provider", func(v map[string]any) { v["affinity"] = map[string]any{"mode": "cookie", "provider": "haproxy"} },
			[]string{"/affinity/provider"}},
		{"typo in a key", func(v map[string]any) { v["replicas"] = 3 },
			[]string{"replicas", "not allowed"}},
		{"grace period too short", func(v map[string]any) { v["terminationGracePeriodSeconds"] = 10 },
			[]string{"terminationGracePeriodSeconds (10) must be greater than"}},
		{"nginx cookie affinity without ingress", func(v map[string]any) {
			v["affinity"] = map[string]any{"mode": "cookie", "provider": "ingress-nginx"}
		}, []string{"set ingress.enabled=true"}},
		{"gateway cookie affinity without route", func(v map[string]any) {
			v["affinity"] = map[string]any{"mode": "cookie", "provider": "gateway"}
		}, []string{"set httpRoute.enabled=true"}},
		{"external redis url scheme", func(v map[string]any) {
			v["redis"] = map[string]any{"enabled": false}
			v["externalRedis"] = map[string]any{"url": "http://redis:6379"}
		}, []string{"/externalRedis/url"}},
		{"bundled and external redis", func(v map[string]any) {
			v["externalRedis"] = map[string]any{"url": "redis://redis:6379/0"}
		}, []string{"not both"}},
		{"sentinel without addrs", func(v map[string]any) {
			v["redis"] = map[string]any{"enabled": false}
			v["externalRedis"] = map[string]any{"sentinel": map[string]any{"masterName": "mymaster"}}
		}, []string{"externalRedis.sentinel needs both masterName and addrs"}},
		{"http AI backend without a URL", func(v map[string]any) { v["config"] = map[string]any{"aiBackend": "http"} },
			[]string{"config.aiBackend=http needs config.aiUrl"}},
		{"AI URL without a scheme", func(v map[string]any) {
			v["config"] = map[string]any{"aiBackend": "http", "aiUrl": "inpaint:8080/edit"}
		}, []string{"/config/aiUrl"}},
		{"openai without base url", func(v map[string]any) {
			v["config"] = map[string]any{"aiBackend": "openai", "aiApiKey": map[string]any{"existingSecret": "k"}}
		}, []string{"needs config.aiBaseUrl"}},
		{"openai without key", func(v map[string]any) {
			v["config"] = map[string]any{"aiBackend": "openai", "aiBaseUrl": "https://api.openai.com"}
		}, []string{"needs an API key"}},
		{"s3 blobs without a bucket", func(v map[string]any) {
			v["blobs"] = map[string]any{"store": "s3", "s3": map[string]any{"endpoint": "https://s3.eu-west-1.amazonaws.com"}}
		}, []string{"blobs.store=s3 needs blobs.s3.bucket"}},
		{"s3 blobs without an endpoint", func(v map[string]any) {
			v["blobs"] = map[string]any{"store": "s3", "s3": map[string]any{"bucket": "easel"}}
		}, []string{"blobs.store=s3 needs blobs.s3.endpoint"}},
		{"s3 blobs with memory sessions", func(v map[string]any) {
			v["session"].(map[string]any)["store"] = "memory"
			v["blobs"] = map[string]any{"store": "s3", "s3": map[string]any{"endpoint": "https://s3.example.com", "bucket": "easel"}}
		}, []string{"blobs.store=s3 needs session.store=redis"}},
		{"s3 endpoint with a path", func(v map[string]any) {
			v["blobs"] = map[string]any{"store": "s3", "s3": map[string]any{"endpoint": "https://s3.example.com/easel", "bucket": "easel"}}
		}, []string{"/blobs/s3/endpoint"}},
		{"unknown blob store", func(v map[string]any) { v["blobs"] = map[string]any{"store": "gcs"} },
			[]string{"/blobs/store"}},
		{"sentinel credentials without sentinel", func(v map[string]any) {
			v["redis"] = map[string]any{"enabled": false}
			v["externalRedis"] = map[string]any{"url": "redis://redis:6379/0", "sentinel": map[string]any{"password": "x"}}
		}, []string{"the sentinels' own credentials"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := deepCopyValues(t, base)
			tt.set(v)
			_, err := helmTemplate(t, "default", v)
			if err == nil {
				t.Fatal("helm template succeeded, want an error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not mention %q:\n%v", want, err)
				}
			}
		})
	}
}
