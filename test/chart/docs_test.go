package chart

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// easelValuesBlock matches a ```yaml block of the docs that begins with
// "# easel values": an example of the chart's values a reader will copy.
var easelValuesBlock = regexp.MustCompile("(?s)```yaml\n(# easel values[^\n]*\n.*?)```")

// TestDocsValuesRender renders every easel values example of docs/*.md and
// README.md, so that the documentation cannot drift from the chart. Only
// the session keys, which an example leaves to the reader, are added.
func TestDocsValuesRender(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(repoRoot(t), "README.md"))
	found := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range easelValuesBlock.FindAllStringSubmatch(string(b), -1) {
			found++
			var values map[string]any
			if err := yaml.Unmarshal([]byte(m[1]), &values); err != nil {
				t.Errorf("%s, example %d: %v", filepath.Base(f), i+1, err)
				continue
			}
			session, _ := values["session"].(map[string]any)
			if session == nil {
				session = map[string]any{}
				values["session"] = session
			}
			if session["keys"] == nil && session["existingSecret"] == nil {
				session["keys"] = []string{testSessionKey}
			}
			if out, err := helmTemplate(t, "default", values); err != nil {
				t.Errorf("%s, example %d (%s) does not render: %v\n%s", filepath.Base(f), i+1, strings.SplitN(m[1], "\n", 2)[0], err, out)
			}
		}
	}
	if found == 0 {
		t.Fatal("no \"# easel values\" example found in the docs")
	}
}
