package drivers

import (
	"errors"
	"fmt"
)

// The driver contract's errors. Every driver returns them inside a
// *LayerError (or, for ErrNotSupported, a *NotSupportedError), so that a
// caller decides with errors.Is what happened and with errors.As which
// driver, operation and layer it happened to, and never by reading the
// message.
var (
	// ErrNotSupported is matched by every error that means "this driver or
	// variant cannot run on this host"; errors.Is(err, ErrNotSupported) is
	// how tests decide to skip and reports decide to print "n/a".
	ErrNotSupported = errors.New("driver not supported")
	// ErrUnknownLayer: the operation names a layer (or a parent) that this
	// driver does not have.
	ErrUnknownLayer = errors.New("unknown layer")
	// ErrLayerExists: Create or CreateReadWrite names a layer that exists.
	ErrLayerExists = errors.New("layer already exists")
	// ErrLayerHasChildren: Remove names a layer other layers are built on.
	ErrLayerHasChildren = errors.New("layer has child layers")
	// ErrLayerBusy: the layer is still being created or already being
	// removed by a concurrent call.
	ErrLayerBusy = errors.New("layer is busy")
)

// LayerError is an operation on one layer that failed. Err is one of the
// sentinels above (possibly wrapped with detail) or whatever the
// filesystem returned.
type LayerError struct {
	Driver string // the variant name, e.g. "overlay2+metacopy=on"
	Op     string // "create", "mount", "unmount", "remove", "usage", "depth"
	ID     string // the layer the operation was asked for
	Err    error
}

func (e *LayerError) Error() string {
	return fmt.Sprintf("%s: %s layer %q: %v", e.Driver, e.Op, e.ID, e.Err)
}

func (e *LayerError) Unwrap() error { return e.Err }

// UnknownParent is the error of a create on a parent the driver does not
// have: it matches ErrUnknownLayer and names both layers.
func UnknownParent(driver, id, parent string) error {
	return &LayerError{Driver: driver, Op: "create", ID: id, Err: fmt.Errorf("parent %q: %w", parent, ErrUnknownLayer)}
}

// NotSupportedError says why a driver or variant cannot run on this host.
// It matches ErrNotSupported, so errors.Is callers need not know the type;
// errors.As gives the reason without parsing the message.
type NotSupportedError struct {
	Driver  string // the registered driver name
	Variant string // the variant asked for ("overlay2+metacopy=on"); "" until New fills it in
	Reason  string // why, in words, e.g. "overlay is not in /proc/filesystems"
	Err     error  // what the experiment failed with (a mount's errno), or nil
}

// NotSupported returns a *NotSupportedError with a reason.
func NotSupported(driver, format string, args ...any) error {
	return &NotSupportedError{Driver: driver, Reason: fmt.Sprintf(format, args...)}
}

// Unsupported is NotSupported for a reason that has an error behind it: the
// error stays in the chain, so errors.Is(err, unix.EINVAL) still finds the
// kernel's errno.
func Unsupported(driver string, cause error, format string, args ...any) error {
	return &NotSupportedError{Driver: driver, Reason: fmt.Sprintf(format, args...), Err: cause}
}

func (e *NotSupportedError) Error() string {
	name := e.Variant
	if name == "" {
		name = e.Driver
	}
	return name + ": " + e.Why() + ": " + ErrNotSupported.Error()
}

// Why is the reason followed by the cause, if there is one: what a report
// prints after "n/a".
func (e *NotSupportedError) Why() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Err.Error()
}

// Is makes every NotSupportedError match ErrNotSupported.
func (e *NotSupportedError) Is(target error) bool { return target == ErrNotSupported }

func (e *NotSupportedError) Unwrap() error { return e.Err }

// Reason is why err says a driver cannot run: the Why of the
// *NotSupportedError in its chain, or for an ErrNotSupported from elsewhere
// (a scenario's own limit) the whole message.
func Reason(err error) string {
	var ns *NotSupportedError
	if errors.As(err, &ns) {
		return ns.Why()
	}
	return err.Error()
}

// DepthError is returned when a layer would exceed a driver's depth limit.
type DepthError struct {
	Driver string
	Depth  int
	Max    int
}

func (e *DepthError) Error() string {
	return fmt.Sprintf("%s: a stack of %d layers exceeds this driver's limit of %d", e.Driver, e.Depth, e.Max)
}
