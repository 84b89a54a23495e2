package imaging

import "fmt"

// Code classifies an [Error] so that callers can map it to a response
// (for example 413 for [CodeTooManyPixels], 415 for [CodeUnsupported]).
type Code string

// Error codes returned in [Error.Code].
const (
	// CodeEmpty means no image data was supplied.
	CodeEmpty Code = "empty"
	// CodeUnsupported means the data is not a JPEG, PNG, GIF or WebP image,
	// or an output format is not supported.
	CodeUnsupported Code = "unsupported"
	// CodeTooManyPixels means width×height exceeds [Limits.MaxPixels].
	CodeTooManyPixels Code = "too_many_pixels"
	// CodeCorrupt means the header or the pixel data cannot be decoded.
	CodeCorrupt Code = "corrupt"
	// CodeInvalidOp means an edit operation is malformed or its parameters
	// are out of range for the current image.
	CodeInvalidOp Code = "invalid_op"
	// CodeInvalidArgument means a parameter outside an op, such as an
	// encoder's quality, is out of range.
	CodeInvalidArgument Code = "invalid_argument"
	// CodeUnresolved means a composite operation refers to a result that
	// no resolver could supply.
	CodeUnresolved Code = "unresolved"
)

// Error is the error type returned by this package for conditions a user can
// act on. Callers use [errors.As] to get at it. Message is a full sentence
// suitable for showing to the user; Err, when set, is the underlying cause
// for logs.
type Error struct {
	Code    Code
	Field   string // the offending JSON field of an op, if any
	Message string
	Err     error
}

// Error returns the user-facing message, followed by the cause if there is one.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

func newError(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

func invalidOp(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidOp, Field: field, Message: fmt.Sprintf(format, args...)}
}
