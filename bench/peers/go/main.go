// Command weft-bench-go is the Go peer of weft-bench: the same workloads,
// command line and output line, with impl=go, so that scripts/bench.py can
// set the two side by side. One workload per file; this file holds the
// command line, the runs and the statistics (bench/lib/harness.c's twin).
//
//	weft-bench-go [--workers LIST] [--reps N] [--n N] [--list] [BENCH...]
//	weft-bench-go --serve --workers W [--n N] BENCH
//
// --serve is for scripts/bench.py: one warm-up, a line "ready", then one
// timed run per line "run" read from stdin, printed with reps=1.
//
// Workers are GOMAXPROCS. A Go program cannot restart its runtime, so each
// run sets GOMAXPROCS and collects garbage first (untimed) instead.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

type bench struct {
	name      string
	what      string
	defaultN  int64
	oneWorker bool // measured at workers=1 only
	// fixedWorkers > 0: measured at exactly this many workers only (2:
	// pingpong-x), whatever the worker list says.
	fixedWorkers int
	defaultReps  int // > 0: a one-shot workload's timed runs unless --reps
	checkN       func(n int64) string
	ops          func(n int64) float64
	// run does one run of size n, times its work with the clock it is
	// given, and returns "" if its answer was right, else what was wrong.
	run func(n int64, c *clock) string
}

var benches = []*bench{&yieldBench, &spawnBench, &fibBench, &skynetBench,
	&pingpongBench, &pingpongXBench, &chan1Bench, &chan4Bench, &chan16Bench, &mutexBench,
	&skynetChanBench, &utsBench, &blockedMemBench, &sleepBench}

// only is the one worker count b is measured at, or 0 if any.
func (b *bench) only() int {
	if b.oneWorker {
		return 1
	}
	return b.fixedWorkers
}

type clock struct {
	t0, t1 time.Time
	ok     bool
	extra  string // figures other than time, " key=value" each (addExtra)
}

func (c *clock) start() { c.t0 = time.Now() }
func (c *clock) stop()  { c.t1 = time.Now(); c.ok = true }

// addExtra appends " key=value" (the format holds both) to the run's
// output line, as bench_extra() does in bench/lib/harness.c.
func (c *clock) addExtra(format string, args ...interface{}) {
	c.extra += " " + fmt.Sprintf(format, args...)
}

type result struct {
	bench                string
	workers              int
	n                    int64
	reps                 int
	median, minNs, maxNs int64
	perOp                float64
	ok                   bool
	extra                string // the last run's clock.extra
}

func usage() {
	fmt.Println("usage: weft-bench-go [--workers LIST] [--reps N] [--n N] [--list] [BENCH...]")
	for _, b := range benches {
		fmt.Printf("  %-11s %s\n", b.name, b.what)
	}
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "weft-bench-go: "+format+"\n", args...)
	os.Exit(2)
}

func runOnce(b *bench, w int, n int64) (int64, string, bool) {
	runtime.GOMAXPROCS(w)
	runtime.GC()
	var c clock
	if why := b.run(n, &c); why != "" {
		fmt.Fprintf(os.Stderr, "weft-bench-go: %s: %s\n", b.name, why)
		return 0, c.extra, false
	}
	if !c.ok {
		fmt.Fprintf(os.Stderr, "weft-bench-go: %s: clock not stopped\n", b.name)
		return 0, c.extra, false
	}
	return c.t1.Sub(c.t0).Nanoseconds(), c.extra, true
}

func printKV(r result) {
	fmt.Printf("bench=%s impl=go workers=%d n=%d reps=%d median_ns=%d min_ns=%d max_ns=%d per_op_ns=%.2f ok=%d%s\n",
		r.bench, r.workers, r.n, r.reps, r.median, r.minNs, r.maxNs, r.perOp, b2i(r.ok), r.extra)
}

// serve warms up, then times one run per "run" line of stdin.
func serve(b *bench, w int, n int64) int {
	_, _, allOK := runOnce(b, w, n)
	fmt.Printf("ready ok=%d\n", b2i(allOK))
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() && strings.HasPrefix(in.Text(), "run") {
		ns, extra, ok := runOnce(b, w, n)
		r := result{bench: b.name, workers: w, n: n, reps: 1, median: ns, minNs: ns, maxNs: ns, ok: ok,
			extra: extra}
		if ops := b.ops(n); ops > 0 {
			r.perOp = float64(ns) / ops
		}
		printKV(r)
		allOK = allOK && ok
	}
	if allOK {
		return 0
	}
	return 1
}

func measure(b *bench, w int, n int64, reps int) result {
	r := result{bench: b.name, workers: w, n: n, reps: reps}
	_, _, r.ok = runOnce(b, w, n) // warm-up
	samples := make([]int64, reps)
	for i := range samples {
		ns, extra, ok := runOnce(b, w, n)
		samples[i], r.extra = ns, extra
		r.ok = r.ok && ok
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	r.median = (samples[(reps-1)/2] + samples[reps/2]) / 2
	r.minNs, r.maxNs = samples[0], samples[reps-1]
	if ops := b.ops(n); ops > 0 {
		r.perOp = float64(r.median) / ops
	}
	return r
}

func main() {
	workers := []int{1}
	if runtime.NumCPU() > 1 {
		workers = append(workers, runtime.NumCPU())
	}
	reps := 0 // not given
	var nFlag int64
	var selected []*bench
	serveMode := false
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := ""
		if i+1 < len(args) {
			val = args[i+1]
		}
		switch {
		case a == "-h" || a == "--help":
			usage()
			return
		case a == "--list":
			for _, b := range benches {
				w := "any"
				if b.only() > 0 {
					w = strconv.Itoa(b.only())
				}
				if b.defaultReps > 0 {
					w += " " + strconv.Itoa(b.defaultReps)
				}
				fmt.Printf("%s %d %s\n", b.name, b.defaultN, w)
			}
			return
		case a == "--serve":
			serveMode = true
		case a == "--workers" && val != "":
			workers = nil
			for _, s := range strings.Split(val, ",") {
				w, err := strconv.Atoi(s)
				if err != nil || w < 1 || w > 1024 {
					fail("bad --workers '%s'", val)
				}
				workers = append(workers, w)
			}
			i++
		case a == "--reps" && val != "":
			r, err := strconv.Atoi(val)
			if err != nil || r < 1 || r > 100000 {
				fail("bad --reps '%s'", val)
			}
			reps = r
			i++
		case a == "--n" && val != "":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n < 1 {
				fail("bad --n '%s'", val)
			}
			nFlag = n
			i++
		default:
			found := false
			for _, b := range benches {
				if b.name == a {
					selected = append(selected, b)
					found = true
				}
			}
			if !found {
				var names []string
				for _, b := range benches {
					names = append(names, b.name)
				}
				fail("unknown or incomplete argument '%s' (benchmarks: %s)", a,
					strings.Join(names, " "))
			}
		}
	}
	if len(selected) == 0 {
		selected = benches
	}
	for _, b := range selected {
		n := b.defaultN
		if nFlag != 0 {
			n = nFlag
		}
		if why := b.checkN(n); why != "" {
			fail("%s: bad --n %d: %s", b.name, n, why)
		}
	}

	if serveMode {
		if len(selected) != 1 || len(workers) != 1 {
			fail("--serve takes one benchmark and one worker count")
		}
		b, w := selected[0], workers[0]
		if b.only() > 0 {
			w = b.only()
		}
		n := b.defaultN
		if nFlag != 0 {
			n = nFlag
		}
		os.Exit(serve(b, w, n))
	}

	var results []result
	allOK := true
	for _, b := range selected {
		n := b.defaultN
		if nFlag != 0 {
			n = nFlag
		}
		for i, w := range workers {
			if b.only() > 0 {
				if i > 0 {
					break
				}
				w = b.only()
			}
			bReps := reps // --reps, else a one-shot workload's own, else 5
			if bReps == 0 {
				bReps = 5
				if b.defaultReps > 0 {
					bReps = b.defaultReps
				}
			}
			r := measure(b, w, n, bReps)
			printKV(r)
			results = append(results, r)
			allOK = allOK && r.ok
		}
	}
	fmt.Printf("\n%-11s %-6s %7s %10s %5s %11s %11s %11s %10s %3s\n", "bench", "impl", "workers",
		"n", "reps", "median_ms", "min_ms", "max_ms", "ns/op", "ok")
	for _, r := range results {
		ok := "yes"
		if !r.ok {
			ok = "NO"
		}
		fmt.Printf("%-11s %-6s %7d %10d %5d %11.3f %11.3f %11.3f %10.2f %3s%s\n", r.bench, "go",
			r.workers, r.n, r.reps, float64(r.median)/1e6, float64(r.minNs)/1e6,
			float64(r.maxNs)/1e6, r.perOp, ok, r.extra)
	}
	if !allOK {
		fmt.Fprintln(os.Stderr, "weft-bench-go: some runs gave a wrong answer (ok=0)")
		os.Exit(1)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
