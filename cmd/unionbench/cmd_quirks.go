package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/hostinfo"
	"github.com/unionbench/unionbench/internal/sandbox"
	"github.com/unionbench/unionbench/reports/render"
	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/scenarios"
	"github.com/unionbench/unionbench/scenarios/quirks"
)

func cmdQuirks(args []string, stdout io.Writer) error {
	fs := newFlags("quirks")
	list := fs.String("drivers", "", "comma-separated drivers or variants (default: every driver and every overlay2 variant; unsupported ones show as n/a)")
	only := fs.String("quirks", "", "comma-separated quirk ids (default: the whole catalogue, see docs/quirks.md)")
	asJSON := fs.Bool("json", false, "print a JSON array of results instead of the table")
	kindFlag := fs.String("backing", "ext4", "backing filesystem: dir, tmpfs, ext4, xfs or btrfs")
	out := fs.String("out", "", "results directory, new or empty (default results/<run id>)")
	workdir := workdirFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	variants, err := driversFlag(*list)
	if err != nil {
		return err
	}
	qs := quirks.Catalogue()
	if *only != "" {
		var err error
		if qs, err = quirks.ParseList(*only); err != nil {
			return badInput("--quirks: %v", err)
		}
	}
	kind, err := backing.ParseKind(*kindFlag)
	if err != nil {
		return badInput("--backing: %v", err)
	}
	dir, err := checkWorkdir(*workdir)
	if err != nil {
		return err
	}
	if err := checkOutFlag(*out); err != nil {
		return err
	}
	if err := enterSandbox(dir); errors.Is(err, sandbox.ErrNotRoot) {
		return fmt.Errorf("the probes mount filesystems, chown and mknod, so quirks needs root: run it with sudo, or as root in a VM")
	} else if err != nil {
		return err
	}

	runID := newRunID()
	outDir := *out
	if outDir == "" {
		outDir = filepath.Join("results", runID)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	bfs, err := backing.Create(sandbox.Scratch(), backing.Spec{Kind: kind, Size: 1 << 30})
	if err != nil {
		return err
	}
	defer bfs.Close()
	if ok, _ := bfs.DType(); !ok {
		return badInput("--backing %s: the filesystem does not report d_type, which every union driver needs", kind)
	}
	jsonl, err := results.CreateNew(filepath.Join(outDir, "results.jsonl"))
	if errors.Is(err, os.ErrExist) {
		return badInput("--out %s already holds results.jsonl (another run's): choose a new directory", outDir)
	}
	if err != nil {
		return err
	}
	defer jsonl.Close()

	// The same runner as `unionbench run`: one Measurement -> Record
	// path, the records written as they come, the table rendered from them.
	p := &scenarios.Plan{
		RunID: runID, Scenarios: []scenarios.Scenario{quirks.RunScenario{Quirks: qs}}, Variants: variants,
		Suite: scenarios.Quick, Count: 1, FS: bfs, Host: hostinfo.Read(),
	}
	var recs []results.Record
	sink := func(r *results.Record) error {
		recs = append(recs, *r)
		return jsonl.Write(r)
	}

	ctx, interrupt, release := onInterrupt("unionbench quirks", "")
	defer release()

	fmt.Fprintf(os.Stderr, "unionbench quirks %s: %d quirks on %d variants, backing %s, results in %s\n", runID, len(qs), len(variants), kind, outDir)
	outcome, err := scenarios.Run(ctx, p, sink, nil)
	if s := interrupt.Signal(); s != 0 {
		return &exitInterrupted{s}
	}
	if err != nil {
		return err
	}
	if *asJSON {
		cells := render.QuirkResults(recs)
		if cells == nil {
			cells = []render.QuirkResult{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(cells); err != nil {
			return err
		}
	} else {
		if len(recs) > 0 {
			h, b := recs[0].Host, recs[0].Backing
			fmt.Fprintf(stdout, "kernel %s (%s), backing %s (%s)\n", h.Kernel, h.Distro, b.Kind, b.MountOptions)
		}
		if err := render.WriteQuirkTable(stdout, recs); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nwhat each quirk is and why union filesystems deviate: docs/quirks.md; results: %s\n", filepath.Join(outDir, "results.jsonl"))
	}
	failed := outcome.Failed
	if failed > 0 {
		return fmt.Errorf("%d probes could not be made (see the detail in %s)", failed, filepath.Join(outDir, "results.jsonl"))
	}
	return nil
}
