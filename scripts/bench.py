#!/usr/bin/env python3
"""bench.py - run weft-bench and its peers side by side, interleaved.

Finds weft-bench and the peer benchmarks (Go, Boost.Fiber, oneTBB) in a meson
build directory and runs them interleaved at rep granularity: for each
benchmark, for each worker count, for each rep, every implementation does one
timed run, in an order rotated from rep to rep, so that drift of a noisy
machine falls on all of them alike. Prints a table of medians, min-max
spreads and weft/peer time ratios (below 1: weft is faster), then a second
table of the figures other than time that some workloads add to their line
(uts: nodes=, blocked-mem: bytes_per_fiber=, peak_rss_kb=), with the same
ratios. Standard library only.

By default each implementation runs as one process per benchmark and worker
count (`--serve`): it does its untimed warm-up, then one timed run each time
this script asks, so a rep costs one run, not a warm-up and a run. --fresh
starts a new process per rep instead (`--reps 1`: warm-up and one run), which
takes about twice as long.

    scripts/bench.py [--build DIR] [--workers LIST] [--reps N] [--n N] [--fresh]
                     [--peers LIST] [--csv FILE] [--kv] [--plot FILE.png] [BENCH...]

The echo and http benchmarks (bench/net/, run by scripts/bench_net.py) are
servers under one load generator: weft's examples/echo and examples/http_hello
beside Go and a single-threaded epoll loop, one row per connection count.

Exits non-zero if any run crashed, timed out, or printed ok=0 (a wrong
answer). Peers missing from the build are skipped and the reason printed
(bench/peers/meson.build writes it to <build>/bench/peers/peers.txt).
"""

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import bench_net  # the echo and http rows: servers driven by bench/net/loadgen

PUBLISH_REPS = 11  # STYLE.md section 9: median of >= 11 runs for published figures
DEFAULT_REPS = 5  # a one-shot workload's own default (--list's 4th word) may be lower


def die(msg):
    print(f"bench.py: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_kv(line):
    """The fields of a 'bench=... impl=... ok=1' line, or None."""
    if not line.startswith("bench="):
        return None
    fields = dict(tok.split("=", 1) for tok in line.split() if "=" in tok)
    need = ("bench", "impl", "workers", "n", "median_ns", "per_op_ns", "ok")
    if not all(k in fields for k in need):
        return None
    return fields


KV_KEYS = {"bench", "impl", "workers", "n", "reps", "median_ns", "min_ns", "max_ns",
           "per_op_ns", "ok"}


def extra_fields(fields):
    """{key: number} of a line's figures other than time (after ok=)."""
    extra = {}
    for k, v in fields.items():
        if k not in KV_KEYS:
            try:
                extra[k] = float(v)
            except ValueError:
                pass
    return extra


def list_benches(exe):
    """{name: (default_n, only, reps)} from `exe --list`: only is the one worker
    count the benchmark is measured at (1: yield, 2: pingpong-x), or 0 for any;
    reps the default timed runs of a one-shot workload (an optional fourth
    word: 3 for blocked-mem), or 0 for the usual."""
    out = subprocess.run([exe, "--list"], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"{exe} --list failed: {out.stderr.strip()}")
    benches = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            benches[parts[0]] = (int(parts[1]), 0 if parts[2] == "any" else int(parts[2]),
                                 int(parts[3]) if len(parts) > 3 else 0)
    return benches


def find_impls(build):
    """[(impl, exe, benches)] available, and [(impl, why)] skipped."""
    weft = os.path.join(build, "bench", "weft-bench")
    if not os.access(weft, os.X_OK):
        die(f"no {weft}: configure and build first "
            f"(meson setup {build} --buildtype=release && ninja -C {build}), "
            "or pass --build DIR")
    impls = [("weft", weft, list_benches(weft))]
    skipped = []
    peers_dir = os.path.join(build, "bench", "peers")
    peers_txt = os.path.join(peers_dir, "peers.txt")
    if not os.path.exists(peers_txt):
        skipped.append(("peers", f"no {peers_txt}: bench/peers is not configured in this build"))
        return impls, skipped
    with open(peers_txt) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            impl, exe, note = (line.rstrip("\n").split("\t") + ["", ""])[:3]
            if exe == "-":
                skipped.append((impl, note))
                continue
            path = os.path.join(peers_dir, exe)
            if not os.access(path, os.X_OK):
                skipped.append((impl, f"{path} not built yet (ninja -C {build})"))
                continue
            try:
                impls.append((impl, path, list_benches(path)))
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                skipped.append((impl, str(e)))
    return impls, skipped


def run_one(exe, bench, workers, n, timeout):
    """One process, one timed rep: (fields or None, raw kv lines, error or None)."""
    cmd = [exe, "--workers", str(workers), "--reps", "1"]
    if n:
        cmd += ["--n", str(n)]
    cmd.append(bench)
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, [], f"timed out after {timeout} s: {' '.join(cmd)}"
    lines = [l for l in out.stdout.splitlines() if l.startswith("bench=")]
    rows = [parse_kv(l) for l in lines]
    rows = [r for r in rows if r and r["bench"] == bench]
    err = None
    if out.returncode < 0:
        err = f"killed by signal {-out.returncode}"
    elif out.returncode != 0:
        err = f"exit status {out.returncode}"
    elif len(rows) != 1:
        err = "no result line"
    else:
        err = check_row(rows[0], bench)
    if err:
        tail = "\n      ".join(out.stderr.strip().splitlines()[-8:])
        return (rows[0] if rows else None), lines, f"{err}: {' '.join(cmd)}\n      {tail}"
    return rows[0], lines, None


def check_row(fields, bench):
    if fields is None or fields.get("bench") != bench:
        return "no result line"
    if fields["ok"] != "1":
        return "wrong answer (ok=0)"
    return None


class Server:
    """One implementation in --serve mode for one benchmark and worker count."""

    def __init__(self, exe, bench, workers, n, timeout):
        self.bench, self.timeout = bench, timeout
        self.cmd = [exe, "--serve", "--workers", str(workers)]
        if n:
            self.cmd += ["--n", str(n)]
        self.cmd.append(bench)
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, text=True, bufsize=1)
        self.dead = self.timed_out = False

    def _expire(self):
        self.timed_out = True
        self.proc.kill()

    def _readline(self):
        watchdog = threading.Timer(self.timeout, self._expire)
        watchdog.start()
        try:
            return self.proc.stdout.readline()
        finally:
            watchdog.cancel()

    def _error(self, what):
        self.dead = True
        self.proc.kill()
        self.proc.wait()
        rc = self.proc.returncode
        if self.timed_out:
            what = f"timed out after {self.timeout} s"
        elif rc is not None and rc < 0:
            what = f"killed by signal {-rc}"
        elif rc:
            what = f"{what} (exit status {rc})"
        self.stderr.seek(0)
        tail = "\n      ".join(self.stderr.read().strip().splitlines()[-8:])
        return f"{what}: {' '.join(self.cmd)}\n      {tail}"

    def ready(self):
        """None once warmed up, else what went wrong."""
        line = self._readline()
        if not line.startswith("ready"):
            return self._error("no 'ready' line")
        if "ok=1" not in line:
            return self._error("warm-up run failed (ok=0)")
        return None

    def run(self):
        """(fields or None, raw lines, error or None) of one timed run."""
        try:
            self.proc.stdin.write("run\n")
            self.proc.stdin.flush()
        except OSError:
            return None, [], self._error("no result line")
        line = self._readline()
        fields = parse_kv(line)
        err = check_row(fields, self.bench)
        lines = [line.rstrip("\n")] if fields else []
        if err:
            return fields, lines, self._error(err)
        return fields, lines, None

    def close(self):
        """None if it ended cleanly, else what went wrong."""
        if self.dead:
            return None
        try:
            self.proc.stdin.close()
            rc = self.proc.wait(timeout=self.timeout)
        except (OSError, subprocess.TimeoutExpired):
            return self._error("did not exit")
        if rc != 0:
            return self._error(f"exit status {rc}")
        return None


def median(xs):
    return statistics.median(xs) if xs else None


def ratio_of_medians(samples, peer):
    """weft's median time over peer's in one cell's {impl: [samples]}, or None
    if either has no samples."""
    wt, pt = samples.get("weft", []), samples.get(peer, [])
    if not wt or not pt:
        return None
    return median([x[0] for x in wt]) / median([x[0] for x in pt])


def fmt_ms(ns):
    return f"{ns / 1e6:.1f}" if ns >= 1e7 else f"{ns / 1e6:.2f}"


def build_type(build):
    try:
        with open(os.path.join(build, "meson-info", "intro-buildoptions.json")) as f:
            for opt in json.load(f):
                if opt.get("name") == "buildtype":
                    return opt.get("value")
    except (OSError, ValueError):
        pass
    return "unknown"


def print_aligned(table, left=(0,)):
    """Print rows of strings as columns, those numbered in @left
    left-aligned and the others right-aligned, with a rule under the first
    row (the header)."""
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for i, r in enumerate(table):
        print("  ".join(c.ljust(w) if j in left else c.rjust(w) for j, (c, w) in
                        enumerate(zip(r, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def print_table(rows, peers):
    """rows: [(bench, workers, n, {impl: [samples]})]; a sample is (ns, per_op, rep)."""
    header = ["bench", "W", "n", "weft ms [min-max]", "weft ns/op"]
    for p in peers:
        header += [f"{p} ms [min-max]", f"{p} ns/op", f"weft/{p}"]
    table = [header]
    for bench, workers, n, samples in rows:
        line = [bench, str(workers), str(n)]
        weft = samples.get("weft", [])
        for impl in ["weft"] + peers:
            s = samples.get(impl, [])
            if not s:
                line += ["-", "-"] + (["-"] if impl != "weft" else [])
                continue
            ns = [x[0] for x in s]
            line.append(f"{fmt_ms(median(ns))} [{fmt_ms(min(ns))}-{fmt_ms(max(ns))}]")
            line.append(f"{median([x[1] for x in s]):.1f}")
            if impl != "weft":
                ratio = ratio_of_medians(samples, impl)
                if ratio is not None:
                    # Per-rep ratios: the runs of one rep ran back to back.
                    at = {x[2]: x[0] for x in weft}
                    pairs = [at[x[2]] / x[0] for x in s if x[2] in at] or [ratio]
                    line.append(f"{ratio:.2f} [{min(pairs):.2f}-{max(pairs):.2f}]")
                else:
                    line.append("-")
        table.append(line)
    print_aligned(table)


def print_speedups(rows, impls):
    """Scaling: for each benchmark run at 1 worker and more, each
    implementation's speed-up at W (its median at 1 worker over its median
    at W) and weft's speed-up over each peer's (above 1: weft scaled
    better). Returns whether it printed anything."""
    cells = {}
    for bench, w, _, samples in rows:
        if bench in bench_net.BENCHES:
            continue
        for impl, s in samples.items():
            if s:
                cells.setdefault(bench, {}).setdefault(impl, {})[w] = median([x[0] for x in s])
    header = ["bench", "W"] + [f"{i} speed-up" for i in impls] + \
        [f"weft/{i} speed-up" for i in impls if i != "weft"]
    table = [header]
    for bench, by_impl in cells.items():
        ws = sorted({w for t in by_impl.values() for w in t if w != 1})
        for w in ws:
            sp = {}
            for impl in impls:
                t = by_impl.get(impl, {})
                if 1 in t and w in t:
                    sp[impl] = t[1] / t[w]
            if not sp:
                continue
            line = [bench, str(w)] + [f"{sp[i]:.2f}" if i in sp else "-" for i in impls]
            for i in impls:
                if i == "weft":
                    continue
                line.append(f"{sp['weft'] / sp[i]:.2f}" if "weft" in sp and i in sp else "-")
            table.append(line)
    if len(table) == 1:
        return False
    print_aligned(table)
    return True


def fmt_figure(v):
    if v is None:
        return "-"
    return f"{v:.0f}" if v == int(v) or abs(v) >= 100 else f"{v:.2f}"


def print_extras(rows, peers):
    """The figures other than time (uts's nodes, blocked-mem's bytes_per_fiber
    and peak_rss_kb): a line per benchmark, worker count and figure, with each
    implementation's median over reps and weft/peer, the ratio of medians.
    Returns False, printing nothing, if no workload gave any."""
    peers = [p for p in peers if any(x[3] for r in rows for x in r[3].get(p, []))]
    header = ["bench", "W", "n", "figure", "weft"]
    for p in peers:
        header += [p, f"weft/{p}"]
    table = [header]
    for bench, workers, n, samples in rows:
        keys = []
        for s in samples.values():
            for x in s:
                keys += [k for k in x[3] if k not in keys]
        for key in keys:
            meds = {}
            for impl, s in samples.items():
                vals = [x[3][key] for x in s if key in x[3]]
                if vals:
                    meds[impl] = median(vals)
            line = [bench, str(workers), str(n), key, fmt_figure(meds.get("weft"))]
            for p in peers:
                w, v = meds.get("weft"), meds.get(p)
                line += [fmt_figure(v), f"{w / v:.2f}" if w is not None and v else "-"]
            table.append(line)
    if len(table) == 1:
        return False
    print_aligned(table, left=(0, 1, 3))
    return True


def plot(path, rows, impls, peers):
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        print(f"note: gnuplot not found; no plot written to {path} "
              "(apt-get install gnuplot-nox)")
        return True
    benches = []
    for r in rows:
        if r[0] not in benches:
            benches.append(r[0])
    tmp = tempfile.mkdtemp(prefix="weft-bench-plot-")
    script = ["set terminal pngcairo size 1400,%d font ',10'" % (330 * len(benches)),
              f"set output '{path}'",
              f"set multiplot layout {len(benches)},2",
              "set grid", "set key outside right", "set xlabel 'workers'",
              "set style data linespoints"]
    for b in benches:
        brow = [r for r in rows if r[0] == b]
        ws = [r[1] for r in brow]
        plots, rplots = [], []
        for impl in impls:
            pts = [(r[1], [x[1] for x in r[3].get(impl, [])]) for r in brow]
            pts = [(w, s) for w, s in pts if s]
            if not pts:
                continue
            dat = os.path.join(tmp, f"{b}-{impl}.dat")
            with open(dat, "w") as f:
                for w, s in pts:
                    f.write(f"{w} {median(s)} {min(s)} {max(s)}\n")
            plots.append(f"'{dat}' using 1:2:3:4 with yerrorlines title '{impl}'")
        ratios = [1.0]
        for p in peers:
            pts = [(r[1], ratio_of_medians(r[3], p)) for r in brow]
            pts = [(w, ratio) for w, ratio in pts if ratio is not None]
            if not pts:
                continue
            ratios += [ratio for _, ratio in pts]
            dat = os.path.join(tmp, f"{b}-ratio-{p}.dat")
            with open(dat, "w") as f:
                for w, ratio in pts:
                    f.write(f"{w} {ratio}\n")
            rplots.append(f"'{dat}' using 1:2 title 'weft/{p}'")
        yr = f"set yrange [{min(ratios) / 2}:{max(ratios) * 2}]"
        xr = f"set xrange [{min(ws) - 0.5}:{max(ws) + 0.5}]"
        xt = "set xtics (" + ", ".join(str(w) for w in ws) + ")"
        script += [xr, xt, "set logscale y", "set autoscale y",
                   "set ylabel 'ns per op (median, min-max)'",
                   f"set title '{b}: time per operation'",
                   ("plot " + ", ".join(plots)) if plots else "plot NaN notitle",
                   yr, "set ylabel 'weft / peer (time; < 1: weft faster)'",
                   f"set title '{b}: ratio of medians'",
                   ("plot 1 with lines lc 'gray' notitle, " + ", ".join(rplots))
                   if rplots else "plot 1 with lines lc 'gray' notitle"]
    script.append("unset multiplot")
    # Both panels log-scale: ns/op spans decades, and a ratio of 2 and one
    # of 1/2 should look equally far from 1.
    out = subprocess.run([gnuplot], input="\n".join(script) + "\n", capture_output=True,
                         text=True)
    shutil.rmtree(tmp, ignore_errors=True)
    if out.returncode != 0:
        print(f"bench.py: gnuplot failed: {out.stderr.strip()}", file=sys.stderr)
        return False
    print(f"plot written to {path}")
    return True


def main():
    ap = argparse.ArgumentParser(
        description="Run weft-bench and its peers interleaved; print medians and ratios.")
    ap.add_argument("benches", nargs="*", metavar="BENCH",
                    help="benchmarks to run (default: all of weft-bench's)")
    ap.add_argument("--build", default="build-release",
                    help="meson build directory (default: build-release)")
    ap.add_argument("--workers", help="worker counts, e.g. 1,2 (default: 1 and the core count)")
    ap.add_argument("--reps", type=int,
                    help=f"timed runs per implementation (default 5, or fewer for a one-shot "
                    f"workload, blocked-mem's 3; use {PUBLISH_REPS} for published figures)")
    ap.add_argument("--n", type=int, help="size of every selected benchmark (default: each "
                    "benchmark's own)")
    ap.add_argument("--fresh", action="store_true",
                    help="a new process (warm-up and one run) per rep, not one per cell")
    ap.add_argument("--csv", metavar="FILE", help="write every sample to FILE")
    ap.add_argument("--kv", action="store_true", help="print the raw key=value lines")
    ap.add_argument("--plot", metavar="FILE.png",
                    help="gnuplot: ns/op against workers, and weft/peer ratios")
    ap.add_argument("--peers", help="peers to run beside weft, e.g. go,tbb (default: every "
                    "installed one); 'none' runs weft alone")
    ap.add_argument("--timeout", type=int, default=600,
                    help="seconds one process may take (default 600)")
    args = ap.parse_args()
    if args.reps is not None and args.reps < 1:
        die("--reps must be at least 1")
    reps_given = args.reps is not None
    args.reps = args.reps or DEFAULT_REPS

    cores = len(os.sched_getaffinity(0))
    if args.workers:
        try:
            workers = [int(w) for w in args.workers.split(",")]
        except ValueError:
            die(f"bad --workers '{args.workers}'")
        if not workers or min(workers) < 1:
            die(f"bad --workers '{args.workers}'")
    else:
        workers = [1] + ([cores] if cores > 1 else [])

    impls, skipped = find_impls(args.build)
    if args.peers is not None:
        wanted = [] if args.peers == "none" else args.peers.split(",")
        known = [i for i, _, _ in impls[1:]] + [i for i, _ in skipped]
        for p in wanted:
            if p not in known:
                die(f"unknown peer '{p}' (this build knows: {', '.join(known) or 'none'})")
        skipped += [(i, "not in --peers") for i, _, _ in impls[1:] if i not in wanted]
        impls = impls[:1] + [x for x in impls[1:] if x[0] in wanted]
    weft_benches = impls[0][2]
    benches = args.benches or list(weft_benches) + list(bench_net.BENCHES)
    net_benches = [b for b in benches if b in bench_net.BENCHES]  # run after the others
    benches = [b for b in benches if b not in bench_net.BENCHES]
    for b in benches:
        if b not in weft_benches:
            die(f"unknown benchmark '{b}' (weft-bench has: {' '.join(weft_benches)}; "
                f"and {', '.join(bench_net.BENCHES)})")
    peers = [name for name, _, _ in impls[1:]]

    print(f"weft benchmarks: {platform.node()}, {cores} usable cores, "
          f"{platform.system()} {platform.release()}, {time.strftime('%Y-%m-%d %H:%M')}")
    btype = build_type(args.build)
    print(f"build: {args.build} (buildtype={btype}); reps={args.reps}, "
          f"workers={','.join(map(str, workers))}; order rotated each rep; "
          f"{'a process per rep' if args.fresh else 'a process per cell, warmed up once'}")
    if btype != "release":
        print("note: not a release build; STYLE.md section 9 asks for one for figures")
    if args.reps < PUBLISH_REPS:
        print(f"note: {args.reps} reps; use --reps {PUBLISH_REPS} for published figures")
    one_shot = [f"{b} {weft_benches[b][2]}" for b in benches if weft_benches[b][2]]
    if one_shot and not reps_given:
        print(f"note: one-shot workloads run their own reps: {', '.join(one_shot)}")
    for impl, why in skipped:
        print(f"skipped {impl}: {why.removeprefix('skipped: ')}")
    if net_benches:
        for impl, why in bench_net.find(args.build)[2]:
            print(f"skipped {impl}: {why.removeprefix('skipped: ')}")
        print(f"note: {', '.join(net_benches)}: one server process per implementation and "
              f"cell; a rep is {bench_net.DURATION} s of bench/net/loadgen traffic "
              f"(threads: {bench_net.LOADGEN_THREADS}); workers={args.workers or cores} "
              f"unless --workers; {args.reps if reps_given else bench_net.DEFAULT_REPS} reps "
              "unless --reps")
    for impl, _, have in impls[1:]:
        lacks = [b for b in benches if b not in have]
        if lacks:
            print(f"note: {impl} has no {', '.join(lacks)} workload")
    sys.stdout.flush()

    # A failure of weft, or a wrong answer from anyone, fails the command; a
    # peer that crashes or hangs is reported and left out of its cell (it is
    # the peer's limit, not weft's result), so one flaky peer does not hide
    # the table.
    rows, failures, peer_trouble, csv_rows = [], [], [], []
    for bench in benches:
        only = weft_benches[bench][1]
        # A one-shot workload's own default, unless --reps was given.
        bench_reps = args.reps if reps_given else (weft_benches[bench][2] or args.reps)
        for w in ([only] if only else workers):
            # Who runs this cell: a peer that has the workload, at this count.
            cell = [(i, e) for i, e, have in impls
                    if bench in have and have[bench][1] in (0, w)]
            samples = {i: [] for i, _ in cell}
            n_seen = None

            def fail(impl, err):
                line = f"{impl} {bench} workers={w}: {err}"
                if impl != "weft" and "wrong answer" not in err:
                    peer_trouble.append(line)
                    print(f"PEER FAILED (left out) {line}", file=sys.stderr)
                    return
                failures.append(line)
                print(f"FAIL {line}", file=sys.stderr)

            servers = {}
            if not args.fresh:
                # One at a time, so that warm-ups do not overlap.
                for impl, exe in cell:
                    srv = Server(exe, bench, w, args.n, args.timeout)
                    err = srv.ready()
                    if err:
                        fail(impl, err)
                    else:
                        servers[impl] = srv
            for rep in range(bench_reps):
                k = rep % len(cell)
                for impl, exe in cell[k:] + cell[:k]:
                    if args.fresh:
                        fields, lines, err = run_one(exe, bench, w, args.n, args.timeout)
                    elif impl in servers and not servers[impl].dead:
                        fields, lines, err = servers[impl].run()
                    else:
                        continue
                    if args.kv:
                        for l in lines:
                            print(l)
                    if err:
                        fail(impl, err)
                    elif fields:
                        ns, per_op = int(fields["median_ns"]), float(fields["per_op_ns"])
                        extra = extra_fields(fields)
                        samples[impl].append((ns, per_op, rep, extra))
                        n_seen = n_seen or fields["n"]
                        csv_rows.append([bench, impl, w, fields["n"], rep + 1, ns, per_op,
                                         fields["ok"],
                                         " ".join(f"{k}={fields[k]}" for k in extra)])
            for impl, srv in servers.items():
                err = srv.close()
                if err:
                    fail(impl, err)
            rows.append((bench, w, n_seen or "?", samples))
            done = ", ".join(f"{i} {fmt_ms(median([x[0] for x in s]))} ms"
                             for i, s in samples.items() if s)
            print(f"  {bench} workers={w}: {done}", file=sys.stderr)

    if net_benches:
        nrows, ncsv, nfail, ntrouble, notes = bench_net.run(
            args.build, net_benches, workers if args.workers else [cores],
            args.reps if reps_given else bench_net.DEFAULT_REPS,
            [args.n] if args.n else list(bench_net.CONNS), args.timeout, args.kv)
        for note in notes:
            print(note)
        rows += nrows
        csv_rows += ncsv
        failures += nfail
        peer_trouble += ntrouble
        for r in nrows:
            peers += [i for i in r[3] if i != "weft" and i not in peers]

    print()
    print_table(rows, peers)
    print("\nms: median wall time of the timed part of one run [min-max over reps]; "
          "ns/op: per fiber, yield, switch, round trip (pingpong), element (chan) or\n"
          "lock+increment+unlock (mutex); weft/peer: ratio of medians "
          "[min-max of per-rep ratios]; below 1 means weft took less time.")
    if any(r[0] in bench_net.BENCHES for r in rows):
        print(f"echo, http: n is the connection count, one request outstanding on each; ms "
              f"the time of {bench_net.PER} requests at the rate measured\nover "
              f"{bench_net.DURATION} s; ns/op per request (1/throughput); epoll: one thread, "
              "whatever W says.")
    print()
    if print_speedups(rows, ["weft"] + [p for p in peers if p not in ("go-net", "epoll")]):
        print("\nspeed-up: an implementation's median at 1 worker over its median at W; "
              "weft/peer speed-up above 1: weft scaled better.\n")
    if print_extras(rows, peers):
        print("\nFigures other than time, medians over reps: nodes (uts: the tree's size, "
              "the same for all);\nbytes_per_fiber (blocked-mem: RSS with all n blocked, less "
              "the RSS before the first,\nover n) and peak_rss_kb (the process's high-water "
              "mark); weft/peer below 1: weft used less.")
        if any(r[0] in bench_net.BENCHES for r in rows):
            print("echo, http: rps (requests/s, weft/peer above 1: weft served more), p50_us "
                  "and p99_us (latency\nof one request, write to last byte of the answer; "
                  "below 1: weft answered sooner).")

    if args.csv:
        with open(args.csv, "w", newline="") as f:
            wr = csv.writer(f)
            wr.writerow(["bench", "impl", "workers", "n", "rep", "time_ns", "per_op_ns", "ok",
                         "extra"])
            wr.writerows(csv_rows)
        print(f"samples written to {args.csv}")
    fiber_rows = [r for r in rows if r[0] not in bench_net.BENCHES]  # workers on the x axis
    if args.plot and not plot(args.plot, fiber_rows, [i for i, _, _ in impls], peers):
        failures.append("plot failed")

    if peer_trouble:
        print(f"\nbench.py: {len(peer_trouble)} peer run(s) failed and were left out:",
              file=sys.stderr)
        for f in peer_trouble:
            print(f"  {f}", file=sys.stderr)
    if failures:
        print(f"\nbench.py: {len(failures)} failed run(s):", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
