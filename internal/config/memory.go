package config

import (
	"flag"
	"fmt"
	"time"
)

// Memory bounds the image work (decodes, renders, exports) one replica
// admits at once, so that a burst of large photos is answered "busy, retry"
// (503 with Retry-After) rather than ending in an OOM kill.
type Memory struct {
	// Budget is the bytes of pixels admitted at once; 0 derives it at
	// start from the container's memory limit (see budget.Derive).
	Budget int64
	// Queue is how many requests may wait for the budget at once; more
	// are refused at once.
	Queue int
	// Wait is the longest a request waits for the budget before it is
	// refused.
	Wait time.Duration
}

// memoryFlags holds the raw memory settings.
type memoryFlags struct {
	budget byteSize
	queue  int
	wait   time.Duration
}

func defineMemoryFlags(fs *flag.FlagSet) *memoryFlags {
	m := &memoryFlags{}
	fs.Var(&m.budget, "memory-budget", "bytes of image pixels this replica decodes, renders and exports at once (`size`, e.g. 512MiB); 0 derives it from the container's memory limit: 70% of it, less 64MiB and --blob-cache-bytes (without a limit, from a quarter of the machine's memory). Work beyond it waits, then is refused with 503 and Retry-After")
	fs.IntVar(&m.queue, "memory-queue", 32, "most requests that wait for the memory budget at once; more are refused at once with 503")
	fs.DurationVar(&m.wait, "memory-wait", 10*time.Second, "longest a request waits for the memory budget before it is refused with 503 (the Retry-After it gets)")
	return m
}

func (m *memoryFlags) build() (Memory, error) {
	switch {
	case m.budget != 0 && m.budget < 1<<20:
		return Memory{}, &Error{Setting: "memory-budget", Msg: fmt.Sprintf("must be 0 (derive it) or at least 1MiB (got %s)", m.budget)}
	case m.queue < 0 || m.queue > 10000:
		return Memory{}, &Error{Setting: "memory-queue", Msg: fmt.Sprintf("must be from 0 to 10000 (got %d)", m.queue)}
	case m.wait < 10*time.Millisecond || m.wait > 10*time.Minute:
		return Memory{}, &Error{Setting: "memory-wait", Msg: fmt.Sprintf("must be from 10ms to 10m (got %s)", m.wait)}
	}
	return Memory{Budget: int64(m.budget), Queue: m.queue, Wait: m.wait}, nil
}
