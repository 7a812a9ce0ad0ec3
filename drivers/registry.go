package drivers

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Factory builds a driver rooted at root. It returns an error wrapping
// ErrNotSupported when the driver (or the variant its options name) cannot
// run on this host; it checks by experiment (a tiny test mount) rather than by
// kernel version, because distributions backport.
type Factory func(root string, opts Options) (Driver, error)

// Registration is what a driver package registers.
type Registration struct {
	Name    string
	Factory Factory
	// Variants lists the mount-option sets worth measuring besides the
	// default, e.g. {"metacopy=on", "redirect_dir=on"}.
	Variants [][]string
	// Doc is one line on what the driver needs from the host.
	Doc string
}

var (
	mu       sync.Mutex
	registry = map[string]Registration{}
)

// Register makes a driver available by name. Driver packages call it from
// init; import drivers/all to get every driver.
func Register(r Registration) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[r.Name]; dup {
		panic("drivers: Register called twice for " + r.Name)
	}
	registry[r.Name] = r
}

// Names returns the registered driver names in the order reports use.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return order(names[i]) < order(names[j]) })
	return names
}

// order puts the drivers in the order the project compares them.
func order(name string) string {
	for i, n := range []string{"aufs", "overlay", "overlay2", "fuse-overlayfs", "vfs"} {
		if n == name {
			return fmt.Sprintf("%02d", i)
		}
	}
	return "99" + name
}

// Lookup returns a driver's registration.
func Lookup(name string) (Registration, bool) {
	mu.Lock()
	defer mu.Unlock()
	r, ok := registry[name]
	return r, ok
}

// Variant is a driver name plus the mount options that make it a variant,
// written "overlay2+metacopy=on+redirect_dir=on" everywhere.
type Variant struct {
	Driver  string
	Options []string
}

func (v Variant) String() string {
	if len(v.Options) == 0 {
		return v.Driver
	}
	return v.Driver + "+" + strings.Join(v.Options, "+")
}

// ParseVariant parses "overlay2+metacopy=on" and checks that the driver is
// registered.
func ParseVariant(s string) (Variant, error) {
	parts := strings.Split(s, "+")
	if _, ok := Lookup(parts[0]); !ok {
		return Variant{}, fmt.Errorf("unknown driver %q: want one of %s", parts[0], strings.Join(Names(), ", "))
	}
	v := Variant{Driver: parts[0]}
	for _, o := range parts[1:] {
		if o == "" || strings.ContainsAny(o, ", ") {
			return Variant{}, fmt.Errorf("bad mount option %q in variant %q: want name or name=value, joined by +", o, s)
		}
		v.Options = append(v.Options, o)
	}
	return v, nil
}

// ParseList parses a comma-separated list of variants ("overlay2,vfs").
func ParseList(s string) ([]Variant, error) {
	var out []Variant
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, fmt.Errorf("empty driver name in list %q: want comma-separated names from %s", s, strings.Join(Names(), ", "))
		}
		v, err := ParseVariant(f)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// AllVariants lists every registered driver and its variants.
func AllVariants() []Variant {
	var out []Variant
	for _, n := range Names() {
		r, _ := Lookup(n)
		out = append(out, Variant{Driver: n})
		for _, o := range r.Variants {
			out = append(out, Variant{Driver: n, Options: o})
		}
	}
	return out
}

// New builds the driver a variant names, rooted at root.
func New(v Variant, root string, opts Options) (Driver, error) {
	r, ok := Lookup(v.Driver)
	if !ok {
		return nil, fmt.Errorf("unknown driver %q: want one of %s", v.Driver, strings.Join(Names(), ", "))
	}
	opts.MountOptions = append(append([]string(nil), v.Options...), opts.MountOptions...)
	d, err := r.Factory(root, opts)
	// A factory says which driver cannot run; which variant was asked for
	// is known here, and a report shows it.
	if ns := (*NotSupportedError)(nil); errors.As(err, &ns) && ns.Variant == "" {
		ns.Variant = Variant{Driver: v.Driver, Options: opts.MountOptions}.String()
	}
	return d, err
}
