package layerspec

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math/rand/v2"
)

// Content returns a reader of the entry's bytes: the same seed, size and
// fill always give the same bytes, on every host and driver.
func (e *Entry) Content() io.Reader {
	if e.Sparse {
		return io.LimitReader(zeroReader{}, e.Size)
	}
	switch e.Fill {
	case Zero:
		return io.LimitReader(zeroReader{}, e.Size)
	case Text:
		return io.LimitReader(&textReader{rng: newRNG(e.Seed)}, e.Size)
	default:
		return io.LimitReader(newRNG(e.Seed), e.Size)
	}
}

// Digest is the SHA-256 of the entry's content, as Snapshot reports it.
func (e *Entry) Digest() string {
	h := sha256.New()
	io.CopyBuffer(h, e.Content(), make([]byte, 256<<10))
	return hex.EncodeToString(h.Sum(nil))
}

// newRNG uses ChaCha8 because it fills buffers at several GB/s, so content
// generation never dominates layer building.
func newRNG(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	binary.LittleEndian.PutUint64(s[8:], 0x756e696f6e62656e) // "unionben"
	return rand.NewChaCha8(s)
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// textReader writes lines of lower-case words.
type textReader struct {
	rng *rand.ChaCha8
	col int
}

func (t *textReader) Read(p []byte) (int, error) {
	for i := range p {
		r := t.rng.Uint64()
		switch {
		case t.col >= 72:
			p[i], t.col = '\n', 0
		case r%7 == 0:
			p[i] = ' '
			t.col++
		default:
			p[i] = byte('a' + r%26)
			t.col++
		}
	}
	return len(p), nil
}
