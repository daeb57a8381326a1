#!/usr/bin/env python3
"""gdb_test.py - scripts/gdb/weft-gdb.py on a live process and on a core file
(TAP on stdout).

    gdb_test.py GDB PARKED SCRIPT BUILDDIR [--no-core]

PARKED (tests/gdb/parked.c) parks three fibers named recv-N on a channel and
one named joiner in a join, on one worker, then stops in
weft_gdb_test_stop_here. gdb runs it in batch mode to that breakpoint, with
the script auto-loaded from BUILDDIR (libweft.so.<version>-gdb.py next to
the library), and runs `info weft-fibers` and `weft-bt`; then PARKED runs
again and aborts at the same point, and a second gdb opens the kernel's
core with auto-loading off and the script loaded by `source`, and runs the
same commands. Each output must name the
fibers and what they wait on, and each backtrace must show the parking call
and the fiber's entry function. GDB empty: skipped (gdb is not installed).
--no-core: sanitizer builds, whose shadow memory makes a core of terabytes.
"""
import os
import re
import resource
import subprocess
import sys
import tempfile

gdb, parked, script, builddir = sys.argv[1:5]
parked = os.path.abspath(parked)
no_core = "--no-core" in sys.argv[5:]

if not gdb:
    print("1..0 # SKIP gdb is not installed (scripts/deps.sh test installs it)")
    sys.exit(0)

COMMANDS = ["info weft-fibers", "weft-bt recv-1", "weft-bt joiner", "weft-bt 1"]


def expect_fibers_and_backtraces(out, live):
    """(problems) in the output of COMMANDS."""
    bad = []
    for i in range(3):
        if not re.search(r'fiber \d+ "recv-%d" \(handle 0x[0-9a-f]{16}\) \[parked: chan recv 0x[0-9a-f]+, on worker 0\] entry parked_receiver' % i, out):
            bad.append("info weft-fibers does not show recv-%d parked on a channel" % i)
    if not re.search(r'"joiner" .*\[parked: join 0x[0-9a-f]+', out):
        bad.append("info weft-fibers does not show joiner parked in a join")
    if not re.search(r'fiber 1 "main" .*\[running on worker 0, thread \d+\]', out):
        bad.append("info weft-fibers does not show main running on worker 0")
    # Each backtrace: from the title to the next command's output.
    for name, parker in (("recv-1", "weft_chan_recv"), ("joiner", "weft_join")):
        m = re.search(r'fiber \d+ "%s" \[parked[^\n]*\]\n((?:#[^\n]*\n)+)' % name, out)
        if not m:
            bad.append("no backtrace for %s" % name)
            continue
        bt = m.group(1)
        for fn in (parker, "parked_receiver" if name.startswith("recv") else "parked_joiner",
                   "switch_to", "wt_context_trampoline"):
            if not re.search(r"\b%s\b" % fn, bt):
                bad.append("the backtrace of %s does not show %s" % (name, fn))
    # A running fiber: its worker thread's backtrace, down to its entry.
    m = re.search(r"fiber 1 \"main\" \[running[^\n]*\]: its worker's thread's stack\n((?:#[^\n]*\n)+)", out)
    if not m or not re.search(r"\brun \(", m.group(1)) or "wt_fiber_main" not in m.group(1):
        bad.append("weft-bt 1 does not show main's stack through its worker thread")
    return bad


def run(args, env=None, cwd=None, core=False):
    def allow_core():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    res = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=240, env=env, cwd=cwd, preexec_fn=allow_core if core else None)
    return res.returncode, res.stdout


def report(n, title, bad, out):
    if bad:
        for line in bad:
            print("# " + line)
        print("# gdb output:")
        for line in out.splitlines()[-60:]:
            print("#   " + line)
    print("%s %d - %s" % ("not ok" if bad else "ok", n, title))
    return bool(bad)


env = dict(os.environ, WEFT_DEBUG="stall=0")
print("1..2")
failed = False
with tempfile.TemporaryDirectory() as tmp:
    live = [gdb, "-nx", "-batch",
            "-iex", "set auto-load safe-path %s" % builddir,
            "-iex", "set debuginfod enabled off",
            "-ex", "set pagination off",
            "-ex", "break weft_gdb_test_stop_here",
            "-ex", "run"]
    for c in COMMANDS:
        live += ["-ex", c]
    live += ["-ex", "kill", "--args", parked, "run"]
    rc, out = run(live, env)
    bad = expect_fibers_and_backtraces(out, True)
    if "Undefined info command" in out:
        bad.append("the script was not auto-loaded from %s" % builddir)
    failed |= report(1, "live process, script auto-loaded next to the library", bad, out)

    # A core the kernel writes when the program aborts at the same point
    # (gdb's gcore cannot read stacks next to MADV_GUARD_INSTALL guards).
    core = None
    if not no_core:
        run([parked, "abort"], env, cwd=tmp, core=True)
        cores = [f for f in os.listdir(tmp) if f.startswith("core")]
        core = os.path.join(tmp, cores[0]) if cores else None
    if no_core:
        print("ok 2 - core file # SKIP sanitizer build: its shadow memory makes a core of terabytes")
    elif not core:
        with open("/proc/sys/kernel/core_pattern") as fh:
            pattern = fh.read().strip()
        print("ok 2 - core file # SKIP no core in the working directory (core_pattern %s)" % pattern)
    else:
        post = [gdb, "-nx", "-batch",
                "-iex", "set auto-load python-scripts off",
                "-iex", "set debuginfod enabled off",
                "-ex", "set pagination off",
                "-ex", "source %s" % script]
        for c in COMMANDS:
            post += ["-ex", c]
        post += [parked, core]
        rc, out = run(post, env)
        # In the core, main is still the fiber worker 0 runs (it aborted).
        failed |= report(2, "core file from abort(), script loaded with source",
                         expect_fibers_and_backtraces(out, False), out)
sys.exit(1 if failed else 0)
