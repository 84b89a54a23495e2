package chart

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// redisKeys are the values of a redis-store render with a fixed session key.
func redisKeys() map[string]any {
	return map[string]any{"store": "redis", "keys": []string{testSessionKey}}
}

// featureCases are valid values beyond the toggle matrix, each with what it must render.
func featureCases() []featureCase {
	return []featureCase{
		{
			name:   "single-replica-memory",
			values: map[string]any{"replicaCount": 1, "session": map[string]any{"store": "memory"}},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				if find(objs, "PodDisruptionBudget", "easel") != nil {
					t.Error("a PDB on one replica would block node drains")
				}
				if find(objs, "Secret", "session") == nil {
					t.Error("memory store still gets a generated session key Secret")
				}
			},
		},
		{
			// A Secure affinity cookie on a plain-HTTP ingress is never sent
			// back, and the stickiness silently does nothing.
			name: "traefik-sticky-over-http",
			values: map[string]any{"replicaCount": 3, "session": map[string]any{"store": "memory"},
				"affinity": map[string]any{"mode": "cookie", "provider": "traefik"},
				"ingress":  map[string]any{"enabled": true}},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				if got := find(objs, "Service", "easel").GetAnnotations()["traefik.ingress.kubernetes.io/service.sticky.cookie.secure"]; got != "false" {
					t.Errorf("sticky cookie secure = %q on an ingress without TLS (cookie.secure auto), want false", got)
				}
			},
		},
		{
			name: "traefik-sticky-over-tls",
			values: map[string]any{"replicaCount": 3, "session": map[string]any{"store": "memory"},
				"affinity": map[string]any{"mode": "cookie", "provider": "traefik"},
				"ingress": map[string]any{"enabled": true, "tls": []any{map[string]any{"secretName": "easel-tls",
					"hosts": []any{"easel.local"}}}}},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				if got := find(objs, "Service", "easel").GetAnnotations()["traefik.ingress.kubernetes.io/service.sticky.cookie.secure"]; got != "true" {
					t.Errorf("sticky cookie secure = %q on a TLS ingress (cookie.secure auto), want true", got)
				}
			},
		},
		{
			name: "autoscaling",
			values: map[string]any{"session": redisKeys(),
				"autoscaling": map[string]any{"enabled": true, "minReplicas": 2, "maxReplicas": 6}},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				if find(objs, "HorizontalPodAutoscaler", "easel") == nil {
					t.Error("no HPA")
				}
				if _, found, _ := unstructured.NestedInt64(find(objs, "Deployment", "easel").Object, "spec", "replicas"); found {
					t.Error("Deployment sets replicas although the HPA owns them")
				}
				if find(objs, "PodDisruptionBudget", "easel") == nil {
					t.Error("no PDB although minReplicas > 1")
				}
			},
		},
		{
			name: "autoscaling-min1",
			values: map[string]any{"session": redisKeys(), "replicaCount": 4,
				"autoscaling": map[string]any{"enabled": true, "minReplicas": 1, "maxReplicas": 3}},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				if find(objs, "PodDisruptionBudget", "easel") != nil {
					t.Error("PDB rendered although the HPA may scale to one replica")
				}
			},
		},
		{
			name: "external-redis-url",
			values: map[string]any{"session": redisKeys(), "redis": map[string]any{"enabled": false},
				"externalRedis": map[string]any{"url": "rediss://easel@redis.example.com:6380/0", "tls": true,
					"existingSecret": "my-redis", "existingSecretKey": "password"}},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				cm := find(objs, "ConfigMap", "easel")
				if got := str(cm, "data", "EASEL_REDIS_URL"); got != "rediss://easel@redis.example.com:6380/0" {
					t.Errorf("EASEL_REDIS_URL = %q", got)
				}
				if got := str(cm, "data", "EASEL_REDIS_TLS"); got != "true" {
					t.Errorf("EASEL_REDIS_TLS = %q, want true", got)
				}
				if got := containerEnv(t, find(objs, "Deployment", "easel"))["EASEL_REDIS_PASSWORD"]; got != "secret:my-redis/password" {
					t.Errorf("EASEL_REDIS_PASSWORD = %q, want secret:my-redis/password", got)
				}
				if find(objs, "StatefulSet", "redis") != nil {
					t.Error("bundled Redis rendered with an external one")
				}
			},
		},
		{
			name: "external-redis-sentinel",
			values: map[string]any{"session": redisKeys(), "redis": map[string]any{"enabled": false},
				"externalRedis": map[string]any{"password": "s3cret",
					"sentinel": map[string]any{"masterName": "mymaster", "addrs": []string{"s1:26379", "s2:26379"},
						"username": "sentinel", "password": "sentinel-s3cret"}}},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				cm := find(objs, "ConfigMap", "easel")
				if got := str(cm, "data", "EASEL_REDIS_SENTINEL_USERNAME"); got != "sentinel" {
					t.Errorf("EASEL_REDIS_SENTINEL_USERNAME = %q, want sentinel", got)
				}
				env := containerEnv(t, find(objs, "Deployment", "easel"))
				if got := env["EASEL_REDIS_PASSWORD"]; got != "secret:easel-external-redis/redis-password" {
					t.Errorf("EASEL_REDIS_PASSWORD = %q", got)
				}
				if got := env["EASEL_REDIS_SENTINEL_PASSWORD"]; got != "secret:easel-external-redis/sentinel-password" {
					t.Errorf("EASEL_REDIS_SENTINEL_PASSWORD = %q", got)
				}
				if sec := find(objs, "Secret", "external-redis"); sec == nil || str(sec, "data", "sentinel-password") == "" || str(sec, "data", "redis-password") == "" {
					t.Error("the external-redis Secret lacks the data nodes' or the sentinels' password")
				}
				if got := str(cm, "data", "EASEL_REDIS_SENTINEL_ADDRS"); got != "s1:26379,s2:26379" {
					t.Errorf("EASEL_REDIS_SENTINEL_ADDRS = %q", got)
				}
				if got := str(cm, "data", "EASEL_REDIS_SENTINEL_MASTER"); got != "mymaster" {
					t.Errorf("EASEL_REDIS_SENTINEL_MASTER = %q", got)
				}
				if find(objs, "Secret", "external-redis") == nil {
					t.Error("no Secret for externalRedis.password")
				}
			},
		},
		{
			name: "external-redis-sentinel-existing-secret",
			values: map[string]any{"session": redisKeys(), "redis": map[string]any{"enabled": false},
				"externalRedis": map[string]any{
					"sentinel": map[string]any{"masterName": "mymaster", "addrs": []string{"s1:26379"},
						"existingSecret": "valkey-sentinel", "existingSecretKey": "password"}}},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				env := containerEnv(t, find(objs, "Deployment", "easel"))
				if got := env["EASEL_REDIS_SENTINEL_PASSWORD"]; got != "secret:valkey-sentinel/password" {
					t.Errorf("EASEL_REDIS_SENTINEL_PASSWORD = %q, want secret:valkey-sentinel/password", got)
				}
				if _, ok := env["EASEL_REDIS_PASSWORD"]; ok {
					t.Error("EASEL_REDIS_PASSWORD set although the data nodes have no password")
				}
				if find(objs, "Secret", "external-redis") != nil {
					t.Error("a Secret rendered although every password comes from an existing Secret")
				}
			},
		},
		{
			name: "external-redis-cluster",
			values: map[string]any{"session": redisKeys(), "redis": map[string]any{"enabled": false},
				"externalRedis": map[string]any{"cluster": map[string]any{"addrs": []string{"c1:7000", "c2:7001"}}}},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				if got := str(find(objs, "ConfigMap", "easel"), "data", "EASEL_REDIS_CLUSTER_ADDRS"); got != "c1:7000,c2:7001" {
					t.Errorf("EASEL_REDIS_CLUSTER_ADDRS = %q", got)
				}
				if _, ok := containerEnv(t, find(objs, "Deployment", "easel"))["EASEL_REDIS_PASSWORD"]; ok {
					t.Error("EASEL_REDIS_PASSWORD set although the Redis has no password")
				}
			},
		},
		{
			name: "redis-persistence-existing-secrets",
			values: map[string]any{
				"session": map[string]any{"store": "redis", "existingSecret": "my-keys"},
				"redis": map[string]any{"persistence": map[string]any{"enabled": true, "size": "2Gi"},
					"auth": map[string]any{"existingSecret": "my-redis-auth"}}},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				sts := find(objs, "StatefulSet", "redis")
				if claims, _, _ := unstructured.NestedSlice(sts.Object, "spec", "volumeClaimTemplates"); len(claims) != 1 {
					t.Errorf("volumeClaimTemplates = %v, want one claim", claims)
				}
				if find(objs, "Secret", "session") != nil || find(objs, "Secret", "redis") != nil {
					t.Error("Secrets rendered although existing ones are configured")
				}
				if got := containerEnv(t, find(objs, "Deployment", "easel"))["EASEL_SESSION_KEYS"]; got != "secret:my-keys/session-keys" {
					t.Errorf("EASEL_SESSION_KEYS = %q", got)
				}
			},
		},
		{
			name: "prestop-openai",
			values: map[string]any{"session": redisKeys(),
				"shutdown":                      map[string]any{"preStopSleepSeconds": 5},
				"terminationGracePeriodSeconds": 40,
				"config": map[string]any{"aiBackend": "openai", "trustedProxies": []string{"10.0.0.0/8"},
					"aiBaseUrl": "https://api.openai.com", "aiApiKey": map[string]any{"existingSecret": "openai", "existingSecretKey": "key"}}},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				dep := find(objs, "Deployment", "easel")
				containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
				if s, _, _ := unstructured.NestedInt64(containers[0].(map[string]any), "lifecycle", "preStop", "sleep", "seconds"); s != 5 {
					t.Errorf("preStop sleep = %d, want 5", s)
				}
				if got := str(find(objs, "ConfigMap", "easel"), "data", "EASEL_TRUSTED_PROXIES"); got != "10.0.0.0/8" {
					t.Errorf("EASEL_TRUSTED_PROXIES = %q", got)
				}
				if got := str(find(objs, "ConfigMap", "easel"), "data", "EASEL_AI_BASE_URL"); got != "https://api.openai.com" {
					t.Errorf("EASEL_AI_BASE_URL = %q", got)
				}
				if got := containerEnv(t, dep)["EASEL_AI_API_KEY"]; got != "secret:openai/key" {
					t.Errorf("EASEL_AI_API_KEY = %q, want secret:openai/key", got)
				}
			},
		},
		{
			name: "ai-http",
			values: map[string]any{"replicaCount": 1, "session": map[string]any{"store": "memory"},
				"config": map[string]any{"aiBackend": "http", "aiUrl": "http://inpaint.default.svc:8080/edit"}},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				cm := find(objs, "ConfigMap", "easel")
				if got := str(cm, "data", "EASEL_AI_BACKEND"); got != "http" {
					t.Errorf("EASEL_AI_BACKEND = %q, want http", got)
				}
				if got := str(cm, "data", "EASEL_AI_URL"); got != "http://inpaint.default.svc:8080/edit" {
					t.Errorf("EASEL_AI_URL = %q", got)
				}
				if ports := egressPorts(t, find(objs, "NetworkPolicy", "easel")); !slices.Contains(ports, 8080) || slices.Contains(ports, 443) {
					t.Errorf("egress ports %v, want the AI URL's 8080 and not 443", ports)
				}
			},
		},
		{
			name: "blobs-s3",
			values: map[string]any{"session": redisKeys(),
				"networkPolicy": map[string]any{"enabled": true, "restrictEgress": true},
				"blobs": map[string]any{"store": "s3", "s3": map[string]any{
					"endpoint": "https://minio.storage.svc:9000", "bucket": "easel-images", "pathStyle": true,
					"existingSecret": "easel-s3", "caBundle": testCA,
				}}},
			check: func(t *testing.T, objs []*unstructured.Unstructured) {
				cm := find(objs, "ConfigMap", "easel")
				for k, want := range map[string]string{
					"EASEL_BLOB_STORE": "s3", "EASEL_S3_ENDPOINT": "https://minio.storage.svc:9000", "EASEL_S3_BUCKET": "easel-images",
					"EASEL_S3_PATH_STYLE": "true", "EASEL_S3_ACCESS_KEY_ID_FILE": "/var/run/secrets/easel/s3/access-key-id",
					"EASEL_S3_SECRET_ACCESS_KEY_FILE": "/var/run/secrets/easel/s3/secret-access-key", "EASEL_S3_CA_FILE": "/etc/easel/s3-ca/ca.pem",
				} {
					if got := str(cm, "data", k); got != want {
						t.Errorf("%s = %q, want %q", k, got, want)
					}
				}
				if got := str(find(objs, "ConfigMap", "s3-ca"), "data", "ca.pem"); got != testCA+"\n" && got != testCA {
					t.Errorf("CA ConfigMap ca.pem = %q", got)
				}
				vols, _, _ := unstructured.NestedSlice(find(objs, "Deployment", "easel").Object, "spec", "template", "spec", "volumes")
				var secret, ca string
				for _, v := range vols {
					m := v.(map[string]any)
					if s, ok, _ := unstructured.NestedString(m, "secret", "secretName"); ok {
						secret = s
					}
					if c, ok, _ := unstructured.NestedString(m, "configMap", "name"); ok {
						ca = c
					}
				}
				if secret != "easel-s3" || !strings.HasSuffix(ca, "-s3-ca") {
					t.Errorf("volumes: secret %q, CA ConfigMap %q; want easel-s3 and the chart's -s3-ca", secret, ca)
				}
				if ports := egressPorts(t, find(objs, "NetworkPolicy", "easel")); !slices.Contains(ports, 9000) {
					t.Errorf("egress ports %v, want the S3 endpoint's 9000", ports)
				}
			},
		},
	}
}

// testCA is a PEM block shaped like a CA certificate (the chart only passes it on).
const testCA = "-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----"

// egressPorts lists every port a NetworkPolicy's egress rules allow.
func egressPorts(t *testing.T, np *unstructured.Unstructured) []int64 {
	t.Helper()
	if np == nil {
		t.Fatal("no NetworkPolicy")
	}
	rules, _, _ := unstructured.NestedSlice(np.Object, "spec", "egress")
	var ports []int64
	for _, r := range rules {
		ps, _, _ := unstructured.NestedSlice(r.(map[string]any), "ports")
		for _, p := range ps {
			if n, ok, _ := unstructured.NestedInt64(p.(map[string]any), "port"); ok {
				ports = append(ports, n)
			}
		}
	}
	return ports
}
