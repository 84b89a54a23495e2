package workspace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/easelhq/easel/internal/store"
	"github.com/redis/go-redis/v9"
)

// Redis is a Store in Redis. A workspace is two keys in one Cluster hash slot
// ({ws:ID}): a hash with the original image, the cursor and the version, and
// a list of edits. Every change is one Lua script, so it is atomic and takes
// one round trip however many replicas change the workspace at once.
type Redis struct {
	client redis.UniversalClient
	prefix string
	ttl    time.Duration
	// guards: a request's Guard key can be passed to a script beside the
	// workspace's keys, which needs them on one server (not Cluster, where
	// they live in different hash slots).
	guards bool
}

// NewRedis returns a Redis workspace store whose workspaces expire ttl after
// their last change.
func NewRedis(client redis.UniversalClient, prefix string, ttl time.Duration) *Redis {
	return &Redis{client: client, prefix: prefix, ttl: ttl, guards: store.OneServer(client)}
}

func (r *Redis) keys(id string) []string {
	base := r.prefix + ":{ws:" + id + "}"
	return []string{base, base + ":edits"}
}

// read is a script's reply for a workspace: {"ok", img, cur, ver, tag,
// edit...}. result is read after a change, which also restarts the expiry
// and stamps the workspace with ARGV[2], a random tag that names this exact
// state (see Workspace.Token). guarded checks a request's Guard, when one
// is passed as KEYS[3] (ARGV[3] the bytes it must hold, ARGV[4] its new
// expiry): every script calls it before it reads or changes anything.
// Script arguments of their own start at ARGV[5].
const read = `
local function guarded()
  if #KEYS < 3 then return true end
  local s = redis.call('GET', KEYS[3])
  if s ~= ARGV[3] then return false, s end
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
  return true
end
local function read()
  local h = redis.call('HMGET', KEYS[1], 'img', 'cur', 'ver', 'tag')
  local out = {'ok', h[1], h[2], h[3], h[4]}
  for _, e in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do out[#out+1] = e end
  return out
end
local function result()
  redis.call('HSET', KEYS[1], 'tag', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
  return read()
end
`

var (
	// getScript reads a workspace in one command: cheaper for client and
	// server than MULTI, HMGET, LRANGE, EXEC, and as atomic.
	getScript = redis.NewScript(read + `
local ok, s = guarded()
if not ok then return {'guard', s} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'notfound'} end
return read()`)

	setOriginalScript = redis.NewScript(read + `
local ok, s = guarded()
if not ok then return {'guard', s} end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'img', ARGV[5], 'cur', 0)
redis.call('HINCRBY', KEYS[1], 'ver', 1)
return result()`)

	appendScript = redis.NewScript(read + `
local ok, s = guarded()
if not ok then return {'guard', s} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'notfound'} end
local want = tonumber(ARGV[6])
if want >= 0 and want ~= tonumber(redis.call('HGET', KEYS[1], 'ver')) then return {'conflict'} end
local cur = tonumber(redis.call('HGET', KEYS[1], 'cur'))
if cur >= tonumber(ARGV[7]) then return {'full'} end
if cur == 0 then redis.call('DEL', KEYS[2]) else redis.call('LTRIM', KEYS[2], 0, cur - 1) end
redis.call('RPUSH', KEYS[2], ARGV[5])
redis.call('HSET', KEYS[1], 'cur', cur + 1)
redis.call('HINCRBY', KEYS[1], 'ver', 1)
return result()`)

	moveScript = redis.NewScript(read + `
local ok, s = guarded()
if not ok then return {'guard', s} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'notfound'} end
local cur = tonumber(redis.call('HGET', KEYS[1], 'cur'))
local n = redis.call('LLEN', KEYS[2])
if ARGV[5] == 'undo' and cur > 0 then cur = cur - 1
elseif ARGV[5] == 'redo' and cur < n then cur = cur + 1
elseif ARGV[5] == 'reset' then cur = 0; redis.call('DEL', KEYS[2]) end
redis.call('HSET', KEYS[1], 'cur', cur)
redis.call('HINCRBY', KEYS[1], 'ver', 1)
return result()`)
)

// Get implements Store.
func (r *Redis) Get(ctx context.Context, id string) (*Workspace, bool, error) {
	w, err := r.run(ctx, getScript, "loading workspace", id)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	return w, err == nil, err
}

// SetOriginal implements Store.
func (r *Redis) SetOriginal(ctx context.Context, id string, img Image) (*Workspace, error) {
	b, err := json.Marshal(img)
	if err != nil {
		return nil, fmt.Errorf("encoding image: %w", err)
	}
	return r.run(ctx, setOriginalScript, "changing workspace", id, string(b))
}

// Append implements Store.
func (r *Redis) Append(ctx context.Context, id string, edit json.RawMessage, ifVersion int64) (*Workspace, error) {
	return r.run(ctx, appendScript, "changing workspace", id, string(edit), ifVersion, MaxEdits)
}

// Move implements Store.
func (r *Redis) Move(ctx context.Context, id string, m Movement) (*Workspace, error) {
	return r.run(ctx, moveScript, "changing workspace", id, string(m))
}

// maxGuardRetries bounds how often a command is retried under a guard whose
// key keeps changing.
const maxGuardRetries = 3

// run runs script s on workspace id with args from ARGV[5] on, under the
// request's Guard while it is not yet held.
func (r *Redis) run(ctx context.Context, s *redis.Script, op, id string, args ...any) (*Workspace, error) {
	keys := r.keys(id)
	argv := append([]any{r.ttl.Milliseconds(), newTag(), "", 0}, args...)
	g := guardFrom(ctx)
	for attempt := 0; ; attempt++ {
		if g.active() {
			if !r.guards {
				return nil, errors.New(op + ": a guard needs standalone Redis or Sentinel, not Cluster")
			}
			keys = append(keys[:2], g.Key)
			argv[2], argv[3] = g.Value, g.TTL.Milliseconds()
		}
		reply, err := r.eval(ctx, s, keys, argv)
		if err != nil {
			return nil, store.Unavailable(op, err)
		}
		if len(reply) == 2 && reply[0] == "guard" && g.active() {
			current, found := reply[1].(string)
			if attempt == maxGuardRetries {
				return nil, ErrConflict
			}
			if err := g.Changed(ctx, []byte(current), found); err != nil {
				return nil, err
			}
			g.Value = []byte(current)
			continue
		}
		if g.active() {
			g.held = true // the script checked it before anything else
		}
		return decode(id, reply)
	}
}

// eval runs script s, in one pipeline after the writes the request's
// store.Batch holds (an upload's image) when there are any.
func (r *Redis) eval(ctx context.Context, s *redis.Script, keys []string, argv []any) ([]any, error) {
	if !store.Pending(ctx) {
		return s.Run(ctx, r.client, keys, argv...).Slice()
	}
	var cmd *redis.Cmd
	if err := store.Send(ctx, r.client, func(p redis.Pipeliner) { cmd = s.EvalSha(ctx, p, keys, argv...) }); err != nil {
		return nil, err
	}
	reply, err := cmd.Slice()
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		// Redis restarted or failed over since the script was loaded:
		// the batched writes are done, the script is sent on its own.
		return s.Run(ctx, r.client, keys, argv...).Slice()
	}
	return reply, err
}

func decode(id string, reply []any) (*Workspace, error) {
	if len(reply) == 0 {
		return nil, errors.New("decoding workspace: empty reply")
	}
	switch reply[0] {
	case "notfound":
		return nil, ErrNotFound
	case "conflict":
		return nil, ErrConflict
	case "full":
		return nil, ErrTooManyEdits
	}
	if len(reply) < 5 {
		return nil, fmt.Errorf("decoding workspace: short reply (%d fields)", len(reply))
	}
	w := &Workspace{ID: id}
	var img Image
	if err := json.Unmarshal([]byte(str(reply[1])), &img); err != nil {
		return nil, fmt.Errorf("decoding workspace image: %w", err)
	}
	w.Original = &img
	var err error
	if w.Cursor, err = strconv.Atoi(str(reply[2])); err != nil {
		return nil, fmt.Errorf("decoding workspace cursor: %w", err)
	}
	if w.Version, err = strconv.ParseInt(str(reply[3]), 10, 64); err != nil {
		return nil, fmt.Errorf("decoding workspace version: %w", err)
	}
	if tag := str(reply[4]); tag != "" {
		// A workspace last changed by an easel from before tags has none:
		// it gets no token, so no replica serves it from memory.
		w.Token = token(w.Version, tag)
	}
	for _, e := range reply[5:] {
		w.Edits = append(w.Edits, json.RawMessage(str(e)))
	}
	w.Cursor = min(w.Cursor, len(w.Edits))
	return w, nil
}

func str(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case int64:
		return strconv.FormatInt(s, 10)
	}
	return ""
}
