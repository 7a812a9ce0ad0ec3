package drivers

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Status is what `unionbench drivers` reports for one variant on this host.
type Status struct {
	Variant      string   `json:"variant"`
	Driver       string   `json:"driver"`
	MountOptions []string `json:"mount_options,omitempty"`
	Supported    bool     `json:"supported"`
	Reason       string   `json:"reason,omitempty"` // why not, when not supported
	MaxDepth     int      `json:"max_depth,omitempty"`
	Doc          string   `json:"needs"`
	// Details is what the driver found of this host's implementation
	// (aufs: version and branch limit), for drivers that say (Detailer).
	Details string `json:"details,omitempty"`
}

// Detailer is a driver that can say what it found of this host's
// implementation while its factory probed it, in one line.
type Detailer interface {
	Details() string
}

// Probe builds every variant in its own fresh directory under dir (which
// must be on the backing filesystem the caller wants to know about) and
// reports which ones run. Each driver's factory decides by experiment; the
// directories are removed afterwards.
func Probe(dir string, variants []Variant, opts Options) ([]Status, error) {
	var out []Status
	for i, v := range variants {
		reg, _ := Lookup(v.Driver)
		s := Status{Variant: v.String(), Driver: v.Driver, MountOptions: v.Options, Doc: reg.Doc}
		root := filepath.Join(dir, fmt.Sprintf("probe-%02d-%s", i, strings.NewReplacer("+", "_", "=", "-").Replace(v.String())))
		if err := os.Mkdir(root, 0o700); err != nil {
			return out, err
		}
		d, err := New(v, root, opts)
		switch {
		case err == nil:
			s.Supported, s.MaxDepth = true, d.MaxDepth()
			if dd, ok := d.(Detailer); ok {
				s.Details = dd.Details()
			}
			err = d.Cleanup()
		case errors.Is(err, ErrNotSupported):
			s.Reason = Reason(err)
			err = nil
		}
		if err != nil {
			os.Remove(root)
			return out, err
		}
		// The factory's probe mounts are gone by now; a plain directory is
		// all that is left, so RemoveAll cannot reach into a mount.
		if err := os.RemoveAll(root); err != nil {
			return out, err
		}
		out = append(out, s)
	}
	return out, nil
}
