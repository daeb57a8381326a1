package main

// fib: fib(n) with a goroutine per call: fib(k), k >= 2, runs `go fib(k-1)`,
// computes fib(k-2) itself and waits on a WaitGroup for the goroutine's
// result (weft: spawn + join). F(n+1)-1 goroutines; ns per goroutine.

import (
	"fmt"
	"sync"
)

// Sizes, op count and answer as in bench/lib/fork_join.h (weft and C++ peers).
var fibBench = bench{
	name:     "fib",
	what:     "fib(n), a goroutine per call (go fib(n-1), WaitGroup); ns per goroutine (default 30)",
	defaultN: 30,
	checkN:   inRange(2, 45, ""),
	ops:      func(n int64) float64 { return float64(fibPlain(n+1) - 1) },
	run:      runFib,
}

func fib(n int64) int64 {
	if n < 2 {
		return n
	}
	var x int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		x = fib(n - 1)
		wg.Done()
	}()
	y := fib(n - 2)
	wg.Wait()
	return x + y
}

func fibPlain(n int64) int64 {
	a, b := int64(0), int64(1)
	for i := int64(0); i < n; i++ {
		a, b = b, a+b
	}
	return a
}

func runFib(n int64, c *clock) string {
	c.start()
	got := fib(n)
	c.stop()
	if got != fibPlain(n) {
		return fmt.Sprintf("fib(%d) = %d, not %d", n, got, fibPlain(n))
	}
	return ""
}
