package chart

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// testSessionKey is a syntactically valid session key (≥ 32 characters) for renders.
const testSessionKey = "test-session-key-0123456789abcdefghijklmnop"

// Every value of the comparison toggles.
var (
	stores    = []string{"memory", "redis"}
	modes     = []string{"none", "cookie", "clientIP"}
	providers = []string{"ingress-nginx", "traefik", "service", "gateway"}
)

// combo is one point of session.store × affinity.mode × affinity.provider.
type combo struct {
	store, mode, provider string
}

// name is a DNS-label-safe name, usable as the test name and the namespace.
func (c combo) name() string {
	return strings.ToLower(fmt.Sprintf("%s-%s-%s", c.store, c.mode, c.provider))
}

// wantErr is the message the chart must fail with for a combination it cannot
// render, or "" when the combination is valid.
func (c combo) wantErr() string {
	switch {
	case c.mode == "cookie" && c.provider == "service":
		return "affinity.mode=cookie cannot be done by affinity.provider=service"
	case c.mode == "clientIP" && (c.provider == "traefik" || c.provider == "gateway"):
		return "affinity.mode=clientIP is not supported by affinity.provider=" + c.provider
	}
	return ""
}

// values are the chart values for the combination, with what its provider needs
// switched on (an Ingress for ingress-nginx and traefik, an HTTPRoute for gateway)
// and every optional object enabled, so that all of them reach the API server.
func (c combo) values() map[string]any {
	v := map[string]any{
		"replicaCount": 3,
		"session":      map[string]any{"store": c.store},
		"affinity":     map[string]any{"mode": c.mode, "provider": c.provider},
		"metrics":      map[string]any{"serviceMonitor": map[string]any{"enabled": true}},
	}
	if c.store == "redis" {
		v["session"].(map[string]any)["keys"] = []string{testSessionKey}
	}
	switch c.provider {
	case "ingress-nginx", "traefik":
		v["ingress"] = map[string]any{
			"enabled": true,
			"hosts": []any{map[string]any{
				"host":  "easel.example.com",
				"paths": []any{map[string]any{"path": "/", "pathType": "Prefix"}},
			}},
			"tls": []any{map[string]any{"secretName": "easel-tls", "hosts": []string{"easel.example.com"}}},
		}
	case "gateway":
		v["httpRoute"] = map[string]any{
			"enabled":    true,
			"parentRefs": []any{map[string]any{"name": "public", "namespace": "gateway-system"}},
			"hostnames":  []string{"easel.example.com"},
		}
	}
	return v
}

// allCombos lists every combination of the toggles.
func allCombos() []combo {
	var out []combo
	for _, s := range stores {
		for _, m := range modes {
			for _, p := range providers {
				out = append(out, combo{store: s, mode: m, provider: p})
			}
		}
	}
	return out
}

// featureCase is a valid set of values beyond the toggle matrix: autoscaling,
// external Redis flavours, persistence, existing Secrets.
type featureCase struct {
	name   string
	values map[string]any
	check  func(t *testing.T, objs []*unstructured.Unstructured)
}

// writeValues writes values to a file in a temporary directory and returns its path.
func writeValues(t testing.TB, values map[string]any) string {
	t.Helper()
	b, err := yaml.Marshal(values)
	if err != nil {
		t.Fatalf("marshalling values: %v", err)
	}
	path := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatalf("writing values: %v", err)
	}
	return path
}

// chartDir is the chart under test.
func chartDir(t testing.TB) string {
	return filepath.Join(repoRoot(t), "charts", "easel")
}

// helmTemplate renders the chart as release "easel" into namespace with values.
func helmTemplate(t testing.TB, namespace string, values map[string]any) (string, error) {
	t.Helper()
	return helm(t, "template", "easel", chartDir(t),
		"--namespace", namespace,
		"--kube-version", kubeVersion,
		"--values", writeValues(t, values))
}

// helmLint lints the chart with values, treating warnings as errors.
func helmLint(t testing.TB, values map[string]any) (string, error) {
	t.Helper()
	return helm(t, "lint", chartDir(t), "--strict",
		"--kube-version", kubeVersion,
		"--values", writeValues(t, values))
}

// decodeObjects splits a multi-document YAML stream into objects, skipping empty
// documents. It decodes strictly: a duplicate key in a document is an error.
func decodeObjects(manifest string) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	var out []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading rendered YAML: %w", err)
		}
		raw, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return nil, fmt.Errorf("decoding rendered YAML document:\n%s\n: %w", doc, err)
		}
		if trimmed := bytes.TrimSpace(raw); len(trimmed) == 0 || string(trimmed) == "null" {
			continue
		}
		// Unstructured's own JSON decoding keeps integers as int64.
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("decoding rendered object: %w", err)
		}
		out = append(out, u)
	}
}

// render renders and decodes, failing the test on any error.
func render(t testing.TB, namespace string, values map[string]any) []*unstructured.Unstructured {
	t.Helper()
	out, err := helmTemplate(t, namespace, values)
	if err != nil {
		t.Fatalf("helm template: %v", err)
	}
	objs, err := decodeObjects(out)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// find returns the first object of kind whose name ends with nameSuffix, or nil.
func find(objs []*unstructured.Unstructured, kind, nameSuffix string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && strings.HasSuffix(o.GetName(), nameSuffix) {
			return o
		}
	}
	return nil
}

// kinds counts the objects by kind.
func kinds(objs []*unstructured.Unstructured) map[string]int {
	m := map[string]int{}
	for _, o := range objs {
		m[o.GetKind()]++
	}
	return m
}

// str reads a nested string field, "" when absent.
func str(o *unstructured.Unstructured, fields ...string) string {
	if o == nil {
		return ""
	}
	s, _, _ := unstructured.NestedString(o.Object, fields...)
	return s
}

// deepCopyValues copies a values map (so cases can tweak a shared base).
func deepCopyValues(t testing.TB, v map[string]any) map[string]any {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatalf("copying values: %v", err)
	}
	var out map[string]any
	if err := yaml.Unmarshal(b, &out); err != nil {
		t.Fatalf("copying values: %v", err)
	}
	return out
}
