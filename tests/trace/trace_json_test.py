#!/usr/bin/env python3
"""trace_json_test.py - the timeline trace of a small run is JSON that holds
what docs/DEBUGGING.md promises (TAP on stdout).

    trace_json_test.py TRACE_PROG CHECK_TRACE_PY

Runs trace_prog (two workers: a certain steal, a channel ping-pong, named
fibers) once with WEFT_TRACE and once through weft_trace_start, both with
the monitor otherwise off (WEFT_DEBUG=stall=0, so the trace must start it), and
checks each file with scripts/check-trace.py's check(): it parses, every
slice is on a worker track and begins before it ends, slices on a track do
not overlap, flows pair up, and the expected fibers, flows and instants are
there.
"""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

prog, checker = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("check_trace", checker)
check_trace = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_trace)

CASES = [
    # name, argv after the program, extra environment, fiber names expected
    # stall=0 in both: the trace alone starts the monitor (at weft_init, or
    # from weft_trace_start), and the spinning main fiber is not reported.
    ("WEFT_TRACE at weft_main", ["env"], {"WEFT_DEBUG": "stall=0"},
     ["main", "child-0", "child-7", "ping", "pong"]),
    ("weft_trace_start with the monitor otherwise off", ["api"], {"WEFT_DEBUG": "stall=0"},
     ["root", "child-3", "ping", "pong"]),
]

print("1..%d" % len(CASES))
failed = 0
with tempfile.TemporaryDirectory() as tmp:
    for n, (title, args, extra, names) in enumerate(CASES, 1):
        path = os.path.join(tmp, "trace%d.json" % n)
        env = dict(os.environ, **extra)
        env.pop("WEFT_TRACE", None)
        if args == ["env"]:
            env["WEFT_TRACE"] = path
        else:
            args = args + [path]
        res = subprocess.run([prog] + args, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, timeout=120)
        problems = []
        if res.returncode != 0:
            problems.append("trace_prog exited with %d: %s" % (res.returncode, res.stderr.strip()))
        else:
            try:
                with open(path, encoding="utf-8") as fh:
                    doc = json.load(fh)
            except (OSError, ValueError) as e:
                problems.append("the trace does not parse: %s" % e)
            else:
                bad, summary = check_trace.check(doc, names=names, steal=True, spawn=True,
                                                 instants=["park", "wake"], workers=2)
                problems += bad
                if doc.get("otherData", {}).get("dropped_events") != 0:
                    problems.append("events were dropped in a small run")
                print("# %s" % json.dumps(summary, sort_keys=True))
        for line in problems[:20]:
            print("# %s" % line)
        if problems:
            failed += 1
        print("%s %d - %s" % ("not ok" if problems else "ok", n, title))
sys.exit(1 if failed else 0)
