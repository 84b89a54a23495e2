package kube

import (
	"log/slog"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// RouteLogs sends controller-runtime's own log lines to log. Until a
// program sets its logger, controller-runtime prints a warning with a
// goroutine stack ("log.SetLogger(...) was never called") the first time a
// client is made. It keeps the logger in a package variable, so only main
// (or a test's setup) calls this, once.
func RouteLogs(log *slog.Logger) {
	ctrllog.SetLogger(logr.FromSlogHandler(log.Handler()))
}
