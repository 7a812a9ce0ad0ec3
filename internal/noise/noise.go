// Package noise measures the host's own run-to-run noise on the syscall
// path: the floor under any repeatability or regression figure, taken
// with nothing of unionbench's in it. `unionbench run` measures it at
// start and stores it with the host facts (results.Host.Noise), so that
// compare can say when two runs saw machines of different steadiness, and
// BenchmarkRepeatability reports it beside its spreads.
package noise

import (
	"fmt"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/reports/results"
	"github.com/unionbench/unionbench/reports/stats"
)

// Default is the measurement run does: 12 windows of 200 ms, 2.4 s.
var Default = Spec{Windows: 12, Window: 200 * time.Millisecond, Path: "/dev/shm"}

// Spec says how to measure.
type Spec struct {
	Windows int
	Window  time.Duration
	// Path is stat(2)ed over and over: a tmpfs directory, always cached,
	// so only the syscall path and the scheduler are timed.
	Path string
}

// Measure times one stat(2) of Path as the mean over each window and
// returns the spread, (max-min)/min, of those means. On a quiet 2-vCPU
// cloud VM it was about 30% while a pure user-space loop varied by 4%:
// the syscall path of a guest kernel is what moves.
func Measure(s Spec) (results.Noise, error) {
	if s.Windows < 2 || s.Window <= 0 {
		return results.Noise{}, fmt.Errorf("noise: %d windows of %s: want at least 2 windows of more than 0s", s.Windows, s.Window)
	}
	var means []float64
	var st unix.Stat_t
	for range s.Windows {
		n := 0
		start := time.Now()
		for time.Since(start) < s.Window {
			for range 256 {
				if err := unix.Stat(s.Path, &st); err != nil {
					return results.Noise{}, fmt.Errorf("noise: stat %s: %w", s.Path, err)
				}
			}
			n += 256
		}
		means = append(means, float64(time.Since(start).Nanoseconds())/float64(n))
	}
	sp, err := stats.Spread(means)
	if err != nil {
		return results.Noise{}, fmt.Errorf("noise: %w", err)
	}
	return results.Noise{Spread: sp, MinNs: slices.Min(means), MaxNs: slices.Max(means), Windows: s.Windows,
		WindowNs: s.Window.Nanoseconds(), Probe: "stat(2) of " + s.Path}, nil
}
