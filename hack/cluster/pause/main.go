// Command pause is the local cluster's sandbox ("pause") container: it holds a
// pod's namespaces open and does nothing until it is told to stop. It stands
// in for registry.k8s.io/pause, which cannot be pulled here; hack/cluster/images.sh
// builds it into the image easel.local/pause:1.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// As PID 1 of the pod it also reaps orphaned children, as the real pause
	// does: with SIGCHLD delivered to the channel, Wait4 collects them.
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sig {
		if s != syscall.SIGCHLD {
			return
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
