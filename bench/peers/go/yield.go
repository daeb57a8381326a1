package main

// yield: two goroutines on one P (GOMAXPROCS=1), each calling
// runtime.Gosched() n/2 times. Each counts the yields after which the other
// had run, so a yield that never switches fails the check. Gosched puts the
// caller on the global run queue: a lock, a queue, a switch through g0.

import (
	"runtime"
	"sync"
)

var yieldBench = bench{
	name:      "yield",
	what:      "two goroutines calling runtime.Gosched, GOMAXPROCS=1; ns per yield (default 10M)",
	defaultN:  10000000,
	oneWorker: true,
	checkN: func(n int64) string {
		if n < 8 {
			return "need at least 8 yields"
		}
		return ""
	},
	ops: func(n int64) float64 { return float64(n / 2 * 2) },
	run: runYield,
}

func yielder(iters int64, me int, last *int, handoffs *int64, wg *sync.WaitGroup) {
	// Plain variables: both goroutines share the one P.
	for i := int64(0); i < iters; i++ {
		if *last != me {
			*last = me
			*handoffs++
		}
		runtime.Gosched()
	}
	wg.Done()
}

func runYield(n int64, c *clock) string {
	last := -1
	var h [2]int64
	var wg sync.WaitGroup
	c.start()
	wg.Add(2)
	go yielder(n/2, 0, &last, &h[0], &wg)
	go yielder(n/2, 1, &last, &h[1], &wg)
	wg.Wait()
	c.stop()
	if h[0]+h[1] < n/4 {
		return "yields did not let the other goroutine run"
	}
	return ""
}
