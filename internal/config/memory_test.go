package config

import (
	"errors"
	"io"
	"testing"
	"time"
)

func TestMemorySettings(t *testing.T) {
	t.Parallel()
	c, err := Load(nil, env(map[string]string{}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Memory != (Memory{Budget: 0, Queue: 32, Wait: 10 * time.Second}) {
		t.Fatalf("defaults = %+v", c.Memory)
	}
	c, err = Load([]string{"--memory-budget", "512MiB"}, env(map[string]string{"EASEL_MEMORY_QUEUE": "4", "EASEL_MEMORY_WAIT": "3s"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Memory != (Memory{Budget: 512 << 20, Queue: 4, Wait: 3 * time.Second}) {
		t.Fatalf("set = %+v", c.Memory)
	}
	for name, e := range map[string]map[string]string{
		"memory-budget": {"EASEL_MEMORY_BUDGET": "100KiB"},
		"memory-queue":  {"EASEL_MEMORY_QUEUE": "-1"},
		"memory-wait":   {"EASEL_MEMORY_WAIT": "0s"},
	} {
		_, err := Load(nil, env(e), io.Discard)
		var ce *Error
		if !errors.As(err, &ce) || ce.Setting != name {
			t.Errorf("%v: err = %v, want a *config.Error naming %s", e, err, name)
		}
	}
}
