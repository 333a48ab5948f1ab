#!/usr/bin/python3
"""Figures and REPORT.md for a gradient study.

    scripts/study_report.py STUDY [MORE_STUDY_FOLDERS ...] [--out DIR]

Reads every finished run (a folder with run.json) under the given folders (several folders,
e.g. the shards of a job array, are merged; the same run found twice must agree), draws
the figures as PNG and SVG, and writes DIR/REPORT.md (DIR: the first folder by default).
Needs matplotlib and numpy (Debian: python3-matplotlib, python3-numpy).
"""
import argparse
import csv
import functools
import json
import os
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

CONFIGS = ["bn", "plain", "skip"]
LABELS = {"bn": "Dense+BN+ReLU", "plain": "Dense+ReLU (no BN)", "skip": "BN + skip every 2 layers"}
COLORS = {"bn": "tab:blue", "plain": "tab:orange", "skip": "tab:green"}
# Final validation accuracy read by eye off the seed's figure final-val-acc-vs-depth.png
# (its legend: "No Skip" = bn, "No BN" = plain, "Skip BN" = skip); one run per point, 20 epochs.
SEED_FIGURE = {
    "bn": {10: 0.98, 15: 0.98, 20: 0.98, 25: 0.98, 30: 0.78, 35: 0.24, 40: 0.09},
    "plain": {10: 0.975, 15: 0.955, 20: 0.95, 25: 0.09, 30: 0.11, 35: 0.11, 40: 0.11},
    "skip": {10: 0.98, 15: 0.98, 20: 0.98, 25: 0.98, 30: 0.98, 35: 0.95, 40: 0.30},
}


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def load_runs(folders):
    runs = {}
    for folder in folders:
        if not os.path.isdir(folder):
            sys.exit(f"study_report: {folder}: no such folder")
        for name in sorted(os.listdir(folder)):
            d = os.path.join(folder, name)
            meta_path = os.path.join(d, "run.json")
            if not os.path.isfile(meta_path):
                continue
            with open(meta_path) as f:
                meta = json.load(f)
            history = [r for r in read_csv(os.path.join(d, "history.csv")) if r["status"] == "ok"]
            run = {"name": name, "dir": d, "meta": meta, "history": history}
            if name in runs:
                if runs[name]["history"] != history:
                    sys.exit(f"study_report: {name} appears in two folders with different histories")
                continue
            runs[name] = run
    if not runs:
        sys.exit("study_report: no finished runs found in " + ", ".join(folders))
    return list(runs.values())


def final_val(run):
    return float(run["history"][-1]["val_accuracy"]) if run["history"] else float("nan")


def grouped(runs, numerics):
    """{config: {depth: [final val accuracy per seed]}} for one numerics setting."""
    g = defaultdict(lambda: defaultdict(list))
    for r in runs:
        m = r["meta"]
        if m["numerics"] == numerics:
            g[m["config"]][m["depth"]].append(final_val(r))
    return g


def save(fig, out, stem):
    for ext in ("png", "svg"):
        fig.savefig(os.path.join(out, f"{stem}.{ext}"), dpi=110, bbox_inches="tight")
    plt.close(fig)
    return f"{stem}.png"


def figure_accuracy_vs_depth(runs, numerics_list, out):
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for numerics, style in zip(numerics_list, ["-", "--"]):
        g = grouped(runs, numerics)
        for c in CONFIGS:
            if c not in g:
                continue
            depths = sorted(g[c])
            mean = np.array([np.nanmean(g[c][d]) for d in depths])
            std = np.array([np.nanstd(g[c][d]) for d in depths])
            label = LABELS[c] + ("" if len(numerics_list) == 1 else f" [{numerics}]")
            ax.plot(depths, mean, style, marker="o", color=COLORS[c], label=label)
            ax.fill_between(depths, mean - std, mean + std, color=COLORS[c], alpha=0.15)
    for c in CONFIGS:
        d = sorted(SEED_FIGURE[c])
        ax.plot(d, [SEED_FIGURE[c][k] for k in d], ":", color=COLORS[c], alpha=0.6, label=f"seed (Keras): {c}")
    ax.set_xlabel("depth (layers)")
    ax.set_ylabel("final validation accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_title("MLP on MNIST: accuracy vs depth (mean ± std over seeds)")
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3)
    return save(fig, out, "accuracy_vs_depth")


def first_seed_runs(runs, numerics):
    """The runs under `numerics` with the lowest seed of the study: what the figures show."""
    seed = min(r["meta"]["seed"] for r in runs)
    return [r for r in runs if r["meta"]["numerics"] == numerics and r["meta"]["seed"] == seed]


def figure_curves_grid(runs, numerics, out):
    by = {(r["meta"]["config"], r["meta"]["depth"]): r for r in first_seed_runs(runs, numerics)}
    depths = sorted({d for (_, d) in by})
    configs = [c for c in CONFIGS if any(k[0] == c for k in by)]
    fig, axes = plt.subplots(len(configs), len(depths), figsize=(2.3 * len(depths), 1.9 * len(configs)),
                             squeeze=False, sharex=True)
    for i, c in enumerate(configs):
        for j, d in enumerate(depths):
            ax = axes[i][j]
            r = by.get((c, d))
            if r and r["history"]:
                e = [int(h["epoch"]) for h in r["history"]]
                ax.plot(e, [float(h["accuracy"]) for h in r["history"]], label="train")
                ax.plot(e, [float(h["val_accuracy"]) for h in r["history"]], label="val")
            ax.set_ylim(0, 1.02)
            if i == 0:
                ax.set_title(f"depth {d}", fontsize=9)
            if j == 0:
                ax.set_ylabel(c, fontsize=9)
            ax.tick_params(labelsize=7)
    axes[0][-1].legend(fontsize=7)
    fig.suptitle(f"train / validation accuracy per epoch (rows: configs; {numerics})", fontsize=10)
    return save(fig, out, "curves_grid")


def read_gradients(run):
    return _read_gradients(run["dir"])


@functools.lru_cache(maxsize=None)  # two figures and the propagation table read the same runs
def _read_gradients(folder):
    return read_csv(os.path.join(folder, "gradients.csv"))


def kernel_norms(rows, epoch):
    """[(dense index, l2)] of the kernel gradients on the probe batch at `epoch`."""
    out = []
    for r in rows:
        if r["source"] == "probe" and int(r["epoch"]) == epoch and r["kind"] == "kernel":
            layer = r["tensor"].split("/")[0]
            k = 0 if layer == "dense" else int(layer.split("_")[1])
            out.append((k, float(r["l2"])))
    return sorted(out)


def figure_gradient_norms(runs, numerics, out):
    sel = first_seed_runs(runs, numerics)
    all_depths = sorted({r["meta"]["depth"] for r in sel})
    show = sorted({all_depths[0], all_depths[len(all_depths) // 2], all_depths[-1]})
    configs = [c for c in CONFIGS if any(r["meta"]["config"] == c for r in sel)]
    fig, axes = plt.subplots(1, len(configs), figsize=(5 * len(configs), 3.8), squeeze=False, sharey=True)
    cmap = plt.get_cmap("viridis")
    for ax, c in zip(axes[0], configs):
        for di, d in enumerate(show):
            r = next((x for x in sel if x["meta"]["config"] == c and x["meta"]["depth"] == d), None)
            if not r:
                continue
            rows = read_gradients(r)
            last = max(int(x["epoch"]) for x in rows)
            for epoch, style in [(0, ":"), (1, "--"), (last, "-")]:
                pts = kernel_norms(rows, epoch)
                if pts and not (epoch == last and last == 1 and style == "-"):
                    ax.plot([p[0] for p in pts], [max(p[1], 1e-30) for p in pts], style,
                            color=cmap(di / max(1, len(show) - 1)), label=f"d{d} epoch {epoch}")
        ax.set_yscale("log")
        ax.set_title(LABELS[c], fontsize=10)
        ax.set_xlabel("dense layer index (input → output)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6, ncol=2)
    axes[0][0].set_ylabel("‖dL/dW‖₂ on the probe batch")
    fig.suptitle("Vanishing and exploding: kernel gradient norm per layer (dotted: init, dashed: epoch 1, solid: last; "
                 "an exactly zero gradient is drawn at 1e-30)",
                 fontsize=10)
    return save(fig, out, "gradient_norms")


def figure_histograms(runs, numerics, out):
    sel = first_seed_runs(runs, numerics)
    configs = [c for c in CONFIGS if any(r["meta"]["config"] == c for r in sel)]
    fig, axes = plt.subplots(len(configs), 2, figsize=(11, 3.6 * len(configs)), squeeze=False, layout="constrained")
    for i, c in enumerate(configs):
        r = max((x for x in sel if x["meta"]["config"] == c), key=lambda x: x["meta"]["depth"])
        rows = read_gradients(r)
        last = max(int(x["epoch"]) for x in rows)
        for j, epoch in enumerate([0, last]):
            ks = [x for x in rows if x["source"] == "probe" and int(x["epoch"]) == epoch and x["kind"] == "kernel"]
            ks.sort(key=lambda x: int(x["layer_index"]))
            m = np.array([[float(x[f"h{b:02d}"]) for b in range(30)] for x in ks])
            frac = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
            ax = axes[i][j]
            im = ax.imshow(frac, aspect="auto", origin="lower", cmap="magma",
                           extent=[-12.5, 2.5, -0.5, len(ks) - 0.5])
            ax.set_title(f"{LABELS[c]}, depth {r['meta']['depth']}, epoch {epoch}", fontsize=9)
            ax.set_xlabel("log10 |dL/dW|  (half-decade bins; outer bins: <1e-12, ≥1e2)", fontsize=8)
            ax.set_ylabel("dense layer (input at bottom)")
            fig.colorbar(im, ax=ax, fraction=0.04, label="fraction of weights")
    fig.suptitle("Distribution of kernel gradients per layer (TensorBoard's histogram view as a heat map)", fontsize=10)
    return save(fig, out, "gradient_histograms")


def propagation_rates(runs, numerics):
    """Per run: slope of log10 l2 against leaf-layer index at initialisation, for activations and errors."""
    table = defaultdict(dict)
    for r in first_seed_runs(runs, numerics):
        m = r["meta"]
        rows = [x for x in read_gradients(r) if x["source"] == "probe" and int(x["epoch"]) == 0]
        rates = {}
        for kind in ("activation", "input_gradient"):
            pts = [(int(x["layer_index"]), float(x["l2"])) for x in rows
                   if x["kind"] == kind and x["tensor"].startswith("dense") and float(x["l2"]) > 0]
            if len(pts) >= 2:
                xs, ys = zip(*pts)
                dense_pos = np.arange(len(xs))  # per Dense layer, input to output
                rates[kind] = 10 ** np.polyfit(dense_pos, np.log10(ys), 1)[0]
        table[m["config"]][m["depth"]] = rates
    return table


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--out", help="where figures and REPORT.md go (default: the first folder)")
    a = ap.parse_args()
    out = a.out or a.folders[0]
    os.makedirs(out, exist_ok=True)
    runs = load_runs(a.folders)
    numerics_list = sorted({r["meta"]["numerics"] for r in runs}, key=lambda n: n != "tf2")
    main_numerics = numerics_list[0]
    seeds = sorted({r["meta"]["seed"] for r in runs})
    epochs = sorted({r["meta"]["epochs"] for r in runs})
    figs = [figure_accuracy_vs_depth(runs, numerics_list, out), figure_curves_grid(runs, main_numerics, out),
            figure_gradient_norms(runs, main_numerics, out), figure_histograms(runs, main_numerics, out)]

    lines = ["# Gradient study report", "",
             f"{len(runs)} runs: configs {', '.join(c for c in CONFIGS if any(r['meta']['config'] == c for r in runs))}; "
             f"seeds {seeds}; epochs {epochs}; numerics {numerics_list}; "
             f"dataset {runs[0]['meta']['dataset']}. RMSprop (lr 1e-3), batch {runs[0]['meta']['batch']}.", ""]
    groups = {n: grouped(runs, n) for n in numerics_list}  # config -> depth -> final accuracies
    for numerics in numerics_list:
        g = groups[numerics]
        depths = sorted({d for c in g for d in g[c]})
        lines += [f"## Final validation accuracy ({numerics}; mean ± std over seeds)", "",
                  "| config | " + " | ".join(f"d{d}" for d in depths) + " |",
                  "|---|" + "---|" * len(depths)]
        for c in CONFIGS:
            if c in g:
                cells = []
                for d in depths:
                    v = g[c].get(d, [])
                    cells.append(f"{np.mean(v):.4f} ± {np.std(v):.4f}" if v else "")
                lines.append(f"| {c} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["Seed (Keras, 20 epochs, one run each), read by eye off `final-val-acc-vs-depth.png`:", "",
              "| config | " + " | ".join(f"d{d}" for d in sorted(SEED_FIGURE['bn'])) + " |",
              "|---|" + "---|" * len(SEED_FIGURE["bn"])]
    for c in CONFIGS:
        lines.append(f"| {c} | " + " | ".join(f"~{SEED_FIGURE[c][d]:.2f}" for d in sorted(SEED_FIGURE[c])) + " |")
    lines += ["", "## What the numbers show", ""]
    for numerics in numerics_list:
        g = groups[numerics]
        for c in CONFIGS:
            if c not in g:
                continue
            depths = sorted(g[c])
            collapsed = [d for d in depths if np.mean(g[c][d]) < 0.2]
            weak = [d for d in depths if 0.2 <= np.mean(g[c][d]) < 0.9]
            seed_collapse = [d for d in sorted(SEED_FIGURE[c]) if SEED_FIGURE[c][d] < 0.2]
            text = f"- **{c}** ({numerics}): "
            text += (f"at chance (< 0.2) from depth {collapsed[0]}" if collapsed else "never at chance")
            text += (f"; degraded (0.2-0.9) at depths {weak}" if weak else "")
            text += (f". The seed's figure collapses from depth {seed_collapse[0]}." if seed_collapse
                     else ". The seed's figure never collapses for this config.")
            lines.append(text)
    if len(numerics_list) > 1:
        lines += ["", "### Does the collapse depend on the framework's numerics?", "",
                  "First depth whose mean final validation accuracy is below 0.2 (at chance), and below 0.9:", "",
                  "| config | " + " | ".join(f"{n}: < 0.2 | {n}: < 0.9" for n in numerics_list) + " |",
                  "|---|" + "---|---|" * len(numerics_list)]
        for c in CONFIGS:
            cells = []
            for n in numerics_list:
                g = groups[n].get(c, {})
                depths = sorted(g)
                first = lambda limit: next((str(d) for d in depths if np.mean(g[d]) < limit), "none")  # noqa: E731
                cells += [first(0.2), first(0.9)]
            lines.append(f"| {c} | " + " | ".join(cells) + " |")
    lines += ["", "Our runs are shorter than the seed's 20 epochs when the study was run with fewer epochs "
              f"(here: {epochs}); a deep net that is still climbing after a few epochs may end higher at 20.", ""]
    rates = propagation_rates(runs, main_numerics)
    lines += ["## Signal propagation at initialisation (before any training)", "",
              "Per-Dense-layer growth factor of the forward activation norm and of the backward error norm, "
              "fitted as log10‖·‖ against the Dense layer's position (probe batch, BN in train mode). "
              "Above 1: grows with depth; below 1: decays. The error is read from output to input, so a factor "
              "below 1 for `input_gradient` means the error grows towards the input.", "",
              "| config | depth | activation factor / layer | error factor / layer |", "|---|---|---|---|"]
    for c in CONFIGS:
        for d in sorted(rates.get(c, {})):
            r = rates[c][d]
            lines.append(f"| {c} | {d} | {r.get('activation', float('nan')):.3f} | {r.get('input_gradient', float('nan')):.3f} |")
    lines += ["", "## Figures", ""] + [f"![{f}]({f})" for f in figs] + [""]
    with open(os.path.join(out, "REPORT.md.tmp"), "w") as f:
        f.write("\n".join(lines))
    os.replace(os.path.join(out, "REPORT.md.tmp"), os.path.join(out, "REPORT.md"))
    print(f"study_report: {len(runs)} runs -> {os.path.join(out, 'REPORT.md')} and {len(figs)} figures (PNG, SVG)")


if __name__ == "__main__":
    main()
