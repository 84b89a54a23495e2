package chart

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"sigs.k8s.io/yaml"
)

// skaffoldRelease is the part of a skaffold helm release this test reads.
type skaffoldRelease struct {
	Name              string            `json:"name"`
	ChartPath         string            `json:"chartPath"`
	SetValueTemplates map[string]string `json:"setValueTemplates"`
	SetValues         map[string]any    `json:"setValues"`
}

// skaffoldConfig is the part of skaffold.yaml this test reads.
type skaffoldConfig struct {
	APIVersion string `json:"apiVersion"`
	Build      struct {
		Artifacts []struct {
			Image  string `json:"image"`
			Docker struct {
				Dockerfile string `json:"dockerfile"`
			} `json:"docker"`
		} `json:"artifacts"`
	} `json:"build"`
	Deploy struct {
		Helm struct {
			Releases []skaffoldRelease `json:"releases"`
		} `json:"helm"`
	} `json:"deploy"`
	PortForward []struct {
		ResourceType string `json:"resourceType"`
		ResourceName string `json:"resourceName"`
		Port         int    `json:"port"`
	} `json:"portForward"`
	Profiles []struct {
		Name    string          `json:"name"`
		Patches json.RawMessage `json:"patches"`
	} `json:"profiles"`
}

// TestSkaffoldProfiles checks skaffold.yaml without skaffold (which cannot be
// go install'ed): the schema version, the Dockerfile build, the image injected
// into the chart, and that every profile's patches apply and render the strategy
// the profile is named after.
func TestSkaffoldProfiles(t *testing.T) {
	helmPath(t)
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), "skaffold.yaml"))
	if err != nil {
		t.Fatalf("reading skaffold.yaml: %v", err)
	}
	doc, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		t.Fatalf("parsing skaffold.yaml: %v", err)
	}
	var cfg skaffoldConfig
	if err := json.Unmarshal(doc, &cfg); err != nil {
		t.Fatalf("decoding skaffold.yaml: %v", err)
	}
	if cfg.APIVersion != "skaffold/v4beta13" {
		t.Errorf("apiVersion = %q, want skaffold/v4beta13", cfg.APIVersion)
	}
	if len(cfg.Build.Artifacts) != 1 || cfg.Build.Artifacts[0].Image != "easel" || cfg.Build.Artifacts[0].Docker.Dockerfile != "Dockerfile" {
		t.Errorf("build.artifacts = %+v, want image easel from the Dockerfile", cfg.Build.Artifacts)
	}
	if len(cfg.PortForward) != 1 || cfg.PortForward[0].ResourceType != "service" || cfg.PortForward[0].ResourceName != "easel" {
		t.Errorf("portForward = %+v, want the easel Service", cfg.PortForward)
	}
	if len(cfg.Deploy.Helm.Releases) != 1 {
		t.Fatalf("want one helm release, got %d", len(cfg.Deploy.Helm.Releases))
	}
	rel := cfg.Deploy.Helm.Releases[0]
	if rel.ChartPath != "charts/easel" {
		t.Errorf("chartPath = %q", rel.ChartPath)
	}
	if rel.SetValueTemplates["image.repository"] != "{{.IMAGE_REPO_easel}}" || rel.SetValueTemplates["image.tag"] != "{{.IMAGE_TAG_easel}}" {
		t.Errorf("setValueTemplates = %v, want the built image's repo and tag", rel.SetValueTemplates)
	}

	want := map[string]struct{ store, mode string }{
		"memory": {"memory", "none"},
		"sticky": {"memory", "clientIP"},
		"redis":  {"redis", "none"},
	}
	var names []string
	for _, p := range cfg.Profiles {
		names = append(names, p.Name)
		t.Run(p.Name, func(t *testing.T) {
			patch, err := jsonpatch.DecodePatch(p.Patches)
			if err != nil {
				t.Fatalf("decoding patches: %v", err)
			}
			patched, err := patch.Apply(doc)
			if err != nil {
				t.Fatalf("applying patches: %v", err)
			}
			var pc skaffoldConfig
			if err := json.Unmarshal(patched, &pc); err != nil {
				t.Fatal(err)
			}
			values := setValuesToTree(t, pc.Deploy.Helm.Releases[0].SetValues)
			// skaffold sets the image from the build; any valid reference will do here.
			values["image"].(map[string]any)["repository"] = "registry.example/easel"
			values["image"].(map[string]any)["tag"] = "dev"
			// skaffold deploys with helm install, where the key is generated; offline it must be given.
			values["session"].(map[string]any)["keys"] = []string{testSessionKey}
			objs := render(t, "easel", values)
			checkCommon(t, objs)
			w := want[p.Name]
			if got := str(find(objs, "ConfigMap", "easel"), "data", "EASEL_SESSION_STORE"); got != w.store {
				t.Errorf("profile %s: EASEL_SESSION_STORE = %q, want %q", p.Name, got, w.store)
			}
			wantAffinity := map[string]string{"none": "None", "clientIP": "ClientIP"}[w.mode]
			if got := str(find(objs, "Service", "easel"), "spec", "sessionAffinity"); got != wantAffinity {
				t.Errorf("profile %s: Service sessionAffinity = %q, want %q", p.Name, got, wantAffinity)
			}
		})
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"memory", "redis", "sticky"}) {
		t.Errorf("profiles = %v, want memory, redis, sticky", names)
	}
}

// setValuesToTree turns helm --set style keys (a.b.c: v) into nested values.
func setValuesToTree(t testing.TB, set map[string]any) map[string]any {
	t.Helper()
	root := map[string]any{}
	for key, v := range set {
		parts := strings.Split(key, ".")
		m := root
		for _, p := range parts[:len(parts)-1] {
			next, ok := m[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[p] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = v
	}
	for _, k := range []string{"image", "session"} {
		if _, ok := root[k].(map[string]any); !ok {
			root[k] = map[string]any{}
		}
	}
	return root
}
