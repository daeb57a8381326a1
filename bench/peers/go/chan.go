package main

// chan1, chan4, chan16: buffered-channel throughput (weft: bench/chan.c).
// P producers and P consumers share one make(chan int64, 128); producer p
// sends p, p+P, p+2P, ... below n; consumers receive until the channel is
// closed (after every producer finished) and drained, counting and summing
// the values and their squares (mod 2^64). ns per element.

import (
	"fmt"
	"sync"
)

const chanCap = 128

func chanBench(p int) bench {
	return bench{
		name: fmt.Sprintf("chan%d", p),
		what: fmt.Sprintf("buffered channel (128 x int64), %d producer%s, %d consumer%s; ns per element (default 5M)",
			p, plural(p), p, plural(p)),
		defaultN: 5000000,
		checkN: func(n int64) string {
			if n < 1 || n > 1000000000 {
				return "1..10^9 elements"
			}
			return ""
		},
		ops: func(n int64) float64 { return float64(n) },
		run: func(n int64, c *clock) string { return runChan(n, p, c) },
	}
}

var chan1Bench, chan4Bench, chan16Bench = chanBench(1), chanBench(4), chanBench(16)

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

type tally struct {
	count, sum, sumsq uint64
}

func runChan(n int64, p int, c *clock) string {
	ch := make(chan int64, chanCap)
	tallies := make([]tally, p)
	var prod, cons sync.WaitGroup
	c.start()
	cons.Add(p)
	for i := 0; i < p; i++ {
		go func(t *tally) {
			var count, sum, sumsq uint64
			for v := range ch {
				count++
				sum += uint64(v)
				sumsq += uint64(v) * uint64(v)
			}
			*t = tally{count, sum, sumsq}
			cons.Done()
		}(&tallies[i])
	}
	prod.Add(p)
	for i := 0; i < p; i++ {
		go func(first int64) {
			for v := first; v < n; v += int64(p) {
				ch <- v
			}
			prod.Done()
		}(int64(i))
	}
	prod.Wait()
	close(ch)
	cons.Wait()
	c.stop()
	var got, want tally
	for _, t := range tallies {
		got.count += t.count
		got.sum += t.sum
		got.sumsq += t.sumsq
	}
	for v := uint64(0); v < uint64(n); v++ {
		want.sum += v
		want.sumsq += v * v
	}
	want.count = uint64(n)
	if got != want {
		return fmt.Sprintf("received %d elements of %d, sum %d (want %d), sum of squares %d (want %d)",
			got.count, n, got.sum, want.sum, got.sumsq, want.sumsq)
	}
	return ""
}
