#!/usr/bin/env python3
"""Generates corpus/driver/seeds for driver_fuzzer (layout: README.md).

Each seed is a scenario header (environment byte, event count, events) and a
random ChoiceSource tail. For each scenario, tails are drawn from a fixed PRNG
until one replays cleanly through the plain fuzzer AND through every planted-
bug variant, so that the shipped seeds contain no finding and the planted-bug
tests measure what fuzzing adds.

usage: gen_seeds.py BUILD_DIR   (a dev or fuzz build with the driver_fuzzer* targets)
"""
import os
import random
import subprocess
import sys
import tempfile

BUGS = ["no_drain", "double_complete", "early_complete", "retry_unformatted", "mark_after_send"]

# op & 7: 0 read, 1 write, 2 ioctl (method in bits 3-4), 3 buffered ioctl,
# 4 cancel, 5 AdvanceTime, 6 PassTime, 7 application thread exits (with op
# bit 3: a power transition).
READ, WRITE, IOCTL, BIOCTL, CANCEL, ADVANCE, PASS, EXIT = range(8)
# byte 0 bit 5: the originator may cancel a request at any scheduling point.
ANYWHERE = 0x20
EXIT_ANYWHERE = 0x40
SCENARIOS = {
    "read_write": (0x00, [(READ, 16), (WRITE, 32), (ADVANCE, 3), (READ, 0), (ADVANCE, 7)]),
    "ioctl_buffered": (0x04, [(BIOCTL, 0x05), (BIOCTL, 0x0C), (ADVANCE, 5), (BIOCTL, 0x00), (ADVANCE, 7)]),
    "ioctl_methods": (0x00, [(IOCTL | 1 << 3, 0x33), (IOCTL | 2 << 3, 0x24), (IOCTL | 3 << 3, 0x11), (ADVANCE, 7)]),
    "throttle": (0x00, [(READ, 8), (READ, 8), (WRITE, 8), (READ, 8), (ADVANCE, 5), (ADVANCE, 7)]),
    "cancel": (0x00, [(BIOCTL, 0x44), (CANCEL, 0), (READ, 4), (CANCEL, 1), (ADVANCE, 7)]),
    "thread_exit": (0x00, [(READ, 4), (BIOCTL, 0x02), (EXIT, 0), (ADVANCE, 7)]),
    "direct_io": (0x01, [(READ, 40), (WRITE, 40), (IOCTL | 1 << 3, 0x39), (ADVANCE, 6)]),
    "timeouts": (0x08, [(READ, 8), (ADVANCE, 5), (ADVANCE, 6), (WRITE, 8), (PASS, 6), (ADVANCE, 7)]),
    "neither_io": (0x02, [(READ, 12), (BIOCTL, 0x13), (WRITE, 3), (ADVANCE, 7)]),
    "alloc_failures": (0x10, [(READ, 9), (BIOCTL, 0x35), (WRITE, 9), (ADVANCE, 7)]),
    # Scenarios added after the first ten, so that the PRNG draws the same
    # tails for those.
    "cancel_anywhere_ioctl": (ANYWHERE, [(BIOCTL, 0x44), (IOCTL | 2 << 3, 0x24), (ADVANCE, 5), (BIOCTL, 0x05), (ADVANCE, 7)]),
    "cancel_anywhere_rw": (ANYWHERE | 0x04, [(READ, 16), (WRITE, 16), (READ, 8), (ADVANCE, 6), (ADVANCE, 7)]),
    # EXIT with op bit 3: a power transition (out of D0, then back).
    "power_cycle": (0x00, [(READ, 8), (EXIT | 1 << 3, 0), (WRITE, 8), (ADVANCE, 5), (EXIT | 1 << 3, 0), (ADVANCE, 7)]),
    # Byte 0 bit 6: the application thread may exit at any scheduling point.
    "exit_anywhere": (EXIT_ANYWHERE, [(READ, 8), (BIOCTL, 0x44), (WRITE, 8), (ADVANCE, 5), (ADVANCE, 7)]),
}


def clean(binary, data):
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(data)
        path = f.name
    try:
        return subprocess.run([binary, path], capture_output=True).returncode == 0
    finally:
        os.unlink(path)


def main():
    build = sys.argv[1]
    exe = lambda suffix: os.path.join(build, "examples", "driver_fuzzer" + suffix)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
    os.makedirs(out, exist_ok=True)
    rng = random.Random(20261201)
    for name, (env, events) in SCENARIOS.items():
        header = bytes([env, len(events) - 1]) + bytes(b for e in events for b in e)
        for attempt in range(500):
            tail = [rng.getrandbits(8) for _ in range(rng.randint(24, 96))]
            if env & (ANYWHERE | EXIT_ANYWHERE):
                # A scheduling point with requests outstanding draws "cancel
                # one?" (or "exit?") from the tail; mostly even bytes leave
                # some requests long enough to be cancelled inside the
                # driver's work.
                tail = [b & 0xFE if rng.random() < 0.875 else b for b in tail]
            seed = header + bytes(tail)
            if clean(exe(""), seed) and all(clean(exe("_" + bug), seed) for bug in BUGS):
                with open(os.path.join(out, name), "wb") as f:
                    f.write(seed)
                print(f"{name}: {len(seed)} bytes (attempt {attempt})")
                break
        else:
            print(f"{name}: no tail is clean in every variant", file=sys.stderr)


if __name__ == "__main__":
    main()
