package main

// uts: Unbalanced Tree Search over the tree of bench/lib/uts.h (weft:
// bench/uts.c), a goroutine per node: each node draws its child count,
// starts a goroutine per child, waits on a WaitGroup and returns the size
// of its subtree; the root's answer must be the node count computed once,
// plainly, and is printed as nodes=. n is the depth limit (default 10:
// 4,146,630 nodes); ns per goroutine.
//
// The tree's functions are copied from bench/lib/uts.h, which documents
// them (T1-style geometric tree, b0 = 4, root seed 310, SplitMix64 as a
// splittable generator): change them together.

import (
	"fmt"
	"sync"
)

const (
	utsSeed        = 310
	utsDepth       = 10
	utsDepthMax    = 12
	utsMaxChildren = 100
	utsGamma       = uint64(0x9e3779b97f4a7c15)
)

var utsBench = bench{
	name:     "uts",
	what:     "unbalanced tree search (T1-style, b0=4, seed 310), a goroutine per node; n is the depth limit; ns per goroutine (default 10: 4.1M nodes)",
	defaultN: utsDepth,
	checkN: func(n int64) string {
		if n < 1 || n > utsDepthMax {
			return "a depth limit of 1..12"
		}
		return ""
	},
	ops: func(n int64) float64 { return float64(utsSize(n)) },
	run: runUts,
}

func utsMix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func utsRoot() uint64 { return utsMix(utsSeed) }

func utsChild(state uint64, i int) uint64 { return utsMix(state + uint64(i+2)*utsGamma) }

func utsChildren(state uint64, depth, limit int) int {
	if depth >= limit {
		return 0
	}
	x, t := utsMix(state+utsGamma), ^uint64(0)
	k := 0
	for {
		t -= t / 5
		if x >= t || k == utsMaxChildren {
			return k
		}
		k++
	}
}

func utsCountFrom(state uint64, depth, limit int) int64 {
	nodes := int64(1)
	for i, k := 0, utsChildren(state, depth, limit); i < k; i++ {
		nodes += utsCountFrom(utsChild(state, i), depth+1, limit)
	}
	return nodes
}

var utsSizes = map[int64]int64{}

// utsSize is the node count of the tree with depth limit n, counted once.
func utsSize(n int64) int64 {
	if _, ok := utsSizes[n]; !ok {
		utsSizes[n] = utsCountFrom(utsRoot(), 0, int(n))
	}
	return utsSizes[n]
}

func utsNode(state uint64, depth, limit int) int64 {
	k := utsChildren(state, depth, limit)
	if k == 0 {
		return 1
	}
	res := make([]int64, k)
	var wg sync.WaitGroup
	wg.Add(k)
	for i := 0; i < k; i++ {
		go func(i int) {
			res[i] = utsNode(utsChild(state, i), depth+1, limit)
			wg.Done()
		}(i)
	}
	wg.Wait()
	nodes := int64(1)
	for _, v := range res {
		nodes += v
	}
	return nodes
}

func runUts(n int64, c *clock) string {
	want := utsSize(n) // untimed
	var got int64
	done := make(chan struct{})
	c.start()
	go func() {
		got = utsNode(utsRoot(), 0, int(n))
		close(done)
	}()
	<-done
	c.stop()
	c.addExtra("nodes=%d", got)
	if got != want {
		return fmt.Sprintf("counted %d nodes, not %d", got, want)
	}
	return ""
}
