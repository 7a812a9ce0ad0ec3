package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/unionbench/unionbench/scenarios"
)

// progress shows the run's progress on stderr: a redrawn bar on a terminal,
// one plain line per step otherwise (CI logs, pipes).
type progress struct {
	w    io.Writer
	tty  bool
	last int
}

func newProgress(f *os.File) *progress {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return &progress{w: f, tty: err == nil}
}

func (p *progress) Step(i, total int, st scenarios.Step, started time.Time) {
	what := st.Scenario.Name() + " " + st.Variant.String()
	if st.Case.Floor {
		what = st.Scenario.Name() + " floor"
	}
	what += " " + st.Case.Name()
	eta := "?"
	if i > 0 {
		per := time.Since(started) / time.Duration(i)
		eta = (per * time.Duration(total-i)).Round(time.Second).String()
	}
	if !p.tty {
		fmt.Fprintf(p.w, "[%d/%d] %s (ETA %s)\n", i+1, total, what, eta)
		return
	}
	const width = 24
	done := width * i / max(total, 1)
	line := fmt.Sprintf("\r[%s>%s] %d/%d %s ETA %s", strings.Repeat("=", done), strings.Repeat(" ", width-done), i+1, total, what, eta)
	pad := max(0, p.last-len(line))
	p.last = len(line)
	fmt.Fprint(p.w, line+strings.Repeat(" ", pad))
}

func (p *progress) Done() {
	if p.tty {
		fmt.Fprint(p.w, "\r"+strings.Repeat(" ", p.last)+"\r")
	}
}
