package main

// pingpong: round trips over two unbuffered channels (weft:
// bench/pingpong.c). The timing goroutine sends i on ping, a ponger
// goroutine answers i+1 on pong, and every reply is checked. pingpong runs
// at GOMAXPROCS=1, pingpong-x at exactly GOMAXPROCS=2, where the scheduler
// decides on which Ps the two run (Go cannot pin a goroutine to a P).
// n round trips; ns per round trip.

import "fmt"

var pingpongBench = bench{
	name:      "pingpong",
	what:      "round trips over two unbuffered channels, GOMAXPROCS=1; ns per round trip (default 1M)",
	defaultN:  1000000,
	oneWorker: true,
	checkN:    checkPingpong,
	ops:       func(n int64) float64 { return float64(n) },
	run:       runPingpong,
}

var pingpongXBench = bench{
	name:         "pingpong-x",
	what:         "pingpong at exactly GOMAXPROCS=2; ns per round trip (default 500k)",
	defaultN:     500000,
	fixedWorkers: 2,
	checkN:       checkPingpong,
	ops:          func(n int64) float64 { return float64(n) },
	run:          runPingpong,
}

func checkPingpong(n int64) string {
	if n < 1 {
		return "need at least 1 round trip"
	}
	return ""
}

func ponger(ping <-chan int64, pong chan<- int64, done chan<- struct{}) {
	for v := range ping {
		pong <- v + 1
	}
	close(done)
}

func runPingpong(n int64, c *clock) string {
	ping, pong, done := make(chan int64), make(chan int64), make(chan struct{})
	go ponger(ping, pong, done)
	var bad int64
	c.start()
	for i := int64(0); i < n; i++ {
		ping <- i
		if <-pong != i+1 {
			bad++
		}
	}
	c.stop()
	close(ping)
	<-done
	if bad != 0 {
		return fmt.Sprintf("%d of %d replies were not the value sent plus one", bad, n)
	}
	return ""
}
