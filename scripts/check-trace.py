#!/usr/bin/env python3
"""check-trace.py - check a weft timeline trace (WEFT_TRACE, weft_trace_start).

    scripts/check-trace.py FILE.json [--name NAME]... [--steal] [--spawn]
                           [--instant KIND]... [--workers N]

Parses FILE as JSON and checks the structure weft promises (docs/DEBUGGING.md):
every slice ("ph":"X") lies on a worker's track (a tid named by a
thread_name record), begins before it ends, and does not overlap the slice
before it on that track; slice names read "NAME #N", N the fiber's number; every flow start ("s") has exactly one end ("f") with the same id,
no earlier, and every end lies inside a slice of its track; instants ("i")
are thread-scoped on a worker's track; otherData counts the dropped events.
The options add expectations: a slice named NAME, a steal flow between two
different workers, a spawn flow, an instant of KIND, N worker tracks.

Prints one line per problem and a summary; exit status 0 if none.
trace_json_test.py imports check() from here.
"""
import argparse
import json
import re
import sys
from collections import defaultdict

EPS = 0.0005  # microseconds: ts and dur are printed to the nanosecond


def check(doc, names=(), steal=False, spawn=False, instants=(), workers=None):
    """Return (problems, summary) for the parsed trace @doc."""
    bad = []
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        return ["not a JSON object with a traceEvents list"], {}
    events = doc["traceEvents"]
    other = doc.get("otherData", {})
    if not isinstance(other.get("dropped_events"), int):
        bad.append("otherData.dropped_events is missing")
    tracks = {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            tracks[(e["pid"], e["tid"])] = e["args"]["name"]
    for key, name in tracks.items():
        if not re.fullmatch(r"worker \d+", name):
            bad.append("track %s is named %r, not 'worker N'" % (key, name))
    if workers is not None and len(tracks) != workers:
        bad.append("%d worker tracks, expected %d" % (len(tracks), workers))

    slices = defaultdict(list)
    seen_names = set()
    for e in events:
        if e.get("ph") != "X":
            continue
        key = (e.get("pid"), e.get("tid"))
        if key not in tracks:
            bad.append("slice %r at %s is on no worker track" % (e.get("name"), e.get("ts")))
            continue
        if not isinstance(e.get("dur"), (int, float)) or e["dur"] < 0:
            bad.append("slice %r at %s ends before it begins" % (e.get("name"), e.get("ts")))
            continue
        m = re.fullmatch(r"(.*) #(\d+)", e.get("name", ""))
        if not m or int(m.group(2)) < 1:
            bad.append("slice %r does not name its fiber's number" % e.get("name"))
        else:
            seen_names.add(m.group(1))
        slices[key].append((e["ts"], e["ts"] + e["dur"], e["name"]))
    for key, lst in slices.items():
        lst.sort()
        for prev, cur in zip(lst, lst[1:]):
            if cur[0] + EPS < prev[1]:
                bad.append("on %s, %r at %s overlaps %r ending at %s"
                           % (tracks[key], cur[2], cur[0], prev[2], prev[1]))

    def inside(key, ts):
        return any(b - EPS <= ts <= e + EPS for b, e, _ in slices.get(key, ()))

    flows = defaultdict(lambda: {"s": [], "f": []})
    for e in events:
        if e.get("ph") in ("s", "f"):
            flows[(e.get("cat"), e.get("id"))][e["ph"]].append(e)
    kinds = defaultdict(int)
    for (cat, fid), ends in flows.items():
        if len(ends["s"]) != 1 or len(ends["f"]) != 1:
            bad.append("flow %s %s has %d starts and %d ends"
                       % (cat, fid, len(ends["s"]), len(ends["f"])))
            continue
        s, f = ends["s"][0], ends["f"][0]
        skey, fkey = (s["pid"], s["tid"]), (f["pid"], f["tid"])
        if skey not in tracks or fkey not in tracks:
            bad.append("flow %s %s has an end on no worker track" % (cat, fid))
            continue
        if f["ts"] + EPS < s["ts"]:
            bad.append("flow %s %s ends before it starts" % (cat, fid))
        if f.get("bp") != "e" or not inside(fkey, f["ts"]):
            bad.append("flow %s %s ends outside a slice" % (cat, fid))
        if cat == "spawn" and not inside(skey, s["ts"]):
            bad.append("spawn flow %s starts outside the spawner's slice" % fid)
        if cat == "steal" and skey == fkey:
            bad.append("steal flow %s stays on one worker" % fid)
        kinds[cat] += 1

    inst = defaultdict(int)
    for e in events:
        if e.get("ph") == "i":
            if (e.get("pid"), e.get("tid")) not in tracks or e.get("s") != "t":
                bad.append("instant %r at %s is not on a worker track" % (e.get("name"), e.get("ts")))
            inst[e.get("name")] += 1

    for name in names:
        if name not in seen_names:
            bad.append("no slice of a fiber named %r" % name)
    if steal and not kinds["steal"]:
        bad.append("no steal flow")
    if spawn and not kinds["spawn"]:
        bad.append("no spawn flow")
    for kind in instants:
        if not inst[kind]:
            bad.append("no %r instant" % kind)
    summary = {
        "workers": len(tracks),
        "slices": sum(len(v) for v in slices.values()),
        "flows": dict(kinds),
        "instants": dict(inst),
        "dropped_events": other.get("dropped_events"),
    }
    return bad, summary


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("--name", action="append", default=[], help="expect a slice of this fiber name")
    ap.add_argument("--steal", action="store_true", help="expect a steal flow")
    ap.add_argument("--spawn", action="store_true", help="expect a spawn flow")
    ap.add_argument("--instant", action="append", default=[], help="expect an instant of this kind")
    ap.add_argument("--workers", type=int, help="expect this many worker tracks")
    args = ap.parse_args()
    try:
        with open(args.file, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as e:
        print("%s: %s" % (args.file, e))
        return 1
    bad, summary = check(doc, args.name, args.steal, args.spawn, args.instant, args.workers)
    for line in bad:
        print("%s: %s" % (args.file, line))
    print("%s: %s" % (args.file, json.dumps(summary, sort_keys=True)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
