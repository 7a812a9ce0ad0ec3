package drivers

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Deepest asks for the driver's own limit; 0 keeps its default; a depth
// beyond the limit is a *DepthError that says why.
func TestDepthLimit(t *testing.T) {
	got, err := DepthLimit("overlay2", Deepest, 129, 501, "")
	require.NoError(t, err)
	assert.Equal(t, 501, got)
	got, err = DepthLimit("overlay2", 0, 129, 501, "")
	require.NoError(t, err)
	assert.Equal(t, 129, got)
	got, err = DepthLimit("overlay2", 7, 129, 501, "")
	require.NoError(t, err)
	assert.Equal(t, 7, got)
	_, err = DepthLimit("overlay2", -2, 129, 501, "")
	assert.ErrorContains(t, err, "out of range")
	_, err = DepthLimit("overlay2", 502, 129, 501, "the kernel's 500")
	var de *DepthError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, DepthError{Driver: "overlay2", Depth: 502, Max: 501}, *de)
	assert.ErrorContains(t, err, "the kernel's 500")
}

func TestNotSupportedErrorMatchesTheSentinel(t *testing.T) {
	err := fmt.Errorf("probe: %w", Unsupported("overlay2", unix.EINVAL, "the kernel refuses %s", "metacopy=on"))
	assert.ErrorIs(t, err, ErrNotSupported, "every existing errors.Is caller keeps working")
	assert.ErrorIs(t, err, unix.EINVAL, "the cause stays in the chain")
	var ns *NotSupportedError
	require.ErrorAs(t, err, &ns)
	assert.Equal(t, "the kernel refuses metacopy=on", ns.Reason)
	assert.Equal(t, "the kernel refuses metacopy=on: invalid argument", Reason(err), "the reason comes from the type")
	assert.Equal(t, "probe: overlay2: the kernel refuses metacopy=on: invalid argument: driver not supported", err.Error())

	ns.Variant = "overlay2+metacopy=on"
	assert.Equal(t, "overlay2+metacopy=on: the kernel refuses metacopy=on: invalid argument: driver not supported", ns.Error())

	plain := NotSupported("vfs", "needs root (running as uid %d)", 1000)
	assert.Equal(t, "needs root (running as uid 1000)", Reason(plain))
	assert.NotErrorIs(t, errors.New("driver not supported"), ErrNotSupported, "a message alone does not match")
	other := fmt.Errorf("depth 200 under a container: %w", ErrNotSupported)
	assert.Equal(t, other.Error(), Reason(other), "an ErrNotSupported from elsewhere gives its whole message")
}

func TestLayerErrorUnwrapsToItsSentinel(t *testing.T) {
	err := fmt.Errorf("scenario: %w", UnknownParent("vfs", "orphan", "nope"))
	assert.ErrorIs(t, err, ErrUnknownLayer)
	assert.NotErrorIs(t, err, ErrLayerExists)
	var le *LayerError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, "vfs", le.Driver)
	assert.Equal(t, "create", le.Op)
	assert.Equal(t, "orphan", le.ID)
	assert.Equal(t, `scenario: vfs: create layer "orphan": parent "nope": unknown layer`, err.Error())
}
