#!/usr/bin/python3
"""The report's statistics and its new sections, on synthetic run folders (no training):

    test_study_report.py SOURCE_DIR WORK_DIR

  1. wilson() against known 95% Wilson score intervals, and n = 0;
  2. selu_moments(): SELU's fixed point and E[selu'(z)^2] against its closed form;
  3. a synthetic study (run.json, history.csv, gradients.csv per run; the gradients follow the
     theory's per-layer factors exactly) run through study_report.main: REPORT.md's collapse table
     (k/n and Wilson bounds of a 12-seed edge cell with a diverged run in it), the seed's points as
     draws from ours (exact shares and verdicts), the step-size section and its verdict, the remedy
     section and its depth-50 verdict, the propagation rows of the new configs, summary.csv's new
     columns (with an old run.json's defaults), and the new figures;
  4. the step-size section without one learning rate's runs says which are missing and concludes nothing.

Exit status 0 on success; otherwise a message on stderr and 1.
"""
import csv
import io
import json
import math
import os
import shutil
import subprocess
import sys
import time
from contextlib import redirect_stdout

GRADIENT_COLUMNS = (["epoch", "step", "source", "tensor", "layer_index", "kind", "n", "l2", "rms", "mean", "std",
                     "max_abs", "zero_fraction", "positive", "negative", "zeros", "nonfinite"]
                    + [f"h{b:02d}" for b in range(30)])
HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds", "status",
                   "train_loss_inference", "train_accuracy_inference", "learning_rate"]


def fail(message):
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


# ---- synthetic runs -------------------------------------------------------------------------

def gradient_rows(config, depth, epochs, forward, backward):
    """Probe rows of gradients.csv at epochs 0, 1 and the last: every Dense layer's output norm grows
    by `forward` per layer and the error at its input by `backward` per layer towards the input. A
    rezero net gets its blocks' stream rows too, and no gradient inside its blocks at epoch 0."""
    rows = []

    def row(epoch, tensor, index, kind, l2):
        hist = [0] * 30
        hist[15] = 100
        rows.append([epoch, 0, "probe", tensor, index, kind, 100, f"{l2:.9g}", 0, 0, 0, 0, 0, 0, 0, 0, 0] + hist)

    for epoch in sorted({0, 1, epochs}):
        index = 0
        for i in range(depth):
            name = "dense" if i == 0 else f"dense_{i}"
            inside_block = config == "rezero" and 0 < i < depth - 1
            error = 0.0 if inside_block and epoch == 0 else 0.01 * backward ** (depth - 1 - i)
            row(epoch, name, index, "activation", 100 * forward ** i)
            row(epoch, name, index, "input_gradient", error)
            row(epoch, f"{name}/kernel", index, "kernel", error)
            index += 1
            if config == "rezero" and inside_block and i % 2 == 0:  # a block is two Dense layers
                row(epoch, f"rezero_{i // 2 - 1}" if i > 2 else "rezero", index, "activation", 50.0)
                row(epoch, f"rezero_{i // 2 - 1}" if i > 2 else "rezero", index, "input_gradient", 0.08)
                index += 1
    return rows


def write_run(study, config, depth, seed, setting="tf2", final=0.97, epochs=20, diverged=False, old_json=False,
              **meta_extra):
    """One finished run folder as gradient_study writes it, with the run.json keys the report reads;
    old_json: without the keys added with the optimizer axes (gain, optimizer, learning_rate, ...)."""
    import study_report as sr
    name = f"{config}-d{depth}-s{seed}" + ("" if setting == "tf2" else f"-{setting}")
    d = os.path.join(study, name)
    os.makedirs(d, exist_ok=True)
    init = sr.DEFAULT_INIT.get(config, "glorot_uniform")
    for part in setting.split("+"):
        if part in sr.INITS:
            init = part
    meta = {"config": config, "depth": depth, "seed": seed, "setting": setting, "numerics": "tf2",
            "rmsprop_epsilon": "inside", "bn_debias": False, "bn_momentum": 0.99, "init": init,
            "train_inference": 1000, "epochs": epochs, "batch": 128, "dataset": "mnist", "parameters": 1,
            "diverged": {"epoch": epochs, "step": 7} if diverged else None, "seconds": {}}
    if not old_json:
        meta.update({"gain": 1.0, "optimizer": "rmsprop", "learning_rate": 0.001, "momentum": 0.0, "clip_norm": 0.0})
    meta.update(meta_extra)
    with open(os.path.join(d, "run.json"), "w") as f:
        json.dump(meta, f)
    with open(os.path.join(d, "history.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HISTORY_COLUMNS)
        last_ok = epochs - 1 if diverged else epochs
        for e in range(1, last_ok + 1):
            v = final if e == epochs or diverged else 0.5 + 0.4 * e / epochs
            w.writerow([e, 0.1, v, 0.1, v, 1.0, "ok", 0.1, v, 0.001])
        if diverged:
            w.writerow([epochs, "", "", "", "", "", "diverged at step 7: loss is not finite", "", "", ""])
    forward, backward = sr.theory(config, init, float(meta.get("gain", 1.0)))
    with open(os.path.join(d, "gradients.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(GRADIENT_COLUMNS)
        w.writerows(gradient_rows(config, depth, epochs, forward or 1.0, backward or 1.0))
    return name


def build_study(study):
    """The synthetic study the checks below expect (every number of theirs follows from it)."""
    # tf2, 20 epochs: the seed's configs; two edge cells of 12 seeds
    for s in (1, 2):
        write_run(study, "bn", 10, s, final=0.98, old_json=True)  # run.json from before the optimizer axes
        write_run(study, "plain", 10, s, final=0.975)
        write_run(study, "skip", 10, s, final=0.98)
        write_run(study, "skip", 40, s, final=0.97)
    for s in range(1, 13):
        # bn d40: 4 collapsed at 0.10, one diverged (its last finished epoch at 0.95), 7 at 0.97
        write_run(study, "bn", 40, s, final=0.10 if s <= 4 else 0.95 if s == 5 else 0.97, diverged=s == 5)
        write_run(study, "plain", 25, s, final=0.97)  # none near the seed's 0.09
    # the step sizes
    for s in (1, 2):
        for c in ("bn", "plain", "skip"):
            write_run(study, c, 10, s, "lr0.0003", final=0.96, learning_rate=0.0003)
            write_run(study, c, 10, s, "lr0.003", final=0.97, learning_rate=0.003)
        write_run(study, "bn", 40, s, "lr0.003", final=0.10, learning_rate=0.003)
        write_run(study, "plain", 25, s, "lr0.003", final=0.10, learning_rate=0.003)
        write_run(study, "skip", 40, s, "lr0.003", final=0.97, learning_rate=0.003)
    # the remedies at depth 50 (and SELU at 10)
    for s in (1, 2):
        write_run(study, "plain", 50, s, final=0.11)
        write_run(study, "plain", 50, s, "orthogonal+gain1.41421", final=0.97, gain=math.sqrt(2))
        write_run(study, "selu", 10, s, final=0.96)
        write_run(study, "selu", 50, s, final=0.95)
        write_run(study, "rezero", 50, s, final=0.97)
        write_run(study, "bn", 50, s, "clip1", final=0.5 if s == 1 else 0.95, clip_norm=1.0)
        write_run(study, "bn", 50, s, "adamw", final=0.96, optimizer="adamw")


# ---- checks ---------------------------------------------------------------------------------

def check_wilson(sr):
    for k, n, low, high in [(0, 10, 0.0, 0.2775), (1, 10, 0.0179, 0.4042), (5, 10, 0.2366, 0.7634),
                            (15, 15, 0.7961, 1.0), (5, 12, 0.1933, 0.6805), (0, 12, 0.0, 0.2425)]:
        got = sr.wilson(k, n)
        check(all(0 <= g <= 1 for g in got), f"wilson({k}, {n}) = {got} leaves [0, 1]")
        check((round(got[0], 4), round(got[1], 4)) == (low, high), f"wilson({k}, {n}) = {got}, want ({low}, {high})")
    check(sr.wilson(0, 0) == (0.0, 1.0), f"wilson(0, 0) = {sr.wilson(0, 0)}, want (0, 1): no runs, no information")
    for n in range(1, 101):  # the interval holds the estimate, and reaches 0 and 1 exactly at k = 0 and k = n
        for k in range(n + 1):
            low, high = sr.wilson(k, n)
            check(low <= k / n <= high, f"wilson({k}, {n}) = {(low, high)} does not hold {k}/{n}")
        check(sr.wilson(0, n)[0] == 0.0 and sr.wilson(n, n)[1] == 1.0, f"wilson at k = 0 or k = {n}")
    check(sr.wilson(3, 10) != sr.wilson(3, 10, z=1.0), "wilson ignores z")


def check_selu(sr):
    mean, second, slope2 = sr.selu_moments()
    lam, alpha = sr.SELU_LAMBDA, sr.SELU_ALPHA
    phi_minus_2 = 0.5 * math.erfc(2 / math.sqrt(2))
    closed = lam * lam * (0.5 + alpha * alpha * math.exp(2) * phi_minus_2)  # E[selu'(z)^2], z ~ N(0, 1)
    check(abs(mean) < 1e-6 and abs(second - 1) < 1e-6, f"SELU's fixed point: E = {mean}, E[^2] = {second}")
    check(abs(slope2 - closed) < 1e-6 and round(math.sqrt(slope2), 3) == 1.035,
          f"E[selu'^2] = {slope2}, closed form {closed}")


def section(report, title):
    """The text of one '## ' section of REPORT.md."""
    start = report.find(f"\n## {title}")
    check(start >= 0, f"REPORT.md has no section '## {title}'")
    end = report.find("\n## ", start + 1)
    return report[start:end if end >= 0 else len(report)]


def check_report(sr, study, out):
    build_study(study)
    started = time.time()
    with redirect_stdout(io.StringIO()):
        sr.main([study, "--out", out])
    seconds = time.time() - started
    with open(os.path.join(out, "REPORT.md")) as f:
        report = f.read()

    # the collapse table: 4 collapsed + 1 diverged of 12, Wilson (0.1933, 0.6805); 0 of 12 for plain d25
    collapse = section(report, "How likely is a collapse?")
    for row in ["| tf2 | bn | 40 | 20 | 5/12 | 0.417 | 0.1933–0.6805 |",
                "| tf2 | plain | 25 | 20 | 0/12 | 0.000 | 0.0000–0.2425 |"]:
        check(row in collapse, f"collapse table lacks '{row}':\n{collapse}")
    check("| tf2 | skip | 40 |" not in collapse.split("### Is each")[0], "a 2-run cell in the edge-cell table")
    # the seed's points: bn d40 (0.09): 5 of 12 ended at or below 0.11 (the diverged one counts as below),
    # the other 11 at or above 0.07; plain d25 (0.09): none at or below 0.11
    for row in ["| bn | 40 | 0.090 | 12 | 5/12 = 0.417 | 11/12 = 0.917 | 0.1933–0.6805 | plausible single draw |",
                "| plain | 25 | 0.090 | 12 | 0/12 = 0.000 | 12/12 = 1.000 | 0.0000–0.2425 | "
                "not a plausible draw from our runs (p = 0/12) |",
                "| skip | 40 | 0.300 | 2 | 0/2 = 0.000 | 2/2 = 1.000 |"]:
        check(row in collapse, f"seed-point table lacks '{row}':\n{collapse}")
    check("Plausible single draws from our runs: bn d10, d40; plain d10; skip d10. Not plausible: plain d25 "
          "(p = 0/12); skip d40 (p = 0/2)." in collapse, f"the seed-point summary:\n{collapse}")
    check("Not compared (no tf2 runs at 20 epochs): bn d15, d20, d25, d30, d35; plain d15, d20, d30, d35, d40; "
          "skip d15, d20, d25, d30, d35." in collapse, "the seed's points without runs are not listed")
    check("at least 0.05" in collapse and "seed + 0.02" in collapse, "the thresholds are not stated")

    # step sizes: every lr has runs; lr0.003 fails first at the seed's depth for plain only
    step = section(report, "Does a larger step reproduce the seed?")
    for text in ["### lr 0.0003: `lr0.0003`", "### lr 0.003: `lr0.003`", "### Verdict",
                 "- lr 0.003 (`lr0.003`): first depth where most seeds fail: bn 40, plain 25, skip none",
                 "- lr 0.001 (`tf2`): first depth where most seeds fail: bn none, plain none, skip none",
                 "No step size tested puts the failures at the seed's depths for all three networks; for some: "
                 "`lr0.003` (plain).",
                 "seed 0.09 inside", "1. **Plain nets dead from depth 25.**"]:
        check(text in step, f"step-size section lacks '{text}':\n{step}")
    check("| bn | 0.9800 ± 0.0000<br>0.9800–0.9800 · 0/2<br>seed 0.98 inside |" in step, "step-size cell format")

    # the remedies
    remedy = section(report, "What fixes it")
    for text in ["| none (Glorot) |", "| orthogonal, gain √2 |", "| SELU + LeCun |", "| ReZero |", "| BN + AdamW |",
                 "| BN + clipping (norm 1) |", "No runs yet: He-uniform, orthogonal, LayerNorm.",
                 "![remedies_accuracy.png](remedies_accuracy.png)", "![remedies_gradients.png](remedies_gradients.png)",
                 "| SELU + LeCun | 2/2 | +0.00 | +0.72 | +0.00 | +0.72 | trainable | yes |",
                 "| none (Glorot) | 0/2 | -7.22 | -7.22 | -7.22 | -7.22 | not trainable | yes |",
                 "| BN + AdamW | 2/2 | +0.00 | +3.99 | +0.00 | +3.99 | not trainable | **no** |",
                 "Train at depth 50: orthogonal, gain √2 (2/2 above 0.9), SELU + LeCun (2/2 above 0.9), ReZero (2/2 "
                 "above 0.9), BN + AdamW (2/2 above 0.9). Do not: none (Glorot) (0/2 above 0.9), BN + clipping (norm 1) "
                 "(1/2 above 0.9). No runs at depth 50: BatchNorm, BN + skip.",
                 "Theory at initialisation was right for 5 of 6; wrong for BN + AdamW (predicted not trainable).",
                 "above 0.9", "|log10 f^48| ≤ 1"]:
        check(text in remedy, f"remedy section lacks '{text}':\n{remedy}")
    # a remedy's row: BatchNorm over d10 and d40 (12 seeds, 5 collapsed)
    check("| BatchNorm | 0.9800 ± 0.0000<br>0.9800–0.9800 · 0/2 |" in remedy, f"BatchNorm's remedy row:\n{remedy}")

    # theory beside the new configs' measured factors (the synthetic gradients follow it exactly)
    # (a relative error that rounds to zero may print as -0.0%: the synthetic norms are written to 9 digits)
    propagation = section(report, "Signal propagation at initialisation").replace("-0.0%", "+0.0%")
    for row in ["| tf2 | rezero | 50 | 1.000 | 1.000 | +0.0% | 1.000 | 1.000 | +0.0% |",
                "| tf2 | selu | 50 | 1.000 | 1.000 | +0.0% | 1.035 | 1.035 | +0.0% |",
                "| orthogonal+gain1.41421 | plain | 50 | 1.000 | 1.000 | +0.0% | 1.000 | 1.000 | +0.0% |",
                "| tf2 | bn | 40 | 1.000 | 1.000 | +0.0% | 1.211 | 1.211 | +0.0% |",
                "| tf2 | skip | 40 | 1.000 | — | — | 1.000 | — | — |"]:
        check(row in propagation, f"propagation table lacks '{row}':\n{propagation}")
    for citation in ["Saxe et al.", "Klambauer et al.", "Bachlechner et al.", "Yang et al.", "no closed form known"]:
        check(citation in propagation, f"propagation section does not cite {citation}")

    # summary.csv: the new columns, an old run.json's defaults, the new settings' values
    with open(os.path.join(out, "summary.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    check(len(rows) == 64, f"summary.csv has {len(rows)} rows, want 64")
    header = list(rows[0])
    check(header[header.index("init") + 1:header.index("init") + 6] ==
          ["gain", "optimizer", "learning_rate", "momentum", "clip_norm"], f"summary.csv columns: {header}")
    by_name = {(r["config"], r["depth"], r["seed"], r["setting"]): r for r in rows}
    want = {("bn", "10", "1", "tf2"): ("1", "rmsprop", "0.001", "0", "0"),  # an old run.json
            ("plain", "50", "1", "orthogonal+gain1.41421"): ("1.41421", "rmsprop", "0.001", "0", "0"),
            ("plain", "25", "2", "lr0.003"): ("1", "rmsprop", "0.003", "0", "0"),
            ("bn", "50", "2", "clip1"): ("1", "rmsprop", "0.001", "0", "1"),
            ("bn", "50", "1", "adamw"): ("1", "adamw", "0.001", "0", "0")}
    for key, values in want.items():
        got = tuple(by_name[key][c] for c in ("gain", "optimizer", "learning_rate", "momentum", "clip_norm"))
        check(got == values, f"summary.csv {key}: {got}, want {values}")
    check(by_name[("bn", "40", "5", "tf2")]["diverged"] == "true", "the diverged run is not marked in summary.csv")

    for fig in ["collapse_probability", "remedies_accuracy", "remedies_gradients", "propagation_theory",
                "accuracy_vs_depth", "why_collapse"]:
        for ext in ("png", "svg"):
            path = os.path.join(out, f"{fig}.{ext}")
            check(os.path.isfile(path) and os.path.getsize(path) > 1000, f"{fig}.{ext} missing or empty")
    check("![collapse_probability.png](collapse_probability.png)" in report, "collapse figure not in REPORT.md")
    check("![propagation_theory.png](propagation_theory.png)" in report, "propagation figure not in REPORT.md")
    return seconds


def check_missing_learning_rate(sr, study):
    runs = [r for r in sr.load_runs([study]) if r["setting"] != "lr0.0003"]
    text = "\n".join(sr.step_size_section(runs))
    check("Missing runs: `lr0.0003` (none of bn, plain, skip at depths 10-40). No verdict until every step size "
          "has runs." in text, f"missing lr not reported:\n{text}")
    check("### Verdict" not in text, "a verdict without every step size's runs")
    nothing = "\n".join(sr.step_size_section([r for r in runs if r["meta"]["config"] == "selu"]))
    check("Missing runs: `tf2`" in nothing, "no runs at all: the missing step sizes are not named")
    # the remedy section and the collapse section without their runs
    no_remedies = [r for r in runs if r["meta"]["config"] == "skip" and r["setting"] != "tf2"]
    text = "\n".join(sr.remedy_section(no_remedies, []))
    check("No remedy has runs yet" in text, f"the remedy section without remedies:\n{text}")


def check_edges(src, work):
    """study_edges.py: the edge depths of a known pattern, and no answer while runs are missing."""
    sys.path.insert(0, os.path.join(src, "scripts"))
    import study_edges
    check(study_edges.edge_depths({10: 0, 15: 0, 20: 1, 25: 3, 30: 3}, 3) == [20], "one mixed depth")
    check(study_edges.edge_depths({10: 0, 15: 0, 20: 3, 25: 3}, 3) == [15, 20], "a jump from 0/3 to 3/3")
    check(study_edges.edge_depths({10: 0, 15: 0}, 3) == [], "never collapses: no edge")
    check(study_edges.edge_depths({10: 3, 15: 3}, 3) == [], "always collapses: no edge")
    study = os.path.join(work, "edges")
    for d, finals in ((10, (0.97, 0.97)), (15, (0.97, 0.10)), (20, (0.10, 0.10))):
        for s, final in enumerate(finals, 1):
            write_run(study, "plain", d, s, "orthogonal", final=final, init="orthogonal")
    script = os.path.join(src, "scripts", "study_edges.py")
    run = lambda *a: subprocess.run([sys.executable, script, study, "plain", "orthogonal", *a],  # noqa: E731
                                    capture_output=True, text=True)
    got = run("--depths", "10:20:5", "--seeds", "2")
    check(got.returncode == 0 and got.stdout.strip() == "15", f"study_edges.py: {got.stdout} {got.stderr}")
    got = run("--depths", "10:25:5", "--seeds", "2")
    check(got.returncode == 3 and "plain-d25-s1-orthogonal plain-d25-s2-orthogonal" in got.stderr,
          f"study_edges.py with runs missing: {got.returncode} {got.stderr}")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: test_study_report.py SOURCE_DIR WORK_DIR")
    src, work = sys.argv[1:]
    sys.path.insert(0, os.path.join(src, "scripts"))
    import study_report as sr
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    check_wilson(sr)
    check_selu(sr)
    study = os.path.join(work, "study")
    seconds = check_report(sr, study, os.path.join(work, "report"))
    check_missing_learning_rate(sr, study)
    check_edges(src, work)
    print(f"study_report: Wilson intervals, SELU's moments, the collapse, step-size, remedy and propagation "
          f"sections on a synthetic study ({seconds:.1f} s), summary.csv's new columns, study_edges.py")


if __name__ == "__main__":
    main()
