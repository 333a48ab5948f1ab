#!/usr/bin/env python3
"""The depths at the edge of collapse of one network and setting, from the finished runs of a
study: where the seeds disagree, or where the network goes from never to always collapsing.
scripts/full_study.sh runs 15 seeds there, so that each collapse probability gets a narrow
interval (study_report.py's "How likely is a collapse?").

  study_edges.py OUT CONFIG SETTING --depths 10:50:5 --seeds 3   prints "35,40", or nothing

Every depth of --depths must have --seeds finished runs of (CONFIG, SETTING) in OUT, else it
exits with status 3 and says which runs are missing: the edge is not known yet. The edge
depths are those where k of n runs collapsed with 0 < k < n, and, where the count jumps from
0/n straight to n/n between neighbouring depths, both of those depths. A network that never
collapses, or always does, has no edge.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import study_report  # noqa: E402  (the report's run loading and collapse rule)


def depth_list(text):
    first, last, step = (int(x) for x in text.split(":"))
    return list(range(first, last + 1, step))


def edge_depths(counts, n):
    """counts: {depth: collapsed runs of n}, every depth present. The edge depths, ascending."""
    depths = sorted(counts)
    edge = {d for d in depths if 0 < counts[d] < n}
    for a, b in zip(depths, depths[1:]):
        if counts[a] == 0 and counts[b] == n:
            edge |= {a, b}
    return sorted(edge)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("config")
    ap.add_argument("setting")
    ap.add_argument("--depths", required=True, help="first:last:step")
    ap.add_argument("--seeds", type=int, required=True, help="seeds 1..N decide the edge")
    a = ap.parse_args()
    depths = depth_list(a.depths)
    try:
        runs = study_report.load_runs([a.out])
    except SystemExit:  # no folder, or no finished run in it yet
        runs = []
    finished = {(r["meta"]["depth"], r["meta"]["seed"]): r for r in runs
                if r["meta"]["config"] == a.config and r["setting"] == a.setting}
    missing = [f"{a.config}-d{d}-s{s}" + ("" if a.setting == "tf2" else f"-{a.setting}")
               for d in depths for s in range(1, a.seeds + 1) if (d, s) not in finished]
    if missing:
        print(f"study_edges: {a.config} {a.setting}: the edge is not known until these runs have finished: "
              + " ".join(missing), file=sys.stderr)
        sys.exit(3)
    counts = {d: sum(study_report.collapsed(finished[(d, s)]) for s in range(1, a.seeds + 1)) for d in depths}
    print(",".join(str(d) for d in edge_depths(counts, a.seeds)))


if __name__ == "__main__":
    main()
