package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/scenarios"
)

// progress shows the run's progress on stderr: on a terminal an mpb bar
// (what is being measured, the bar, steps done of all, ETA), otherwise one
// plain line per step (CI logs, pipes), which a log keeps readable.
type progress struct {
	plain io.Writer // set when stderr is not a terminal

	// The bar is made at the first step, when the total is known. Its
	// decorators run on mpb's goroutine, hence the lock around what they
	// read.
	out     io.Writer
	mu      sync.Mutex
	p       *mpb.Progress
	bar     *mpb.Bar
	what    string
	started time.Time
	reached int // steps begun so far
	once    sync.Once
}

// newProgress draws a bar when f is a terminal that can show one: not
// TERM=dumb, and with a size (a pseudo-terminal nobody sized, as on some
// serial consoles and CI runners, is 0x0, where mpb would draw nothing).
func newProgress(f *os.File) *progress {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Row == 0 || ws.Col == 0 || os.Getenv("TERM") == "dumb" {
		return &progress{plain: f}
	}
	return &progress{out: f}
}

// stepName is what a step measures: "copyup overlay2 size=4KiB", or
// "copyup floor size=4KiB" for a floor case.
func stepName(st scenarios.Step) string {
	who := st.Variant.String()
	if st.Case.Floor {
		who = "floor"
	}
	name := st.Scenario.Name() + " " + who
	if c := st.Case.Name(); c != "" { // a floor of no parameters (mount's)
		name += " " + c
	}
	if st.Passes > 1 {
		name += fmt.Sprintf(" (pass %d/%d)", st.Pass, st.Passes)
	}
	return name
}

// eta is the time the remaining steps take at the average pace so far,
// "?" before the first step has finished.
func eta(done, total int, started time.Time) string {
	if done <= 0 {
		return "?"
	}
	per := time.Since(started) / time.Duration(done)
	return (per * time.Duration(total-done)).Round(time.Second).String()
}

func (p *progress) Step(i, total int, st scenarios.Step, started time.Time) {
	if p.plain != nil {
		fmt.Fprintf(p.plain, "[%d/%d] %s (ETA %s)\n", i+1, total, stepName(st), eta(i, total, started))
		return
	}
	p.mu.Lock()
	p.what, p.started, p.reached = stepName(st), started, i+1
	p.mu.Unlock()
	if p.bar == nil {
		bars := mpb.New(mpb.WithOutput(p.out), mpb.WithRefreshRate(150*time.Millisecond))
		p.mu.Lock()
		p.p = bars
		p.mu.Unlock()
		p.bar = bars.New(int64(total), mpb.BarStyle().Lbound("[").Rbound("]"),
			mpb.BarWidth(30),
			mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
				p.mu.Lock()
				defer p.mu.Unlock()
				return p.what
			}, decor.WC{W: 1, C: decor.DindentRight})),
			mpb.AppendDecorators(
				decor.CountersNoUnit(" %d/%d"),
				decor.Any(func(s decor.Statistics) string {
					p.mu.Lock()
					defer p.mu.Unlock()
					return " ETA " + eta(int(s.Current), int(s.Total), p.started)
				}),
			),
		)
	}
	p.bar.SetCurrent(int64(i))
}

// Done finishes the bar (complete, or left where an interruption stopped
// it) and waits until mpb has drawn it for the last time, so nothing
// printed afterwards is drawn over. Safe to call more than once.
func (p *progress) Done() {
	p.once.Do(func() {
		if p.bar == nil {
			return
		}
		// The step begun last has ended by now: count it.
		p.mu.Lock()
		reached := p.reached
		p.mu.Unlock()
		p.bar.SetCurrent(int64(reached))
		if !p.bar.Completed() {
			p.bar.Abort(false)
		}
		p.p.Wait()
	})
}

// Write prints b on stderr, above the bar while one is drawn (mpb redraws
// the bar below it) so that a message is not drawn over.
func (p *progress) Write(b []byte) (int, error) {
	if p.plain != nil {
		return p.plain.Write(b)
	}
	p.mu.Lock()
	bars := p.p
	p.mu.Unlock()
	if bars != nil {
		if n, err := bars.Write(b); err == nil {
			return n, nil
		}
		// mpb.ErrDone: the bar is finished, so stderr is free again.
	}
	return p.out.Write(b)
}
