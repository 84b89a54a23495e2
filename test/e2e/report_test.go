package e2e

import (
	"strings"
	"testing"

	"github.com/easelhq/easel/internal/probe"
)

func TestTable(t *testing.T) {
	t.Parallel()
	rr, _ := StrategyNamed("memory-rr")
	ip, _ := StrategyNamed("memory-clientip")
	steady := result(2, 60, map[string]int{"a": 34, "b": 33, "c": 33})
	steady.Imbalance = 1.02
	chaos := withFailures(result(60, 60, map[string]int{"a": 1}), 3, 2)
	chaos.Events = []probe.Event{{At: 4.2, Label: "kill-pod easel-1"}, {At: 9, Label: rolloutComplete}, {At: 12.6, Label: "restart"}}
	got := Table([]Row{
		{Strategy: rr, Phase: "steady", Result: steady, HelmTest: "failed"},
		{Strategy: ip, Phase: "chaos", Result: chaos},
	})
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a header, a rule and 2 rows:\n%s", got)
	}
	for _, want := range []string{"| memory + round robin | Traefik ingress | steady | **3.3 %** | 60 (58) | 34 / 33 / 33 % | 1.02 | 0 / 0 | failed | — |"} {
		if lines[2] != want {
			t.Errorf("row\n%s\nwant\n%s", lines[2], want)
		}
	}
	if !strings.Contains(lines[3], "Service ClusterIP") || !strings.Contains(lines[3], "| 100 % |") ||
		!strings.Contains(lines[3], "| 1 / 2 |") || !strings.Contains(lines[3], "4: kill-pod easel-1; 13: restart |") {
		t.Errorf("chaos row: %s", lines[3])
	}
}

func TestReplaceTable(t *testing.T) {
	t.Parallel()
	readme := "# x\n\n" + readmeStart + "\nold\n" + readmeEnd + "\nafter\n"
	got, err := ReplaceTable(readme, "| new |\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "# x\n\n" + readmeStart + "\n| new |\n" + readmeEnd + "\nafter\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := ReplaceTable("# no markers\n", "x"); err == nil {
		t.Error("a README without markers was accepted")
	}
}
