package main

// sleep: a million sleepers (weft: bench/sleep.c). n goroutines (default
// 1,000,000) each check in on a WaitGroup and block receiving from one
// channel; once all have, the channel is closed (the release) and each
// sleeps until the release time plus its own delay, uniform in 0..100 ms
// in 1 us steps, drawn exactly as weft's (splitmix64 of a fixed seed and
// the index), with time.Sleep(time.Until(deadline)), then notes how late
// it woke. The time is from the release to the last wake-up; extras:
// p50/p99/max lateness, bytes_per_fiber (the run's peak RSS, VmHWM reset
// before each run through /proc/self/clear_refs, less the RSS before the
// first run, over n) and peak_rss_kb. Go's timers: each goroutine's
// time.Sleep uses the timer in its g, on the heap of its P. Checked: every
// goroutine woke (wrote its lateness), none before its deadline.

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

const (
	sleepSeed       = 20261123
	sleepMaxDelayUs = 100000
	notWoken        = int64(-1) << 63
)

var sleepBench = bench{
	name:        "sleep",
	what:        "n goroutines released at once, each sleeping a random 0-100 ms: time to the last wake-up, p50/p99/max lateness, bytes_per_fiber (peak RSS) (default 1M)",
	defaultN:    1000000,
	defaultReps: 3,
	checkN:      inRange(1, 10000000, " goroutines"),
	ops:         opsN,
	run:         runSleep,
}

var (
	sleepLate   []int64
	sleepBaseKB int64 = -1
)

// sleepDelay is goroutine i's delay, as bench/sleep.c's delay_ns().
func sleepDelay(i int64) time.Duration {
	x := uint64(sleepSeed) + uint64(i)*0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	x ^= x >> 31
	return time.Duration(x%(sleepMaxDelayUs+1)) * time.Microsecond
}

func runSleep(n int64, c *clock) string {
	if int64(len(sleepLate)) < n {
		sleepLate = make([]int64, n)
	}
	late := sleepLate[:n]
	for i := range late {
		late[i] = notWoken // resident before the baseline
	}
	if sleepBaseKB < 0 {
		sleepBaseKB = rssKB()
	}
	if sleepBaseKB < 0 || !resetPeakRSS() {
		return "cannot read the RSS or reset the peak (/proc/self/status, /proc/self/clear_refs)"
	}
	gate := make(chan struct{})
	var checkedIn, done sync.WaitGroup
	var releaseAt time.Time // written before close(gate), which orders it

	checkedIn.Add(int(n))
	done.Add(int(n))
	for i := int64(0); i < n; i++ {
		go func(i int64) {
			checkedIn.Done()
			<-gate
			deadline := releaseAt.Add(sleepDelay(i))
			time.Sleep(time.Until(deadline))
			late[i] = int64(time.Since(deadline)) // read after done.Wait()
			done.Done()
		}(i)
	}
	checkedIn.Wait()
	c.start()
	releaseAt = time.Now()
	close(gate)
	done.Wait()
	c.stop()

	peakKB := peakRSSKB()
	last := time.Duration(0)
	for i, l := range late {
		if l == notWoken {
			return fmt.Sprintf("goroutine %d never noted its wake-up", i)
		}
		if l < 0 {
			return fmt.Sprintf("goroutine %d woke %d ns before its deadline", i, -l)
		}
		if d := sleepDelay(int64(i)) + time.Duration(l); d > last {
			last = d
		}
	}
	// The time is the release to the last wake-up, not to the last Done.
	c.t0, c.t1 = releaseAt, releaseAt.Add(last)
	sort.Slice(late, func(i, j int) bool { return late[i] < late[j] })
	c.addExtra("p50_late_us=%.1f", float64(late[(n-1)/2])/1e3)
	c.addExtra("p99_late_us=%.1f", float64(late[(n-1)*99/100])/1e3)
	c.addExtra("max_late_us=%.1f", float64(late[n-1])/1e3)
	c.addExtra("bytes_per_fiber=%.0f", float64(peakKB-sleepBaseKB)*1024/float64(n))
	c.addExtra("peak_rss_kb=%d", peakKB)
	return ""
}
