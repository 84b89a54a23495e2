package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// GoTest runs `go test args...` in dir, tees the output to raw, and returns
// the parsed samples and the command line as a user would type it.
func GoTest(ctx context.Context, dir, raw string, args ...string) ([]Sample, string, error) {
	full := append([]string{"test"}, args...)
	cmdline := "go " + quoteArgs(full)
	cmd := exec.CommandContext(ctx, "go", full...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if werr := os.WriteFile(raw, out.Bytes(), 0o644); werr != nil {
		return nil, cmdline, werr
	}
	if err != nil {
		return nil, cmdline, fmt.Errorf("%s: %w\n%s", cmdline, err, tail(out.String(), 2000))
	}
	samples, err := ParseGoBench(&out)
	return samples, cmdline, err
}

// Tool runs a program and returns its standard output.
func Tool(ctx context.Context, dir, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", name, quoteArgs(args), err, tail(errb.String(), 2000))
	}
	return out.String(), nil
}

// CPUProfile runs one benchmark with -cpuprofile and returns the first
// lines of `go tool pprof -top` and the commands that produced them.
func CPUProfile(ctx context.Context, root, work, pkg, bench, benchtime string) (top, cmdline string, err error) {
	prof, bin := work+"/cpu.prof", work+"/bench.test"
	_, cmdline, err = GoTest(ctx, root, work+"/profile.txt", "-run", "^$", "-bench", bench, "-benchtime", benchtime,
		"-cpuprofile", prof, "-o", bin, pkg)
	if err != nil {
		return "", cmdline, err
	}
	out, err := Tool(ctx, root, "go", "tool", "pprof", "-top", "-nodecount", "25", bin, prof)
	if err != nil {
		return "", cmdline, err
	}
	return out, cmdline + " && go tool pprof -top -nodecount 25 bench.test cpu.prof", nil
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " '^$|*()[]{}?\\\"") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
