// Package config loads easel's one typed configuration from command-line flags
// and EASEL_* environment variables, and validates it before anything starts.
//
// One naming rule links the two: the flag --session-store is the variable
// EASEL_SESSION_STORE. A flag given on the command line wins over the
// variable; the variable wins over the default.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"
)

// Session store kinds.
const (
	StoreMemory = "memory"
	StoreRedis  = "redis"
)

// AI backends (--ai-backend).
const (
	AIBuiltin = "builtin"
	AIOpenAI  = "openai"
	AIHTTP    = "http"
)

// Cookie secure modes.
const (
	SecureAuto   = "auto"
	SecureAlways = "always"
	SecureNever  = "never"
)

// Config is everything `easel serve` can be told.
type Config struct {
	Addr            string
	PodName         string
	LogFormat       string
	LogLevel        string
	DrainDelay      time.Duration
	ShutdownTimeout time.Duration
	TrustedProxies  []netip.Prefix

	Session Session
	Redis   Redis
	Upload  Upload
	Blobs   Blobs
	Limits  Limits
	Memory  Memory

	BlobCacheBytes int64
	PreviewEdge    int
	AIBackend      string

	AI      AI
	Compose Compose

	aiKeyFile string
}

// AI configures the remote image-edit backends: AIBackend openai (an
// OpenAI-compatible images/edits API) or http (a self-hosted service).
type AI struct {
	BaseURL     string // openai: the API root
	URL         string // http: where each edit is POSTed
	Model       string // openai
	APIKey      string // from --ai-api-key-file, else EASEL_AI_API_KEY; never logged; required with openai, optional with http
	Timeout     time.Duration
	MaxAttempts int
	MaxEdge     int
	Sizes       []string // openai
}

// Compose configures this replica's composite job runner.
type Compose struct {
	Concurrency int
	Lease       time.Duration
	Heartbeat   time.Duration
	Poll        time.Duration
	MaxAttempts int
}

// Session configures the session cookie and its lifetime.
type Session struct {
	Store        string
	Keys         [][]byte
	IdleTTL      time.Duration
	Lifetime     time.Duration
	CookieName   string
	CookieSecure string
	MaxBytes     int
}

// Redis says how to reach Redis: one URL (standalone), Sentinel, or Cluster.
type Redis struct {
	URL            string
	SentinelMaster string
	SentinelAddrs  []string
	ClusterAddrs   []string
	Username       string
	Password       string
	// SentinelUsername and SentinelPassword authenticate to the sentinels
	// when they differ from the data nodes' credentials (the official Valkey
	// chart gives Sentinel its own ACL user); when both are empty the
	// sentinels get Username and Password.
	SentinelUsername string
	SentinelPassword string
	TLS              bool
	Prefix           string
}

// Configured reports whether any Redis connection setting was given.
func (r Redis) Configured() bool {
	return r.URL != "" || r.SentinelMaster != "" || len(r.ClusterAddrs) > 0
}

// Upload bounds what a user may upload.
type Upload struct {
	MaxBytes  int64
	MaxPixels int64
}

// Error is a configuration problem: it names the setting and what it accepts.
type Error struct {
	Setting string // the flag name, e.g. "session-store"
	Msg     string
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid setting --%s (%s): %s", e.Setting, EnvName(e.Setting), e.Msg)
}

// EnvName maps a flag name to its environment variable: session-store → EASEL_SESSION_STORE.
func EnvName(flagName string) string {
	return "EASEL_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Load parses args (without the program and subcommand names) and the
// environment given by getenv. It returns flag.ErrHelp when --help was asked
// for (the usage has then been written to out).
func Load(args []string, getenv func(string) string, out io.Writer) (*Config, error) {
	fs := flag.NewFlagSet("easel serve", flag.ContinueOnError)
	fs.SetOutput(out)
	raw := defineFlags(fs)
	fs.Usage = func() { usage(fs, out) }
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q: easel serve takes only flags (see --help)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		if v := getenv(EnvName(f.Name)); v != "" {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, &Error{Setting: f.Name, Msg: err.Error()})
			}
		}
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cfg, err := raw.build()
	if err != nil {
		return nil, err
	}
	if err := cfg.loadAIKey(getenv); err != nil {
		return nil, err
	}
	if cfg.Blobs.Store == BlobS3 {
		cfg.Blobs.S3.loadAWSEnv(getenv)
	}
	if cfg.PodName == "" {
		if h, err := os.Hostname(); err == nil {
			cfg.PodName = h
		} else {
			cfg.PodName = "easel"
		}
	}
	return cfg, nil
}

// loadAIKey reads the AI API key from --ai-api-key-file, else from the
// EASEL_AI_API_KEY variable (deliberately not a flag: flags show in ps).
func (c *Config) loadAIKey(getenv func(string) string) error {
	c.AI.APIKey = strings.TrimSpace(getenv("EASEL_AI_API_KEY"))
	if f := c.aiKeyFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return &Error{Setting: "ai-api-key-file", Msg: fmt.Sprintf("cannot read the key: %v", err)}
		}
		c.AI.APIKey = strings.TrimSpace(string(b))
	}
	if c.AIBackend == AIOpenAI && c.AI.APIKey == "" {
		return &Error{Setting: "ai-api-key-file", Msg: "--ai-backend openai needs an API key: a file here, or the EASEL_AI_API_KEY variable"}
	}
	// The http backend's key is optional, but a key file that was given
	// and is empty is a mistake (a Secret mounted without its key, say),
	// not a wish to send none.
	if c.AIBackend == AIHTTP && c.aiKeyFile != "" && c.AI.APIKey == "" {
		return &Error{Setting: "ai-api-key-file", Msg: fmt.Sprintf("%s is empty; leave the setting unset to send no key", c.aiKeyFile)}
	}
	return nil
}

func usage(fs *flag.FlagSet, out io.Writer) {
	fmt.Fprint(out, `Usage: easel serve [flags]

Serves the easel web editor and its /api/v1 JSON API. Every flag can also be
set through its environment variable (--session-store ↔ EASEL_SESSION_STORE);
a flag on the command line wins.

Flags:
`)
	fs.VisitAll(func(f *flag.Flag) {
		name, help := flag.UnquoteUsage(f)
		fmt.Fprintf(out, "  --%s %s\n    \t%s", f.Name, name, help)
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.DefValue != "[]" {
			fmt.Fprintf(out, " (default %s)", f.DefValue)
		}
		fmt.Fprintf(out, " [%s]\n", EnvName(f.Name))
	})
}
