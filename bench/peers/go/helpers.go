package main

// Pieces of a bench that several workloads share (bench/lib/harness.h has
// their C twins where weft-bench has them).

import "fmt"

// inRange is a checkN that accepts lo..hi and otherwise says
// "lo..hi" followed by unit (" goroutines", or "" for a plain size).
func inRange(lo, hi int64, unit string) func(n int64) string {
	why := fmt.Sprintf("%d..%d%s", lo, hi, unit)
	return func(n int64) string {
		if n < lo || n > hi {
			return why
		}
		return ""
	}
}

// opsN is the ops of a workload whose n is its operation count.
func opsN(n int64) float64 { return float64(n) }
