package scenarios

import (
	"maps"
	"slices"

	"github.com/unionbench/unionbench/internal/backing"
	"github.com/unionbench/unionbench/internal/hostinfo"
	"github.com/unionbench/unionbench/reports/results"
)

// hostFacts copies the harness's host facts into the results model's own
// type, field by field: results files keep their meaning when
// internal/hostinfo changes.
func hostFacts(f hostinfo.Facts) results.Host {
	return results.Host{
		Kernel: f.Kernel, KernelBuild: f.KernelBuild, Arch: f.Arch, Distro: f.Distro, CPU: f.CPU, CPUs: f.CPUs,
		MemoryBytes: f.MemoryBytes, Hypervisor: f.Hypervisor, Emulated: f.Emulated,
		Clocksource: f.Clocksource, InstructionClock: f.InstructionClock,
		Overlay: maps.Clone(f.Overlay), Filesystems: slices.Clone(f.Filesystems), Version: f.Version,
	}
}

// backingFacts copies the backing filesystem's facts into the results
// model's own type.
func backingFacts(f backing.Facts) results.Backing {
	return results.Backing{
		Kind: string(f.Kind), FSType: f.FSType, Device: f.Device, Size: f.Size, Free: f.Free,
		Inodes: f.Inodes, InodesFree: f.InodesFree, MountOptions: f.MountOptions, DType: f.DType,
		Reflink: f.Reflink, Problems: slices.Clone(f.Problems),
	}
}
