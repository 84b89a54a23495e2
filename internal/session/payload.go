package session

import (
	"encoding/json"
	"fmt"
	"time"
)

// payload is what a Backend stores for one session. It is JSON rather than
// gob: a session written by one version of easel stays readable by the next
// (no type registry to keep in step), and `redis-cli get` shows it plainly.
// Values must therefore have string keys and JSON-able values; numbers come
// back as float64.
type payload struct {
	Created time.Time
	Values  map[any]any
	// Tag names this saved state: each save makes a new random one, which
	// the cookie carries so that a replica can tell whether its cached copy
	// is the one the client last saw. Sessions saved before tags have none.
	Tag string
	// raw is the stored bytes this payload was decoded from: what the
	// backend holds as long as the session is this state.
	raw []byte
}

type wirePayload struct {
	V       int            `json:"v"`
	Created int64          `json:"c"`
	Tag     string         `json:"t,omitempty"`
	Values  map[string]any `json:"d,omitempty"`
}

const payloadVersion = 1

func encodePayload(p payload) ([]byte, error) {
	w := wirePayload{V: payloadVersion, Created: p.Created.UnixMilli(), Tag: p.Tag, Values: make(map[string]any, len(p.Values))}
	for k, v := range p.Values {
		ks, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("encoding session: key %v is a %T; session keys must be strings", k, k)
		}
		w.Values[ks] = v
	}
	data, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encoding session: %w", err)
	}
	return data, nil
}

func decodePayload(data []byte) (payload, error) {
	var w wirePayload
	if err := json.Unmarshal(data, &w); err != nil {
		return payload{}, fmt.Errorf("decoding session: %w", err)
	}
	if w.V != payloadVersion || w.Created <= 0 {
		return payload{}, fmt.Errorf("decoding session: unknown format version %d", w.V)
	}
	p := payload{Created: time.UnixMilli(w.Created), Tag: w.Tag, Values: make(map[any]any, len(w.Values)), raw: data}
	for k, v := range w.Values {
		p.Values[k] = v
	}
	return p, nil
}
