// Package upload reads an uploaded image out of a multipart request within
// the configured limits, for both the web pages and the API.
package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"

	"github.com/easelhq/easel/internal/problem"
)

// Overhead is what a multipart body may carry beyond the file itself
// (boundaries, headers, the CSRF field).
const Overhead = 64 << 10

// Admitter admits work by the bytes of memory it holds (budget.Budget).
type Admitter interface {
	Acquire(ctx context.Context, n int64) (release func(), err error)
}

// Reader reads uploads within a size limit and a memory budget.
type Reader struct {
	Max    int64    // largest file in bytes
	Budget Admitter // nil: no budget
}

// Read is [Read] under r's memory budget: while the body is parsed it is
// held twice (the parsed form and the copy returned), so twice its
// declared length (else the limit) is admitted before it is read, and
// given back once Read returns. The caller's next step admits the bytes it
// keeps together with its own work (workspace.Service.Upload does), and
// must not be holding this reservation then: one request never holds one
// reservation while it waits for another, or it could wait for itself. A
// busy replica's refusal (a problem.Refusal) reads nothing.
func (rd Reader) Read(r *http.Request, field string) ([]byte, error) {
	release, err := rd.Admit(r)
	if err != nil {
		return nil, err
	}
	defer release()
	return Read(r, field, rd.Max)
}

// ReadOptional is [ReadOptional] under the memory budget, as [Reader.Read].
func (rd Reader) ReadOptional(r *http.Request, field string) (data []byte, found bool, err error) {
	release, err := rd.Admit(r)
	if err != nil {
		return nil, false, err
	}
	defer release()
	return ReadOptional(r, field, rd.Max)
}

// Admit admits r's body as [Reader.Read] does, for a handler that must
// parse the form (r.FormValue) before it knows which file to read: it then
// calls the package's Read under this reservation and releases it before
// its next admission.
func (rd Reader) Admit(r *http.Request) (release func(), err error) {
	n := rd.Max + Overhead
	if r.ContentLength > 0 && r.ContentLength < n {
		n = r.ContentLength
	}
	if r.ContentLength > rd.Max+Overhead || rd.Budget == nil {
		return func() {}, nil // refused by Read without reading, or no budget
	}
	return rd.Budget.Acquire(r.Context(), 2*n)
}

// Read returns the bytes of the multipart file field, which must not exceed
// max bytes. The request body must already be capped (http.MaxBytesReader at
// max+Overhead), so that parsing cannot read an unbounded body. Errors are
// *problem.Error values that say what to fix.
func Read(r *http.Request, field string, max int64) ([]byte, error) {
	if r.ContentLength > max+Overhead {
		return nil, tooLarge(max)
	}
	// Keep the file in memory (no temp files: the root filesystem may be
	// read-only); the body cap bounds it.
	if err := r.ParseMultipartForm(max + Overhead); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(max)
		}
		return nil, &problem.Error{Status: http.StatusBadRequest, Field: field,
			Detail: "send the image as multipart/form-data with the file in the field \"" + field + "\""}
	}
	fh, err := formFile(r, field)
	if err != nil {
		return nil, err
	}
	if fh.Size > max {
		return nil, tooLarge(max)
	}
	f, err := fh.Open()
	if err != nil {
		return nil, fmt.Errorf("opening upload: %w", err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading upload: %w", err)
	}
	if int64(len(data)) > max {
		return nil, tooLarge(max)
	}
	if len(data) == 0 {
		return nil, &problem.Error{Status: http.StatusBadRequest, Field: field, Detail: "the file is empty: choose a photo to upload"}
	}
	return data, nil
}

// ReadOptional is Read for a file field the form may leave empty: found is
// false (with a nil error) when no file was chosen.
func ReadOptional(r *http.Request, field string, max int64) (data []byte, found bool, err error) {
	data, err = Read(r, field, max)
	var pe *problem.Error
	if errors.As(err, &pe) && pe.Status == http.StatusBadRequest && r.MultipartForm != nil {
		if fhs := r.MultipartForm.File[field]; len(fhs) == 0 || fhs[0].Size == 0 {
			return nil, false, nil
		}
	}
	return data, err == nil, err
}

func formFile(r *http.Request, field string) (*multipart.FileHeader, error) {
	if r.MultipartForm != nil && len(r.MultipartForm.File[field]) > 0 {
		return r.MultipartForm.File[field][0], nil
	}
	return nil, &problem.Error{Status: http.StatusBadRequest, Field: field, Detail: "please choose a file to upload (form field \"" + field + "\")"}
}

func tooLarge(max int64) error {
	return &problem.Error{Status: http.StatusRequestEntityTooLarge, Field: "image",
		Detail: fmt.Sprintf("the file is larger than the upload limit of %s", human(max))}
}

func human(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
