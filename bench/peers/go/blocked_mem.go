package main

// blocked-mem: memory per blocked goroutine (weft: bench/blocked_mem.c).
// n goroutines (default 1,000,000) each check in on a WaitGroup and block
// receiving from one channel; once all have checked in, read the resident
// set (VmRSS, rss.go), then close the channel and wait for them all.
// bytes_per_fiber = (that RSS - the RSS at this workload's first run in
// the process, before its first goroutine) / n; peak_rss_kb is the
// process's high-water mark (getrusage). The baseline is taken once per
// process because Go keeps freed goroutines and their stacks' spans for
// reuse, as weft keeps its fibers and stacks: measured from the first
// run, every run reports what n blocked goroutines hold. The result slice
// is the benchmark's (weft's twin is its array of handles): made, and
// written, before the baseline. ns per goroutine for the whole life.

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
)

var blockedMemBench = bench{
	name:        "blocked-mem",
	what:        "n goroutines blocked on one channel at once: bytes_per_fiber (RSS), peak_rss_kb; ns per goroutine (default 1M)",
	defaultN:    1000000,
	defaultReps: 3,
	checkN:      inRange(1, 10000000, " goroutines"),
	ops:         opsN,
	run:         runBlockedMem,
}

var (
	blockedRes    []int64
	blockedBaseKB int64 = -1
)

func runBlockedMem(n int64, c *clock) string {
	if int64(len(blockedRes)) < n {
		blockedRes = make([]int64, n)
		for i := range blockedRes {
			blockedRes[i] = -1 // resident before the baseline
		}
	}
	if blockedBaseKB < 0 {
		blockedBaseKB = rssKB()
	}
	gate := make(chan struct{})
	var checkedIn, done sync.WaitGroup
	var opened atomic.Bool
	var early int64
	res := blockedRes[:n]

	c.start()
	checkedIn.Add(int(n))
	done.Add(int(n))
	for i := int64(0); i < n; i++ {
		go func(i int64) {
			checkedIn.Done()
			<-gate
			if !opened.Load() {
				atomic.AddInt64(&early, 1)
			}
			res[i] = i + 1
			done.Done()
		}(i)
	}
	checkedIn.Wait()
	blockedKB := rssKB()
	opened.Store(true)
	close(gate)
	done.Wait()
	c.stop()

	if blockedKB < 0 || blockedBaseKB < 0 {
		return "could not read /proc/self/status"
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	c.addExtra("bytes_per_fiber=%.0f", float64(blockedKB-blockedBaseKB)*1024/float64(n))
	c.addExtra("peak_rss_kb=%d", ru.Maxrss)
	if early != 0 {
		return fmt.Sprintf("%d of %d goroutines left their wait before the close", early, n)
	}
	var sum int64
	for _, v := range res {
		sum += v
	}
	if want := n * (n + 1) / 2; sum != want {
		return fmt.Sprintf("results sum to %d, not %d", sum, want)
	}
	return ""
}
