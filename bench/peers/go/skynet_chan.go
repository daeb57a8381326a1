package main

// skynet-chan: the original skynet (github.com/atemerev/skynet), which is
// also what this peer's skynet workload runs (skynet.go): weft-bench has two
// skynets, one that joins fibers (skynet) and one that sends each sum over
// a channel as the original does (skynet-chan, bench/skynet_chan.c), and Go
// is measured against both with the same code. ns per goroutine.

var skynetChanBench = bench{
	name:     "skynet-chan",
	what:     "skynet, goroutines + channels (the original, as skynet); ns per goroutine (default 1M leaves)",
	defaultN: 1000000,
	checkN:   skynetBench.checkN,
	ops:      skynetBench.ops,
	run:      runSkynet,
}
