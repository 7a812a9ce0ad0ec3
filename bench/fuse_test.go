package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/reports/stats"
)

// BenchmarkFUSEDaemonPlacement is why fuse-overlayfs's warm lookups do
// not repeat between runs: a warm open(2) or readdir on a FUSE mount is a
// round trip to the daemon (fuse-overlayfs 1.10 answers lookups and
// getattr with a 10^9 s entry and attribute timeout, so stat(2) stays in
// the kernel and no timeout expires inside a batch), and what that round
// trip costs depends on whether the daemon's thread runs on the caller's
// CPU or must be woken on another, an idle vCPU under a hypervisor. The
// benchmark mounts fuse-overlayfs on a one-file lower directory, pins the
// calling thread to CPU 0 and the daemon's threads to CPU 0 (same) or
// CPU 1 (other), and reports the median of 2000 warm operations of each
// as same-cpu-open-ns, other-cpu-open-ns (and readdir, stat), and
// other-over-same-open (and readdir). The scheduler picks either placement for an
// unpinned daemon and tends to keep it for a while, so an unpinned run
// lands on one or the other, or a mix.
func BenchmarkFUSEDaemonPlacement(b *testing.B) {
	needRoot(b)
	if runtime.NumCPU() < 2 {
		b.Skip("one CPU: the daemon can only share it")
	}
	bin, err := exec.LookPath("fuse-overlayfs")
	if err != nil {
		b.Skip("fuse-overlayfs is not installed")
	}
	dir := b.TempDir()
	for _, d := range []string{"l/d", "u", "w", "m"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "l/d/f"), []byte("x"), 0o644); err != nil {
		b.Fatal(err)
	}
	mnt := filepath.Join(dir, "m")
	opts := "lowerdir=" + filepath.Join(dir, "l") + ",upperdir=" + filepath.Join(dir, "u") + ",workdir=" + filepath.Join(dir, "w")
	// In the foreground, so its pid is the child's (the sandbox's pid
	// namespace hides what /proc would name).
	daemon := exec.Command(bin, "-f", "-o", opts, mnt)
	if err := daemon.Start(); err != nil {
		b.Fatalf("fuse-overlayfs: %v", err)
	}
	defer func() {
		if err := unix.Unmount(mnt, 0); err != nil {
			b.Errorf("unmount %s: %v", mnt, err)
		}
		_ = daemon.Wait()
	}()
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		var st unix.Statfs_t
		if unix.Statfs(mnt, &st) == nil && st.Type == unix.FUSE_SUPER_MAGIC {
			break
		}
		if time.Since(start) > 10*time.Second {
			_ = daemon.Process.Kill()
			b.Fatalf("fuse-overlayfs did not mount %s in 10 s", mnt)
		}
	}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pin(b, 0, 0)
	file, d := filepath.Join(mnt, "d/f"), filepath.Join(mnt, "d")
	ops := map[string]func() error{
		"open": func() error {
			fd, err := unix.Open(file, unix.O_RDONLY, 0)
			if err == nil {
				err = unix.Close(fd)
			}
			return err
		},
		"readdir": func() error { _, err := os.ReadDir(d); return err },
		"stat":    func() error { var st unix.Stat_t; return unix.Stat(file, &st) },
	}
	took := map[string]float64{}
	for range b.N {
		for _, where := range []struct {
			name string
			cpu  int
		}{{"same", 0}, {"other", 1}} {
			// fuse-overlayfs 1.10 serves requests on its main thread.
			pin(b, daemon.Process.Pid, where.cpu)
			for _, name := range []string{"open", "readdir", "stat"} {
				took[where.name+"-"+name] = timeOp(b, ops[name], 2000)
				b.ReportMetric(took[where.name+"-"+name], where.name+"-cpu-"+name+"-ns")
			}
		}
	}
	b.ReportMetric(took["other-open"]/took["same-open"], "other-over-same-open")
	b.ReportMetric(took["other-readdir"]/took["same-readdir"], "other-over-same-readdir")
}

// timeOp is the median of n timed calls of op, after 100 untimed ones.
func timeOp(b *testing.B, op func() error, n int) float64 {
	b.Helper()
	took := make([]float64, 0, n)
	for i := range n + 100 {
		start := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		if i >= 100 {
			took = append(took, float64(time.Since(start).Nanoseconds()))
		}
	}
	med, err := stats.Median(took)
	if err != nil {
		b.Fatal(err)
	}
	return med
}

// pin sets the CPU affinity of thread tid (0: the calling one) to cpu.
func pin(b *testing.B, tid, cpu int) {
	b.Helper()
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(tid, &set); err != nil {
		b.Fatalf("pin thread %d to CPU %d: %v", tid, cpu, err)
	}
}
