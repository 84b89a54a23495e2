package server

import (
	"log/slog"

	"github.com/easelhq/easel/internal/blob"
	"github.com/easelhq/easel/internal/compose"
	"github.com/easelhq/easel/internal/config"
	"github.com/easelhq/easel/internal/imaging"
	"github.com/easelhq/easel/internal/workspace"
)

// newComposer builds the composite service from configuration.
func newComposer(cfg *config.Config, log *slog.Logger, blobs blob.Store, jobs compose.JobStore,
	svc *workspace.Service, renderer *workspace.Renderer) (*compose.Service, error) {
	return compose.New(compose.Config{
		Backend: cfg.AIBackend,
		OpenAI: compose.OpenAIConfig{
			BaseURL: cfg.AI.BaseURL, Model: cfg.AI.Model, APIKey: cfg.AI.APIKey, Timeout: cfg.AI.Timeout,
			MaxAttempts: cfg.AI.MaxAttempts, MaxEdge: cfg.AI.MaxEdge, Sizes: cfg.AI.Sizes,
		},
		HTTP: compose.HTTPConfig{
			URL: cfg.AI.URL, APIKey: cfg.AI.APIKey, Timeout: cfg.AI.Timeout,
			MaxAttempts: cfg.AI.MaxAttempts, MaxEdge: cfg.AI.MaxEdge,
		},
		Runner: compose.RunnerConfig{
			Owner: cfg.PodName, Concurrency: cfg.Compose.Concurrency, Lease: cfg.Compose.Lease,
			Heartbeat: cfg.Compose.Heartbeat, Poll: cfg.Compose.Poll, MaxAttempts: cfg.Compose.MaxAttempts,
		},
		TTL: cfg.Session.Lifetime,
	}, compose.Deps{
		Jobs: jobs, Blobs: blobs, Log: log,
		Workspaces: compose.WorkspaceAdapter{Service: svc, Renderer: renderer},
		Limits:     imaging.Limits{MaxPixels: cfg.Upload.MaxPixels},
		Budget:     svc.Budget,
	})
}
