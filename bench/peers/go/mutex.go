package main

// mutex: one sync.Mutex, one shared counter, 4*GOMAXPROCS goroutines
// sharing n increments as evenly as they go (weft: bench/mutex.c, 4 fibers
// per worker). The counter must end at n. ns per lock+increment+unlock.

import (
	"fmt"
	"runtime"
	"sync"
)

const goroutinesPerP = 4

var mutexBench = bench{
	name:     "mutex",
	what:     "4*GOMAXPROCS goroutines incrementing one counter under one sync.Mutex; ns per lock+inc+unlock (default 10M)",
	defaultN: 10000000,
	checkN: func(n int64) string {
		if n < 1 {
			return "need at least 1 increment"
		}
		return ""
	},
	ops: func(n int64) float64 { return float64(n) },
	run: runMutex,
}

type counter struct {
	mu    sync.Mutex
	count int64 // under mu
}

func runMutex(n int64, c *clock) string {
	var ctr counter
	var wg sync.WaitGroup
	g := int64(goroutinesPerP * runtime.GOMAXPROCS(0))
	c.start()
	wg.Add(int(g))
	for i := int64(0); i < g; i++ {
		iters := n / g
		if i < n%g {
			iters++
		}
		go func(iters int64) {
			for j := int64(0); j < iters; j++ {
				ctr.mu.Lock()
				ctr.count++
				ctr.mu.Unlock()
			}
			wg.Done()
		}(iters)
	}
	wg.Wait()
	c.stop()
	if ctr.count != n {
		return fmt.Sprintf("the counter ended at %d, not %d", ctr.count, n)
	}
	return ""
}
