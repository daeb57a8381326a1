"""bench_net.py - the echo and http rows of scripts/bench.py.

A network benchmark is a server and a client, not one process: each server
(weft's examples/echo and examples/http_hello; the Go peers in
bench/net/go/; the single-threaded epoll loop bench/net/epoll_echo.c) is
started once per cell (benchmark, connection count, worker count) on an
ephemeral loopback port, and the one load generator bench/net/loadgen.c
drives each in turn, interleaved at rep granularity in an order rotated from
rep to rep, as bench.py does for the fiber workloads. A loadgen run opens
the connections, warms up for WARMUP seconds, then counts the requests
answered in DURATION seconds, one outstanding per connection, checking
every answer (every echoed byte, every HTTP status and body); it prints
bench/lib/harness.h's key=value line. In bench.py's tables a sample's time
is that of PER requests at the rate measured (ns/op: per request, the
inverse of the throughput), so that weft/peer is the inverse of the
throughput ratio, as for every other row; rps, p50_us and p99_us are its
figures other than time. At the end of a cell every server gets SIGTERM
and must exit with status 0. Standard library only.
"""

import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time

BENCHES = ("echo", "http")
CONNS = (64, 1000, 10000)
DURATION = 1.5  # seconds measured per run: a fixed window, so that a loaded
# machine makes the suite noisier, not longer
WARMUP = 0.3  # seconds of untimed traffic after connecting
PER = 100000  # the table's time: ms per PER requests at the measured rate
# One generator thread: on the 2-core machine the generator then takes about
# one core and the server the other. With two, four busy threads time-slice on
# two cores and every server's p99 becomes the kernel scheduler's (3-5 ms at 64
# connections, against 0.7-2.4 ms with one; measured on the 2-core machine).
LOADGEN_THREADS = 1
DEFAULT_REPS = 3
FD_SLACK = 64  # fds a process needs beside its connections
FIGURES = ("rps", "p50_us", "p99_us")  # of the loadgen line, for the second table


def parse_kv(line):
    if not line.startswith("bench="):
        return None
    return dict(tok.split("=", 1) for tok in line.split() if "=" in tok)


def find(build):
    """({bench: [(impl, argv)]}, loadgen path, [(impl, why skipped)]); the
    first two are None if the network benchmarks are not built here."""
    net_dir = os.path.join(build, "bench", "net")
    txt = os.path.join(net_dir, "net.txt")
    if not os.path.exists(txt):
        return None, None, [("net", f"no {txt}: bench/net is not configured in this build")]
    exes, skipped = {}, []
    with open(txt) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            impl, exe, note = (line.rstrip("\n").split("\t") + ["", ""])[:3]
            path = os.path.join(net_dir, exe)
            if exe == "-":
                skipped.append((f"{impl} (echo, http)", note))
            elif not os.access(path, os.X_OK):
                skipped.append((f"{impl} (echo, http)", f"{path} not built yet (ninja -C {build})"))
            else:
                exes[impl] = path
    loadgen = exes.pop("loadgen", None)
    if not loadgen:
        return None, None, skipped + [("echo, http", "no load generator built")]
    servers = {}
    for bench, example in (("echo", "echo"), ("http", "http_hello")):
        weft = os.path.join(build, "examples", example)
        if not os.access(weft, os.X_OK):
            skipped.append((f"weft {bench}", f"{weft} not built yet (ninja -C {build})"))
            continue
        servers[bench] = [("weft", [weft])]
        if "go" in exes:
            servers[bench].append(("go", [exes["go"], bench]))
        if bench == "echo" and "epoll" in exes:
            servers[bench].append(("epoll", [exes["epoll"]]))
    return servers, loadgen, skipped


def fd_limit():
    """The hard fd limit: each process (server, generator) may raise its soft
    limit to it."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return float("inf") if hard == resource.RLIM_INFINITY else hard


class Server:
    """One server process on an ephemeral loopback port. Its stderr goes to a
    file (a weft server may print stall warnings on a busy machine: a pipe
    nobody reads would fill and block it)."""

    def __init__(self, impl, argv, workers, timeout):
        self.impl, self.timeout = impl, timeout
        self.cmd = argv + ["--listen", "127.0.0.1:0"]
        if impl != "epoll":  # single-threaded by design
            self.cmd += ["--workers", str(workers)]
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.log)
        self.port, self.error = None, None
        deadline = time.monotonic() + 10
        while self.port is None and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            self.log.seek(0)
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.log.read())
            if m:
                self.port = int(m.group(1))
            else:
                time.sleep(0.02)
        if self.port is None:
            self.error = self._tail("did not say where it listens")
            self.proc.kill()
            self.proc.wait()

    def _tail(self, what):
        self.log.seek(0)
        lines = [l for l in self.log.read().splitlines() if "weft: stall:" not in l]
        tail = "\n      ".join(lines[-8:])
        return f"{what}: {' '.join(self.cmd)}\n      {tail}"

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM; None if it exited with status 0, else what went wrong."""
        if self.error:
            return None  # reported already
        if not self.alive():
            return self._tail(f"died (status {self.proc.returncode})")
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return self._tail("did not stop within the timeout after SIGTERM")
        return None if rc == 0 else self._tail(f"exit status {rc} after SIGTERM")


def load(loadgen, bench, impl, port, conns, workers, timeout):
    """One loadgen run: (fields or None, raw line or None, error or None)."""
    cmd = [loadgen, "--connect", f"127.0.0.1:{port}", "--mode", bench, "--conns", str(conns),
           "--duration", str(DURATION), "--warmup", str(WARMUP), "--threads",
           str(LOADGEN_THREADS), "--timeout", "30", "--impl", impl, "--workers", str(workers)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, None, f"timed out after {timeout} s: {' '.join(cmd)}"
    lines = [l for l in out.stdout.splitlines() if l.startswith("bench=")]
    fields = parse_kv(lines[-1]) if lines else None
    if out.returncode == 0 and fields and fields.get("ok") == "1":
        return fields, lines[-1], None
    why = "wrong answer (ok=0)" if fields else f"exit status {out.returncode}"
    tail = "\n      ".join(out.stderr.strip().splitlines()[-8:])
    return fields, (lines[-1] if lines else None), f"{why}: {' '.join(cmd)}\n      {tail}"


def run(build, benches, workers, reps, conns_list, timeout, kv):
    """Runs the cells; returns (rows, csv_rows, failures, peer_trouble, notes)
    in bench.py's shapes: a row is (bench, workers, conns, {impl: [(ns,
    per_op_ns, rep, {figure: value})]})."""
    rows, csv_rows, failures, peer_trouble, notes = [], [], [], [], []
    servers, loadgen, _ = find(build)  # bench.py has printed what find() skipped
    if servers is None:
        return rows, csv_rows, failures, peer_trouble, notes
    limit = fd_limit()

    def fail(impl, bench, w, conns, err):
        line = f"{impl} {bench} workers={w} conns={conns}: {err}"
        if impl != "weft" and "wrong answer" not in err:
            peer_trouble.append(line)
            print(f"PEER FAILED (left out) {line}", file=sys.stderr)
        else:
            failures.append(line)
            print(f"FAIL {line}", file=sys.stderr)

    for bench in benches:
        if bench not in servers:
            continue
        for conns in conns_list:
            if conns + FD_SLACK > limit:
                notes.append(f"skipped {bench} at {conns} connections: the fd limit ({limit}) "
                             f"is below {conns + FD_SLACK}")
                continue
            for w in workers:
                cell = servers[bench]
                live = {}
                for impl, argv in cell:  # one at a time: no overlapping start-ups
                    srv = Server(impl, argv, w, timeout)
                    if srv.error:
                        fail(impl, bench, w, conns, srv.error)
                    else:
                        live[impl] = srv
                samples = {impl: [] for impl, _ in cell}
                order = [impl for impl, _ in cell if impl in live]
                for rep in range(reps):
                    k = rep % len(order) if order else 0
                    for impl in order[k:] + order[:k]:
                        srv = live.get(impl)
                        if srv is None:
                            continue
                        fields, line, err = load(loadgen, bench, impl, srv.port, conns,
                                                 1 if impl == "epoll" else w, timeout)
                        if kv and line:
                            print(line)
                        if err:
                            fail(impl, bench, w, conns, err)
                            if not srv.alive():  # left out of the rest of the cell
                                fail(impl, bench, w, conns, srv.stop())
                                del live[impl]
                            continue
                        per_op = float(fields["per_op_ns"])
                        ns = int(per_op * PER)
                        figures = {k: float(fields[k]) for k in FIGURES if k in fields}
                        samples[impl].append((ns, per_op, rep, figures))
                        csv_rows.append([bench, impl, w, conns, rep + 1, ns, per_op, fields["ok"],
                                         " ".join(f"{k}={fields[k]}" for k in FIGURES
                                                  if k in fields)])
                for impl, srv in live.items():
                    err = srv.stop()
                    if err:
                        fail(impl, bench, w, conns, err)
                rows.append((bench, w, conns, samples))
                done = ", ".join(f"{i} {statistics.median(x[3].get('rps', 0) for x in s):.0f} req/s"
                                 for i, s in samples.items() if s)
                print(f"  {bench} workers={w} conns={conns}: {done}", file=sys.stderr)
    return rows, csv_rows, failures, peer_trouble, notes
