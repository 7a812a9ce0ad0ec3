package quirks

import (
	"errors"
	"fmt"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/layerspec"
	"github.com/unionbench/unionbench/scenarios"
)

// Quirk is one probe of the catalogue.
type Quirk struct {
	// ID names the quirk in results (the metric), on the command line and
	// in docs/quirks.md.
	ID string
	// Title says in a few words what is probed.
	Title string
	// Requires is what POSIX (or Linux on a local filesystem) requires.
	Requires string
	// Image is the lower state, bottom layer first. Every probe gets a
	// fresh image built from it, so probes cannot see each other's traces.
	Image func() []*layerspec.Layer
	// Exec asks for a copy of /bin/sleep at ExecPath in the top image layer,
	// for probes that need a running lower executable.
	Exec bool
	// Probe acts on the mounted container and reports what it saw. An error
	// means the experiment itself could not be made (setup failed), never
	// that the driver answered differently from POSIX.
	Probe func(c *Container) (Outcome, error)
}

// Outcome is what one probe observed.
type Outcome struct {
	// Observed is the behaviour in a few words ("EXDEV", "sees the write").
	Observed string
	// POSIX is true when the behaviour is what POSIX requires.
	POSIX bool
	// Detail holds the numbers behind Observed (errnos, inode numbers, data
	// read back), enough to judge the verdict without rerunning.
	Detail string
}

// Status of a Result.
const (
	StatusOK          = "ok"          // the probe ran; Observed/POSIX say what happened
	StatusUnsupported = "unsupported" // the driver or variant cannot run here
	StatusError       = "error"       // the experiment could not be made
)

// Result is one cell of the matrix: one quirk on one driver variant.
type Result struct {
	Driver  string `json:"driver"`
	Variant string `json:"variant"`
	// MountOptions are the variant's own options, as in every result.
	MountOptions []string `json:"mount_options"`
	// Mount is the option string of the container's mount as the kernel
	// shows it (layer paths left out), so a reader sees what was really in
	// force; empty for drivers that do not mount (vfs).
	Mount    string `json:"mount,omitempty"`
	Quirk    string `json:"quirk"`
	Observed string `json:"observed"`
	POSIX    bool   `json:"posix"`
	Detail   string `json:"detail"`
	Status   string `json:"status"`
}

// Catalogue returns every quirk, in the order of docs/quirks.md.
func Catalogue() []Quirk {
	return []Quirk{
		openROThenRW(), mmapShared(), truncateLower(), fsyncCopyUp(),
		renameLowerDirEmpty(), renameLowerDir(), renameUpperDir(), renameLowerFile(), renameExchange(), renameNoReplace(),
		hardlinkWrite(), hardlinkRemount(), hardlinkCount(),
		inoCopyUp(), inoUnique(), devUniform(), statfsMerged(),
		unlinkRecreate(), whPrefixName(), rmdirMkdir(), readdirDedup(), opaqueTwice(), readdirAfterDelete(),
		atimeRead(), chmodCopyUp(), chownCopyUp(), utimesCopyUp(), xattrCopyUp(),
		textBusy(), locksCopyUp(), tmpfile(), mkfifo(), mknodDevice(), mknodWhiteout(), unixSocket(),
		getcwdRenamed(), getcwdRemoved(),
	}
}

// IDs lists the quirk ids of the catalogue.
func IDs() []string {
	var ids []string
	for _, q := range Catalogue() {
		ids = append(ids, q.ID)
	}
	return ids
}

// ParseList selects quirks by comma-separated ids.
func ParseList(list string) ([]Quirk, error) {
	return scenarios.SelectByName(list, "quirk", Catalogue(), func(q Quirk) string { return q.ID })
}

// Probe runs one quirk on driver d (of variant v) in a fresh image and
// container, and removes both whatever happens. A panic in the probe is an
// error result, not a crash of the run.
func Probe(d drivers.Driver, v drivers.Variant, env *scenarios.Env, q Quirk) (r Result) {
	r = Result{Driver: v.Driver, Variant: v.String(), MountOptions: options(v), Quirk: q.ID}
	c, err := newContainer(d, env, q)
	if err == nil {
		r.Mount = c.MountOptions
		var out Outcome
		out, err = guard(q, c)
		err = errors.Join(err, c.remove())
		if err == nil {
			r.Observed, r.POSIX, r.Detail, r.Status = out.Observed, out.POSIX, out.Detail, StatusOK
			return r
		}
	}
	if errors.Is(err, drivers.ErrNotSupported) {
		r.Observed, r.Detail, r.Status = "n/a", err.Error(), StatusUnsupported
		return r
	}
	r.Observed, r.Detail, r.Status = "error", err.Error(), StatusError
	return r
}

func guard(q Quirk, c *Container) (out Outcome, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("probe %s panicked: %v", q.ID, p)
		}
	}()
	return q.Probe(c)
}

// options is never nil, so JSON shows [] for a driver's default variant.
func options(v drivers.Variant) []string { return append([]string{}, v.Options...) }
