#!/usr/bin/python3
"""Figures, REPORT.md and summary.csv for a gradient study.

    scripts/study_report.py STUDY [MORE_STUDY_FOLDERS ...] [--out DIR]

Reads every finished run (a folder with run.json) under the given folders (several folders,
e.g. the shards of a job array, are merged; the same run found twice must agree), draws the
figures as PNG and SVG, and writes DIR/REPORT.md and DIR/summary.csv (DIR: the first folder
by default). Needs matplotlib and numpy (Debian: python3-matplotlib, python3-numpy).

A run's setting is what gradient_study calls it ("tf2", "keras2.1", "eps_outside", "debias",
"bnmom0.9", "he_uniform", ...; examples/seed_settings.hpp). A run has collapsed when its final
validation accuracy is below 0.2 (chance is 0.1).
"""
import argparse
import csv
import functools
import json
import math
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
COLLAPSE = 0.2  # final val_accuracy below this: collapsed (chance is 0.1)
SETTING_ORDER = ["tf2", "keras2.1", "eps_outside", "debias", "bnmom0.9", "he_uniform", "he_normal"]
SETTING_TEXT = {
    "tf2": "TF2 Keras, the seed notebook's framework (epsilon inside RMSprop's root, plain BN averages, "
           "momentum 0.99, Glorot-uniform)",
    "keras2.1": "Keras 2.1.5: epsilon outside RMSprop's root and zero-debiased BN averages",
    "eps_outside": "only RMSprop's epsilon outside the root (keras2.1's optimizer part)",
    "debias": "only BatchNorm's zero-debiased moving averages (keras2.1's BatchNorm part)",
    "bnmom0.9": "BatchNorm momentum 0.9 instead of 0.99 (moving averages that follow the weights faster)",
    "he_uniform": "He-uniform kernels instead of Glorot-uniform (the textbook remedy for ReLU nets)",
    "he_normal": "He-normal kernels instead of Glorot-uniform",
}
# Final validation accuracy read by eye off the seed's figure final-val-acc-vs-depth.png
# (its legend: "No Skip" = bn, "No BN" = plain, "Skip BN" = skip); one run per point, 20 epochs.
SEED_FIGURE = {
    "bn": {10: 0.98, 15: 0.98, 20: 0.98, 25: 0.98, 30: 0.78, 35: 0.24, 40: 0.09},
    "plain": {10: 0.975, 15: 0.955, 20: 0.95, 25: 0.09, 30: 0.11, 35: 0.11, 40: 0.11},
    "skip": {10: 0.98, 15: 0.98, 20: 0.98, 25: 0.98, 30: 0.98, 35: 0.95, 40: 0.30},
}
SEED_READ_ERROR = 0.02  # the seed's values are read by eye: "inside" allows this much either side
# Signal propagation at initialisation, per hidden 128x128 Dense layer (theory; see REPORT.md):
#   (forward norm factor input -> output, backward error growth per layer towards the input)
HALF = math.sqrt(0.5)
BN_RELU_GROWTH = math.sqrt(math.pi / (math.pi - 1))  # Yang et al., ICLR 2019
THEORY = {
    ("plain", "glorot_uniform"): (HALF, HALF),
    ("plain", "he_uniform"): (1.0, 1.0),
    ("plain", "he_normal"): (1.0, 1.0),
    ("bn", "glorot_uniform"): (1.0, BN_RELU_GROWTH),
    ("bn", "he_uniform"): (1.0, BN_RELU_GROWTH),
    ("bn", "he_normal"): (1.0, BN_RELU_GROWTH),
}


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def setting_of(meta):
    return meta.get("setting") or meta["numerics"]


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
            try:
                with open(meta_path) as f:
                    meta = json.load(f)
                history = [r for r in read_csv(os.path.join(d, "history.csv")) if r["status"] == "ok"]
            except (OSError, ValueError, KeyError) as e:
                sys.exit(f"study_report: {d}: cannot read the run: {e}")
            meta.setdefault("init", "glorot_uniform")
            run = {"name": name, "dir": d, "meta": meta, "history": history, "setting": setting_of(meta)}
            if name in runs:
                if runs[name]["history"] != history:
                    sys.exit(f"study_report: {name} appears in two folders with different histories")
                continue
            runs[name] = run
    if not runs:
        sys.exit("study_report: no finished runs found in " + ", ".join(folders))
    return list(runs.values())


def last(run, column):
    """The last finished epoch's value of a history column, or NaN (diverged, or not measured)."""
    if not run["history"]:
        return float("nan")
    v = run["history"][-1].get(column, "")
    return float(v) if v not in ("", None) else float("nan")


def best_val(run):
    return max((float(h["val_accuracy"]) for h in run["history"]), default=float("nan"))


def ordered_settings(runs):
    present = {r["setting"] for r in runs}
    return [s for s in SETTING_ORDER if s in present] + sorted(present - set(SETTING_ORDER))


def without_batchnorm(setting):
    """What a setting is for a network without BatchNorm: gradient_study drops the BatchNorm parts
    (debias, momentum) of a plain net's setting, so keras2.1 is eps_outside there and debias is tf2."""
    parts = []
    for p in setting.split("+"):
        if p == "keras2.1":
            parts.append("eps_outside")
        elif p != "debias" and not p.startswith("bnmom") and p != "tf2":
            parts.append(p)
    return "+".join(parts) or "tf2"


def applies(run, setting):
    if run["meta"]["config"] == "plain":
        return without_batchnorm(run["setting"]) == without_batchnorm(setting)
    return run["setting"] == setting


def by_cell(runs, setting):
    """{config: {depth: [runs, by seed]}} for one setting (a plain net's runs under their
    BatchNorm-free equivalent)."""
    g = defaultdict(lambda: defaultdict(list))
    for r in sorted(runs, key=lambda r: r["meta"]["seed"]):
        if applies(r, setting):
            g[r["meta"]["config"]][r["meta"]["depth"]].append(r)
    return g


def spread(values):
    """n, mean, sample std (None for n < 2), min, max and the collapse count of final accuracies."""
    v = np.array([x for x in values if not math.isnan(x)] or [float("nan")])
    n = len(values)
    collapsed = sum(1 for x in values if math.isnan(x) or x < COLLAPSE)  # a diverged run counts as collapsed
    return {"n": n, "mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) >= 2 else None,
            "min": float(np.min(v)), "max": float(np.max(v)), "collapsed": collapsed}


def seed_inside(s, seed_value):
    return s["min"] - SEED_READ_ERROR <= seed_value <= s["max"] + SEED_READ_ERROR


def accuracy_cell(s, seed_value=None):
    text = f"{s['mean']:.4f}" + (f" ± {s['std']:.4f}" if s["std"] is not None else "")
    text += f"<br>{s['min']:.4f}–{s['max']:.4f} · {s['collapsed']}/{s['n']}"
    if seed_value is not None:
        text += f"<br>seed {seed_value:.2f} " + ("inside" if seed_inside(s, seed_value) else "**outside**")
    return text


def save(fig, out, stem):
    for ext in ("png", "svg"):
        fig.savefig(os.path.join(out, f"{stem}.{ext}"), dpi=110, bbox_inches="tight")
    plt.close(fig)
    return f"{stem}.png"


# ---- figures --------------------------------------------------------------------------------

def figure_accuracy_vs_depth(runs, settings, out):
    """One panel per setting: mean, min-max band and every seed as a dot; the seed's values dotted."""
    fig, axes = plt.subplots(1, len(settings), figsize=(5.6 * len(settings), 4.3), squeeze=False, sharey=True)
    rng = np.random.default_rng(0)  # horizontal jitter of the dots only
    for ax, setting in zip(axes[0], settings):
        g = by_cell(runs, setting)
        for c in CONFIGS:
            if c not in g:
                continue
            depths = sorted(g[c])
            cells = [spread([last(r, "val_accuracy") for r in g[c][d]]) for d in depths]
            ax.plot(depths, [s["mean"] for s in cells], "-", color=COLORS[c], label=f"{LABELS[c]} (mean)")
            ax.fill_between(depths, [s["min"] for s in cells], [s["max"] for s in cells], color=COLORS[c], alpha=0.15)
            for d in depths:
                vals = [last(r, "val_accuracy") for r in g[c][d]]
                ax.scatter(d + rng.uniform(-0.6, 0.6, len(vals)), vals, s=12, color=COLORS[c], alpha=0.8, zorder=3)
            sd = sorted(SEED_FIGURE[c])
            ax.plot(sd, [SEED_FIGURE[c][k] for k in sd], ":", marker="x", color=COLORS[c], alpha=0.7,
                    label=f"seed (Keras, 1 run): {c}")
        ax.axhline(COLLAPSE, color="grey", lw=0.8, ls="--")
        ax.set_title(f"{setting}", fontsize=10)
        ax.set_xlabel("depth (layers)")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("final validation accuracy")
    axes[0][0].legend(fontsize=7, loc="lower left")
    n_seeds = len({r["meta"]["seed"] for r in runs})
    fig.suptitle(f"Accuracy vs depth: line = mean, band = min–max, dots = the {n_seeds} seed(s); "
                 f"below the dashed line = collapsed", fontsize=10)
    return save(fig, out, "accuracy_vs_depth")


def first_seed_runs(runs, setting):
    """The runs of `setting` with the lowest seed of the study: what the per-run figures show."""
    seed = min(r["meta"]["seed"] for r in runs)
    return [r for r in runs if applies(r, setting) and r["meta"]["seed"] == seed]


def figure_curves_grid(runs, setting, out):
    by = {(r["meta"]["config"], r["meta"]["depth"]): r for r in first_seed_runs(runs, setting)}
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
                ax.plot(e, [float(h["accuracy"]) for h in r["history"]], label="train (train mode)")
                ax.plot(e, [float(h["val_accuracy"]) for h in r["history"]], label="val")
                inf = [float(h["train_accuracy_inference"]) if h.get("train_accuracy_inference") else float("nan")
                       for h in r["history"]]
                ax.plot(e, inf, "--", label="train (inference mode)")
            ax.set_ylim(0, 1.02)
            if i == 0:
                ax.set_title(f"depth {d}", fontsize=9)
            if j == 0:
                ax.set_ylabel(c, fontsize=9)
            ax.tick_params(labelsize=7)
    axes[0][-1].legend(fontsize=6)
    fig.suptitle(f"accuracy per epoch (rows: configs; {setting}; first seed)", fontsize=10)
    return save(fig, out, "curves_grid")


def read_gradients(run):
    return _read_csv_cached(os.path.join(run["dir"], "gradients.csv"))


@functools.lru_cache(maxsize=None)  # several figures and tables read the same runs
def _read_csv_cached(path):
    return read_csv(path) if os.path.isfile(path) else []


def kernel_norms(rows, epoch):
    """[(dense index, l2)] of the kernel gradients on the probe batch at `epoch`."""
    out = []
    for r in rows:
        if r["source"] == "probe" and int(r["epoch"]) == epoch and r["kind"] == "kernel":
            layer = r["tensor"].split("/")[0]
            k = 0 if layer == "dense" else int(layer.split("_")[1])
            out.append((k, float(r["l2"])))
    return sorted(out)


def figure_gradient_norms(runs, setting, out):
    sel = first_seed_runs(runs, setting)
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
            final = max(int(x["epoch"]) for x in rows)
            for epoch, style in [(0, ":"), (1, "--"), (final, "-")]:
                pts = kernel_norms(rows, epoch)
                if pts and not (epoch == final and final == 1 and style == "-"):
                    ax.plot([p[0] for p in pts], [max(p[1], 1e-30) for p in pts], style,
                            color=cmap(di / max(1, len(show) - 1)), label=f"d{d} epoch {epoch}")
        ax.set_yscale("log")
        ax.set_title(LABELS[c], fontsize=10)
        ax.set_xlabel("dense layer index (input → output)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6, ncol=2)
    axes[0][0].set_ylabel("‖dL/dW‖₂ on the probe batch")
    fig.suptitle(f"Vanishing and exploding ({setting}): kernel gradient norm per layer (dotted: init, dashed: epoch 1, "
                 "solid: last; an exactly zero gradient is drawn at 1e-30)", fontsize=10)
    return save(fig, out, "gradient_norms")


def figure_histograms(runs, setting, out):
    sel = first_seed_runs(runs, setting)
    configs = [c for c in CONFIGS if any(r["meta"]["config"] == c for r in sel)]
    fig, axes = plt.subplots(len(configs), 2, figsize=(11, 3.6 * len(configs)), squeeze=False, layout="constrained")
    for i, c in enumerate(configs):
        r = max((x for x in sel if x["meta"]["config"] == c), key=lambda x: x["meta"]["depth"])
        rows = read_gradients(r)
        final = max(int(x["epoch"]) for x in rows)
        for j, epoch in enumerate([0, final]):
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
    fig.suptitle(f"Distribution of kernel gradients per layer ({setting}; TensorBoard's histogram view as a heat map)",
                 fontsize=10)
    return save(fig, out, "gradient_histograms")


def gap(run):
    """Final train-mode accuracy (the epoch's running mean) minus the inference-mode accuracy on the
    fixed training subset: how much worse the same network does with BatchNorm's moving statistics."""
    return last(run, "accuracy") - last(run, "train_accuracy_inference")


def bn_stats(run):
    return _read_csv_cached(os.path.join(run["dir"], "bn_stats.csv"))


def distinct_for(config, settings):
    """The settings that give different runs for config: for a plain net, one per BatchNorm-free form."""
    if config != "plain":
        return settings
    seen, out = set(), []
    for s in settings:
        if without_batchnorm(s) not in seen:
            seen.add(without_batchnorm(s))
            out.append(s)
    return out


def figure_gap(runs, settings, config, out):
    """Left: the train/inference gap against depth per setting. Right: the per-layer BatchNorm
    mismatch of the deepest run (first seed, first setting) at init, epoch 1 and the last epoch."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.9))
    rng = np.random.default_rng(1)
    cmap = plt.get_cmap("tab10")
    for k, setting in enumerate(settings):
        if setting not in distinct_for(config, settings):
            continue
        g = by_cell(runs, setting).get(config, {})
        depths = sorted(g)
        if not depths:
            continue
        gaps = [[gap(r) for r in g[d]] for d in depths]
        left.plot(depths, [np.nanmean(v) for v in gaps], "-", color=cmap(k), label=setting)
        for d, v in zip(depths, gaps):
            left.scatter(d + rng.uniform(-0.6, 0.6, len(v)), v, s=10, color=cmap(k), alpha=0.8)
    left.axhline(0, color="grey", lw=0.8)
    left.set_xlabel("depth (layers)")
    left.set_ylabel("train-mode − inference-mode accuracy")
    left.set_title("final epoch: line = mean, dots = seeds", fontsize=9)
    left.grid(alpha=0.3)
    left.legend(fontsize=7)
    main = [r for r in first_seed_runs(runs, settings[0]) if r["meta"]["config"] == config]
    deepest = max(main, key=lambda r: r["meta"]["depth"]) if main else None
    rows = bn_stats(deepest) if deepest else []
    if rows:
        final = max(int(x["epoch"]) for x in rows)
        for epoch, style in [(0, ":"), (1, "--"), (final, "-")]:
            sel = sorted((x for x in rows if int(x["epoch"]) == epoch), key=lambda x: int(x["layer_index"]))
            pos = range(len(sel))
            right.plot(pos, [float(x["mean_shift_median"]) for x in sel], style, color="tab:red",
                       label=f"mean shift, epoch {epoch}")
            right.plot(pos, [float(x["log_var_ratio_median"]) for x in sel], style, color="tab:purple",
                       label=f"log var ratio, epoch {epoch}")
        right.set_yscale("symlog", linthresh=0.01)
        right.axhline(0, color="grey", lw=0.8)
        right.set_xlabel("BatchNorm layer (input → output)")
        right.set_ylabel("median over features")
        right.set_title(f"moving vs probe-batch statistics, {deepest['name']}", fontsize=9)
        right.grid(alpha=0.3, which="both")
        right.legend(fontsize=6, ncol=2)
    else:
        right.text(0.5, 0.5, "no BatchNorm in this network", ha="center", va="center", transform=right.transAxes)
        right.set_axis_off()
    fig.suptitle(f"{LABELS[config]}: does it fail in training or only in inference?", fontsize=10)
    return save(fig, out, f"gap_{config}")


def figure_why(runs, settings, out):
    """Final validation accuracy at depths 25-40 for every setting, seeds as dots."""
    configs = [c for c in CONFIGS if any(r["meta"]["config"] == c for r in runs)]
    fig, axes = plt.subplots(1, len(configs), figsize=(5 * len(configs), 3.9), squeeze=False, sharey=True)
    cmap = plt.get_cmap("tab10")
    for ax, c in zip(axes[0], configs):
        for k, setting in enumerate(settings):
            if setting not in distinct_for(c, settings):
                continue
            g = by_cell(runs, setting).get(c, {})
            depths = [d for d in sorted(g) if d >= 25]
            if not depths:
                continue
            off = (k - (len(settings) - 1) / 2) * 0.6
            for d in depths:
                vals = [last(r, "val_accuracy") for r in g[d]]
                ax.scatter([d + off] * len(vals), vals, s=14, color=cmap(k), label=setting if d == depths[0] else None)
            ax.plot([d + off for d in depths], [np.nanmean([last(r, "val_accuracy") for r in g[d]]) for d in depths],
                    "-", color=cmap(k), alpha=0.5)
        sd = [d for d in sorted(SEED_FIGURE[c]) if d >= 25]
        ax.plot(sd, [SEED_FIGURE[c][d] for d in sd], "k:", marker="x", label="seed (Keras)")
        ax.axhline(COLLAPSE, color="grey", lw=0.8, ls="--")
        ax.set_title(LABELS[c], fontsize=10)
        ax.set_xlabel("depth (layers)")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("final validation accuracy")
    # one legend for every setting of every panel (he_uniform, say, has plain runs only)
    legend = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(label, handle)
    fig.legend(list(legend.values()), list(legend.keys()), fontsize=7, loc="lower center",
               ncol=len(legend), bbox_to_anchor=(0.5, -0.02))
    fig.suptitle("One switch at a time: which setting collapses where the seed did?", fontsize=10)
    fig.subplots_adjust(bottom=0.22)
    return save(fig, out, "why_collapse")


# ---- tables and text ------------------------------------------------------------------------

def accuracy_tables(runs, settings, epochs):
    lines = []
    compare_seed = epochs == [20]
    for setting in settings:
        g = by_cell(runs, setting)
        depths = sorted({d for c in g for d in g[c]})
        lines += [f"### {setting}", "", SETTING_TEXT.get(setting, setting) + ".", "",
                  "| config | " + " | ".join(f"d{d}" for d in depths) + " |", "|---|" + "---|" * len(depths)]
        for c in CONFIGS:
            if c not in g:
                continue
            cells = []
            for d in depths:
                rs = g[c].get(d, [])
                if not rs:
                    cells.append("")
                    continue
                seed_value = SEED_FIGURE[c].get(d) if compare_seed and setting == "tf2" else None
                cells.append(accuracy_cell(spread([last(r, "val_accuracy") for r in rs]), seed_value))
            lines.append(f"| {c} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def run_is_seed_like(run):
    """Trains but fails in inference, as the seed's BN and skip nets at depth 30-40 do: train-mode
    accuracy at least 0.6 and validation accuracy at most 0.6 at the last epoch."""
    return last(run, "accuracy") >= 0.6 and last(run, "val_accuracy") <= 0.6


def erratic(run):
    """Median absolute epoch-to-epoch change of val_accuracy over the last 10 epochs."""
    v = [float(h["val_accuracy"]) for h in run["history"]][-11:]
    return float(np.median(np.abs(np.diff(v)))) if len(v) >= 3 else float("nan")


def why_section(runs, settings):
    """The switches side by side at depths 25-40, and what they reproduce of the seed's pattern."""
    lines = ["## Why does the seed collapse earlier?", "",
             "The seed (Keras, 20 epochs, one run per point) shows three things our TF2 runs do not "
             "(its figure `train-val-curves-grid.png` in the notebook's repository, "
             "https://github.com/grasool/explore-gradients):", "",
             "1. plain nets dead from depth 25, with training accuracy at chance;",
             "2. BN nets at depths 30-40 that train (training accuracy 0.6-0.9) while validation accuracy "
             "jumps around 0.1-0.5;",
             "3. skip nets at depth 40 doing the same.", "",
             "Each setting below changes one thing against `tf2` (`keras2.1` changes two; its parts are "
             "`eps_outside` and `debias`). Cell: collapsed runs k/n (final val_accuracy < 0.2); mean final "
             "val_accuracy; mean final training accuracy in train mode (running mean over the last epoch) "
             "and the gap to the same network's accuracy on 10,000 training images in inference mode "
             "(positive: worse in inference); `seed-like` counts runs that train (train-mode accuracy "
             "≥ 0.6) but fail on validation (≤ 0.6). Nothing was tuned.", ""]
    deep = sorted({r["meta"]["depth"] for r in runs if r["meta"]["depth"] >= 25})
    for c in CONFIGS:
        rows = []
        shown = set()
        for setting in settings:
            g = by_cell(runs, setting).get(c, {})
            if not any(d in g for d in deep):
                continue
            if c == "plain":  # the same runs under another name: shown once
                if without_batchnorm(setting) in shown:
                    continue
                shown.add(without_batchnorm(setting))
            cells = []
            for d in deep:
                rs = g.get(d, [])
                if not rs:
                    cells.append("")
                    continue
                s = spread([last(r, "val_accuracy") for r in rs])
                train = np.nanmean([last(r, "accuracy") for r in rs])
                gaps = np.nanmean([gap(r) for r in rs])
                like = sum(run_is_seed_like(r) for r in rs)
                cells.append(f"{s['collapsed']}/{s['n']} collapsed<br>val {s['mean']:.3f} · train {train:.3f}"
                             f"<br>gap {gaps:+.3f} · seed-like {like}/{s['n']}")
            rows.append(f"| {setting} | " + " | ".join(cells) + " |")
        if rows:
            seed_row = " | ".join(f"{SEED_FIGURE[c].get(d, float('nan')):.2f}" for d in deep)
            lines += [f"### {c}: {LABELS[c]}", "", "| setting | " + " | ".join(f"d{d}" for d in deep) + " |",
                      "|---|" + "---|" * len(deep)] + rows + [f"| seed (Keras) val | {seed_row} |", ""]
            if c == "plain":
                lines += ["Without BatchNorm, `debias` and the momentum change nothing and `keras2.1` is "
                          "`eps_outside`: each is shown once, under its first name.", ""]
    lines += ["### Verdict", ""] + verdict(runs, settings) + [""]
    return lines


def verdict(runs, settings):
    """Plain sentences, computed from the runs, on which setting reproduces which part of the seed's pattern."""
    out = []

    def majority(rs, test):
        return bool(rs) and sum(test(r) for r in rs) * 2 > len(rs)

    # 1. plain nets dead from depth 25, training accuracy at chance
    dead = lambda r: last(r, "val_accuracy") < COLLAPSE and last(r, "accuracy") < COLLAPSE  # noqa: E731
    found, never, seen = [], [], set()
    for setting in settings:
        if without_batchnorm(setting) in seen:  # the same plain runs under another name
            continue
        seen.add(without_batchnorm(setting))
        g = by_cell(runs, setting).get("plain", {})
        if not g:
            continue
        first_dead = next((d for d in sorted(g) if majority(g[d], dead)), None)
        if first_dead is not None:
            found.append((setting, first_dead))
        else:
            never.append(f"{setting} (depths {min(g)}-{max(g)})")
    reproduces = [s for s, d in found if d <= 25]
    text = "1. **Plain nets dead from depth 25.** "
    if not found:
        text += "No setting tested kills the plain net at any depth in most seeds."
    else:
        text += "Depth from which most seeds are dead (val and train-mode accuracy < 0.2): " + ", ".join(
            f"{s} {d}" for s, d in found) + ". "
        if never:
            text += "Never dead in most seeds: " + ", ".join(never) + ". "
        text += (f"Reproduced (dead from 25 or earlier) by: {', '.join(reproduces)}." if reproduces
                 else "No setting tested makes it die as early as the seed's depth 25.")
    missing = [s for s in settings if "plain" not in by_cell(runs, s) and without_batchnorm(s) == s]
    if missing:
        text += f" (Settings without plain runs: {', '.join(missing)}.)"
    out.append(text)

    # 2. and 3. train but fail in inference
    for n, c, depths in [(2, "bn", [30, 35, 40]), (3, "skip", [40])]:
        parts = []
        best = []
        for setting in settings:
            g = by_cell(runs, setting).get(c, {})
            rs = [r for d in depths for r in g.get(d, [])]
            if not rs:
                continue
            like = sum(run_is_seed_like(r) for r in rs)
            collapsed = sum(1 for r in rs if not last(r, "val_accuracy") >= COLLAPSE)
            parts.append(f"{setting} {like}/{len(rs)} seed-like ({collapsed} collapsed, median val jump "
                         f"{np.nanmedian([erratic(r) for r in rs]):.3f}/epoch)")
            if like * 2 > len(rs):
                best.append(setting)
        depth_text = "depths 30-40" if len(depths) > 1 else f"depth {depths[0]}"
        text = f"{n}. **{c} nets at {depth_text} that train but fail on validation.** "
        if not parts:
            out.append(text + f"No {c} runs at {depth_text} in this study.")
            continue
        text += "; ".join(parts) + ". "
        text += (f"Reproduced in most runs by: {', '.join(best)}." if best
                 else "No setting tested reproduces it in most runs.")
        out.append(text)
    out += same_endings(runs, settings)
    out += ["", "What stays unexplained is whatever no row above reproduces: the seed ran each point once, "
            "with a Keras version whose exact numerics we can only bracket by these switches."]
    return out


def first(run, column):
    """The first epoch's value of a history column, or NaN."""
    if not run["history"]:
        return float("nan")
    v = run["history"][0].get(column, "")
    return float(v) if v not in ("", None) else float("nan")


def same_endings(runs, settings):
    """Pairs of BatchNorm settings whose runs (same config, depth and seed) end at the same final
    numbers: a switch that changes nothing by the last epoch cannot explain a collapse there."""
    key = lambda r: (r["meta"]["config"], r["meta"]["depth"], r["meta"]["seed"])  # noqa: E731
    bn_runs = [r for r in runs if r["meta"]["config"] != "plain"]
    by_setting = {st: {key(r): r for r in bn_runs if r["setting"] == st} for st in settings}
    out = []
    debias_only = False
    for i, a in enumerate(settings):
        for b in settings[i + 1:]:
            pairs = [(by_setting[a][k], by_setting[b][k]) for k in by_setting[a] if k in by_setting[b]]
            if len(pairs) < 3:
                continue
            end = max(abs(last(x, c) - last(y, c)) for x, y in pairs for c in ("val_accuracy", "accuracy"))
            if not end <= 1e-4:
                continue
            start = max(abs(first(x, "val_accuracy") - first(y, "val_accuracy")) for x, y in pairs)
            text = (f"- `{a}` and `{b}` end at the same final val_accuracy and train-mode accuracy in all "
                    f"{len(pairs)} paired BatchNorm runs (largest difference {end:.1e}; after epoch 1 their "
                    f"val_accuracy differed by up to {start:.4f}).")
            debias_only = debias_only or "debias" in (a, b) or {a, b} == {"keras2.1", "eps_outside"}
            out.append(text)
    if out:
        out = ["", "Settings that end where another does:", ""] + out
    if debias_only:
        out += ["", "Zero-debiasing divides BatchNorm's moving averages by 1 - momentum^t, which is 1 to float "
                f"precision after a few thousand steps (0.99^2000 = {0.99 ** 2000:.0e}), and the moving averages "
                "never feed back into training: it can change early inference-mode numbers only, and cannot "
                "explain a collapse at epoch 20."]
    return out


def propagation_rates(runs, setting):
    """Per run at initialisation: the forward norm factor per hidden Dense layer (input to output)
    and the backward error growth per layer towards the input, fitted over the hidden 128x128 layers."""
    table = []
    for r in sorted(first_seed_runs(runs, setting), key=lambda r: (CONFIGS.index(r["meta"]["config"]),
                                                                   r["meta"]["depth"])):
        rows = [x for x in read_gradients(r) if x["source"] == "probe" and int(x["epoch"]) == 0]
        rates = {}
        for kind in ("activation", "input_gradient"):
            pts = sorted((int(x["layer_index"]), float(x["l2"])) for x in rows
                         if x["kind"] == kind and x["tensor"].startswith("dense"))
            pts = [p for p in pts[1:-1] if p[1] > 0]  # hidden 128x128 layers only
            if len(pts) >= 2:
                slope = np.polyfit(np.arange(len(pts)), np.log10([p[1] for p in pts]), 1)[0]
                # activation: growth from input to output; error: growth towards the input
                rates[kind] = 10 ** slope if kind == "activation" else 10 ** -slope
        table.append((r, rates))
    return table


def propagation_section(runs, settings):
    lines = ["## Signal propagation at initialisation (before any training)", "",
             "Per hidden 128x128 Dense layer, on the probe batch (BN in train mode), fitted as log‖·‖ against "
             "the layer's position over the hidden layers. **Forward**: how much the Dense output's norm grows "
             "per layer from input to output. **Backward**: how much the error (dL/d input of each Dense) grows "
             "per layer travelling towards the input. 1 is perfect propagation; below 1 vanishes.", "",
             "Theory (infinite width):",
             "- Glorot-uniform 128x128 weights have variance 2/(128+128) = 1/128; with ReLU, which halves the "
             "second moment, each layer multiplies the variance by 128 · 1/128 · 1/2 = 1/2, forward and backward "
             f"alike: a norm factor of sqrt(1/2) = {HALF:.3f} per layer.",
             "- He initialisation (variance 2/fan_in) makes that 128 · 2/128 · 1/2 = 1: factor 1.000 both ways.",
             "- With BatchNorm, each layer's input is renormalised, so the forward factor is 1 whatever the "
             "initialisation, but the backward error grows towards the input by about "
             f"sqrt(pi/(pi-1)) = {BN_RELU_GROWTH:.3f} per BN+ReLU layer (Yang et al., \"A Mean Field Theory of "
             "Batch Normalization\", ICLR 2019).",
             "- No closed form is used here for the skip net.", "",
             "| setting | config | depth | forward (measured) | theory | rel. error | backward growth towards input "
             "(measured) | theory | rel. error |", "|---|---|---|---|---|---|---|---|---|"]
    for setting in settings:
        for r, rates in propagation_rates(runs, setting):
            m = r["meta"]
            theory = THEORY.get((m["config"], m.get("init", "glorot_uniform")))
            cells = []
            for i, kind in enumerate(("activation", "input_gradient")):
                v = rates.get(kind, float("nan"))
                if theory:
                    cells += [f"{v:.3f}", f"{theory[i]:.3f}", f"{v / theory[i] - 1:+.1%}"]
                else:
                    cells += [f"{v:.3f}", "—", "—"]
            lines.append(f"| {setting} | {m['config']} | {m['depth']} | " + " | ".join(cells) + " |")
    return lines + [""]


def gap_section(runs, settings, figs):
    lines = ["## Training failure or inference failure?", "",
             "`accuracy` in `history.csv` is measured in train mode (BatchNorm with batch statistics) while the "
             "weights move; `val_accuracy` in inference mode (BatchNorm's moving statistics). "
             "`train_accuracy_inference` evaluates 10,000 fixed training images in inference mode after each "
             "epoch, so the gap between it and `accuracy` is what inference mode costs on data the network "
             "trained on. `bn_stats.csv` says, per BatchNorm layer and epoch, how far the moving statistics are "
             "from the probe batch's (mean shift in batch standard deviations, log of the variance ratio), and "
             "`probe.csv` gives the probe batch's accuracy in both modes with the same weights.", "",
             "Mean gap at the last epoch (train-mode − inference-mode accuracy), per setting and config, over "
             "depths and seeds:", "",
             "| setting | config | " + " | ".join(f"d{d}" for d in sorted({r['meta']['depth'] for r in runs})) + " |",
             "|---|---|" + "---|" * len({r['meta']['depth'] for r in runs})]
    depths = sorted({r["meta"]["depth"] for r in runs})
    for setting in settings:
        g = by_cell(runs, setting)
        for c in CONFIGS:
            if c in g:
                cells = [f"{np.nanmean([gap(r) for r in g[c][d]]):+.3f}" if d in g[c] else "" for d in depths]
                lines.append(f"| {setting} | {c} | " + " | ".join(cells) + " |")
    lines += [""] + [f"![{f}]({f})" for f in figs] + [""]
    return lines


def write_summary(runs, out):
    columns = ["config", "depth", "seed", "setting", "numerics", "rmsprop_epsilon", "bn_debias", "bn_momentum", "init",
               "epochs", "val_accuracy", "train_accuracy_inference", "accuracy", "best_val_accuracy", "diverged"]
    path = os.path.join(out, "summary.csv")
    with open(path + ".tmp", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for r in sorted(runs, key=lambda r: (ordered_settings(runs).index(r["setting"]),
                                             CONFIGS.index(r["meta"]["config"]), r["meta"]["depth"],
                                             r["meta"]["seed"])):
            m = r["meta"]
            fmt = lambda v: "" if math.isnan(v) else f"{v:.6g}"  # noqa: E731
            w.writerow([m["config"], m["depth"], m["seed"], r["setting"], m["numerics"],
                        m.get("rmsprop_epsilon", "inside" if m["numerics"] == "tf2" else "outside"),
                        str(m.get("bn_debias", m["numerics"] == "keras2.1")).lower(), m.get("bn_momentum", 0.99),
                        m.get("init", "glorot_uniform"), m["epochs"], fmt(last(r, "val_accuracy")),
                        fmt(last(r, "train_accuracy_inference")), fmt(last(r, "accuracy")), fmt(best_val(r)),
                        "true" if m.get("diverged") else "false"])
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--out", help="where figures, REPORT.md and summary.csv go (default: the first folder)")
    a = ap.parse_args()
    out = a.out or a.folders[0]
    os.makedirs(out, exist_ok=True)
    runs = load_runs(a.folders)
    settings = ordered_settings(runs)
    presets = [s for s in settings if s in ("tf2", "keras2.1")] or settings[:1]
    main_setting = presets[0]
    seeds = sorted({r["meta"]["seed"] for r in runs})
    epochs = sorted({r["meta"]["epochs"] for r in runs})
    figs = [figure_accuracy_vs_depth(runs, presets, out), figure_curves_grid(runs, main_setting, out),
            figure_gradient_norms(runs, main_setting, out), figure_histograms(runs, main_setting, out)]
    gap_figs = [figure_gap(runs, settings, c, out) for c in CONFIGS if any(r["meta"]["config"] == c for r in runs)]
    deep_settings = [s for s in settings if any(r["setting"] == s and r["meta"]["depth"] >= 25 for r in runs)]
    why_fig = figure_why(runs, deep_settings, out) if deep_settings else None
    write_summary(runs, out)

    configs = ", ".join(c for c in CONFIGS if any(r["meta"]["config"] == c for r in runs))
    lines = ["# Gradient study report", "",
             f"{len(runs)} runs: configs {configs}; seeds {seeds}; epochs {epochs}; settings {settings}; "
             f"dataset {runs[0]['meta']['dataset']}. RMSprop (lr 1e-3), batch {runs[0]['meta']['batch']}. "
             "One row per run in `summary.csv`.", "",
             "## Final validation accuracy", "",
             "Each cell: mean ± sample std over seeds (std only with two or more), then min–max and how many "
             f"runs collapsed (final val_accuracy < {COLLAPSE}) out of n."
             + (" Under tf2, the seed's value read off its figure (±0.02 for reading by eye) and whether it lies "
                "inside our min–max." if epochs == [20] else
                f" The seed's values are at 20 epochs, these runs at {epochs}: no cell is compared with them."),
             ""]
    lines += accuracy_tables(runs, settings, epochs)
    lines += [f"![{figs[0]}]({figs[0]})", ""]
    if why_fig:
        lines += why_section(runs, deep_settings) + [f"![{why_fig}]({why_fig})", ""]
    lines += gap_section(runs, settings, gap_figs)
    lines += propagation_section(runs, [s for s in settings if s in ("tf2", "he_uniform", "he_normal")] or [main_setting])
    lines += ["## Figures", ""] + [f"![{f}]({f})" for f in figs[1:]] + [""]
    lines += ["## Reproducing", "",
              "`bash scripts/full_study.sh` runs the study behind `docs/study/` (20 epochs, seeds 1-3, both presets "
              "and every switch at depths 25-40; finished runs are skipped on a rerun) and regenerates this folder "
              "with `scripts/study_report.py`.", ""]
    with open(os.path.join(out, "REPORT.md.tmp"), "w") as f:
        f.write("\n".join(lines))
    os.replace(os.path.join(out, "REPORT.md.tmp"), os.path.join(out, "REPORT.md"))
    n_figs = len(figs) + len(gap_figs) + (1 if why_fig else 0)
    print(f"study_report: {len(runs)} runs -> {os.path.join(out, 'REPORT.md')}, summary.csv and {n_figs} figures "
          "(PNG, SVG)")


if __name__ == "__main__":
    main()
