#!/usr/bin/env python3
"""End-to-end fuzzing of xnusim: mutates the bundled scenarios at random (seeded) and runs each
mutant through `xnusim run`. Every run must end with exit status 0, 1, 2 or 4 (never a crash, an
internal error or a hang); failing inputs are kept in the output folder.

    scripts/fuzz-scenarios.py [--seed N] [--runs N] [--binary build/sim/cli/xnusim] [--out DIR]
"""
import argparse
import copy
import glob
import shutil
import json
import os
import random
import subprocess
import sys

VALUES = [0, -1, 1, 127, 128, 2.5, "1ms", "0ns", "-3ms", "x", None, True, [], {}, "10us", "kernel", "m"]
STRINGS = ["1ms", "5us", "3s", "", "0.5ns", "uniform"]


def mutate(rng, o):
    if isinstance(o, dict) and o:
        k = rng.choice(sorted(o.keys()))
        r = rng.random()
        if r < 0.15:
            del o[k]
        elif r < 0.6:
            o[k] = mutate(rng, o[k])
        else:
            o[k] = rng.choice(VALUES)
    elif isinstance(o, list) and o:
        i = rng.randrange(len(o))
        r = rng.random()
        if r < 0.2:
            o.pop(i)
        elif r < 0.35:
            o.append(copy.deepcopy(o[i]))
        else:
            o[i] = mutate(rng, o[i])
    elif isinstance(o, str):
        o = rng.choice([o, o + "x"] + STRINGS)
    elif isinstance(o, (int, float)) and not isinstance(o, bool):
        o = rng.choice([o, 0, 1, -1, o * 2, o + 1, 10**6])
    return o


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--binary", default=os.path.join(root, "build/sim/cli/xnusim"))
    ap.add_argument("--out", default="/tmp/xnusim-fuzz")
    ap.add_argument("--only", default="", help="mutate only the bundled scenarios whose path contains this")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    files = sorted(glob.glob(os.path.join(root, "scenarios/**/*.json"), recursive=True))
    bases = [json.load(open(f)) for f in files if args.only in os.path.relpath(f, root)]
    if not bases:
        print(f"no bundled scenario matches --only {args.only!r}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    # Files the scenarios name relative to their folder (platform files, calibrations) beside the
    # mutant, so that mutants of those scenarios load them as the originals do.
    for f in glob.glob(os.path.join(root, "scenarios/**/*"), recursive=True):
        if os.path.isfile(f) and not f.endswith(".json"):
            shutil.copy(f, args.out)
    path = os.path.join(args.out, "input.json")
    statuses, failures = {}, 0
    for i in range(args.runs):
        s = copy.deepcopy(rng.choice(bases))
        for _ in range(rng.randint(1, 4)):
            s = mutate(rng, s)
        with open(path, "w") as f:
            json.dump(s, f)
        try:
            p = subprocess.run([args.binary, "run", path, "-q", "--duration", "300ms"], capture_output=True, text=True,
                               timeout=30)
            code = p.returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
        statuses[code] = statuses.get(code, 0) + 1
        if code not in (0, 1, 2, 4):
            failures += 1
            keep = os.path.join(args.out, f"failure-{i}.json")
            with open(keep, "w") as f:
                json.dump(s, f)
            print(f"run {i}: exit {code}; input kept in {keep}", file=sys.stderr)
    print(f"{args.runs} runs, exit statuses {dict(sorted(statuses.items(), key=str))}, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
