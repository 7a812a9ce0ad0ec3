package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// interruption turns the first SIGINT or SIGTERM into a cancelled context,
// so a command stops between measurements and still writes out what it
// measured; Signal says which signal it was (0: none), for the 128+signal
// exit code.
type interruption struct {
	sigs   chan os.Signal
	sig    atomic.Int32
	notice atomic.Pointer[io.Writer] // where the notice goes; nil: stderr
}

// noticeTo sends the notice to w instead of stderr: run's progress bar,
// which prints it above itself rather than drawing over it.
func (in *interruption) noticeTo(w io.Writer) { in.notice.Store(&w) }

// onInterrupt starts listening; notice, when not empty, is printed on
// stderr as "<command>: <signal>: <notice>" when the signal arrives. Call
// release when the work is done.
func onInterrupt(command, notice string) (context.Context, *interruption, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	in := &interruption{sigs: make(chan os.Signal, 2)}
	signal.Notify(in.sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s, ok := <-in.sigs
		if !ok {
			return
		}
		in.sig.Store(int32(s.(syscall.Signal)))
		if notice != "" {
			var w io.Writer = os.Stderr
			if p := in.notice.Load(); p != nil {
				w = *p
			}
			fmt.Fprintf(w, "\n%s: %v: %s\n", command, s, notice)
		}
		cancel()
	}()
	release := func() {
		signal.Stop(in.sigs)
		close(in.sigs)
		cancel()
	}
	return ctx, in, release
}

// Signal is the signal that interrupted the work, or 0.
func (in *interruption) Signal() syscall.Signal { return syscall.Signal(in.sig.Load()) }
