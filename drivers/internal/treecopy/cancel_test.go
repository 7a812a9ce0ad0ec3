package treecopy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countdownCtx is a context that is done from its n+1st Err call on, so a
// test can stop a copy at every point where Copy looks at its context.
type countdownCtx struct {
	context.Context
	n, calls int
}

func (c *countdownCtx) Err() error {
	c.calls++
	if c.calls > c.n {
		return context.Canceled
	}
	return nil
}

// TestCancelStopsAtEveryEntryAndChunk copies a tree of small files and one
// file of eight data chunks, stopping it at each of the places Copy looks
// at its context in turn: every stop returns context.Canceled, and there is
// a place per entry and per chunk of file data.
func TestCancelStopsAtEveryEntryAndChunk(t *testing.T) {
	old := dataChunk
	dataChunk = 64 << 10
	t.Cleanup(func() { dataChunk = old })
	src := filepath.Join(t.TempDir(), "src")
	const small = 10
	for i := range small {
		p := filepath.Join(src, fmt.Sprintf("d%d", i%3), fmt.Sprintf("f%d", i))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("small"), 0o644))
	}
	big := make([]byte, 8*dataChunk)
	for i := range big {
		big[i] = byte(i * 7)
	}
	require.NoError(t, os.WriteFile(filepath.Join(src, "big"), big, 0o644))

	for _, mode := range []Mode{Content, Hardlink} {
		t.Run(mode.String(), func(t *testing.T) {
			all := &countdownCtx{Context: t.Context(), n: 1 << 30}
			require.NoError(t, Copy(all, src, filepath.Join(t.TempDir(), "dst"), mode))
			entries := small + 3 + 1 // files, directories, big
			if mode == Content {
				assert.GreaterOrEqual(t, all.calls, entries+8, "a look per entry and per chunk of big's data")
			} else {
				assert.GreaterOrEqual(t, all.calls, entries, "a look per entry")
			}
			for n := range all.calls {
				err := Copy(&countdownCtx{Context: t.Context(), n: n}, src, filepath.Join(t.TempDir(), "dst"), mode)
				require.ErrorIs(t, err, context.Canceled, "stopped at look %d of %d", n+1, all.calls)
				assert.ErrorContains(t, err, "treecopy: copy "+src)
			}
		})
	}
}
