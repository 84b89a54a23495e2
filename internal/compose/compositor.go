package compose

import (
	"context"
	"errors"
	"image"
)

// Compositor turns the current image into a composite.
type Compositor interface {
	// Compose returns a new image made from in; in.Image is never modified.
	// progress, when not nil, is called with values from 0 to 1 as the work
	// advances. Errors a user can act on are *Failure values; a cancelled
	// ctx returns ctx's error.
	Compose(ctx context.Context, in Input, progress func(float64)) (*image.NRGBA, error)
}

// Input is what a compositor works on: the request and the images it needs.
type Input struct {
	// Image is the workspace's current image at full resolution.
	Image *image.NRGBA
	// Request says what to do; it has been validated.
	Request Request
	// Assets holds the decoded images the request refers to, by digest.
	Assets map[string]*image.NRGBA
	// Mask, when set, marks (transparent pixels) where a remote AI backend
	// may paint. The built-in compositor ignores it.
	Mask *image.NRGBA
}

// Failure is a composite that failed for a reason the user should read:
// Message is a full sentence; Err, when set, is the cause, for logs only.
type Failure struct {
	Message string
	Err     error
}

// Error returns the message and the cause.
func (f *Failure) Error() string {
	if f.Err != nil {
		return f.Message + ": " + f.Err.Error()
	}
	return f.Message
}

// Unwrap returns the cause.
func (f *Failure) Unwrap() error { return f.Err }

// UserMessage returns what a user should read about err: a Failure's
// message, or a generic sentence for anything else (whose cause goes to the
// log, never to the user).
func UserMessage(err error) string {
	var f *Failure
	if errors.As(err, &f) {
		return f.Message
	}
	return "The composite failed on our side; please try again. The error was logged."
}

// report calls progress if it is set, clamping p to 0…1.
func report(progress func(float64), p float64) {
	if progress != nil {
		progress(min(max(p, 0), 1))
	}
}
