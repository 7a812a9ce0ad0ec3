package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/unionbench/unionbench/drivers"
	"github.com/unionbench/unionbench/drivers/fuseoverlayfs"
	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/hostinfo"
	"github.com/unionbench/unionbench/internal/sandbox"
)

// driversReport is the --json output of `unionbench drivers`.
type driversReport struct {
	Host          hostinfo.Facts   `json:"host"`
	Backing       *backing.Facts   `json:"backing,omitempty"`
	FuseOverlayfs string           `json:"fuse_overlayfs_version"`
	Drivers       []drivers.Status `json:"drivers"`
}

// maxLayersFlag bounds --layers before any driver sees it: overlayfs's own
// limit is 500 lowers; a number far beyond is a typo, not a request.
const maxLayersFlag = 10000

func cmdDrivers(args []string, stdout io.Writer) error {
	fs := newFlags("drivers")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	kindFlag := fs.String("backing", "tmpfs", "backing filesystem to probe on: dir, tmpfs, ext4, xfs or btrfs")
	list := fs.String("drivers", "", "comma-separated drivers or variants to probe (default: all)")
	layers := fs.Int("layers", 0, "probe for stacks this deep (in layers); a driver whose limit is lower is an error (default: each driver's default limit)")
	workdir := workdirFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	variants, err := driversFlag(*list)
	if err != nil {
		return err
	}
	if *layers < 0 || *layers > maxLayersFlag {
		return badInput("--layers %d: want 1 to %d (0 = each driver's default)", *layers, maxLayersFlag)
	}
	kind, err := backing.ParseKind(*kindFlag)
	if err != nil {
		return badInput("--backing: %v", err)
	}
	dir, err := checkWorkdir(*workdir)
	if err != nil {
		return err
	}

	rep := driversReport{Host: hostinfo.Read()}
	if v, err := fuseoverlayfs.Version(); err == nil {
		rep.FuseOverlayfs = v
	} else {
		rep.FuseOverlayfs = "not installed"
	}
	if err := enterSandbox(dir); errors.Is(err, sandbox.ErrNotRoot) {
		// Not root: say so for every variant rather than fail, so a user
		// can still see what the drivers need.
		for _, v := range variants {
			reg, _ := drivers.Lookup(v.Driver)
			rep.Drivers = append(rep.Drivers, drivers.Status{Variant: v.String(), Driver: v.Driver, MountOptions: v.Options, Reason: "needs root", Doc: reg.Doc})
		}
	} else if err != nil {
		return err
	} else {
		bfs, err := backing.Create(sandbox.Scratch(), backing.Spec{Kind: kind, Size: 1 << 30})
		if err != nil {
			return err
		}
		defer bfs.Close()
		facts := bfs.Describe()
		rep.Backing = &facts
		if !facts.DType {
			return badInput("--backing %s: the filesystem at %s does not report d_type, which every union driver needs", kind, bfs.Dir)
		}
		rep.Drivers, err = drivers.Probe(bfs.Dir, variants, drivers.Options{MaxDepth: *layers})
		var de *drivers.DepthError
		if errors.As(err, &de) {
			return badInput("--layers %d: %v", *layers, err)
		}
		if err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printDrivers(stdout, rep)
	return nil
}

func printDrivers(w io.Writer, rep driversReport) {
	h := rep.Host
	fmt.Fprintf(w, "kernel %s (%s), %s, %d CPUs\n", h.Kernel, h.Distro, h.CPU, h.CPUs)
	if b := rep.Backing; b != nil {
		fmt.Fprintf(w, "backing %s: d_type=%v, %s\n", b.Kind, b.DType, b.MountOptions)
	}
	var params []string
	for k, v := range h.Overlay {
		params = append(params, k+"="+v)
	}
	sort.Strings(params)
	fmt.Fprintf(w, "overlay module parameters: %s\n", strings.Join(params, " "))
	fmt.Fprintf(w, "fuse-overlayfs: %s\n", rep.FuseOverlayfs)
	aufs := h.Aufs
	if aufs == "" {
		aufs = "not in this kernel"
	}
	fmt.Fprintf(w, "aufs: %s\n\n", aufs)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIANT\tSUPPORTED\tMAX LAYERS\tWHY NOT / NEEDS")
	for _, s := range rep.Drivers {
		sup, max, why := "yes", fmt.Sprint(s.MaxDepth), s.Doc
		if !s.Supported {
			sup, max, why = "no", "-", s.Reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Variant, sup, max, why)
	}
	tw.Flush()
	// What each driver found of this host's implementation, once a driver
	// (its variants share it).
	seen := map[string]bool{}
	for _, s := range rep.Drivers {
		if s.Details != "" && !seen[s.Driver] {
			seen[s.Driver] = true
			fmt.Fprintf(w, "%s here: %s\n", s.Driver, s.Details)
		}
	}
	if len(rep.Drivers) == 0 {
		fmt.Fprintln(os.Stderr, "no drivers registered")
	}
}

// driversFlag parses --drivers for the commands that look at every driver
// and variant by default (drivers, quirks).
func driversFlag(list string) ([]drivers.Variant, error) {
	if list == "" {
		return drivers.AllVariants(), nil
	}
	vs, err := drivers.ParseList(list)
	if err != nil {
		return nil, badInput("--drivers: %v", err)
	}
	return vs, nil
}
