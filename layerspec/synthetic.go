package layerspec

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"sort"
	"strings"
)

// Synthetic describes a generated image. The same Synthetic always yields
// the same layers, so every driver on every host builds the same tree.
type Synthetic struct {
	Seed   uint64
	Layers int     // number of image layers (>= 1)
	Dirs   int     // directories in the image, shared by all layers so they merge
	Files  int     // files each layer adds
	Sizes  []int64 // file sizes, drawn uniformly; default {0, 512, 4096, 16384}
	// Churn is the fraction of each upper layer's operations that change what
	// lower layers hold: overwrites, deletions, opaque directories, renamed
	// modes, symlinks and hard links. 0 gives purely additive layers.
	Churn float64
}

// Validate checks the parameters before anything is generated.
func (s Synthetic) Validate() error {
	switch {
	case s.Layers < 1:
		return fmt.Errorf("synthetic image: %d layers: want at least 1", s.Layers)
	case s.Dirs < 1:
		return fmt.Errorf("synthetic image: %d dirs: want at least 1", s.Dirs)
	case s.Files < 0:
		return fmt.Errorf("synthetic image: %d files: want 0 or more", s.Files)
	case s.Churn < 0 || s.Churn > 1:
		return fmt.Errorf("synthetic image: churn %v: want 0..1", s.Churn)
	}
	for _, z := range s.Sizes {
		if z < 0 || z > MaxFileSize {
			return fmt.Errorf("synthetic image: size %d out of range 0..1TiB", z)
		}
	}
	return nil
}

// DirName is the path of synthetic directory i: a two-level hierarchy so
// lookups cross more than one directory.
func DirName(i int) string {
	if i%4 == 0 {
		return fmt.Sprintf("d%03d", i)
	}
	return fmt.Sprintf("d%03d/s%03d", i-i%4, i)
}

// Generate builds the layers, bottom first.
func (s Synthetic) Generate() ([]*Layer, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	sizes := s.Sizes
	if len(sizes) == 0 {
		sizes = []int64{0, 512, 4096, 16384}
	}
	rng := rand.New(rand.NewPCG(s.Seed, 0x6c61796572))
	g := &generator{rng: rng, live: map[string]bool{}}
	layers := make([]*Layer, s.Layers)
	for li := range layers {
		l := &Layer{}
		g.startLayer()
		if li == 0 {
			// The base declares every directory, with a few non-default
			// modes and owners that upper layers must preserve.
			for d := 0; d < s.Dirs; d++ {
				e := Entry{Path: DirName(d), Kind: Dir}
				switch d % 5 {
				case 1:
					e.Mode = 0o750
				case 2:
					e.UID, e.GID = 1000, 1000
				case 3:
					e.Mode, e.Xattrs = 0o700, map[string]string{"user.ub.dir": DirName(d)}
				}
				l.Entries = append(l.Entries, e)
			}
		}
		for f := 0; f < s.Files; f++ {
			if li > 0 && rng.Float64() < s.Churn {
				g.churn(l, li, f, s.Dirs)
				continue
			}
			p := fmt.Sprintf("%s/l%03d-f%05d", DirName(rng.IntN(s.Dirs)), li, f)
			e := Entry{Path: p, Kind: File, Size: sizes[rng.IntN(len(sizes))], Seed: rng.Uint64()}
			if f%97 == 3 {
				e.Mode, e.UID, e.GID = fs.ModeSetuid|0o755, 1000, 1000
			}
			if f%89 == 5 {
				e.Xattrs = map[string]string{"user.ub.file": p}
			}
			l.Entries = append(l.Entries, e)
			g.live[p] = true
		}
		layers[li] = l
	}
	return layers, nil
}

type generator struct {
	rng  *rand.Rand
	live map[string]bool // files present in the union so far
	// candidates are the files of the layers below the one being generated
	// that this layer has not touched yet: a layer changes each lower file
	// at most once, as a real layer diff (a tarball of final states) does.
	candidates []string
}

// startLayer fixes the candidates for the next layer.
func (g *generator) startLayer() {
	g.candidates = g.candidates[:0]
	for k := range g.live {
		g.candidates = append(g.candidates, k)
	}
	sort.Strings(g.candidates) // map order is random; the image must not be
}

// pick returns a random lower file this layer has not touched, or "".
func (g *generator) pick() string {
	if len(g.candidates) == 0 {
		return ""
	}
	i := g.rng.IntN(len(g.candidates))
	p := g.candidates[i]
	g.candidates[i] = g.candidates[len(g.candidates)-1]
	g.candidates = g.candidates[:len(g.candidates)-1]
	return p
}

func (g *generator) churn(l *Layer, li, f, dirs int) {
	victim := g.pick()
	name := fmt.Sprintf("%s/l%03d-c%05d", DirName(g.rng.IntN(dirs)), li, f)
	switch op := g.rng.IntN(7); {
	case op == 0 && victim != "": // overwrite a lower file
		l.Entries = append(l.Entries, Entry{Path: victim, Kind: File, Size: 100 + int64(f), Seed: g.rng.Uint64(), Mode: 0o600})
	case op == 1 && victim != "": // delete a lower file
		l.Entries = append(l.Entries, Entry{Path: victim, Kind: Delete})
		delete(g.live, victim)
	case op == 2: // delete then re-create under a new name in an opaque dir
		d := DirName(g.rng.IntN(dirs))
		l.Entries = append(l.Entries, Entry{Path: d, Kind: Opaque, Mode: 0o755})
		for k := range g.live {
			if strings.HasPrefix(k, d+"/") {
				delete(g.live, k)
			}
		}
		p := d + fmt.Sprintf("/l%03d-o%05d", li, f)
		l.Entries = append(l.Entries, Entry{Path: p, Kind: File, Size: 10, Seed: g.rng.Uint64()})
		g.live[p] = true
	case op == 3:
		l.Entries = append(l.Entries, Entry{Path: name, Kind: Symlink, Target: "../" + fmt.Sprint(f)})
	case op == 4:
		l.Entries = append(l.Entries,
			Entry{Path: name, Kind: File, Size: 64, Seed: g.rng.Uint64()},
			Entry{Path: name + "-link", Kind: Hardlink, Target: name})
		g.live[name] = true
		g.live[name+"-link"] = true
	case op == 5 && victim != "": // a file deleted in this layer and re-created as a directory
		l.Entries = append(l.Entries, Entry{Path: victim, Kind: Delete},
			Entry{Path: victim + "/again", Kind: File, Size: 1, Seed: 1})
		delete(g.live, victim)
	default: // re-declare a directory with another mode
		l.Entries = append(l.Entries, Entry{Path: DirName(g.rng.IntN(dirs)), Kind: Dir, Mode: 0o775})
	}
}
