package compose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"net/http"
	"time"

	"github.com/easelhq/easel/internal/blob"
	"github.com/easelhq/easel/internal/budget"
	"github.com/easelhq/easel/internal/imaging"
	"github.com/easelhq/easel/internal/problem"
	"github.com/easelhq/easel/internal/workspace"
)

// Backends accepted in Config.Backend (EASEL_AI_BACKEND).
const (
	BackendBuiltin = "builtin"
	BackendOpenAI  = "openai"
	BackendHTTP    = "http"
)

// Config is the compose part of easel's configuration.
type Config struct {
	// Backend serves the ai mode: builtin (no AI; ai requests are refused),
	// openai (an OpenAI-compatible images/edits API) or http (a self-hosted
	// service; see HTTP). replace-background and overlay always run built in.
	Backend string
	// OpenAI configures the openai backend, HTTP the http backend; only the
	// one Backend names is used.
	OpenAI OpenAIConfig
	HTTP   HTTPConfig
	Runner RunnerConfig
	// TTL is how long jobs and result blobs live after their last change
	// (the workspace lifetime).
	TTL time.Duration
	// MaxAssetPixels bounds a background or overlay asset (0 = no bound
	// beyond Deps.Limits).
	MaxAssetPixels int64
}

// Deps are the collaborators a Service needs.
type Deps struct {
	Jobs       JobStore
	Blobs      blob.Store
	Workspaces Workspaces
	// Limits bound decoding assets.
	Limits imaging.Limits
	// Budget admits decodes and jobs by the memory they hold; nil admits
	// everything. A request that finds the replica busy gets a
	// *budget.Busy (503); a job waits for its turn instead.
	Budget *budget.Budget
	Log    *slog.Logger
	// AI overrides the compositor of the ai mode (tests); nil builds one
	// from Config.Backend.
	AI Compositor
	// HTTPClient is used by the openai and http backends; nil means a
	// default client.
	HTTPClient *http.Client
}

// Service is what handlers call: Submit queues a composite, Get follows it.
// It also runs this replica's Runner (Start, Stop).
type Service struct {
	cfg     Config
	deps    Deps
	builtin Compositor
	ai      Compositor
	runner  *Runner
	log     *slog.Logger
}

// New builds a Service.
func New(cfg Config, deps Deps) (*Service, error) {
	if deps.Jobs == nil || deps.Blobs == nil || deps.Workspaces == nil {
		return nil, errors.New("compose: jobs, blobs and workspaces are required")
	}
	if cfg.TTL <= 0 {
		return nil, errors.New("compose: TTL must be positive")
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, deps: deps, builtin: Builtin{}, ai: deps.AI, log: deps.Log}
	if s.ai == nil {
		switch cfg.Backend {
		case "", BackendBuiltin:
		case BackendOpenAI:
			ai, err := NewOpenAI(cfg.OpenAI, deps.HTTPClient, deps.Log)
			if err != nil {
				return nil, err
			}
			s.ai = ai
		case BackendHTTP:
			ai, err := NewHTTP(cfg.HTTP, deps.HTTPClient, deps.Log)
			if err != nil {
				return nil, err
			}
			s.ai = ai
		default:
			return nil, fmt.Errorf("compose: AI backend %q is not supported; use builtin, openai or http", cfg.Backend)
		}
	}
	s.runner = NewRunner(cfg.Runner, deps.Jobs, s, deps.Log)
	return s, nil
}

// AIEnabled reports whether the ai mode has a backend: Submit refuses ai
// requests when it has none.
func (s *Service) AIEnabled() bool { return s.ai != nil }

// Start starts this replica's runner; cancelling ctx stops it abruptly.
func (s *Service) Start(ctx context.Context) { s.runner.Start(ctx) }

// Stop drains this replica's runner (see Runner.Stop).
func (s *Service) Stop(ctx context.Context) error { return s.runner.Stop(ctx) }

// Submit validates req against workspace wsID, snapshots the workspace's
// current image and queues a job. Invalid requests are 4xx *problem.Error
// values (or *imaging.Error for an asset that is not a usable image) and
// store nothing; workspace errors (workspace.ErrNotFound, ErrNoImage) and
// store.ErrUnavailable pass through for problem.From.
func (s *Service) Submit(ctx context.Context, wsID string, req Request) (Job, error) {
	if err := req.Validate(); err != nil {
		return Job{}, err
	}
	if req.Mode == ModeAI && s.ai == nil {
		return Job{}, &problem.Error{Status: http.StatusUnprocessableEntity, Field: "mode",
			Detail: "no AI backend is configured on this server; use replace-background or overlay"}
	}
	snap, err := s.deps.Workspaces.Snapshot(ctx, wsID)
	if err != nil {
		return Job{}, err
	}
	for _, d := range req.Assets() {
		if _, err := s.loadAsset(ctx, d); err != nil {
			return Job{}, err
		}
	}
	if ds := req.Assets(); len(ds) > 0 {
		if err := s.deps.Blobs.Touch(ctx, s.cfg.TTL, ds...); err != nil {
			return Job{}, fmt.Errorf("keeping assets: %w", err)
		}
	}
	id, err := NewJobID()
	if err != nil {
		return Job{}, err
	}
	j := Job{ID: id, Workspace: wsID, Request: req, Base: snap, Status: StatusQueued}
	if err := s.deps.Jobs.Create(ctx, j); err != nil {
		return Job{}, err
	}
	s.runner.Nudge()
	j.Created = time.Now()
	j.Updated = j.Created
	return j, nil
}

// Get returns job id; found == false when it is unknown or expired. Callers
// should check Job.Workspace against the caller's workspace.
func (s *Service) Get(ctx context.Context, id string) (Job, bool, error) {
	if !ValidJobID(id) {
		return Job{}, false, nil
	}
	return s.deps.Jobs.Get(ctx, id)
}

// loadAsset fetches and decodes asset d; a missing one is a 422.
func (s *Service) loadAsset(ctx context.Context, d string) (*image.NRGBA, error) {
	data, found, err := s.deps.Blobs.Get(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("loading asset: %w", err)
	}
	if !found {
		return nil, &problem.Error{Status: http.StatusUnprocessableEntity, Field: "asset",
			Detail: "no uploaded image has that digest (it may have expired); upload it with POST /api/v1/assets first"}
	}
	lim := s.deps.Limits
	if s.cfg.MaxAssetPixels > 0 && (lim.MaxPixels == 0 || s.cfg.MaxAssetPixels < lim.MaxPixels) {
		lim.MaxPixels = s.cfg.MaxAssetPixels
	}
	head, err := imaging.Header(data, lim)
	if err != nil {
		return nil, err
	}
	release, err := s.deps.Budget.Acquire(ctx, imaging.DecodeBytes(head, 1))
	if err != nil {
		return nil, err
	}
	defer release()
	img, _, err := imaging.Decode(ctx, data, lim)
	if err != nil {
		return nil, err
	}
	return img, nil
}

// jobBytes is the memory a job holds at its peak, for the budget: the
// full-size render of its base (the original decoded, two working images
// and the PNG it is stored as), that PNG decoded again, the composite's
// output, and each asset, at most the base's size or the asset limit.
func (s *Service) jobBytes(j Job) int64 {
	orig := int64(j.Base.Original.Width) * int64(j.Base.Original.Height)
	base := int64(j.Base.Width) * int64(j.Base.Height)
	asset := base
	if s.cfg.MaxAssetPixels > 0 {
		asset = min(asset, s.cfg.MaxAssetPixels)
	}
	return 7*orig + 12*base + 8*base + 4*base + 8*asset*int64(len(j.Request.Assets()))
}

// Execute implements Executor: render the snapshot, composite, store the
// result as a PNG blob.
//
// The whole job is admitted against the memory budget first, waiting for
// its turn as long as it takes (no client is kept waiting: the job is
// queued); what it decodes inside is covered by that one reservation.
func (s *Service) Execute(ctx context.Context, j Job, progress func(float64)) (Result, error) {
	release, err := s.deps.Budget.Await(ctx, s.jobBytes(j))
	if err != nil {
		return Result{}, err
	}
	defer release()
	ctx = budget.Covered(ctx)
	base, err := s.deps.Workspaces.Render(ctx, j.Base)
	if err != nil {
		return Result{}, fmt.Errorf("rendering the workspace: %w", err)
	}
	in := Input{Image: base, Request: j.Request, Assets: map[string]*image.NRGBA{}}
	for _, d := range j.Request.Assets() {
		img, err := s.loadAsset(ctx, d)
		if err != nil {
			var pe *problem.Error
			if errors.As(err, &pe) {
				return Result{}, &Failure{Message: "The uploaded image this composite uses has expired; upload it again.", Err: err}
			}
			return Result{}, err
		}
		in.Assets[d] = img
	}
	c := s.builtin
	if j.Request.Mode == ModeAI {
		if c = s.ai; c == nil {
			return Result{}, &Failure{Message: "No AI backend is configured on this server."}
		}
	}
	out, err := c.Compose(ctx, in, progress)
	if err != nil {
		return Result{}, err
	}
	var buf bytes.Buffer
	if err := imaging.Encode(&buf, out, imaging.FormatPNG, 0); err != nil {
		return Result{}, fmt.Errorf("encoding the composite: %w", err)
	}
	d, err := s.deps.Blobs.Put(ctx, buf.Bytes(), s.cfg.TTL)
	if err != nil {
		return Result{}, fmt.Errorf("storing the composite: %w", err)
	}
	return Result{Digest: d, Width: out.Rect.Dx(), Height: out.Rect.Dy()}, nil
}

// Commit implements Executor: append the composite edit to the workspace,
// unless the workspace holds another image by now. A job re-run after its
// lease lapsed (its replica died, or Redis failed over under it) can end
// long after the user uploaded a new image; its composite of the old image
// must not replace the new one.
func (s *Service) Commit(ctx context.Context, j Job, r Result) error {
	cur, err := s.deps.Workspaces.Snapshot(ctx, j.Workspace)
	switch {
	case errors.Is(err, workspace.ErrNotFound) || errors.Is(err, workspace.ErrNoImage):
		return &Failure{Message: "The workspace expired before the composite finished; upload the image again.", Err: err}
	case err != nil:
		return fmt.Errorf("reading the workspace: %w", err)
	case cur.Original.Digest != j.Base.Original.Digest:
		return &Failure{Message: "Another image was uploaded while the composite ran, so it was not applied."}
	}
	op := imaging.Op{Op: imaging.OpComposite, Result: r.Digest, Width: r.Width, Height: r.Height}
	if err := s.deps.Workspaces.AppendEdit(ctx, j.Workspace, op); err != nil {
		var ie *imaging.Error
		if errors.As(err, &ie) {
			return &Failure{Message: "The composite could not be added to the edit list: " + ie.Message, Err: err}
		}
		return fmt.Errorf("adding the composite edit: %w", err)
	}
	return nil
}
