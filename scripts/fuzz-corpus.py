#!/usr/bin/env python3
"""Write the seed corpus of tests/fuzz/api_fuzz.c into tests/fuzz/corpus/.

Each seed is a short program for the harness's interpreter (its head
comment): one op byte (op modulo 12), one sub-op byte, then argument bytes.
A seed stresses one family of calls (fibers, channels, select, sync, I/O,
timers, groups, deadlines) from the plain thread and, after a SWITCH op
(11), from a root fiber, or the other way round; the arguments are drawn
from a generator seeded by the seed's name, so the corpus is the same on
every run. The regression seeds (regress-*) are written byte by byte: each
replays a defect the fuzzer found (docs/TESTING.md, "Fuzzing"). Crash
files libFuzzer wrote (regress-many-channels) are checked in as they are;
this script leaves them alone.

    scripts/fuzz-corpus.py [DIR]      (default tests/fuzz/corpus)
"""
import os
import random
import sys

SPAWN, FIBER, CHAN, SYNC, IO, TIMER, GROUP, CALL, SLEEP, SWITCH = 0, 1, 3, 5, 6, 7, 8, 9, 10, 11

FAMILIES = {
    "fibers": [SPAWN, SPAWN, FIBER, FIBER, CALL, SLEEP],
    "chan": [CHAN, CHAN, CHAN, SPAWN],
    "sync": [SYNC, SYNC, SYNC, SPAWN],
    "io": [IO, IO, IO, SPAWN],
    "timer": [TIMER, TIMER, SLEEP],
    "group": [GROUP, GROUP, GROUP, SLEEP],
    "deadlines": [CALL, SLEEP, CHAN, SYNC],
    "mixed": [SPAWN, FIBER, CHAN, SYNC, IO, TIMER, GROUP, CALL, SLEEP],
}

# Regression seeds, byte by byte.
REGRESS = {
    # weft_read/write/wait_fd on fd INT_MAX and 1<<20 (past weft's per-fd
    # table for the first) returned -EMFILE; now -EBADF. Plain thread, then
    # a root fiber.
    "regress-fd-past-table": bytes([
        IO, 0, 0, 0, 0x60, 1,      # read_until(INT_MAX, 1 byte, deadline 0)
        IO, 1, 0, 0, 0x60, 1,      # write_until(INT_MAX)
        IO, 2, 0, 0, 0x64, 0,      # wait_fd(INT_MAX, READABLE)
        IO, 0, 0, 0, 0x70, 1,      # read_until(1 << 20)
        SWITCH, 0,
        IO, 0, 0, 0, 0x60, 1,
        IO, 2, 0, 0, 0x64, 0,
        IO, 3, 6,                  # close(INT_MAX)
    ]),
}


def program(name, ops):
    rng = random.Random(name)
    # The first byte also picks where the program starts (odd: a root
    # fiber): ops 1 and 2 are both the fiber op, here weft_self's checks.
    out = bytearray([1 if name.endswith("-fiber") else 2, 4, 0])
    for half in range(2):
        for _ in range(rng.randrange(8, 20)):
            out.append(rng.choice(ops))
            out.append(rng.randrange(256))
            out.extend(rng.randrange(256) for _ in range(rng.randrange(2, 7)))
        if half == 0:
            out.extend([SWITCH, 0])
    return bytes(out)


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fuzz", "corpus")
    os.makedirs(d, exist_ok=True)
    seeds = dict(REGRESS)
    for fam, ops in FAMILIES.items():
        for where in ("plain", "fiber"):
            name = f"{fam}-{where}"
            seeds[name] = program(name, ops)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print(f"fuzz-corpus: {len(seeds)} seeds in {os.path.normpath(d)}")


if __name__ == "__main__":
    main()
