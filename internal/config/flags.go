package config

import (
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// rawFlags holds the parsed flag values before validation.
type rawFlags struct {
	addr, podName, logFormat, logLevel     string
	drainDelay, shutdownTimeout            time.Duration
	trustedProxies                         string
	store, keys, cookieName, cookieSecure  string
	idleTTL, lifetime                      time.Duration
	sessionMaxBytes                        byteSize
	redisURL, sentinelMaster               string
	sentinelAddrs, clusterAddrs            string
	redisUser, redisPassword, redisPrefix  string
	sentinelUser, sentinelPassword         string
	redisTLS                               bool
	maxUploadBytes, blobCacheBytes         byteSize
	maxUploadPixels                        int64
	previewEdge                            int
	aiBackend                              string
	aiBaseURL, aiModel, aiKeyFile, aiSizes string
	aiURL                                  string
	aiTimeout                              time.Duration
	aiMaxAttempts, aiMaxEdge               int
	composeConcurrency, composeAttempts    int
	composeLease, composeHeartbeat         time.Duration
	composePoll                            time.Duration
	blobs                                  *blobFlags
	limits                                 *limitFlags
	memory                                 *memoryFlags
}

func defineFlags(fs *flag.FlagSet) *rawFlags {
	r := &rawFlags{sessionMaxBytes: 8 << 10, maxUploadBytes: 25 << 20, blobCacheBytes: 256 << 20}
	fs.StringVar(&r.addr, "addr", ":8080", "`address` to listen on")
	fs.StringVar(&r.podName, "pod-name", "", "replica `name` shown in X-Served-By (default: the host name)")
	fs.StringVar(&r.logFormat, "log-format", "auto", "log `format`: json, text, or auto (text on a terminal, else json)")
	fs.StringVar(&r.logLevel, "log-level", "info", "log `level`: debug, info, warn, error")
	fs.DurationVar(&r.drainDelay, "drain-delay", 5*time.Second, "after SIGTERM, how long to keep serving while /readyz fails, so load balancers stop sending traffic")
	fs.DurationVar(&r.shutdownTimeout, "shutdown-timeout", 15*time.Second, "how long in-flight requests may take to finish after the drain delay")
	fs.StringVar(&r.trustedProxies, "trusted-proxies", "127.0.0.0/8,::1/128", "comma-separated `CIDRs` of proxies whose X-Forwarded-For/-Proto headers are believed")
	fs.StringVar(&r.store, "session-store", StoreMemory, "session `store`: memory (one replica, no Redis) or redis (any number of replicas)")
	fs.StringVar(&r.keys, "session-keys", "", "comma-separated session signing `keys` (each at least 32 characters); the first signs, all verify, so keys can be rotated. Required with the redis store, and the same on every replica")
	fs.DurationVar(&r.idleTTL, "session-ttl", 30*time.Minute, "sliding idle timeout of a session")
	fs.DurationVar(&r.lifetime, "session-lifetime", 24*time.Hour, "absolute lifetime of a session, however active")
	fs.Var(&r.sessionMaxBytes, "session-max-bytes", "largest serialized session `size` (e.g. 8KiB); sessions hold references, never images")
	fs.StringVar(&r.cookieName, "cookie-name", "easel_session", "session cookie `name`")
	fs.StringVar(&r.cookieSecure, "cookie-secure", SecureAuto, "Secure cookie `mode`: auto (when the request is HTTPS, directly or per a trusted proxy's X-Forwarded-Proto), always, never")
	fs.StringVar(&r.redisURL, "redis-url", "", "standalone Redis `URL`: redis://[user:password@]host:port/db, or rediss:// for TLS")
	fs.StringVar(&r.sentinelMaster, "redis-sentinel-master", "", "Sentinel master `name` (use with --redis-sentinel-addrs)")
	fs.StringVar(&r.sentinelAddrs, "redis-sentinel-addrs", "", "comma-separated Sentinel `host:port` addresses")
	fs.StringVar(&r.clusterAddrs, "redis-cluster-addrs", "", "comma-separated Redis Cluster seed `host:port` addresses")
	fs.StringVar(&r.sentinelUser, "redis-sentinel-username", "", "ACL `user` for the sentinels, when they do not take the data nodes' credentials (default: --redis-username)")
	fs.StringVar(&r.sentinelPassword, "redis-sentinel-password", "", "`password` for the sentinels, when they do not take the data nodes' credentials (default: --redis-password; prefer the environment variable)")
	fs.StringVar(&r.redisUser, "redis-username", "", "Redis ACL `user` (overrides the URL's)")
	fs.StringVar(&r.redisPassword, "redis-password", "", "Redis `password` (overrides the URL's; prefer the environment variable)")
	fs.BoolVar(&r.redisTLS, "redis-tls", false, "use TLS to Redis (implied by rediss://)")
	fs.StringVar(&r.redisPrefix, "redis-prefix", "easel", "`prefix` of every Redis key easel writes")
	fs.Var(&r.maxUploadBytes, "max-upload-bytes", "largest upload `size` (e.g. 25MiB)")
	fs.Int64Var(&r.maxUploadPixels, "max-upload-pixels", 50_000_000, "largest upload in `pixels` (width × height), checked before decoding")
	fs.Var(&r.blobCacheBytes, "blob-cache-bytes", "per-replica in-memory cache of immutable image blobs (`size`, e.g. 256MiB; 0 disables)")
	fs.IntVar(&r.previewEdge, "preview-edge", 1600, "long edge of the editor's preview in `pixels`")
	fs.StringVar(&r.aiBackend, "ai-backend", "builtin", "composite `backend`: builtin (pure Go, no external service), openai (an OpenAI-compatible images/edits API) or http (a self-hosted image-edit service, see --ai-url); openai and http also enable the prompt-driven \"ai\" mode")
	fs.StringVar(&r.aiBaseURL, "ai-base-url", "", "openai: API root `URL`, e.g. https://api.openai.com (required with --ai-backend openai)")
	fs.StringVar(&r.aiURL, "ai-url", "", "http: the `URL` each edit is POSTed to as multipart image, mask and prompt, answered with the edited image, e.g. http://inpaint.default.svc:8080/edit (required with --ai-backend http)")
	fs.StringVar(&r.aiModel, "ai-model", "gpt-image-1", "openai: `model` name sent with each request")
	fs.StringVar(&r.aiKeyFile, "ai-api-key-file", "", "`file` holding the AI API key, sent as a bearer token: required with openai, optional with http (else the EASEL_AI_API_KEY variable; there is no flag for the key itself, so it never shows in ps)")
	fs.DurationVar(&r.aiTimeout, "ai-timeout", 120*time.Second, "openai and http: deadline of one AI call")
	fs.IntVar(&r.aiMaxAttempts, "ai-max-attempts", 3, "openai and http: tries per AI edit (retries on 429, 5xx, timeouts and connection errors, with backoff; Retry-After is honoured)")
	fs.IntVar(&r.aiMaxEdge, "ai-max-edge", 1024, "openai and http: longest side in `pixels` sent to the AI service (larger images are scaled down first, and the result back up)")
	fs.StringVar(&r.aiSizes, "ai-sizes", "1024x1024,1536x1024,1024x1536", "openai: comma-separated `sizes` the API accepts; the nearest aspect ratio is sent")
	fs.IntVar(&r.composeConcurrency, "compose-concurrency", 2, "most composite jobs this replica runs at once (more wait in the shared queue)")
	fs.DurationVar(&r.composeLease, "compose-lease", 10*time.Second, "how long a running job's claim lasts without a heartbeat: after that, another replica takes the job over")
	fs.DurationVar(&r.composeHeartbeat, "compose-heartbeat", 2*time.Second, "how often a running job renews its lease and records progress")
	fs.DurationVar(&r.composePoll, "compose-poll", time.Second, "how often an idle replica looks for queued jobs")
	fs.IntVar(&r.composeAttempts, "compose-max-attempts", 3, "claims a job gets before an interrupted job is failed instead of retried")
	r.blobs = defineBlobFlags(fs)
	r.limits = defineLimitFlags(fs)
	r.memory = defineMemoryFlags(fs)
	return r
}

func (r *rawFlags) build() (*Config, error) {
	c := &Config{
		Addr: r.addr, PodName: r.podName, DrainDelay: r.drainDelay, ShutdownTimeout: r.shutdownTimeout,
		BlobCacheBytes: int64(r.blobCacheBytes), PreviewEdge: r.previewEdge, AIBackend: r.aiBackend, aiKeyFile: r.aiKeyFile,
		Session: Session{
			Store: r.store, IdleTTL: r.idleTTL, Lifetime: r.lifetime, CookieName: r.cookieName,
			CookieSecure: r.cookieSecure, MaxBytes: int(r.sessionMaxBytes),
		},
		Redis: Redis{
			URL: r.redisURL, SentinelMaster: r.sentinelMaster, SentinelAddrs: splitList(r.sentinelAddrs),
			ClusterAddrs: splitList(r.clusterAddrs), Username: r.redisUser, Password: r.redisPassword,
			SentinelUsername: r.sentinelUser, SentinelPassword: r.sentinelPassword,
			TLS: r.redisTLS, Prefix: r.redisPrefix,
		},
		Upload: Upload{MaxBytes: int64(r.maxUploadBytes), MaxPixels: r.maxUploadPixels},
		AI: AI{BaseURL: r.aiBaseURL, URL: r.aiURL, Model: r.aiModel, Timeout: r.aiTimeout, MaxAttempts: r.aiMaxAttempts,
			MaxEdge: r.aiMaxEdge, Sizes: splitList(r.aiSizes)},
		Compose: Compose{Concurrency: r.composeConcurrency, Lease: r.composeLease, Heartbeat: r.composeHeartbeat,
			Poll: r.composePoll, MaxAttempts: r.composeAttempts},
	}
	checks := []struct {
		setting string
		ok      bool
		msg     string
		got     any
	}{
		{"log-format", oneOf(r.logFormat, "auto", "json", "text"), "must be auto, json or text", r.logFormat},
		{"log-level", oneOf(strings.ToLower(r.logLevel), "debug", "info", "warn", "error"), "must be debug, info, warn or error", r.logLevel},
		{"session-store", oneOf(r.store, StoreMemory, StoreRedis), "must be memory or redis", r.store},
		{"cookie-secure", oneOf(r.cookieSecure, SecureAuto, SecureAlways, SecureNever), "must be auto, always or never", r.cookieSecure},
		{"ai-backend", oneOf(r.aiBackend, AIBuiltin, AIOpenAI, AIHTTP), "must be builtin, openai or http", r.aiBackend},
		{"ai-base-url", r.aiBackend != AIOpenAI || httpURL(r.aiBaseURL), "must be an http(s) URL when --ai-backend is openai", r.aiBaseURL},
		{"ai-url", r.aiBackend != AIHTTP || httpURL(r.aiURL), "must be an http(s) URL, such as http://inpaint:8080/edit, when --ai-backend is http", r.aiURL},
		{"ai-timeout", r.aiTimeout > 0, "must be positive", r.aiTimeout},
		{"ai-max-attempts", r.aiMaxAttempts >= 1 && r.aiMaxAttempts <= 10, "must be from 1 to 10", r.aiMaxAttempts},
		{"ai-max-edge", r.aiMaxEdge >= 64 && r.aiMaxEdge <= 8192, "must be from 64 to 8192", r.aiMaxEdge},
		{"compose-concurrency", r.composeConcurrency >= 1 && r.composeConcurrency <= 64, "must be from 1 to 64", r.composeConcurrency},
		{"compose-heartbeat", r.composeHeartbeat > 0 && r.composeHeartbeat*2 <= r.composeLease, "must be positive and at most half of --compose-lease", r.composeHeartbeat},
		{"compose-poll", r.composePoll > 0, "must be positive", r.composePoll},
		{"compose-max-attempts", r.composeAttempts >= 1, "must be at least 1", r.composeAttempts},
		{"session-ttl", r.idleTTL >= time.Second, "must be at least 1s", r.idleTTL},
		{"session-lifetime", r.lifetime >= r.idleTTL, "must be at least --session-ttl", r.lifetime},
		{"session-max-bytes", r.sessionMaxBytes >= 1<<10 && r.sessionMaxBytes <= 1<<20, "must be between 1KiB and 1MiB", r.sessionMaxBytes},
		{"drain-delay", r.drainDelay >= 0, "must not be negative", r.drainDelay},
		{"shutdown-timeout", r.shutdownTimeout > 0, "must be positive", r.shutdownTimeout},
		{"max-upload-bytes", r.maxUploadBytes > 0, "must be positive", r.maxUploadBytes},
		{"max-upload-pixels", r.maxUploadPixels > 0, "must be positive", r.maxUploadPixels},
		{"blob-cache-bytes", r.blobCacheBytes >= 0, "must not be negative", r.blobCacheBytes},
		{"preview-edge", r.previewEdge >= 64 && r.previewEdge <= 8192, "must be between 64 and 8192", r.previewEdge},
		{"cookie-name", validCookieName(r.cookieName), "must be a non-empty cookie token (letters, digits, - and _)", r.cookieName},
		{"redis-prefix", r.redisPrefix != "" && !strings.ContainsAny(r.redisPrefix, "{} "), "must be non-empty, without braces or spaces", r.redisPrefix},
		{"redis-sentinel-addrs", (r.sentinelMaster == "") == (r.sentinelAddrs == ""), "--redis-sentinel-master and --redis-sentinel-addrs go together", r.sentinelAddrs},
	}
	for _, ck := range checks {
		if !ck.ok {
			return nil, &Error{Setting: ck.setting, Msg: fmt.Sprintf("%s (got %q)", ck.msg, fmt.Sprint(ck.got))}
		}
	}
	c.LogFormat, c.LogLevel = r.logFormat, strings.ToLower(r.logLevel)
	if err := c.parseProxies(r.trustedProxies); err != nil {
		return nil, err
	}
	if err := c.parseKeys(r.keys); err != nil {
		return nil, err
	}
	if err := c.checkRedis(); err != nil {
		return nil, err
	}
	var err error
	if c.Blobs, err = r.blobs.build(r.store); err != nil {
		return nil, err
	}
	if c.Limits, err = r.limits.build(int64(r.maxUploadBytes)); err != nil {
		return nil, err
	}
	if c.Memory, err = r.memory.build(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) parseProxies(s string) error {
	for _, p := range splitList(s) {
		if !strings.Contains(p, "/") {
			p += "/32"
			if strings.Contains(p, ":") {
				p = strings.TrimSuffix(p, "/32") + "/128"
			}
		}
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return &Error{Setting: "trusted-proxies", Msg: fmt.Sprintf("%q is not a CIDR such as 10.0.0.0/8", p)}
		}
		c.TrustedProxies = append(c.TrustedProxies, pfx)
	}
	return nil
}

func (c *Config) parseKeys(s string) error {
	for i, k := range splitList(s) {
		if len(k) < 32 {
			return &Error{Setting: "session-keys", Msg: fmt.Sprintf("key %d is %d characters long; each key needs at least 32 (try: openssl rand -base64 48)", i+1, len(k))}
		}
		c.Session.Keys = append(c.Session.Keys, []byte(k))
	}
	return nil
}

func (c *Config) checkRedis() error {
	modes := 0
	for _, set := range []bool{c.Redis.URL != "", c.Redis.SentinelMaster != "", len(c.Redis.ClusterAddrs) > 0} {
		if set {
			modes++
		}
	}
	if modes > 1 {
		return &Error{Setting: "redis-url", Msg: "give one of --redis-url, --redis-sentinel-master/--redis-sentinel-addrs or --redis-cluster-addrs, not several"}
	}
	if c.Redis.URL != "" && !strings.HasPrefix(c.Redis.URL, "redis://") && !strings.HasPrefix(c.Redis.URL, "rediss://") {
		return &Error{Setting: "redis-url", Msg: "must start with redis:// or rediss://"}
	}
	if c.Session.Store != StoreRedis {
		return nil
	}
	if modes == 0 {
		return &Error{Setting: "session-store", Msg: "redis needs a connection: set --redis-url, --redis-sentinel-master with --redis-sentinel-addrs, or --redis-cluster-addrs"}
	}
	if len(c.Session.Keys) == 0 {
		return &Error{Setting: "session-keys", Msg: "the redis store needs shared signing keys: a replica that invents its own key cannot read the cookies the other replicas sign, which breaks the very sessions Redis is there to share"}
	}
	return nil
}

// httpURL reports whether s is an absolute http:// or https:// URL with a host.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

func validCookieName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if ok := r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'; !ok {
			return false
		}
	}
	return true
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
