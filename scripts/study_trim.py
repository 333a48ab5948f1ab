#!/usr/bin/env python3
"""Shrinks the finished runs of a study folder to what scripts/study_report.py reads, so that a
study longer than one machine's life can be kept in git and resumed elsewhere
(scripts/full_study.sh skips every run whose folder holds run.json).

Per finished run (a folder with run.json), in place:
  - kept whole: run.json, history.csv, keras_history.csv, probe.csv;
  - gradients.csv: for seed 1 only (the report's gradient figures and signal-propagation tables
    read the first seed), and only its probe rows at epochs 0, 1 and the last one, the epochs
    those figures and tables draw; other seeds' gradients.csv is removed;
  - bn_stats.csv (BatchNorm runs): kept whole for seed 1, the one the report draws; removed for
    the other seeds;
  - removed: TensorBoard's event files (events.out.tfevents.*), which the report never reads.
A trimmed run says so in run.json ("trimmed": true); trimming it again changes nothing.
Runs still under OUT/.incomplete are left alone.

  study_trim.py OUT     e.g. study_trim.py study-full
"""
import csv
import io
import json
import os
import sys

KEEP = {"run.json", "history.csv", "keras_history.csv", "probe.csv", "gradients.csv", "bn_stats.csv"}


def trimmed_gradients(path):
    """gradients.csv's header and its probe rows at epochs 0, 1 and the last, as text."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    epoch, source = header.index("epoch"), header.index("source")
    last = max((int(r[epoch]) for r in body), default=0)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(r for r in body if r[source] == "probe" and int(r[epoch]) in (0, 1, last))
    return out.getvalue()


def trim(run):
    """Trims one finished run's folder; returns the bytes it freed."""
    meta_path = os.path.join(run, "run.json")
    with open(meta_path) as f:
        meta = json.load(f)
    if meta.get("trimmed"):
        return 0
    before = sum(os.path.getsize(os.path.join(run, n)) for n in os.listdir(run))
    for name in os.listdir(run):
        if name not in KEEP:
            os.remove(os.path.join(run, name))
    gradients = os.path.join(run, "gradients.csv")
    if os.path.isfile(gradients):
        if meta.get("seed") == 1:
            text = trimmed_gradients(gradients)
            with open(gradients + ".tmp", "w") as f:
                f.write(text)
            os.replace(gradients + ".tmp", gradients)
        else:
            os.remove(gradients)
    bn_stats = os.path.join(run, "bn_stats.csv")
    if os.path.isfile(bn_stats) and meta.get("seed") != 1:
        os.remove(bn_stats)
    meta["trimmed"] = True
    with open(meta_path + ".tmp", "w") as f:
        f.write(json.dumps(meta) + "\n")
    os.replace(meta_path + ".tmp", meta_path)  # last: an interrupted trim is redone
    return before - sum(os.path.getsize(os.path.join(run, n)) for n in os.listdir(run))


def main():
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit(__doc__)
    out = sys.argv[1]
    if not os.path.isdir(out):
        sys.exit(f"study_trim: {out}: no such folder")
    runs = sorted(d for d in os.listdir(out) if os.path.isfile(os.path.join(out, d, "run.json")))
    freed = sum(trim(os.path.join(out, d)) for d in runs)
    print(f"study_trim: {out}: {len(runs)} finished runs, {freed / 1e6:.1f} MB freed")


if __name__ == "__main__":
    main()
