package copyup

import (
	"fmt"
	"time"

	"github.com/unionbench/unionbench/scenarios"
)

// MaxTries bounds how often Undisturbed takes one sample. Between tries
// it waits, longer each time (up to a second), to let whatever drops the
// caches (typically another package's cold-cache tests) finish: about 15 s
// in all before it gives up.
const MaxTries = 20

// Undisturbed takes one sample with try, again if another process dropped
// the caches while it ran. try prepares the cache, calls settled, and does
// its timed operations; if the host's count of page-cache drops moved
// between settled and try's return, someone else (another benchmark, a
// test package running in parallel) dropped the caches in between, so the
// sample measured a cache state it did not ask for and is not kept. Where
// the kernel does not count drops, the first try is kept.
func Undisturbed(try func(settled func() error) error) error {
	wait := 50 * time.Millisecond
	for i := range MaxTries {
		if i > 0 {
			time.Sleep(wait)
			wait = min(2*wait, time.Second)
		}
		at := int64(-1)
		settled := func() (err error) {
			at, err = cacheDrops()
			return err
		}
		if err := try(settled); err != nil {
			return err
		}
		now, err := cacheDrops()
		if err != nil {
			return err
		}
		if now == at {
			return nil
		}
	}
	return fmt.Errorf("another process dropped the caches during each of %d tries of one sample: run unionbench alone", MaxTries)
}

// cacheDrops is how many times anyone on this host has dropped the page
// cache (drop_pagecache in /proc/vmstat), or -1 where the kernel does not
// count them.
func cacheDrops() (int64, error) {
	c, err := scenarios.HostCounters("/proc/vmstat", "drop_pagecache")
	if err != nil {
		return 0, err
	}
	if n, ok := c["drop_pagecache"]; ok {
		return n, nil
	}
	return -1, nil
}
