#!/usr/bin/env python3
"""The cost of a study before it runs: scripts/full_study.sh --plan lists every run of every part
(gradient_study --plan), and this prints, per part, how many runs there are, how many are
finished in OUT, and the estimated time of the rest.

A run's time is about proportional to its epochs and its depth (every hidden layer is one
128x128 block), at a rate per config: seconds per layer per epoch, the median over the
finished runs of that config in OUT (run.json's seconds), else the median over all finished
runs, else DEFAULT_RATE.

  study_plan.py OUT PLANNED --epochs 20 --jobs 2     (PLANNED: lines "part<TAB>run name")
"""
import argparse
import json
import os
import re
import statistics
import sys

# Seconds per layer per epoch of one run on one core, used only when OUT holds no finished run:
# the median of 23 finished 20-epoch plain runs (depths 30-35) on a 2-core AMD EPYC, one run per core.
DEFAULT_RATE = 0.17
NAME = re.compile(r"^(?P<config>[a-z]+)-d(?P<depth>\d+)-s(?P<seed>\d+)(-(?P<setting>.+))?$")


def finished_rates(out):
    """{config: [seconds per layer-epoch of each finished run in out]}."""
    rates = {}
    if not os.path.isdir(out):
        return rates
    for name in os.listdir(out):
        path = os.path.join(out, name, "run.json")
        if not os.path.isfile(path):
            continue
        with open(path) as f:
            meta = json.load(f)
        seconds = sum(meta.get("seconds", {}).values())
        if seconds > 0 and meta.get("epochs") and meta.get("depth"):
            rates.setdefault(meta["config"], []).append(seconds / meta["epochs"] / meta["depth"])
    return rates


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("planned")
    ap.add_argument("--epochs", type=int, required=True)
    ap.add_argument("--jobs", type=int, required=True)
    a = ap.parse_args()

    rates = finished_rates(a.out)
    everything = [r for rs in rates.values() for r in rs]
    fallback = statistics.median(everything) if everything else DEFAULT_RATE

    def rate(config):
        return statistics.median(rates[config]) if config in rates else fallback

    parts, seen = {}, set()  # part -> [runs, done, seconds to run]; a run counts in its first part only
    with open(a.planned) as f:
        for line in f:
            part, name = line.rstrip("\n").split("\t")
            if name in seen:
                continue
            seen.add(name)
            m = NAME.match(name)
            if not m:
                sys.exit(f"study_plan: {a.planned}: '{name}' is not a run name (<config>-d<depth>-s<seed>[-<setting>])")
            p = parts.setdefault(part, [0, 0, 0.0])
            p[0] += 1
            if os.path.isfile(os.path.join(a.out, name, "run.json")):
                p[1] += 1
            else:
                p[2] += rate(m["config"]) * a.epochs * int(m["depth"])

    print(f"full_study plan -> {a.out} ({a.epochs} epochs per run, {a.jobs} at a time)")
    print(f"{'part':<16} {'runs':>5} {'done':>5} {'to run':>7} {'core-hours':>11}")
    total = [0, 0, 0.0]
    for part, (n, done, seconds) in parts.items():
        print(f"{part:<16} {n:>5} {done:>5} {n - done:>7} {seconds / 3600:>11.1f}")
        total = [total[0] + n, total[1] + done, total[2] + seconds]
    print(f"{'total':<16} {total[0]:>5} {total[1]:>5} {total[0] - total[1]:>7} {total[2] / 3600:>11.1f}")
    print(f"about {total[2] / 3600 / a.jobs:.1f} hours with {a.jobs} at a time")
    source = ", ".join(f"{c} {statistics.median(r):.3f} ({len(r)} runs)" for c, r in sorted(rates.items()))
    print("seconds per layer per epoch: " + (source + f"; others {fallback:.3f}" if source else
                                              f"{DEFAULT_RATE} (no finished run in {a.out} yet)"))


if __name__ == "__main__":
    main()
