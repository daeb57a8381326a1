package main

// The process's memory as the kernel counts it, for the workloads that
// report memory per goroutine (blocked-mem, sleep): the resident set now,
// its peak since the last reset, and that reset, from /proc/self/status
// (bench/lib/rss.c's twin: change them together). runtime.ReadMemStats is
// the Go heap's view, not the process's.

import (
	"os"
	"strconv"
	"strings"
)

// procStatusKB is a "Key: N kB" line of /proc/self/status, or -1.
func procStatusKB(key string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, key+":") {
			f := strings.Fields(line[len(key)+1:])
			if len(f) > 0 {
				if v, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return v
				}
			}
		}
	}
	return -1
}

// rssKB is the resident set (VmRSS) in KiB, or -1.
func rssKB() int64 { return procStatusKB("VmRSS") }

// peakRSSKB is the peak resident set (VmHWM) in KiB since the process
// started or resetPeakRSS last ran, or -1.
func peakRSSKB() int64 { return procStatusKB("VmHWM") }

// resetPeakRSS resets the peak (VmHWM) to the current resident set by
// writing 5 to /proc/self/clear_refs; false if that failed.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}
