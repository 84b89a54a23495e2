package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BinaryEnv names an environment variable holding a prebuilt easel binary;
// when set, BuildEasel uses it instead of building.
const BinaryEnv = "EASEL_BIN"

// modulePath is the module whose ./cmd/easel BuildEasel builds.
const modulePath = "github.com/easelhq/easel"

// BuildEasel returns the path of an easel binary: $EASEL_BIN when set,
// otherwise the result of `go build -o dir/easel ./cmd/easel` run at the
// root of the module containing the working directory.
func BuildEasel(ctx context.Context, dir string) (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", fmt.Errorf("resolving %s: %w", BinaryEnv, err)
		}
		if _, err := os.Stat(abs); err != nil {
			return "", fmt.Errorf("%s=%s: %w", BinaryEnv, p, err)
		}
		return abs, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "easel")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/easel")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/easel: %w\n%s", err, b)
	}
	return out, nil
}

// ModuleRoot walks up from the working directory to the directory whose
// go.mod declares the easel module.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the module root: %w", err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module "+modulePath+"\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding the module root: no go.mod for " + modulePath + " above the working directory")
		}
		dir = parent
	}
}
