#!/usr/bin/python3
"""Figures, REPORT.md and summary.csv for a gradient study.

    scripts/study_report.py STUDY [MORE_STUDY_FOLDERS ...] [--out DIR]

Reads every finished run (a folder with run.json) under the given folders (several folders,
e.g. the shards of a job array, are merged; the same run found twice must agree), draws the
figures as PNG and SVG, and writes DIR/REPORT.md and DIR/summary.csv (DIR: the first folder
by default). Needs matplotlib and numpy (Debian: python3-matplotlib, python3-numpy).

A run's config is one of bn, plain, skip (the seed's networks), selu, layernorm and rezero (the
remedies that change the architecture). Its setting is what gradient_study calls it: the parts
that differ from TF2 Keras' defaults and the config's initialiser, joined by '+' ("tf2" for none):
"keras2.1", "eps_outside", "debias", "bnmom0.9", an initialiser ("he_uniform", "orthogonal", ...),
"gain1.41421", an optimizer other than RMSprop ("adam", "adamw", "sgd_m0.9"), a learning rate
other than the optimizer's default ("lr0.003") and gradient clipping ("clip1"); e.g.
"orthogonal+gain1.41421" or "he_uniform+adamw+lr0.0003" (examples/seed_settings.hpp). run.json
files written before the gain, optimizer, learning rate and clipping existed are read with their
defaults (gain 1, RMSprop at lr 0.001, no momentum, no clipping).

A run has collapsed when its final validation accuracy is below 0.2 (chance is 0.1) or it
diverged. REPORT.md's sections: final accuracy per setting; how likely a collapse is per cell
(Wilson intervals) and whether each of the seed's single runs is a plausible draw from ours; why
the seed collapses earlier (one numerics switch at a time); whether a smaller or larger step
reproduces the seed; train-mode against inference-mode failure; what fixes a deep net (the
remedies side by side, with the signal-propagation theory at initialisation that predicts them).
A section whose runs are missing says which.
"""
import argparse
import csv
import functools
import itertools
import json
import math
import os
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["svg.hashsalt"] = "study_report"  # the SVGs' element ids: the same runs give the same files
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

CONFIGS = ["bn", "plain", "skip", "selu", "layernorm", "rezero"]
LABELS = {"bn": "Dense+BN+ReLU", "plain": "Dense+ReLU (no BN)", "skip": "BN + skip every 2 layers",
          "selu": "Dense+SELU (LeCun-normal)", "layernorm": "Dense+LayerNorm+ReLU",
          "rezero": "ReZero: x + α·F(x), α = 0 at start"}
COLORS = {"bn": "tab:blue", "plain": "tab:orange", "skip": "tab:green", "selu": "tab:red",
          "layernorm": "tab:purple", "rezero": "tab:brown"}
HAS_BATCHNORM = {"bn", "skip"}  # gradient_study drops the BatchNorm parts of the others' settings
COLLAPSE = 0.2  # final val_accuracy below this: collapsed (chance is 0.1)
SETTING_ORDER = ["tf2", "keras2.1", "eps_outside", "debias", "bnmom0.9", "he_uniform", "he_normal",
                 "orthogonal", "orthogonal+gain1.41421", "lecun_normal", "glorot_uniform",
                 "lr0.0003", "lr0.003", "adam", "adamw", "sgd", "sgd_m0.9", "clip1"]
SETTING_TEXT = {
    "tf2": "TF2 Keras, the seed notebook's framework (epsilon inside RMSprop's root, plain BN averages, "
           "momentum 0.99, Glorot-uniform)",
    "keras2.1": "Keras 2.1.5: epsilon outside RMSprop's root and zero-debiased BN averages",
    "eps_outside": "only RMSprop's epsilon outside the root (keras2.1's optimizer part)",
    "debias": "only BatchNorm's zero-debiased moving averages (keras2.1's BatchNorm part)",
    "bnmom0.9": "BatchNorm momentum 0.9 instead of 0.99 (moving averages that follow the weights faster)",
    "he_uniform": "He-uniform kernels instead of Glorot-uniform (the textbook remedy for ReLU nets)",
    "he_normal": "He-normal kernels instead of Glorot-uniform",
    "orthogonal": "orthogonal kernels (gain 1) instead of Glorot-uniform",
    "lecun_normal": "LeCun-normal kernels (variance 1/fan_in) instead of the config's initialiser",
    "glorot_uniform": "Glorot-uniform kernels instead of the config's initialiser (LeCun-normal for selu)",
    "adam": "Adam at its defaults (lr 0.001) instead of RMSprop",
    "adamw": "AdamW at its defaults (lr 0.001, decoupled weight decay 0.01) instead of RMSprop",
    "sgd": "plain SGD (lr 0.01, no momentum) instead of RMSprop",
}
# The settings of the one-switch-at-a-time search for the seed's numerics (the "why" section): a
# setting belongs to it when every '+' part is one of these or a BatchNorm momentum ("bnmom...").
WHY_PARTS = {"tf2", "keras2.1", "eps_outside", "debias", "he_uniform", "he_normal"}
# The initialisers gradient_study offers; a setting made of these and a gain changes only the
# network at initialisation, which the signal-propagation section measures.
INITS = ["glorot_uniform", "he_uniform", "he_normal", "lecun_normal", "orthogonal"]
DEFAULT_INIT = {"selu": "lecun_normal"}  # every other config: glorot_uniform (Keras' default)
# Final validation accuracy read by eye off the seed's figure final-val-acc-vs-depth.png
# (its legend: "No Skip" = bn, "No BN" = plain, "Skip BN" = skip); one run per point, 20 epochs.
SEED_FIGURE = {
    "bn": {10: 0.98, 15: 0.98, 20: 0.98, 25: 0.98, 30: 0.78, 35: 0.24, 40: 0.09},
    "plain": {10: 0.975, 15: 0.955, 20: 0.95, 25: 0.09, 30: 0.11, 35: 0.11, 40: 0.11},
    "skip": {10: 0.98, 15: 0.98, 20: 0.98, 25: 0.98, 30: 0.98, 35: 0.95, 40: 0.30},
}
SEED_EPOCHS = 20  # the seed's runs trained this long: only runs as long are compared with its values
SEED_READ_ERROR = 0.02  # the seed's values are read by eye: "inside" allows this much either side
# A run "like the seed's" at depth 30-40 trains (train-mode accuracy at least this) but fails on
# validation (val_accuracy at most this); the seed fails at a depth where its value is at most it.
SEED_LIKE_TRAIN = 0.6
SEED_LIKE_VAL = 0.6
# The collapse-probability section: cells with at least this many runs get a table row (the edge
# cells get 15 seeds or more), and a seed's single run is a plausible draw from ours when at least
# this share of our runs ended at or below it and at least this share at or above it.
EDGE_CELL_RUNS = 10
PLAUSIBLE_SHARE = 0.05
WILSON_Z = 1.959964  # the standard normal's 97.5% quantile: two-sided 95% intervals
# The step-size section: RMSprop at Keras' lr 1e-3 ("tf2") against a third and three times it.
STEP_SETTINGS = [("tf2", "0.001"), ("lr0.0003", "0.0003"), ("lr0.003", "0.003")]
STEP_CONFIGS = ["bn", "plain", "skip"]
# The remedies for a deep ReLU stack: (name in the report, config, setting).
REMEDIES = [
    ("none (Glorot)", "plain", "tf2"),
    ("He-uniform", "plain", "he_uniform"),
    ("orthogonal", "plain", "orthogonal"),
    ("orthogonal, gain √2", "plain", "orthogonal+gain1.41421"),
    ("SELU + LeCun", "selu", "tf2"),
    ("LayerNorm", "layernorm", "tf2"),
    ("ReZero", "rezero", "tf2"),
    ("BatchNorm", "bn", "tf2"),
    ("BN + skip", "skip", "tf2"),
    # clipping and AdamW on the BatchNorm net, whose gradients explode at initialisation
    ("BN + clipping (norm 1)", "bn", "clip1"),
    ("BN + AdamW", "bn", "adamw"),
]
REMEDY_DEPTHS = (10, 50)  # the remedy table's depth range
TRAINS = 0.9  # a remedy trains at a depth when every seed's final val_accuracy is above this
THEORY_DEPTH = 50  # theory's verdict is for this depth's hidden layers (depth - 2 of them)
# Signal propagation at initialisation, per hidden 128x128 Dense layer (theory; see REPORT.md and
# theory()): (forward norm factor input -> output, backward error growth per layer towards the input)
HALF = math.sqrt(0.5)
BN_RELU_GROWTH = math.sqrt(math.pi / (math.pi - 1))  # Yang et al., ICLR 2019
SELU_LAMBDA = 1.0507009873554805  # Klambauer et al. 2017: the constants of SELU's fixed point (0, 1)
SELU_ALPHA = 1.6732632423543772
# A 128x128 kernel's variance: 1/128 for Glorot (2/(fan_in + fan_out)), LeCun (1/fan_in) and an
# orthogonal matrix's entries; 2/128 for He (2/fan_in).
VARIANCE_ONE_OVER_N = {"glorot_uniform", "lecun_normal", "orthogonal"}
VARIANCE_TWO_OVER_N = {"he_uniform", "he_normal"}


@functools.lru_cache(maxsize=None)
def selu_moments():
    """E[selu(z)], E[selu(z)^2] and E[selu'(z)^2] for z ~ N(0, 1), by the trapezoid rule on each
    side of the kink at 0 (step 1e-4 out to 12 standard deviations: error far below 1e-6)."""
    z_neg = np.linspace(-12.0, 0.0, 120001)
    z_pos = np.linspace(0.0, 12.0, 120001)

    def expect(f_neg, f_pos):
        pdf = lambda z: np.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
        return float(np.trapz(f_neg * pdf(z_neg), z_neg) + np.trapz(f_pos * pdf(z_pos), z_pos))

    selu_neg, selu_pos = SELU_LAMBDA * SELU_ALPHA * np.expm1(z_neg), SELU_LAMBDA * z_pos
    slope_neg, slope_pos = SELU_LAMBDA * SELU_ALPHA * np.exp(z_neg), np.full_like(z_pos, SELU_LAMBDA)
    return expect(selu_neg, selu_pos), expect(selu_neg ** 2, selu_pos ** 2), expect(slope_neg ** 2, slope_pos ** 2)


def theory(config, init, gain=1.0):
    """The (forward, backward) norm factor per hidden Dense layer at initialisation for infinitely
    wide layers, None where no closed form is used (the propagation section derives them)."""
    if config == "plain":  # ReLU halves the second moment; fan_in times the kernel's variance restores it
        base = HALF if init in VARIANCE_ONE_OVER_N else 1.0 if init in VARIANCE_TWO_OVER_N else None
        return (gain * base, gain * base) if base else (None, None)
    if config == "bn":  # BatchNorm removes the kernel's scale: the initialiser and gain do not matter
        return (1.0, BN_RELU_GROWTH)
    if config == "selu":  # the self-normalising fixed point needs LeCun-normal kernels at gain 1
        return (1.0, math.sqrt(selu_moments()[2])) if init == "lecun_normal" and gain == 1 else (None, None)
    if config == "rezero":  # alpha = 0: every block is the identity, whatever its Dense layers hold
        return (1.0, 1.0)
    if config == "layernorm":  # each layer renormalises its input per sample; no closed form backward
        return (1.0, None)
    return (None, None)


def wilson(k, n, z=WILSON_Z):
    """The Wilson score interval (low, high) for a binomial proportion k/n (95% with the default z).
    n = 0 says nothing about the proportion: (0, 1)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # exactly 0 at k = 0 and 1 at k = n, where rounding could leave the bound a hair off
    return (0.0 if k == 0 else max(0.0, centre - half)), (1.0 if k == n else min(1.0, centre + half))


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def setting_of(meta):
    return meta.get("setting") or meta["numerics"]


# What run.json says since the optimizer, its step and the initialiser's gain became axes of the
# study; older files lack the keys and were trained with these.
RUN_DEFAULTS = {"gain": 1.0, "optimizer": "rmsprop", "learning_rate": 0.001, "momentum": 0.0, "clip_norm": 0.0}


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
            if meta.get("init", "default") == "default":
                meta["init"] = DEFAULT_INIT.get(meta["config"], "glorot_uniform")
            # run.json files older than these axes: the values those runs trained with
            for key, value in RUN_DEFAULTS.items():
                meta.setdefault(key, value)
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


def final_val(run):
    """The final validation accuracy, NaN for a run that diverged (whatever its last finished epoch
    reached before): spread() then counts it as collapsed."""
    return float("nan") if run["meta"].get("diverged") else last(run, "val_accuracy")


def collapsed(run):
    return not final_val(run) >= COLLAPSE


def most_common_epochs(runs):
    """The epoch count most runs have (the longer on a tie): sections that compare runs use only
    runs of one length."""
    counts = defaultdict(int)
    for r in runs:
        counts[r["meta"]["epochs"]] += 1
    return max(counts, key=lambda e: (counts[e], e)) if counts else None


def setting_parts(setting):
    return setting.split("+")


def part_text(part):
    """A setting's part in words."""
    if part in SETTING_TEXT:
        return SETTING_TEXT[part]
    if part.startswith("bnmom"):
        return f"BatchNorm momentum {part[5:]}"
    if part.startswith("gain"):
        return f"every initial kernel multiplied by {part[4:]}"
    if part.startswith("lr"):
        return f"learning rate {part[2:]} instead of the optimizer's default (0.001; SGD 0.01)"
    if part.startswith("clip"):
        return f"gradients clipped to global 2-norm {part[4:]} before each step"
    if part.startswith("wd"):
        return f"weight decay {part[2:]}"
    if part.startswith("sgd"):
        words = ["SGD"] + [f"momentum {p[1:]}" if p.startswith("m") else p for p in part.split("_")[1:]]
        return " ".join(words) + " instead of RMSprop"
    return part


def setting_text(setting):
    """What a setting changes against tf2, in words (SETTING_TEXT's, else its parts')."""
    return SETTING_TEXT.get(setting) or "; ".join(part_text(p) for p in setting_parts(setting))


def is_why_setting(setting):
    return all(p in WHY_PARTS or p.startswith("bnmom") for p in setting_parts(setting))


def is_init_setting(setting):
    """A setting that changes only the initial network (an initialiser and/or a gain)."""
    return setting == "tf2" or all(p in INITS or p.startswith("gain") for p in setting_parts(setting))


def best_val(run):
    return max((float(h["val_accuracy"]) for h in run["history"]), default=float("nan"))


def ordered_settings(runs):
    present = {r["setting"] for r in runs}
    return [s for s in SETTING_ORDER if s in present] + sorted(present - set(SETTING_ORDER))


def without_batchnorm(setting):
    """What a setting is for a network without BatchNorm: gradient_study drops the BatchNorm parts
    (debias, momentum) of such a net's setting, so keras2.1 is eps_outside there and debias is tf2."""
    parts = []
    for p in setting.split("+"):
        if p == "keras2.1":
            parts.append("eps_outside")
        elif p != "debias" and not p.startswith("bnmom") and p != "tf2":
            parts.append(p)
    return "+".join(parts) or "tf2"


def applies(run, setting):
    if run["meta"]["config"] not in HAS_BATCHNORM:
        return without_batchnorm(run["setting"]) == without_batchnorm(setting)
    return run["setting"] == setting


def by_cell(runs, setting):
    """{config: {depth: [runs, by seed]}} for one setting (the runs of a net without BatchNorm
    under their BatchNorm-free equivalent)."""
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
        # no creation date in the SVG: the same runs give the same files
        fig.savefig(os.path.join(out, f"{stem}.{ext}"), dpi=110, bbox_inches="tight",
                    metadata={"Date": None} if ext == "svg" else None)
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
            sd = sorted(SEED_FIGURE.get(c, {}))  # the seed ran bn, plain and skip only
            if sd:
                ax.plot(sd, [SEED_FIGURE[c][k] for k in sd], ":", marker="x", color=COLORS[c], alpha=0.7,
                        label=f"seed (Keras, 1 run): {c}")
        ax.axhline(COLLAPSE, color="grey", lw=0.8, ls="--")
        ax.set_title(f"{setting}", fontsize=10)
        ax.set_xlabel("depth (layers)")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("final validation accuracy")
    if sum(1 for c in CONFIGS if any(r["meta"]["config"] == c for r in runs)) <= 3:
        axes[0][0].legend(fontsize=7, loc="lower left")
    else:  # more networks than the seed's three: the legend below the panels instead of over the curves
        legend = {}
        for ax in axes[0]:
            for handle, label in zip(*ax.get_legend_handles_labels()):
                legend.setdefault(label, handle)
        fig.legend(list(legend.values()), list(legend.keys()), fontsize=7, loc="upper center", ncol=3,
                   bbox_to_anchor=(0.5, 0.0))
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
    # the legend in the first row's last panel that has curves (a config need not have every depth)
    next((ax for ax in axes[0][::-1] if ax.lines), axes[0][-1]).legend(fontsize=6)
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
    cols = min(3, len(configs))  # more than three networks wrap onto a second row
    n_rows = math.ceil(len(configs) / cols)
    fig, axes = plt.subplots(n_rows, cols, figsize=(5 * cols, 3.8 * n_rows), squeeze=False, sharey=True,
                             layout="constrained" if n_rows > 1 else None)
    for ax in axes.flat[len(configs):]:
        ax.set_axis_off()
    cmap = plt.get_cmap("viridis")
    for ax, c in zip(axes.flat, configs):
        for di, d in enumerate(show):
            r = next((x for x in sel if x["meta"]["config"] == c and x["meta"]["depth"] == d), None)
            if not r:
                continue
            rows = read_gradients(r)
            if not rows:  # a run without gradients.csv
                continue
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
    for ax in axes[:, 0]:
        ax.set_ylabel("‖dL/dW‖₂ on the probe batch")
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
        if not rows:  # a run without gradients.csv
            continue
        final = max(int(x["epoch"]) for x in rows)
        for j, epoch in enumerate([0, final]):
            ks = [x for x in rows if x["source"] == "probe" and int(x["epoch"]) == epoch and x["kind"] == "kernel"]
            ks.sort(key=lambda x: int(x["layer_index"]))
            # the exactly zero gradients (a dead ReLU's weights, a ReZero block's at α = 0) as a column
            # of their own left of the bins, which count only the nonzero ones: each row sums to 1
            m = np.array([[float(x["zeros"])] + [float(x[f"h{b:02d}"]) for b in range(30)] for x in ks])
            frac = m / np.maximum(np.array([[float(x["n"])] for x in ks]), 1)
            ax = axes[i][j]
            im = ax.imshow(frac, aspect="auto", origin="lower", cmap="magma", vmin=0,
                           extent=[-13.0, 2.5, -0.5, len(ks) - 0.5])
            ax.axvline(-12.5, color="white", lw=0.6)
            ax.set_xticks([-12.75, -10, -8, -6, -4, -2, 0, 2], ["=0", "-10", "-8", "-6", "-4", "-2", "0", "2"])
            ax.set_title(f"{LABELS[c]}, depth {r['meta']['depth']}, epoch {epoch}", fontsize=9)
            ax.set_xlabel("log10 |dL/dW|  (half-decade bins; left column '=0': exactly 0; outer bins: <1e-12, ≥1e2)",
                          fontsize=8)
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
    """The settings that give different runs for config: for a net without BatchNorm, one per
    BatchNorm-free form."""
    if config in HAS_BATCHNORM:
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
    cmap = plt.get_cmap("tab10" if len(settings) <= 10 else "tab20")
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
    """Final validation accuracy at depths 25-40 for every setting, seeds as dots (the seed's configs)."""
    configs = [c for c in CONFIGS if c in SEED_FIGURE and any(r["meta"]["config"] == c for r in runs)]
    fig, axes = plt.subplots(1, len(configs), figsize=(5 * len(configs), 3.9), squeeze=False, sharey=True)
    cmap = plt.get_cmap("tab10")
    for ax, c in zip(axes[0], configs):
        for k, setting in enumerate(settings):
            if setting not in distinct_for(c, settings):
                continue
            g = by_cell(runs, setting).get(c, {})
            depths = [d for d in sorted(g) if d >= 25 and d in SEED_FIGURE[c]]
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
        lines += [f"### {setting}", "", setting_text(setting) + ".", "",
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
                seed_value = SEED_FIGURE.get(c, {}).get(d) if compare_seed and setting == "tf2" else None
                cells.append(accuracy_cell(spread([last(r, "val_accuracy") for r in rs]), seed_value))
            lines.append(f"| {c} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def run_is_seed_like(run):
    """Trains but fails in inference, as the seed's BN and skip nets at depth 30-40 do: train-mode
    accuracy at least 0.6 and validation accuracy at most 0.6 at the last epoch."""
    return last(run, "accuracy") >= SEED_LIKE_TRAIN and last(run, "val_accuracy") <= SEED_LIKE_VAL


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
    seed_depths = {d for c in SEED_FIGURE for d in SEED_FIGURE[c]}
    deep = sorted({r["meta"]["depth"] for r in runs if r["meta"]["depth"] >= 25 and r["meta"]["depth"] in seed_depths
                   and r["meta"]["config"] in SEED_FIGURE and any(applies(r, st) for st in settings)})
    for c in [c for c in CONFIGS if c in SEED_FIGURE]:  # the networks the seed ran
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
    out = verdict_items(runs, settings)
    out += same_endings(runs, settings)
    out += ["", "What stays unexplained is whatever no row above reproduces: the seed ran each point once, "
            "with a Keras version whose exact numerics we can only bracket by these switches."]
    return out


def verdict_items(runs, settings):
    """The three numbered findings of verdict(): which settings reproduce each part of the seed's pattern."""
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
            n_collapsed = sum(1 for r in rs if not last(r, "val_accuracy") >= COLLAPSE)
            parts.append(f"{setting} {like}/{len(rs)} seed-like ({n_collapsed} collapsed, median val jump "
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
    bn_runs = [r for r in runs if r["meta"]["config"] in HAS_BATCHNORM]
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


def propagation_of(run):
    """{"activation": forward norm factor per hidden Dense layer (input to output), "input_gradient":
    backward error growth per layer towards the input} at initialisation, fitted as log10 of the l2
    norm on the probe batch against the position. A factor that cannot be fitted is left out."""
    rows = [x for x in read_gradients(run) if x["source"] == "probe" and int(x["epoch"]) == 0]
    rates = {}
    for kind in ("activation", "input_gradient"):
        if run["meta"]["config"] == "rezero":
            # The Dense layers inside a block get no error while alpha = 0 and their outputs never
            # reach the stream: measure the residual stream, each block's output (forward) and the
            # error at its input (backward), positioned by how many Dense layers come before it.
            dense_at = [int(x["layer_index"]) for x in rows
                        if x["kind"] == "activation" and x["tensor"].startswith("dense")]
            pts = sorted((int(x["layer_index"]), float(x["l2"])) for x in rows
                         if x["kind"] == kind and x["tensor"].startswith("rezero"))
            pts = [(sum(1 for i in dense_at if i < at), v) for at, v in pts if v > 0]
        else:
            pts = sorted((int(x["layer_index"]), float(x["l2"])) for x in rows
                         if x["kind"] == kind and x["tensor"].startswith("dense"))
            pts = [(k, p[1]) for k, p in enumerate(p for p in pts[1:-1] if p[1] > 0)]  # hidden 128x128 layers only
        if len(pts) >= 2 and len({p[0] for p in pts}) >= 2:
            slope = np.polyfit([p[0] for p in pts], np.log10([p[1] for p in pts]), 1)[0]
            # activation: growth from input to output; error: growth towards the input
            rates[kind] = 10 ** slope if kind == "activation" else 10 ** -slope
    return rates


def propagation_rates(runs, setting):
    """Per run of the first seed at initialisation: propagation_of(run)."""
    return [(r, propagation_of(r)) for r in sorted(first_seed_runs(runs, setting),
                                                    key=lambda r: (CONFIGS.index(r["meta"]["config"]),
                                                                   r["meta"]["depth"]))]


def theory_of(run):
    m = run["meta"]
    return theory(m["config"], m.get("init", "glorot_uniform"), float(m.get("gain", 1.0)))


def propagation_theory_text():
    """The derivations and citations of theory(), one bullet each."""
    mean, second, slope2 = selu_moments()
    return [
        "- Glorot-uniform 128x128 weights have variance 2/(128+128) = 1/128; with ReLU, which halves the "
        "second moment, each layer multiplies the variance by 128 · 1/128 · 1/2 = 1/2, forward and backward "
        f"alike: a norm factor of sqrt(1/2) = {HALF:.3f} per layer.",
        "- He initialisation (variance 2/fan_in) makes that 128 · 2/128 · 1/2 = 1: factor 1.000 both ways.",
        "- With BatchNorm, each layer's input is renormalised, so the forward factor is 1 whatever the "
        "initialisation, but the backward error grows towards the input by about "
        f"sqrt(pi/(pi-1)) = {BN_RELU_GROWTH:.3f} per BN+ReLU layer (Yang et al., \"A Mean Field Theory of "
        "Batch Normalization\", ICLR 2019).",
        "- No closed form is used here for the skip net.",
        "- Orthogonal kernels with gain g keep every vector's norm times g, and ReLU halves the second moment "
        "(as for He et al., \"Delving Deep into Rectifiers\", ICCV 2015): the variance factor is g²/2 per layer "
        f"both ways, a norm factor of g/√2: {HALF:.3f} at g = 1, {HALF * math.sqrt(2):.3f} at g = √2 (orthogonal "
        "initialisation: Saxe et al., \"Exact solutions to the nonlinear dynamics of learning in deep linear "
        "networks\", ICLR 2014). A gain g multiplies any plain ReLU net's factors by g (ReLU is positively "
        "homogeneous).",
        "- SELU with LeCun-normal kernels (variance 1/fan_in; Klambauer et al., \"Self-Normalizing Neural "
        "Networks\", NeurIPS 2017): mean 0 and variance 1 is a fixed point (at z ~ N(0, 1), E[selu(z)] = "
        f"{mean:.4f} and E[selu(z)²] = {second:.4f}, by quadrature here), so the forward factor is 1. "
        "Backward, each layer multiplies the error's variance by 128 · 1/128 · E[selu'(z)²] = "
        f"{slope2:.4f}, a norm factor of √{slope2:.4f} = {math.sqrt(slope2):.3f}: derived here by quadrature "
        f"from λ = {SELU_LAMBDA} and α = {SELU_ALPHA} (no published figure known to us). MNIST's pixels in "
        "[0, 1] enter below the fixed point's variance, so a short net's first layers still grow towards it "
        "and read above 1 both ways.",
        "- ReZero at α = 0 (Bachlechner et al., \"ReZero is All You Need: Fast Convergence at Large Depth\", "
        "2020): every block x + α·F(x) is exactly the identity, so the forward and backward factors are "
        "exactly 1. Measured on the residual stream (each block's output, the error at each block's input), "
        "per Dense layer: the Dense layers inside a block get no error while α = 0.",
        "- LayerNorm + ReLU: each layer renormalises its input per sample (as BatchNorm does per feature over "
        "the batch), so the forward factor is 1 whatever the kernels. Backward: no closed form known to us; "
        "mean-field gives 1 + O(1/n) for width n (shown as —).",
    ]


def propagation_section(runs, settings, fig=None):
    lines = ["## Signal propagation at initialisation (before any training)", "",
             "Per hidden 128x128 Dense layer, on the probe batch (BN in train mode), fitted as log‖·‖ against "
             "the layer's position over the hidden layers. **Forward**: how much the Dense output's norm grows "
             "per layer from input to output. **Backward**: how much the error (dL/d input of each Dense) grows "
             "per layer travelling towards the input. 1 is perfect propagation; below 1 vanishes.", "",
             "Theory (infinite width):"] + propagation_theory_text() + [
             "",
             "| setting | config | depth | forward (measured) | theory | rel. error | backward growth towards input "
             "(measured) | theory | rel. error |", "|---|---|---|---|---|---|---|---|---|"]
    for setting in settings:
        for r, rates in propagation_rates(runs, setting):
            m = r["meta"]
            cells = []
            for kind, predicted in zip(("activation", "input_gradient"), theory_of(r)):
                v = rates.get(kind, float("nan"))
                if predicted is not None:
                    cells += [f"{v:.3f}", f"{predicted:.3f}", f"{v / predicted - 1:+.1%}"]
                else:
                    cells += [f"{v:.3f}", "—", "—"]
            lines.append(f"| {setting} | {m['config']} | {m['depth']} | " + " | ".join(cells) + " |")
    lines.append("")
    if fig:
        lines += [f"![{fig}]({fig})", ""]
    return lines


def figure_propagation_theory(runs, out):
    """Measured against predicted factors per remedy that changes the initial network: two panels
    (forward, backward), every first-seed run as a dot coloured by depth, theory as a black bar."""
    shown = []
    for name, config, setting in REMEDIES:
        if not is_init_setting(setting):
            continue  # clipping and AdamW change the steps: at initialisation they are the Glorot net
        rs = [r for r in first_seed_runs(runs, setting) if r["meta"]["config"] == config]
        if rs:
            shown.append((name, sorted(rs, key=lambda r: r["meta"]["depth"])))
    if not shown:
        return None
    depths = sorted({r["meta"]["depth"] for _, rs in shown for r in rs})
    norm = plt.Normalize(min(depths), max(depths) if max(depths) > min(depths) else min(depths) + 1)
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(1, 2, figsize=(max(8, 1.25 * len(shown)) * 1.6, 4.2), sharey=True)
    panels = [(axes[0], "activation", "forward: norm factor per layer, input → output", 0),
              (axes[1], "input_gradient", "backward: error growth per layer towards the input", 1)]
    for ax, kind, title, which in panels:
        labelled = False
        for i, (name, rs) in enumerate(shown):
            predicted = theory_of(rs[0])[which]
            if predicted is not None:
                ax.plot([i - 0.38, i + 0.38], [predicted] * 2, color="black", lw=2.2, zorder=2,
                        label=None if labelled else "theory")
                labelled = True
            else:
                ax.text(i, 0.02, "no closed\nform", ha="center", va="bottom", fontsize=7, color="grey",
                        transform=ax.get_xaxis_transform())
            xs = i + np.linspace(-0.25, 0.25, len(rs)) if len(rs) > 1 else [i]
            vals = [propagation_of(r).get(kind, float("nan")) for r in rs]
            ax.scatter(xs, vals, c=[r["meta"]["depth"] for r in rs], cmap=cmap, norm=norm, s=22, zorder=3,
                       edgecolors="black", linewidths=0.3)
        ax.axhline(1.0, color="grey", lw=0.8, ls="--")
        ax.set_xticks(range(len(shown)))
        ax.set_xticklabels([n for n, _ in shown], rotation=30, ha="right", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3, axis="y")
        if labelled:
            ax.legend(fontsize=8, loc="upper left")
    axes[0].set_ylabel("factor per hidden Dense layer (1: perfect)")
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=list(axes), fraction=0.03, pad=0.01,
                 label="depth (dots: first seed, one per depth)")
    fig.suptitle("Signal propagation at initialisation: measured (dots) against infinite-width theory (bars)",
                 fontsize=10)
    return save(fig, out, "propagation_theory")


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


# ---- how likely is a collapse ---------------------------------------------------------------

def collapse_cells(runs, settings):
    """[(setting, config, depth, epochs, runs)] for every cell, in the report's order; the runs of a
    net without BatchNorm under their first name only (distinct_for)."""
    cells = []
    for setting in settings:
        g = by_cell(runs, setting)
        for c in CONFIGS:
            if c not in g or setting not in distinct_for(c, settings):
                continue
            for d in sorted(g[c]):
                for e in sorted({r["meta"]["epochs"] for r in g[c][d]}):
                    cells.append((setting, c, d, e, [r for r in g[c][d] if r["meta"]["epochs"] == e]))
    return cells


def interval_text(k, n):
    low, high = wilson(k, n)
    return f"{low:.4f}–{high:.4f}"


def seed_draws(runs):
    """[(config, depth, seed's value, our final accuracies)] for every point of the seed's figure,
    against our tf2 runs of the seed's length (a diverged run's accuracy is NaN)."""
    g = by_cell([r for r in runs if r["meta"]["epochs"] == SEED_EPOCHS], "tf2")
    return [(c, d, SEED_FIGURE[c][d], [final_val(r) for r in g.get(c, {}).get(d, [])])
            for c in SEED_FIGURE for d in sorted(SEED_FIGURE[c])]


def draw_shares(values, seed_value):
    """How many of our final accuracies ended at or below the seed's value and how many at or above
    it, each with SEED_READ_ERROR's allowance; a diverged run (NaN) ended below any value."""
    below = sum(1 for v in values if math.isnan(v) or v <= seed_value + SEED_READ_ERROR)
    above = sum(1 for v in values if not math.isnan(v) and v >= seed_value - SEED_READ_ERROR)
    return below, above


def draw_verdict(below, above, n):
    """(plausible?, text): a single run is a plausible draw from ours when at least PLAUSIBLE_SHARE of
    our runs ended at or below it and at least as many at or above it."""
    if below >= PLAUSIBLE_SHARE * n and above >= PLAUSIBLE_SHARE * n:
        return True, "plausible single draw"
    return False, f"not a plausible draw from our runs (p = {min(below, above)}/{n})"


def collapse_section(runs, settings, fig):
    lines = ["## How likely is a collapse?", "",
             f"A run collapses when its final val_accuracy is below {COLLAPSE} or it diverged. With k of n runs "
             "collapsed, the estimate is k/n and its 95% interval is Wilson's score interval "
             f"(z = {WILSON_Z:.2f}), which stays inside [0, 1] and does not shrink to a point at k = 0 or k = n as "
             "the textbook ± interval does.",
             ""]
    cells = collapse_cells(runs, settings)
    edge = [x for x in cells if len(x[4]) >= EDGE_CELL_RUNS]
    if edge:
        lines += [f"Cells with {EDGE_CELL_RUNS} runs or more (the depths where a network starts to fail get "
                  "15 seeds or more):", "",
                  "| setting | config | depth | epochs | collapsed k/n | estimate | Wilson 95% |",
                  "|---|---|---|---|---|---|---|"]
        for setting, c, d, e, rs in edge:
            k = sum(collapsed(r) for r in rs)
            lines.append(f"| {setting} | {c} | {d} | {e} | {k}/{len(rs)} | {k / len(rs):.3f} | "
                         f"{interval_text(k, len(rs))} |")
    elif cells:
        largest = max(cells, key=lambda x: len(x[4]))
        lines.append(f"No cell has {EDGE_CELL_RUNS} runs or more yet (the largest: {largest[0]} {largest[1]} "
                     f"d{largest[2]}, n = {len(largest[4])}); the figure shows every cell.")
    lines.append("")
    if fig:
        lines += [f"![{fig}]({fig})", ""]

    # the seed's single runs against the spread of ours
    lines += ["### Is each of the seed's runs a plausible draw from ours?", "",
              f"The seed ran each point once. For each point of its figure, against our tf2 runs at "
              f"{SEED_EPOCHS} epochs in the same cell: the share of our runs that ended at or below the seed's "
              f"value (at most seed + {SEED_READ_ERROR}, for reading its figure by eye) and the share that ended "
              f"at or above it (at least seed − {SEED_READ_ERROR}); a diverged run counts as ending below. "
              f"Each share is an empirical one-sided p-value. Verdict: a plausible single draw when both shares "
              f"are at least {PLAUSIBLE_SHARE}, otherwise not a plausible draw from our runs, with the smaller "
              "share as p.", ""]
    draws = [x for x in seed_draws(runs) if x[3]]
    missing = defaultdict(list)  # {config: depths of the seed's points without our runs}
    for c, d, _, values in seed_draws(runs):
        if not values:
            missing[c].append(f"d{d}")
    if not draws:
        return lines + [f"No tf2 runs at {SEED_EPOCHS} epochs at the seed's depths: nothing to compare.", ""]
    lines += [f"| config | depth | seed | n | ended ≤ seed + {SEED_READ_ERROR} "
              f"| ended ≥ seed − {SEED_READ_ERROR} | smaller share: Wilson 95% | verdict |",
              "|---|---|---|---|---|---|---|---|"]
    plausible, implausible = defaultdict(list), defaultdict(list)
    for c, d, seed_value, values in draws:
        n = len(values)
        below, above = draw_shares(values, seed_value)
        ok, text = draw_verdict(below, above, n)
        (plausible if ok else implausible)[c].append(f"d{d}" if ok else f"d{d} (p = {min(below, above)}/{n})")
        lines.append(f"| {c} | {d} | {seed_value:.3f} | {n} | {below}/{n} = {below / n:.3f} | "
                     f"{above}/{n} = {above / n:.3f} | {interval_text(min(below, above), n)} | {text} |")
    n_max = max(len(x[3]) for x in draws)
    lines += ["", f"With n runs, an outcome of probability {PLAUSIBLE_SHARE} is missing from all of them with "
              f"probability {1 - PLAUSIBLE_SHARE}^n ({(1 - PLAUSIBLE_SHARE) ** n_max:.2f} at n = {n_max}): a share "
              "of 0/n says the seed's value is rare among our runs, not impossible; the Wilson interval of the "
              "smaller share says how common it could still be.", ""]
    summary = "Plausible single draws from our runs: " + (
        "; ".join(f"{c} {', '.join(v)}" for c, v in plausible.items()) if plausible else "none") + ". "
    summary += "Not plausible: " + (
        "; ".join(f"{c} {', '.join(v)}" for c, v in implausible.items()) if implausible else "none") + "."
    if missing:
        summary += (f" Not compared (no tf2 runs at {SEED_EPOCHS} epochs): "
                    + "; ".join(f"{c} {', '.join(ds)}" for c, ds in missing.items()) + ".")
    return lines + [summary, ""]


# The collapse figure's panels, grouped as the remedies are: (title, [(label, config, setting)]), the
# remedies' (config, setting) taken from REMEDIES by name.
_REMEDY = {name: (name, config, setting) for name, config, setting in REMEDIES}
COLLAPSE_PANELS = [
    ("the seed's networks", [(LABELS[c], c, "tf2") for c in ("bn", "plain", "skip")]),
    ("other architectures", [_REMEDY[n] for n in ("none (Glorot)", "SELU + LeCun", "LayerNorm", "ReZero")]),
    ("initialisers on Dense+ReLU",
     [_REMEDY[n] for n in ("none (Glorot)", "He-uniform", "orthogonal", "orthogonal, gain √2")]),
    ("the steps of Dense+BN+ReLU", [_REMEDY[n] for n in ("BatchNorm", "BN + clipping (norm 1)", "BN + AdamW")]),
]


def figure_collapse(runs, settings, out):
    """P(collapse) against depth, at the run length most runs have: k/n per cell as a line (a filled
    dot where the cell has EDGE_CELL_RUNS runs or more, hollow where fewer), and the Wilson 95%
    interval of the cells with EDGE_CELL_RUNS runs or more as a band. Panels as COLLAPSE_PANELS (the
    first where any of its curves has runs, the others where two do), then one per other setting
    that has a cell of EDGE_CELL_RUNS runs or more."""
    epochs = most_common_epochs(runs)
    cells = [x for x in collapse_cells(runs, settings) if x[3] == epochs]
    if not cells:
        return None
    points = defaultdict(list)  # {(config, setting): [(depth, k, n)]}
    for setting, c, d, _, rs in cells:
        points[(c, setting)].append((d, sum(collapsed(r) for r in rs), len(rs)))
    panels = []
    for title, curves in COLLAPSE_PANELS:
        have = [x for x in curves if (x[1], x[2]) in points]
        if len(have) > 1 or (have and title == COLLAPSE_PANELS[0][0]):
            panels.append((title, have))
    shown = {(c, st) for _, curves in panels for _, c, st in curves}
    for setting in settings:  # settings no panel shows, where they have a cell at the edge
        mine = [(LABELS[c], c, setting) for c in CONFIGS
                if (c, setting) in points and (c, setting) not in shown]
        if any(n >= EDGE_CELL_RUNS for _, c, st in mine for _, _, n in points[(c, st)]):
            panels.append((setting, mine))
    if not panels:
        return None
    cols = min(2, len(panels))
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(6.6 * cols, 3.9 * rows + 0.6), squeeze=False, sharey=True)
    for ax, (title, curves) in zip(axes.flat, panels):
        for j, (label, c, setting) in enumerate(curves):
            pts = sorted(points[(c, setting)])
            color = REMEDY_COLORS.get(label, COLORS[c])  # a config's own colour where the label is LABELS'
            off = (j - (len(curves) - 1) / 2) * 0.4  # curves side by side at each depth
            xs = [d + off for d, _, _ in pts]
            bounds = [wilson(k, n) for _, k, n in pts]
            edge = [n >= EDGE_CELL_RUNS for _, _, n in pts]
            # the interval where a cell has the seeds for it: a band over neighbouring such cells, a bar
            # on a lone one (with 3 seeds it would span about 0-0.56 and hide the rest)
            for is_edge, run in itertools.groupby(range(len(pts)), key=lambda i: edge[i]):
                run = list(run)
                if not is_edge:
                    continue
                lows, highs = [bounds[i][0] for i in run], [bounds[i][1] for i in run]
                if len(run) > 1:
                    ax.fill_between([xs[i] for i in run], lows, highs, color=color, alpha=0.15, lw=0)
                else:
                    ax.plot([xs[run[0]]] * 2, lows + highs, color=color, alpha=0.5, lw=3, solid_capstyle="butt")
            ax.plot(xs, [k / n for _, k, n in pts], "-", lw=1.2, color=color, label=label)
            for filled in (True, False):
                sel = [i for i, e in enumerate(edge) if e == filled]
                ax.scatter([xs[i] for i in sel], [pts[i][1] / pts[i][2] for i in sel], s=22 if filled else 16,
                           color=color, facecolors=color if filled else "white", zorder=3, lw=1)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("depth (layers)")
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel(f"P(collapse): val_accuracy < {COLLAPSE}")
    fig.suptitle(f"How likely is a collapse ({epochs_text(epochs)})? Line: k/n runs collapsed, filled dot where "
                 f"n ≥ {EDGE_CELL_RUNS} seeds, hollow where fewer;\nband (bar on a lone cell): Wilson 95% interval, "
                 f"drawn only where n ≥ {EDGE_CELL_RUNS}", fontsize=10)
    fig.tight_layout()
    return save(fig, out, "collapse_probability")


# ---- step size ------------------------------------------------------------------------------

def seed_failure_depth(config):
    """The first depth at which the seed's run fails (val_accuracy at most SEED_LIKE_VAL), or None."""
    return next((d for d in sorted(SEED_FIGURE[config]) if SEED_FIGURE[config][d] <= SEED_LIKE_VAL), None)


def first_failure_depth(cell):
    """The first depth at which most of our runs fail (final val_accuracy at most SEED_LIKE_VAL, or
    diverged), or None; cell: {depth: [runs]}."""
    fails = lambda r: not final_val(r) > SEED_LIKE_VAL  # noqa: E731
    return next((d for d in sorted(cell) if sum(fails(r) for r in cell[d]) * 2 > len(cell[d])), None)


def step_size_section(runs):
    depths = sorted({d for c in STEP_CONFIGS for d in SEED_FIGURE[c]})
    lines = ["## Does a larger step reproduce the seed?", "",
             "RMSprop at Keras' default learning rate 0.001 (`tf2`) against 0.0003 (`lr0.0003`) and 0.003 "
             f"(`lr0.003`), everything else as tf2: configs {', '.join(STEP_CONFIGS)} at depths {depths[0]}-"
             f"{depths[-1]}. Cells as in the accuracy tables (mean ± std, min–max · collapsed k/n), with the "
             f"seed's value (one run, {SEED_EPOCHS} epochs) and whether it lies inside our min–max (± "
             f"{SEED_READ_ERROR}) when our runs are {SEED_EPOCHS} epochs long too.", ""]
    sel = [r for r in runs if r["meta"]["config"] in STEP_CONFIGS and depths[0] <= r["meta"]["depth"] <= depths[-1]]
    per_lr = {st: [r for r in sel if applies(r, st)] for st, _ in STEP_SETTINGS}
    epochs = most_common_epochs([r for rs in per_lr.values() for r in rs])
    compare = epochs == SEED_EPOCHS
    missing, absent = defaultdict(list), []  # missing: {(setting, config): [depths without runs]}
    inside = {}
    for st, lr in STEP_SETTINGS:
        rs = [r for r in per_lr[st] if r["meta"]["epochs"] == epochs]
        if not rs:
            absent.append(st)
            continue
        g = by_cell(rs, st)
        lines += [f"### lr {lr}: `{st}`" + (" (Keras' default)" if st == "tf2" else ""), "",
                  "| config | " + " | ".join(f"d{d}" for d in depths) + " |", "|---|" + "---|" * len(depths)]
        n_in = n_cells = 0
        for c in STEP_CONFIGS:
            cells = []
            for d in depths:
                cell = g.get(c, {}).get(d, [])
                if not cell:
                    cells.append("")
                    missing[(st, c)].append(f"d{d}")
                    continue
                seed_value = SEED_FIGURE[c].get(d) if compare else None
                s = spread([final_val(r) for r in cell])
                cells.append(accuracy_cell(s, seed_value))
                if seed_value is not None:
                    n_cells += 1
                    n_in += seed_inside(s, seed_value)
            lines.append(f"| {c} | " + " | ".join(cells) + " |")
        inside[st] = (n_in, n_cells)
        lines.append("")
    if absent:
        lines += ["Missing runs: " + "; ".join(
            f"`{st}` (none of {', '.join(STEP_CONFIGS)} at depths {depths[0]}-{depths[-1]})"
            for st in absent) + ". No verdict until every step size has runs.", ""]
        return lines
    if missing:
        lines += ["Cells without runs: " + "; ".join(f"`{st}` {c} {', '.join(ds)}" for (st, c), ds in missing.items())
                  + ".", ""]
    if not compare:
        lines += [f"These runs are {epochs} epochs long, the seed's {SEED_EPOCHS}: no verdict against the seed.", ""]
        return lines
    seed_fail = {c: seed_failure_depth(c) for c in STEP_CONFIGS}
    lines += ["### Verdict", "",
              f"The seed's runs fail (val_accuracy ≤ {SEED_LIKE_VAL}) first at depth " + ", ".join(
                  f"{c} {seed_fail[c]}" for c in STEP_CONFIGS) + f". A step size puts a network's failure at the "
              f"seed's depth when the first depth at which most of our seeds fail (final val_accuracy ≤ "
              f"{SEED_LIKE_VAL} or diverged) is that same depth.", ""]
    matches = {}
    for st, lr in STEP_SETTINGS:
        g = by_cell([r for r in per_lr[st] if r["meta"]["epochs"] == epochs], st)
        ours = {c: first_failure_depth(g.get(c, {})) for c in STEP_CONFIGS}
        matches[st] = [c for c in STEP_CONFIGS if g.get(c) and ours[c] == seed_fail[c]]
        n_in, n_cells = inside[st]
        lines.append(f"- lr {lr} (`{st}`): first depth where most seeds fail: " + ", ".join(
            f"{c} {ours[c] if ours[c] is not None else 'none'}" for c in STEP_CONFIGS)
            + f"; the seed's value inside our min–max in {n_in}/{n_cells} cells.")
    full = [st for st, _ in STEP_SETTINGS if len(matches[st]) == len(STEP_CONFIGS)]
    if full:
        text = ("Puts the failures at the seed's depths for all three networks: "
                + ", ".join(f"`{s}`" for s in full) + ".")
    else:
        partial = [f"`{st}` ({', '.join(matches[st])})" for st, _ in STEP_SETTINGS if matches[st]]
        text = ("No step size tested puts the failures at the seed's depths for all three networks"
                + ("; for some: " + ", ".join(partial) if partial else "; not for any one network either") + ".")
    lines += ["", text, "", "The seed's other signs, with the numerics verdict's criteria (a run is seed-like when "
              f"its train-mode accuracy is at least {SEED_LIKE_TRAIN} and its val_accuracy at most {SEED_LIKE_VAL}):",
              ""]
    lines += verdict_items([r for rs in per_lr.values() for r in rs if r["meta"]["epochs"] == epochs],
                           [st for st, _ in STEP_SETTINGS])
    return lines + [""]


# ---- remedies -------------------------------------------------------------------------------

REMEDY_COLORS = {"none (Glorot)": "black", "He-uniform": "tab:orange", "orthogonal": "tab:olive",
                 "orthogonal, gain √2": "tab:cyan", "SELU + LeCun": "tab:red", "LayerNorm": "tab:purple",
                 "ReZero": "tab:brown", "BatchNorm": "tab:blue", "BN + skip": "tab:green",
                 "BN + clipping (norm 1)": "tab:pink", "BN + AdamW": "tab:gray"}


def remedy_cells(runs):
    """(epochs, [(name, config, setting, {depth: [runs by seed]})], runs left out): the remedies with
    runs at depths REMEDY_DEPTHS, all at the epoch count most of their runs have."""
    lo, hi = REMEDY_DEPTHS
    found = []
    for name, config, setting in REMEDIES:
        rs = [r for r in runs
              if r["meta"]["config"] == config and applies(r, setting) and lo <= r["meta"]["depth"] <= hi]
        if rs:
            found.append((name, config, setting, rs))
    epochs = most_common_epochs([r for *_, rs in found for r in rs])
    out, left_out = [], 0
    for name, config, setting, rs in found:
        keep = [r for r in rs if r["meta"]["epochs"] == epochs]
        left_out += len(rs) - len(keep)
        if keep:
            out.append((name, config, setting, by_cell(keep, setting)[config]))
    return epochs, out, left_out


def deepest_first_seed(cell):
    d = max(cell)
    return min(cell[d], key=lambda r: r["meta"]["seed"])


def figure_remedies_accuracy(remedies, epochs, out):
    """Final val_accuracy against depth in three panels: the initialisers of a plain ReLU stack, the
    architectures (with the Glorot net for reference), and the steps of the BatchNorm net (clipping,
    AdamW, beside BatchNorm alone)."""
    groups = [("initialisers on Dense+ReLU", [x for x in remedies if x[1] == "plain"]),
              ("architectures", [x for x in remedies
                                 if (x[1] != "plain" and x[2] == "tf2") or x[0] == "none (Glorot)"]),
              ("the steps of Dense+BN+ReLU", [x for x in remedies if x[1] == "bn"])]
    groups = [g for g in groups if len(g[1]) > 1]
    if not groups:
        return None
    fig, axes = plt.subplots(1, len(groups), figsize=(5.2 * len(groups), 4.4), squeeze=False, sharey=True)
    rng = np.random.default_rng(2)  # horizontal jitter of the dots only
    for ax, (title, items) in zip(axes[0], groups):
        for name, config, setting, cell in items:
            depths = sorted(cell)
            cells = [spread([final_val(r) for r in cell[d]]) for d in depths]
            color = REMEDY_COLORS.get(name, COLORS[config])
            ax.plot(depths, [s["mean"] for s in cells], "-o", ms=3, color=color, label=name)
            ax.fill_between(depths, [s["min"] for s in cells], [s["max"] for s in cells], color=color, alpha=0.12)
            for d in depths:
                vals = [final_val(r) for r in cell[d]]
                ax.scatter(d + rng.uniform(-0.5, 0.5, len(vals)), vals, s=8, color=color, alpha=0.7)
        ax.axhline(COLLAPSE, color="grey", lw=0.8, ls="--")
        ax.axhline(TRAINS, color="grey", lw=0.8, ls=":")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("depth (layers)")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    axes[0][0].set_ylabel("final validation accuracy")
    fig.suptitle(f"What fixes a deep net ({epochs} epochs): line = mean, band = min–max over seeds, dots = seeds; "
                 f"dotted: {TRAINS}, dashed: collapse ({COLLAPSE})", fontsize=10)
    return save(fig, out, "remedies_accuracy")


def figure_remedies_gradients(remedies, out):
    """Kernel gradient norm per layer at initialisation and after epoch 1, deepest run (first seed)
    of each remedy, log scale shared by every panel; exactly zero norms as triangles on the floor."""
    items = []
    for name, config, setting, cell in remedies:
        r = deepest_first_seed(cell)
        rows = read_gradients(r)
        curves = [(epoch, kernel_norms(rows, epoch)) for epoch in (0, 1)]
        if any(pts for _, pts in curves):
            items.append((name, config, r, curves))
    if not items:
        return None
    positive = [v for *_, curves in items for _, pts in curves for _, v in pts if v > 0]
    floor, ceiling = (min(positive) / 4, max(positive) * 4) if positive else (1e-12, 1.0)
    cols = min(4, len(items))
    rows_n = math.ceil(len(items) / cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(3.9 * cols, 2.9 * rows_n), squeeze=False, sharey=True,
                             layout="constrained")
    for ax in axes.flat[len(items):]:
        ax.set_axis_off()
    for ax, (name, config, r, curves) in zip(axes.flat, items):
        color = REMEDY_COLORS.get(name, COLORS[config])
        for epoch, pts in curves:
            style, label, alpha = ("-", "initialisation", 1.0) if epoch == 0 else ("--", "after epoch 1", 0.7)
            # NaN for an exact zero breaks the line there instead of bridging the gap
            ys = [v if v > 0 else float("nan") for _, v in pts]
            ax.plot([k for k, _ in pts], ys, style, color=color, lw=1.3, alpha=alpha, label=label)
            # a norm between two zeros has no line to sit on: a dot
            alone = [(k, y) for i, ((k, _), y) in enumerate(zip(pts, ys)) if not math.isnan(y)
                     and (i == 0 or math.isnan(ys[i - 1])) and (i == len(ys) - 1 or math.isnan(ys[i + 1]))]
            if alone:
                ax.scatter([k for k, _ in alone], [y for _, y in alone], s=12, color=color, alpha=alpha, zorder=3)
            zeros = [k for k, v in pts if v <= 0]
            if zeros:
                ax.scatter(zeros, [floor * 1.3] * len(zeros), marker="v", s=12, color=color,
                           alpha=0.9 if epoch == 0 else 0.4, label=f"exactly 0 ({label})")
        ax.set_yscale("log")
        ax.set_ylim(floor, ceiling)
        ax.set_title(f"{name}: {r['name']}", fontsize=9)
        ax.grid(alpha=0.3, which="major")
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, loc="best")
    for ax in axes[:, 0]:
        ax.set_ylabel("‖dL/dW‖₂ (probe batch)", fontsize=8)
    for ax in axes[-1, :]:
        ax.set_xlabel("dense layer index (input → output)", fontsize=8)
    fig.suptitle("Kernel gradient norm per layer at initialisation (solid) and after epoch 1 (dashed), deepest "
                 "run of each remedy (first seed)", fontsize=10)
    return save(fig, out, "remedies_gradients")


def epochs_text(n):
    return f"{n} epoch" + ("" if n == 1 else "s")


def log_power(factor, layers):
    """log10 of factor^layers, or None without a factor."""
    return None if factor is None or not factor > 0 else layers * math.log10(factor)


def remedy_section(runs, figs):
    epochs, remedies, left_out = remedy_cells(runs)
    lo, hi = REMEDY_DEPTHS
    lines = ["## What fixes it", "",
             "The remedies for a deep ReLU stack, each a (config, setting) pair: "
             + "; ".join(f"{name} = {config}/`{setting}`" for name, config, setting in REMEDIES) + ". "
             f"Depths {lo}-{hi}; each cell as in the accuracy tables (mean ± std, min–max · collapsed k/n; a "
             "diverged run counts as collapsed)."]
    if not remedies:
        return lines + ["", "No remedy has runs yet: missing " + ", ".join(n for n, _, _ in REMEDIES) + ".", ""]
    lines[-1] += (f" Runs of {epochs_text(epochs)}"
                  + (f" ({left_out} runs of other lengths left out)." if left_out else "."))
    absent = [n for n, _, _ in REMEDIES if n not in {x[0] for x in remedies}]
    if absent:
        lines[-1] += " No runs yet: " + ", ".join(absent) + "."
    depths = sorted({d for *_, cell in remedies for d in cell})
    lines += ["", "| remedy | " + " | ".join(f"d{d}" for d in depths) + " |", "|---|" + "---|" * len(depths)]
    for name, config, setting, cell in remedies:
        cells = [accuracy_cell(spread([final_val(r) for r in cell[d]])) if d in cell else "" for d in depths]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [""] + [f"![{f}]({f})" for f in figs if f] + [""]

    # does it train at depth THEORY_DEPTH, and did theory at initialisation say so?
    layers = THEORY_DEPTH - 2
    if not any(THEORY_DEPTH in cell for *_, cell in remedies):
        return lines + ["### Verdict", "", f"No remedy has runs at depth {THEORY_DEPTH} yet: no verdict.", ""]
    lines += ["### Verdict", "",
              f"A remedy trains at depth {THEORY_DEPTH} when every seed's final val_accuracy is above {TRAINS}. "
              f"Theory at initialisation predicts it trainable when both per-layer factors (the propagation "
              f"section's), raised to the {layers} hidden layers of a depth-{THEORY_DEPTH} net, stay within a "
              f"factor of 10 either way: |log10 f^{layers}| ≤ 1. Clipping and AdamW change the steps, not the "
              "initial network: theory sees the BatchNorm net it starts from. Measured: the same fit on the deepest first-seed "
              "run.", "",
              f"| remedy | seeds > {TRAINS} at d{THEORY_DEPTH} | theory: log10 f_fwd^{layers} | log10 f_bwd^{layers} "
              f"| measured: log10 f_fwd^{layers} | log10 f_bwd^{layers} | theory predicts | right? |",
              "|---|---|---|---|---|---|---|---|"]
    trains, fails, no_runs, right, wrong, no_prediction = [], [], [], [], [], []
    fmt = lambda v: "—" if v is None or math.isnan(v) else f"{v:+.2f}"  # noqa: E731
    for name, config, setting, cell in remedies:
        rs = cell.get(THEORY_DEPTH, [])
        if not rs:
            no_runs.append(name)
            continue
        above = sum(1 for r in rs if final_val(r) > TRAINS)
        ok = above == len(rs)
        (trains if ok else fails).append(f"{name} ({above}/{len(rs)} above {TRAINS})")
        predicted = [log_power(f, layers) for f in theory_of(rs[0])]
        rates = propagation_of(min(rs, key=lambda r: r["meta"]["seed"]))
        measured = [log_power(rates.get(k), layers) for k in ("activation", "input_gradient")]
        if any(p is None for p in predicted):
            prediction, verdict_text = "no prediction", "—"
            no_prediction.append(name)
        else:
            trainable = all(abs(p) <= 1 for p in predicted)
            prediction = "trainable" if trainable else "not trainable"
            verdict_text = "yes" if trainable == ok else "**no**"
            (right if trainable == ok else wrong).append(f"{name} (predicted {prediction})")
        lines.append(f"| {name} | {above}/{len(rs)} | {fmt(predicted[0])} | {fmt(predicted[1])} | "
                     f"{fmt(measured[0])} | {fmt(measured[1])} | {prediction} | {verdict_text} |")
    lines.append("")
    text = (f"Train at depth {THEORY_DEPTH}: {', '.join(trains) if trains else 'none'}. "
            f"Do not: {', '.join(fails) if fails else 'none'}.")
    if no_runs:
        text += f" No runs at depth {THEORY_DEPTH}: {', '.join(no_runs)}."
    if right or wrong:
        text += (f" Theory at initialisation was right for {len(right)} of {len(right) + len(wrong)}"
                 + (f"; wrong for {', '.join(wrong)}" if wrong else "") + ".")
    if no_prediction:
        text += f" No prediction (no closed form): {', '.join(no_prediction)}."
    return lines + [text, ""]


def number(v):
    """A setting's number as the run labels write it (%g): 1, 0.001, 1.41421."""
    return f"{float(v):g}"


def write_summary(runs, out):
    columns = ["config", "depth", "seed", "setting", "numerics", "rmsprop_epsilon", "bn_debias", "bn_momentum", "init",
               "gain", "optimizer", "learning_rate", "momentum", "clip_norm",
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
                        m.get("init", "glorot_uniform"), number(m["gain"]), m["optimizer"], number(m["learning_rate"]),
                        number(m["momentum"]), number(m["clip_norm"]), m["epochs"], fmt(last(r, "val_accuracy")),
                        fmt(last(r, "train_accuracy_inference")), fmt(last(r, "accuracy")), fmt(best_val(r)),
                        "true" if m.get("diverged") else "false"])
    os.replace(path + ".tmp", path)


def optimizer_text(runs):
    """The optimizers and learning rates of the runs: "RMSprop (lr 1e-3)" when that is all of them."""
    counts = defaultdict(int)
    for r in runs:
        m = r["meta"]
        names = {"rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW", "sgd": "SGD"}
        name = names.get(m["optimizer"], m["optimizer"])
        if m["momentum"]:
            name += f" momentum {number(m['momentum'])}"
        counts[(name, float(m["learning_rate"]))] += 1
    if list(counts) == [("RMSprop", 0.001)]:
        return "RMSprop (lr 1e-3)"
    return "optimizers: " + ", ".join(f"{name} lr {number(lr)} ({n} runs)" for (name, lr), n in sorted(counts.items()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--out", help="where figures, REPORT.md and summary.csv go (default: the first folder)")
    a = ap.parse_args(argv)
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
    # the numerics switches only: the remedies, steps and optimizers have sections of their own
    deep_settings = [s for s in settings if is_why_setting(s) and any(
        r["setting"] == s and r["meta"]["depth"] >= 25 and r["meta"]["config"] in SEED_FIGURE for r in runs)]
    why_fig = figure_why(runs, deep_settings, out) if deep_settings else None
    collapse_fig = figure_collapse(runs, settings, out)
    remedy_epochs, remedies, _ = remedy_cells(runs)
    remedy_figs = [figure_remedies_accuracy(remedies, remedy_epochs, out),
                   figure_remedies_gradients(remedies, out)] if remedies else []
    propagation_fig = figure_propagation_theory(runs, out)
    write_summary(runs, out)

    configs = ", ".join(c for c in CONFIGS if any(r["meta"]["config"] == c for r in runs))
    lines = ["# Gradient study report", "",
             f"{len(runs)} runs: configs {configs}; seeds {seeds}; epochs {epochs}; settings {settings}; "
             f"dataset {runs[0]['meta']['dataset']}. {optimizer_text(runs)}, batch {runs[0]['meta']['batch']}. "
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
    lines += collapse_section(runs, settings, collapse_fig)
    if why_fig:
        lines += why_section(runs, deep_settings) + [f"![{why_fig}]({why_fig})", ""]
    lines += step_size_section(runs)
    lines += gap_section(runs, settings, gap_figs)
    lines += remedy_section(runs, remedy_figs)
    lines += propagation_section(runs, [s for s in settings if is_init_setting(s)] or [main_setting], propagation_fig)
    lines += ["## Figures", ""] + [f"![{f}]({f})" for f in figs[1:]] + [""]
    phases = [r["meta"].get("seconds") for r in runs]
    if all(isinstance(x, dict) for x in phases):  # each run's time by phase, in its run.json
        hours = sum(sum(x.values()) for x in phases) / 3600
        timed = "each `run.json`'s `seconds`: training, evaluation, probes, statistics and files"
    else:  # run folders from before the phases were kept: the epochs' time only
        hours = sum(float(h["seconds"]) for r in runs for h in r["history"] if h.get("seconds")) / 3600
        timed = "`seconds` in each `history.csv`, the epochs' time only"
    lines += ["## Reproducing", "",
              f"These {len(runs)} runs took {hours:.1f} hours, summed over the runs ({timed}), each on one core.", "",
              "`bash scripts/full_study.sh` runs the study behind `docs/study/`: 15 seeds in the cells at the edge "
              "of collapse, every remedy at depths 10-50 over 3 seeds and 15 at its own edge, the step sizes, and "
              "the seed's grid under both numerics presets with one switch at a time. Finished runs are skipped on "
              "a rerun (`--plan` lists what is left and its cost), and it regenerates this folder with "
              "`scripts/study_report.py`.", ""]
    with open(os.path.join(out, "REPORT.md.tmp"), "w") as f:
        f.write("\n".join(lines))
    os.replace(os.path.join(out, "REPORT.md.tmp"), os.path.join(out, "REPORT.md"))
    n_figs = len(figs) + len(gap_figs) + sum(1 for f in [why_fig, collapse_fig, propagation_fig] + remedy_figs if f)
    print(f"study_report: {len(runs)} runs -> {os.path.join(out, 'REPORT.md')}, summary.csv and {n_figs} figures "
          "(PNG, SVG)")


if __name__ == "__main__":
    main()
