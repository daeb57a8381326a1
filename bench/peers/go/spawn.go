package main

// spawn: n goroutines started from the main goroutine, all outstanding, each
// storing its ordinal and calling wg.Done(); then one wg.Wait(). The sum of
// the stored ordinals is the answer checked (weft joins each fiber for it).

import "sync"

var spawnBench = bench{
	name:     "spawn",
	what:     "go f() n times, all outstanding, then wg.Wait; ns per goroutine (default 1M)",
	defaultN: 1000000,
	checkN:   inRange(1, 100000000, " goroutines"),
	ops:      opsN,
	run:      runSpawn,
}

func runSpawn(n int64, c *clock) string {
	res := make([]int64, n)
	var wg sync.WaitGroup
	c.start()
	wg.Add(int(n))
	for i := int64(0); i < n; i++ {
		go func(i int64) {
			res[i] = i
			wg.Done()
		}(i)
	}
	wg.Wait()
	c.stop()
	var sum int64
	for _, v := range res {
		sum += v
	}
	if sum != n*(n-1)/2 {
		return "ordinals do not add up"
	}
	return ""
}
