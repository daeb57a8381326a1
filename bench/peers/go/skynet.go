package main

// skynet: the original benchmark (github.com/atemerev/skynet, Go version):
// goroutines and unbuffered channels. Each node makes a channel, starts its
// 10 children, which each send their sum on it, and sends its own sum to its
// parent; leaves send their ordinal. (10n-1)/9 goroutines; ns per goroutine.

import "fmt"

// Sizes, op count and answer as in bench/lib/fork_join.h (weft and C++ peers).
var skynetBench = bench{
	name:     "skynet",
	what:     "skynet, goroutines + channels (the original); ns per goroutine (default 1M leaves)",
	defaultN: 1000000,
	checkN: func(n int64) string {
		p := int64(1)
		for p < n && p <= 100000000 {
			p *= 10
		}
		if p != n {
			return "a power of 10, at most 10^9"
		}
		return ""
	},
	ops: func(n int64) float64 { return float64((10*n - 1) / 9) },
	run: runSkynet,
}

func skynet(c chan int64, num, size, div int64) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int64)
	var sum int64
	for i := int64(0); i < div; i++ {
		go skynet(rc, num+i*(size/div), size/div, div)
	}
	for i := int64(0); i < div; i++ {
		sum += <-rc
	}
	c <- sum
}

func runSkynet(n int64, c *clock) string {
	c.start()
	ch := make(chan int64)
	go skynet(ch, 0, n, 10)
	got := <-ch
	c.stop()
	if got != n*(n-1)/2 {
		return fmt.Sprintf("sum %d, not %d", got, n*(n-1)/2)
	}
	return ""
}
