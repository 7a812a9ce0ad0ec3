package main

import (
	"context"
	"os"
	"slices"
	"strings"

	"github.com/unionbench/unionbench/images"
	"github.com/unionbench/unionbench/internal/sandbox"
	"github.com/unionbench/unionbench/scenarios/realimage"
)

// imagePlan is what --image, --exec and --scenarios ask of a run on real
// images.
type imagePlan struct {
	paths     []string
	exec      []string
	scenarios []string // realimage names; none: all of them
}

// planImages checks the image flags before anything is created. Outside
// the sandbox (the first pass, or the only one without root) every image
// is opened and verified by extracting it into a temporary directory,
// removed again: a bad archive, blob, digest or layer entry is refused
// here, exit 2, naming the file and the entry.
func planImages(f *runFlags) (imagePlan, error) {
	ip := imagePlan{paths: f.images, exec: realimage.DefaultExec}
	if f.sizes != "" || f.depths != "" {
		return ip, badInput("--sizes and --depths sweep the synthetic scenarios: an image has its own files and layers, so they do not go with --image")
	}
	if f.exec != "" {
		ip.exec = strings.Fields(f.exec)
		if !strings.HasPrefix(ip.exec[0], "/") {
			return ip, badInput("--exec %q: want the absolute path of a program in the image and its arguments, e.g. \"/bin/sh -c true\"", f.exec)
		}
	}
	if f.scenarios != "" {
		for _, n := range strings.Split(f.scenarios, ",") {
			if !slices.Contains(realimage.Names, n) {
				return ip, badInput("--scenarios %q: with --image, want image scenarios: %s", n, strings.Join(realimage.Names, ", "))
			}
			ip.scenarios = append(ip.scenarios, n)
		}
	}
	seen := map[string]bool{}
	for _, p := range f.images {
		if seen[p] {
			return ip, badInput("--image %s: given twice", p)
		}
		seen[p] = true
	}
	if sandbox.Inside() {
		return ip, nil // verified by the first pass
	}
	tmp, err := os.MkdirTemp("", "unionbench-image-")
	if err != nil {
		return ip, err
	}
	defer os.RemoveAll(tmp)
	imgs, err := ip.open(tmp)
	defer closeImages(imgs)
	if err != nil {
		return ip, err
	}
	for _, im := range imgs {
		var missing error
		err := im.Verify(context.Background(), tmp, func(root string) error {
			missing = images.HasProgram(root, ip.exec[0])
			return nil
		})
		if err != nil {
			return ip, imageErr(err)
		}
		if missing != nil {
			return ip, badInput("--exec %q: the image %s has no such program: %v", strings.Join(ip.exec, " "), im.Path, missing)
		}
	}
	return ip, nil
}

// open opens every image (an OCI layout tar is unpacked under tmp).
func (ip imagePlan) open(tmp string) ([]*images.Image, error) {
	var out []*images.Image
	for _, p := range ip.paths {
		im, err := images.Open(p, tmp)
		if err != nil {
			return out, imageErr(err)
		}
		out = append(out, im)
	}
	return out, nil
}

func closeImages(imgs []*images.Image) {
	for _, im := range imgs {
		im.Close()
	}
}

// imageErr makes a refusal of an image's content bad input (exit 2).
func imageErr(err error) error {
	if images.IsBadInput(err) {
		return badInput("--image %v", err)
	}
	return err
}
