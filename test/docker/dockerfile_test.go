// Package docker checks the Dockerfile without a Docker engine (there is none on
// the development machines or in CI): its go build line must use the same flags
// as the Makefile's build target, and its runtime stage must keep the properties
// the chart relies on (distroless static base, numeric non-root user, port 8080,
// /easel entrypoint).
package docker

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// versionVar stands for the build's version in both files: $(VERSION) in make,
// ${VERSION} in the Dockerfile. It is left unexpanded.
const versionVar = "VERSION"

// goBuild is a parsed `go build` command line.
type goBuild struct {
	env      map[string]string // assignments before `go` that matter (CGO_ENABLED)
	flags    []string          // boolean and key=value flags, sorted (-trimpath, -tags=...)
	ldflags  string            // the -ldflags value, whitespace-normalised
	packages []string          // what is built (./cmd/easel)
}

func (g goBuild) String() string {
	return fmt.Sprintf("env=%v flags=%v ldflags=%q packages=%v", g.env, g.flags, g.ldflags, g.packages)
}

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// logicalLines joins backslash-continued lines.
func logicalLines(text string) []string {
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasSuffix(line, "\\") {
			cur.WriteString(strings.TrimSuffix(line, "\\"))
			cur.WriteString(" ")
			continue
		}
		cur.WriteString(line)
		out = append(out, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// shellWords splits a command line like a POSIX shell would for simple cases:
// single and double quotes group, backslash escapes.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for i := 0; i < len(s); i++ {
		c := rune(s[i])
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' && i+1 < len(s) {
				i++
				cur.WriteByte(s[i])
			} else {
				cur.WriteRune(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// parseGoBuild parses the words of a command that contains `go build`.
func parseGoBuild(words []string, env map[string]string) (goBuild, error) {
	g := goBuild{env: map[string]string{}}
	for k, v := range env {
		g.env[k] = v
	}
	i := slices.Index(words, "go")
	if i < 0 || i+1 >= len(words) || words[i+1] != "build" {
		return g, fmt.Errorf("no `go build` in %q", strings.Join(words, " "))
	}
	for _, w := range words[:i] {
		if k, v, ok := strings.Cut(w, "="); ok && k == "CGO_ENABLED" {
			g.env[k] = v
		}
	}
	args := words[i+2:]
	for j := 0; j < len(args); j++ {
		a := args[j]
		switch {
		case a == "-ldflags" || a == "--ldflags":
			if j+1 >= len(args) {
				return g, fmt.Errorf("-ldflags without a value")
			}
			j++
			g.ldflags = strings.Join(strings.Fields(args[j]), " ")
		case strings.HasPrefix(a, "-ldflags="):
			g.ldflags = strings.Join(strings.Fields(strings.TrimPrefix(a, "-ldflags=")), " ")
		case a == "-o":
			j++ // the output path differs on purpose (bin/easel vs /out/easel)
		case a == "-tags" || a == "-gcflags" || a == "-mod":
			if j+1 < len(args) {
				j++
				g.flags = append(g.flags, a+"="+args[j])
			}
		case strings.HasPrefix(a, "-"):
			g.flags = append(g.flags, a)
		case a == "&&" || a == ";" || a == "|":
			j = len(args) // the rest is another command
		default:
			g.packages = append(g.packages, a)
		}
	}
	slices.Sort(g.flags)
	return g, nil
}

var (
	makeAssign = regexp.MustCompile(`^(?:export\s+|override\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(?::{1,3}=|\?=|=|\+=)\s*(.*)$`)
	makeRef    = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)
	makeExport = regexp.MustCompile(`^export\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?::?=)\s*(.*)$`)
)

// expand replaces variable references with their values (recursively), leaving
// VERSION as the placeholder $VERSION.
func expand(s string, vars map[string]string, ref *regexp.Regexp) string {
	for range 10 {
		next := ref.ReplaceAllStringFunc(s, func(m string) string {
			sub := ref.FindStringSubmatch(m)
			name := sub[1]
			if name == "" && len(sub) > 2 {
				name = sub[2]
			}
			if name == versionVar {
				return "$" + versionVar
			}
			return vars[name]
		})
		if next == s {
			return s
		}
		s = next
	}
	return s
}

// makefileBuild parses the Makefile's `go build ... ./cmd/easel` recipe.
func makefileBuild(t *testing.T, text string) goBuild {
	t.Helper()
	vars := map[string]string{}
	env := map[string]string{}
	var recipes []string
	for _, line := range logicalLines(text) {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasPrefix(line, "\t") {
			recipes = append(recipes, strings.TrimLeft(trimmed, "@-+"))
			continue
		}
		if m := makeExport.FindStringSubmatch(trimmed); m != nil && m[1] == "CGO_ENABLED" {
			env[m[1]] = strings.TrimSpace(m[2])
		}
		if m := makeAssign.FindStringSubmatch(trimmed); m != nil {
			val := strings.TrimSpace(m[2])
			if strings.Contains(trimmed, "+=") {
				val = strings.TrimSpace(vars[m[1]] + " " + val)
			}
			vars[m[1]] = val
		}
	}
	// Variables may be defined after the recipes that use them: expand at the end.
	var recipe string
	for _, r := range recipes {
		if r = expand(r, vars, makeRef); strings.Contains(r, "go build") && strings.Contains(r, "./cmd/easel") {
			recipe = r
			break
		}
	}
	if recipe == "" {
		t.Fatal("Makefile has no recipe line running `go build ... ./cmd/easel`")
	}
	words, err := shellWords(recipe)
	if err != nil {
		t.Fatalf("Makefile build recipe: %v", err)
	}
	g, err := parseGoBuild(words, env)
	if err != nil {
		t.Fatalf("Makefile build recipe: %v", err)
	}
	return g
}

// dockerStage is one FROM ... section of a Dockerfile.
type dockerStage struct {
	from         string
	instructions []string // logical lines after FROM, comments dropped
}

// dockerStages splits a Dockerfile into its stages.
func dockerStages(text string) []dockerStage {
	var stages []dockerStage
	for _, line := range logicalLines(text) {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if kw, rest, _ := strings.Cut(trimmed, " "); strings.EqualFold(kw, "FROM") {
			stages = append(stages, dockerStage{from: strings.TrimSpace(rest)})
			continue
		}
		if len(stages) > 0 {
			stages[len(stages)-1].instructions = append(stages[len(stages)-1].instructions, trimmed)
		}
	}
	return stages
}

// dockerfileBuild parses the build stage's `go build` RUN line.
func dockerfileBuild(t *testing.T, stage dockerStage) goBuild {
	t.Helper()
	vars := map[string]string{}
	env := map[string]string{}
	dockerRef := regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)
	for _, ins := range stage.instructions {
		kw, rest, _ := strings.Cut(ins, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(kw) {
		case "ARG", "ENV":
			for _, kv := range strings.Fields(rest) {
				k, v, _ := strings.Cut(kv, "=")
				vars[k] = strings.Trim(v, `"`)
				if strings.ToUpper(kw) == "ENV" && k == "CGO_ENABLED" {
					env[k] = vars[k]
				}
			}
		case "RUN":
			if !strings.Contains(rest, "go build") {
				continue
			}
			words, err := shellWords(expand(rest, vars, dockerRef))
			if err != nil {
				t.Fatalf("Dockerfile RUN: %v", err)
			}
			// Drop RUN options such as --mount=type=cache,...
			for len(words) > 0 && strings.HasPrefix(words[0], "--") {
				words = words[1:]
			}
			g, err := parseGoBuild(words, env)
			if err != nil {
				t.Fatalf("Dockerfile RUN: %v", err)
			}
			return g
		}
	}
	t.Fatalf("build stage %q has no RUN ... go build", stage.from)
	return goBuild{}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), name))
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return string(b)
}

// TestDockerfileMatchesMakefile checks that the image and `make build` compile
// easel the same way: CGO_ENABLED=0, the same go build flags and ldflags, the
// same package.
func TestDockerfileMatchesMakefile(t *testing.T) {
	if _, err := os.Stat(filepath.Join(repoRoot(t), "Makefile")); os.IsNotExist(err) {
		if os.Getenv("EASEL_REQUIRE_DEPS") == "1" {
			t.Fatal("no Makefile to compare the Dockerfile with")
		}
		t.Skip("skipping: no Makefile yet")
	}
	stages := dockerStages(readFile(t, "Dockerfile"))
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and a runtime stage", len(stages))
	}
	docker := dockerfileBuild(t, stages[0])
	mk := makefileBuild(t, readFile(t, "Makefile"))
	t.Logf("Makefile:   %s", mk)
	t.Logf("Dockerfile: %s", docker)

	if got := docker.env["CGO_ENABLED"]; got != "0" {
		t.Errorf("Dockerfile builds with CGO_ENABLED=%q, want 0", got)
	}
	if got := mk.env["CGO_ENABLED"]; got != "0" {
		t.Errorf("Makefile builds with CGO_ENABLED=%q, want 0", got)
	}
	if !slices.Equal(docker.flags, mk.flags) {
		t.Errorf("go build flags differ: Dockerfile %v, Makefile %v", docker.flags, mk.flags)
	}
	if !slices.Contains(docker.flags, "-trimpath") {
		t.Errorf("Dockerfile build lacks -trimpath: %v", docker.flags)
	}
	if docker.ldflags != mk.ldflags {
		t.Errorf("-ldflags differ:\n Dockerfile %q\n Makefile   %q", docker.ldflags, mk.ldflags)
	}
	if want := "-X github.com/easelhq/easel/internal/version.Version=$VERSION"; !strings.Contains(docker.ldflags, want) {
		t.Errorf("Dockerfile -ldflags %q do not set the version (%s)", docker.ldflags, want)
	}
	if !slices.Equal(docker.packages, mk.packages) {
		t.Errorf("packages differ: Dockerfile %v, Makefile %v", docker.packages, mk.packages)
	}
}

// TestDockerfileRuntime checks the stages' bases and the runtime settings the
// chart relies on.
func TestDockerfileRuntime(t *testing.T) {
	stages := dockerStages(readFile(t, "Dockerfile"))
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want at least 2", len(stages))
	}
	if !strings.HasPrefix(stages[0].from, "golang:1.26") {
		t.Errorf("build stage FROM %q, want golang:1.26", stages[0].from)
	}
	last := stages[len(stages)-1]
	if last.from != "gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("runtime stage FROM %q, want gcr.io/distroless/static-debian12:nonroot", last.from)
	}
	want := []string{`USER 65532:65532`, `EXPOSE 8080`, `ENTRYPOINT ["/easel"]`, `CMD ["serve"]`}
	for _, w := range want {
		if !slices.Contains(last.instructions, w) {
			t.Errorf("runtime stage lacks %s (has %q)", w, last.instructions)
		}
	}
	for _, ins := range last.instructions {
		if strings.HasPrefix(strings.ToUpper(ins), "RUN ") {
			t.Errorf("runtime stage runs %q; distroless has no shell", ins)
		}
	}
}

// TestParseGoBuild pins the parser on the shapes both files use.
func TestParseGoBuild(t *testing.T) {
	tests := []struct {
		name, line string
		vars       map[string]string
		want       string
	}{
		{
			name: "make variables",
			line: `CGO_ENABLED=0 go build $(GO_BUILD_FLAGS) -ldflags "$(LDFLAGS)" -o bin/easel ./cmd/easel`,
			vars: map[string]string{"GO_BUILD_FLAGS": "-trimpath", "LDFLAGS": "-s -w -X m/v.Version=$(VERSION)"},
			want: `env=map[CGO_ENABLED:0] flags=[-trimpath] ldflags="-s -w -X m/v.Version=$VERSION" packages=[./cmd/easel]`,
		},
		{
			name: "inline and trailing command",
			line: `CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags='-s  -w' -o /out/x ./cmd/easel && echo done`,
			want: `env=map[CGO_ENABLED:0] flags=[-trimpath] ldflags="-s -w" packages=[./cmd/easel]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			words, err := shellWords(expand(tt.line, tt.vars, makeRef))
			if err != nil {
				t.Fatal(err)
			}
			g, err := parseGoBuild(words, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := g.String(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
