// Package compose runs the composite step of the editor: a compositor turns
// the workspace's current image into a new one, either in pure Go (background
// replacement, overlay with blend modes) or through a remote image-edit
// service: an OpenAI-compatible images/edits API (OpenAI) or a self-hosted
// model speaking easel's simpler multipart protocol (HTTP). Both share one
// client (remote) for retries, timeouts, key redaction and scaling.
//
// A composite never runs inside a request. Submit validates the request,
// snapshots the workspace and stores a queued Job in a JobStore that every
// replica shares; a Runner on any replica claims it, holds a lease on it
// while it runs (renewed by a heartbeat), stores the result as a blob and
// appends a composite edit to the workspace, so the result can be undone
// like any edit. A job whose replica dies is taken over by another runner
// when its lease lapses, or failed with a clear reason after too many
// attempts: it never stays "running".
package compose
