package kube

import (
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Sentinels for errors.Is.
var (
	// ErrNotFound: the Deployment or pod does not exist.
	ErrNotFound = errors.New("not found")
	// ErrForbidden: RBAC does not allow the caller a verb on a resource.
	ErrForbidden = errors.New("forbidden")
	// ErrTimeout: a rollout did not finish before its deadline.
	ErrTimeout = errors.New("timed out")
	// ErrNoReadyPod: the Deployment has no ready pod to delete.
	ErrNoReadyPod = errors.New("no ready pod")
)

// NotFoundError says which object does not exist.
type NotFoundError struct {
	// Kind is "deployment" or "pod".
	Kind            string
	Namespace, Name string
	// Err is the API server's error.
	Err error
}

// Error returns e.g. "deployment default/easel not found".
func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s %s/%s not found", e.Kind, e.Namespace, e.Name)
}

// Unwrap returns the API server's error.
func (e *NotFoundError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// ForbiddenError says which verb on which resource RBAC denied, so that the
// missing Role rule can be added.
type ForbiddenError struct {
	// Verb is the API verb, such as "patch".
	Verb string
	// Resource is the resource with its subresource, such as
	// "deployments/scale"; Group its API group ("" for the core group).
	Resource, Group string
	Namespace       string
	// Err is the API server's error, which names the user.
	Err error
}

// Error names the verb, resource, group and namespace, then the server's
// message.
func (e *ForbiddenError) Error() string {
	group := e.Group
	if group == "" {
		group = `"" (core)`
	} else {
		group = fmt.Sprintf("%q", group)
	}
	return fmt.Sprintf("forbidden: RBAC does not allow verb %q on resource %q in API group %s in namespace %q; add that rule to a Role bound to this user: %v",
		e.Verb, e.Resource, group, e.Namespace, e.Err)
}

// Unwrap returns the API server's error.
func (e *ForbiddenError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrForbidden) true.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

// TimeoutError says what a rollout still lacked when its deadline passed.
type TimeoutError struct {
	// Message is e.g. "deployment default/easel: 2 of 3 replicas available
	// after 2m0s (updated 3, ready 2)".
	Message string
}

// Error returns the message.
func (e *TimeoutError) Error() string { return e.Message }

// Is makes errors.Is(err, ErrTimeout) true.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// call describes one API request, to turn its error into a clear one.
type call struct {
	verb, resource, group string
	kind, namespace, name string
}

// classify turns the API server's not-found and forbidden errors for c into
// NotFoundError and ForbiddenError; other errors pass unchanged.
func classify(err error, c call) error {
	switch {
	case err == nil:
		return nil
	case apierrors.IsNotFound(err):
		return &NotFoundError{Kind: c.kind, Namespace: c.namespace, Name: c.name, Err: err}
	case apierrors.IsForbidden(err):
		return &ForbiddenError{Verb: c.verb, Resource: c.resource, Group: c.group, Namespace: c.namespace, Err: err}
	}
	return err
}

// fatal reports whether err will not go away by itself: the Deployment is
// gone or RBAC forbids the action. A pod that vanished is not fatal.
func fatal(err error) bool {
	var nf *NotFoundError
	if errors.As(err, &nf) && nf.Kind == "deployment" {
		return true
	}
	return errors.Is(err, ErrForbidden)
}
