#!/usr/bin/python3
"""Cross-checks layerwise against an independent PyTorch implementation, in float64.

    torch_crosscheck.py --helper build/tests/dump_training [--cases bn-10-tf2,...] [--perturb MEMBER:REL]
    torch_crosscheck.py --remedies-helper build/tests/dump_remedies [--cases layernorm-adamw,...] [--perturb ...]

The second form checks the newer layers, initialisers, optimizers, schedules and clipping
(scripts/crosscheck_remedies.py says how); what follows is the first.

12 cases: the seed's bn, plain and skip networks (models/seed_mlp.hpp) at depths 10 and
40, under the numerics presets tf2 and keras2.1. For each, tests/crosscheck/dump_training
trains our float32 network for 20 RMSprop steps (lr 1e-3, rho 0.9, eps 1e-7, batch 128)
on the first 2560 training images, unshuffled, and dumps the batches, every parameter
after init and after each step, the loss of each step, the logits and the gradients of
step 1, and the sign of every ReLU output. This script checks the batches against the IDX
files (read here on their own), and redoes each step in PyTorch, in float64: forward in
torch ops, gradients by autograd, RMSprop and the moving averages by hand:

    Dense      y = x W + b                       W: (in x out), as Keras
    BatchNorm  y = gamma (x - mu) / sqrt(var + 1e-3) + beta,  mu, var: batch mean and BIASED
               batch variance (by hand: torch's BatchNorm1d keeps the unbiased one)
               tf2: moving = 0.99 moving + 0.01 batch;  keras2.1 (zero-debiased):
               a = 0.99 a + 0.01 batch from a = 0, moving = a / (1 - 0.99^t)
    ReLU; the skip block y = x + BN(Dense(x)), then ReLU
    loss       mean over the batch of -log(clip(softmax(z)_y, 1e-7, 1 - 1e-7)); a clipped
               probability passes no gradient (Keras)
    RMSprop    a = 0.9 a + 0.1 g^2 from a = 0;  tf2: p -= lr g / sqrt(a + eps),
               keras2.1: p -= lr g / (sqrt(a) + eps)

Step t starts from OUR state after step t-1 (parameters and moving statistics; RMSprop's
accumulators are the reference's own), so every one of the 20 steps is compared as
strictly as the first. Measured, not assumed: run freely from the same start, float32
and float64 part after a few steps (bn-10-tf2: the parameters' moves from init 0.8% apart
after 2 steps, 13% after 20, PyTorch in float32 exactly as far off as we are), and at
depth 40 a BatchNorm stack amplifies rounding 1.2x per layer, so that the logits of step 1
already differ by 1e-3 (PyTorch float32: 1.0e-3, ours 1.1e-3) and trajectories part at once.

Compared, per case (||.||: 2-norm over a whole tensor; ours a, the reference's b):
    logits (step 1), loss (every step)   ||a - b|| / ||b||
    gradients (step 1)                   ||a - b|| / ||b||, except for the bias of a Dense
        that feeds a BatchNorm: its exact gradient is 0 (BatchNorm removes any shift), both
        sides hold rounding noise, measured against GRAD_FLOOR x the largest gradient norm
        in the network. (One such floor for every tensor would hide the plain depth-40
        net's vanishing gradients: 2e-7 in its last kernel, 5e-2 the largest, 2e-6 apart.)
    moving statistics (every step)       ||a - b|| / ||b||
    parameters (every step)              ||a - b|| / max(||b - before||, FLOOR x the largest
        move in the network at that step, RESOLUTION x ||before||): relative to the step's
        move (a float32 parameter cannot move by less than 6e-8 of itself). Not judged,
        but printed: elements whose reference gradient is under UNDETERMINED x the per-element
        rms error of our step-1 gradient of that tensor (float32 does not fix their sign, and
        RMSprop's first step is +-3.16 lr for any gradient well above eps); and the BatchNorm-fed Dense
        biases under keras2.1 (epsilon outside the root turns their noise into steps of up
        to lr) and at depth 40 with BatchNorm (their noise is 1e-3 of the gradients there).
        Under tf2 at depth 10 they are judged, their move against GRAD_FLOOR x the largest.
ReLU: where the two signs of a pre-activation z differ, the reference takes ours if |z| is
within the tolerance "relu" x rms(z) of its layer (counted and printed), and fails the case
otherwise. One flip changes that sample's gradient by its full value (measured: 7e-3 of
every lower layer's gradient in bn-10-tf2 at step 2).

Tolerances: "default" for the cases at depth 10 and plain-40, "deep_bn" for bn-40 and
skip-40; the largest differences measured over all cases of each row, and the margin:
                 default                 deep_bn
    logits       1e-4  (3.1e-6, 30x)     1e-2  (1.1e-3, 9x)
    loss         2e-5  (1.7e-6, 12x)     1e-3  (5.0e-5, 20x)
    grad         1e-4  (4.1e-6, 25x)     1e-2  (1.2e-3, 8x)
    moving       1e-5  (1.3e-6, 7x)      1e-3  (1.8e-4, 6x)
    param        3e-3  (3.0e-4, 10x)     3e-2  (6.7e-3, 4x)
    relu         1e-4  (1.3e-6 rms)      3e-2  (4.5e-3 rms)
Caught (by --perturb, on bn-10-tf2): a gradient scaled by 1 + 3e-4, a moving statistic or a
parameter after step 20 by 1 + 1e-4; the other preset's RMSprop or moving averages in the
reference fail by 0.1 to 10.

Prints, per case, the largest difference of each category and where; each difference over
its tolerance prints "FAILED: <case>: <category>: <tensor> (step t): <value> > <tol>" and
the exit status is 1. Runs with /usr/bin/python3 (Debian's python3-torch and python3-numpy,
which scripts/setup.sh installs), and re-executes itself there if started by a python3
without torch.
"""
import argparse
import gzip
import os
import subprocess
import sys
import time

SYSTEM_PYTHON = "/usr/bin/python3"
try:
    import numpy as np
    import torch
except ImportError as e:
    if os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON) and os.path.exists(SYSTEM_PYTHON):
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)  # the first python3 on PATH may lack Debian's packages
    sys.exit(f"torch_crosscheck.py: FAILED: cannot import {e.name} in {sys.executable} ({e}); run scripts/setup.sh, "
             "which installs Debian's python3-torch and python3-numpy")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = [f"{c}-{d}-{n}" for c in ("bn", "plain", "skip") for d in (10, 40) for n in ("tf2", "keras2.1")]
BN_EPS, MOMENTUM, CLIP = 1e-3, 0.99, 1e-7
LR, RHO, RMS_EPS = 1e-3, 0.9, 1e-7
# Tolerances (see the top): most cases, and the BatchNorm stacks at depth 40 (bn-40, skip-40).
TOLERANCES = {
    "default": {"logits": 1e-4, "loss": 2e-5, "grad": 1e-4, "moving": 1e-5, "param": 3e-3, "relu": 1e-4},
    "deep_bn": {"logits": 1e-2, "loss": 1e-3, "grad": 1e-2, "moving": 1e-3, "param": 3e-2, "relu": 3e-2},
}
GRAD_FLOOR = 1e-2  # a BatchNorm-fed Dense bias: its gradient (move) against this x the largest in the network
FLOOR = 1e-3  # any other parameter's move, against at least this x the largest move in the network
UNDETERMINED = 10  # elements whose gradient is under this x its float32 error are not judged
RESOLUTION = 1e-4  # a move is judged against at least this fraction of the parameter's norm
MAX_FAILED_LINES = 20  # per case


# ---- the networks, as lists of layers with Keras names ----------------------------------
def architecture(config, depth):
    """The seed network (models/seed_mlp.hpp) as [("dense", name) | ("bn", name) | ("relu",) |
    ("residual", [layers])], input to output, named as Keras (and visit.hpp) name them."""
    counts = {}

    def name(base):
        k = counts.get(base, 0)
        counts[base] = k + 1
        return base if k == 0 else f"{base}_{k}"

    def dense():
        return ("dense", name("dense"))

    def bn():
        return ("bn", name("batch_normalization"))

    relu = ("relu",)
    if config == "plain":
        layers = [x for _ in range(depth - 1) for x in (dense(), relu)]
    elif config == "bn":
        layers = [x for _ in range(depth - 1) for x in (dense(), bn(), relu)]
    else:
        layers = [dense(), bn(), relu]
        for _ in range((depth - 1) // 2):
            layers += [dense(), bn(), relu]
            block = [dense(), bn()]  # created before the Add
            layers += [("residual", block), relu]
    layers.append(dense())
    return layers


def flatten(layers):
    return [x for layer in layers for x in (flatten(layer[1]) + [("add",)] if layer[0] == "residual" else [layer])]


def parameter_names(layers):
    kinds = {"dense": ("kernel", "bias"), "bn": ("gamma", "beta", "moving_mean", "moving_variance")}
    return [f"{layer[1]}/{k}" for layer in flatten(layers) for k in kinds.get(layer[0], ())]


def bn_fed(layers):
    """The biases of the Dense layers that feed a BatchNorm (their exact gradient is 0)."""
    flat = flatten(layers)
    return {f"{a[1]}/bias" for a, b in zip(flat, flat[1:]) if a[0] == "dense" and b[0] == "bn"}


# ---- the reference: forward in torch ops, gradients by autograd -------------------------
class Reference:
    """Steps the network in float64 from a given state (ours after the step before: see "Step t
    starts from OUR state" at the top), keeping its own RMSprop accumulators."""

    def __init__(self, layers, numerics, trainable, masks, mask_tol):
        self.layers, self.numerics, self.trainable, self.mask_tol = layers, numerics, trainable, mask_tol
        self.masks = masks  # (steps, relus, batch, width) bool: our ReLU signs
        self.acc = {}  # RMSprop's a, from 0
        self.adopted, self.mask_scale, self.bad_masks = 0, 0.0, []

    def run(self, layers, h):
        p = self.p
        for layer in layers:
            kind = layer[0]
            if kind == "dense":  # y = x W + b
                h = h @ p[layer[1] + "/kernel"] + p[layer[1] + "/bias"]
            elif kind == "bn":  # batch mean and biased batch variance
                n = layer[1]
                mu = h.mean(0)
                var = ((h - mu) ** 2).mean(0)
                h = p[n + "/gamma"] * (h - mu) / torch.sqrt(var + BN_EPS) + p[n + "/beta"]
                self.update_moving(n, mu.detach(), var.detach())
            elif kind == "relu":
                h = self.relu(h)
            else:  # y = x + F(x)
                h = h + self.run(layer[1], h)
        return h

    def relu(self, z):
        """max(z, 0), with our sign where the two differ within mask_tol rms(z) of 0 (see the top)."""
        ours = self.masks[self.t - 1, self.relu_index]
        self.relu_index += 1
        zd = z.detach()
        differ = ours != (zd > 0)
        if differ.any():
            scale = (zd[differ].abs() / torch.sqrt((zd * zd).mean())).max().item()
            if scale > self.mask_tol:
                self.bad_masks.append(f"step {self.t}, ReLU {self.relu_index - 1}: {int(differ.sum())} signs "
                                      f"differ, up to |z| = {scale:.1e} rms(z) > {self.mask_tol:.0e}")
            self.adopted += int(differ.sum())
            self.mask_scale = max(self.mask_scale, scale)
        return torch.where(ours, z, torch.zeros_like(z))

    def update_moving(self, n, mu, var):
        for kind, batch in (("moving_mean", mu), ("moving_variance", var)):
            key = f"{n}/{kind}"
            if self.numerics == "tf2":  # moving = 0.99 moving + 0.01 batch
                self.new[key] = MOMENTUM * self.p[key] + (1 - MOMENTUM) * batch
            else:  # a = 0.99 a + 0.01 batch from a = 0, moving = a / (1 - 0.99^t): a = moving (1 - 0.99^(t-1))
                a = MOMENTUM * self.p[key] * (1 - MOMENTUM ** (self.t - 1)) + (1 - MOMENTUM) * batch
                self.new[key] = a / (1 - MOMENTUM ** self.t)

    @staticmethod
    def loss(logits, labels):
        """mean_i -log(clip(p_i,y_i, 1e-7, 1 - 1e-7)); a clipped probability passes no gradient."""
        logp = torch.log_softmax(logits, dim=1).gather(1, labels[:, None])[:, 0]
        py = torch.exp(logp).detach()
        clipped = (py < CLIP) | (py > 1 - CLIP)
        return torch.where(clipped, -torch.log(py.clamp(CLIP, 1 - CLIP)), -logp).mean()

    def step(self, t, state, x, labels):
        """Step t (from 1) from `state` (every parameter, float32 arrays); returns the logits, the
        loss, the gradients and the new state (float64 tensors)."""
        self.t, self.relu_index, self.new = t, 0, {}
        self.p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=k in self.trainable) for k, v in state.items()}
        logits = self.run(self.layers, x)
        loss = self.loss(logits, labels)
        loss.backward()
        grads = {k: self.p[k].grad for k in self.trainable}
        with torch.no_grad():
            for k in self.trainable:
                g = grads[k]
                a = self.acc[k] = RHO * self.acc.get(k, 0.0) + (1 - RHO) * g * g
                root = torch.sqrt(a + RMS_EPS) if self.numerics == "tf2" else torch.sqrt(a) + RMS_EPS
                self.new[k] = self.p[k].detach() - LR * g / root
        return logits.detach(), loss.detach(), grads, self.new


# ---- the inputs, read here from the IDX files -------------------------------------------
def read_idx(path):
    """An IDX file (plain or gzip) as a uint8 array of its shape."""
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    rank = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * rank).reshape(shape)


def idx_file(data, base):
    for name in (base, base + ".gz"):
        if os.path.exists(os.path.join(data, name)):
            return os.path.join(data, name)
    raise FileNotFoundError(f"{os.path.join(data, base)}: not found (nor {base}.gz)")


# ---- one case -----------------------------------------------------------------------------
def norm(v):
    return float(np.linalg.norm(np.asarray(v, dtype=np.float64)))


def tolerances(case):
    config, depth, _ = case.split("-")
    return TOLERANCES["deep_bn" if config != "plain" and depth == "40" else "default"]


def compare_case(case, d, images, labels, steps, batch):
    """Redoes the steps of dump d; returns (rows, failures): rows are (category, value, where), the
    categories "excluded" and "undetermined" printed but not judged; failures are FAILED lines."""
    config, depth, numerics = case.split("-")
    layers = architecture(config, int(depth))
    fed = bn_fed(layers)
    failures = []

    def fail(category, what):
        failures.append(f"FAILED: {case}: {category}: {what}")

    expected = f"config={config} depth={depth} numerics={numerics} steps={steps} batch={batch}"
    got = bytes(d["config"]).decode()
    if not got.startswith(expected + " "):
        fail("dump", f"it says '{got}', expected '{expected} ...'")
        return [], failures
    names = parameter_names(layers)
    ours = sorted(k[len("params/"):] for k in d.files if k.startswith("params/"))
    if sorted(names) != ours:
        fail("names", f"ours {ours[:4]}..., the reference's {sorted(names)[:4]}...")
        return [], failures
    n = steps * batch
    if not (np.array_equal(d["x"], images[:n].reshape(n, -1).astype(np.float32) / np.float32(255))
            and np.array_equal(d["labels"], labels[:n])):
        fail("inputs", f"x or labels differ from the IDX files' first {n} rows / 255")

    params = {k: d["params/" + k] for k in names}  # (steps + 1, *shape)
    trainable = [k for k in names if "moving" not in k]
    tol = tolerances(case)
    ref = Reference(layers, numerics, trainable, torch.from_numpy(np.unpackbits(d["relu_masks"], axis=-1) > 0),
                    tol["relu"])
    x = torch.tensor(d["x"], dtype=torch.float64)
    y = torch.tensor(d["labels"].astype(np.int64))
    worst = {}  # (category, tensor) -> (value, step)

    def record(category, k, value, t):  # keeps the largest over the steps, or the first NaN
        old = worst.get((category, k))
        if old is None or (not np.isnan(old[0]) and (np.isnan(value) or value > old[0])):
            worst[(category, k)] = (value, t)

    undetermined = {}  # tensor -> elements not judged (summed over the steps)
    for t in range(1, steps + 1):
        rows = slice((t - 1) * batch, t * batch)
        logits, loss, grads, new = ref.step(t, {k: params[k][t - 1] for k in names}, x[rows], y[rows])
        record("loss", "loss", abs(float(d["loss"][t - 1]) - loss.item()) / abs(loss.item()), t)
        if t == 1:
            record("logits", "logits", norm(d["logits"] - logits.numpy()) / norm(logits.numpy()), t)
            gmax = max(norm(g.numpy()) for g in grads.values())
            noise = {}  # per-element rms of our gradient's error at step 1
            for k, g in grads.items():
                error = norm(d["grad/" + k] - g.numpy())
                record("grad", k, error / (GRAD_FLOOR * gmax if k in fed else norm(g.numpy())), t)
                noise[k] = min(error, tol["grad"] * norm(g.numpy())) / np.sqrt(g.numel())  # a wrong one is failed
        for category, keys in (("moving", [k for k in names if "moving" in k]), ("param", trainable)):
            moved = {k: new[k].numpy() - params[k][t - 1] for k in keys}
            diff = {k: params[k][t] - new[k].numpy() for k in keys}
            if category == "param":  # elements whose gradient's sign float32 does not determine
                for k in keys:
                    g = np.abs(grads[k].numpy())
                    skip = (g > 0) & (g < UNDETERMINED * noise[k])
                    if k not in fed and skip.any():
                        undetermined[k] = undetermined.get(k, 0) + int(skip.sum())
                        record("undetermined", k, float(np.abs(diff[k][skip]).max()) / LR, t)
                        moved[k], diff[k] = np.where(skip, 0, moved[k]), np.where(skip, 0, diff[k])
            largest = max((norm(m) for m in moved.values()), default=0)
            for k in keys:
                if category == "moving":  # relative to the value
                    scale = norm(new[k].numpy())
                else:  # relative to the step's move
                    floor = (GRAD_FLOOR if k in fed else FLOOR) * largest
                    scale = max(norm(moved[k]), floor, RESOLUTION * norm(params[k][t - 1]))
                excluded = k in fed and (numerics == "keras2.1" or tol is TOLERANCES["deep_bn"])
                record("excluded" if excluded else category, k, norm(diff[k]) / scale, t)
    for what in ref.bad_masks:
        fail("relu", what)
    rows = [(c, v, k if c == "grad" else f"step {t}" if c in ("logits", "loss") else f"{k} (step {t})")
            for (c, k), (v, t) in worst.items()]
    for category, value, where in rows:
        if category in tol and not value <= tol[category]:  # NaN fails too
            fail(CATEGORY_NAMES[category], f"{where}: {value:.2e} > {tol[category]:.0e}")
    rows.append(("masks", ref.adopted, f"{ref.mask_scale:.1e}"))
    rows.append(("undetermined_count", sum(undetermined.values()), len(undetermined)))
    return rows, failures


CATEGORY_NAMES = {"logits": "logits", "loss": "loss", "grad": "gradient", "moving": "moving statistic",
                  "param": "parameter"}
LABELS = {"logits": "logits (step 1)", "loss": "loss (each step)", "grad": "gradients (step 1)",
          "moving": "moving statistics", "param": "parameters"}


def print_case(case, rows, seconds):
    print(f"{case}  ({seconds:.1f} s)")
    tol = tolerances(case)
    for category in ("logits", "loss", "grad", "moving", "param"):
        mine = [(v, where) for c, v, where in rows if c == category]
        if mine:
            v, where = max(mine, key=lambda r: np.nan_to_num(r[0], nan=np.inf))
            where = "" if category == "logits" else where
            print(f"  {LABELS[category]:18s} {v:9.2e}  (tol {tol[category]:.0e})  {where}")
    excluded = [(v, where) for c, v, where in rows if c == "excluded"]
    if excluded:
        v, where = max(excluded, key=lambda r: np.nan_to_num(r[0], nan=np.inf))
        print(f"  not judged         {v:9.2e}  {where}: the largest of {len(excluded)} BatchNorm-fed Dense biases, "
              "whose step is rounding noise")
    excluded = [(v, where) for c, v, where in rows if c == "undetermined"]
    if excluded:
        v, where = max(excluded, key=lambda r: np.nan_to_num(r[0], nan=np.inf))
        count, tensors = [(v, where) for c, v, where in rows if c == "undetermined_count"][0]
        print(f"  not judged: {count} elements (over all steps) of {tensors} tensors whose gradient is under "
              f"{UNDETERMINED} x its float32 error; their largest difference {v:.2f} lr, {where}")
    adopted, scale = [(v, where) for c, v, where in rows if c == "masks"][0]
    if adopted:
        print(f"  ReLU signs of ours taken: {adopted}, at |z| <= {scale} rms(z) (tol {tol['relu']:.0e})")


def remedies_main(a):
    """The remedies' cases (crosscheck_remedies.py) with the dump_remedies program."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import crosscheck_remedies as rem
    torch.set_num_threads(1)
    all_cases = list(rem.CASES) + ["init"]
    cases = a.cases.split(",") if a.cases else all_cases
    for case in cases:
        if case not in all_cases:
            sys.exit(f"torch_crosscheck.py: --cases: unknown case '{case}' (expected some of {', '.join(all_cases)})")
    os.makedirs(a.work, exist_ok=True)
    print(f"torch {torch.__version__}: the remedies in float64 on both sides, {rem.STEPS} steps of batch {rem.BATCH}, "
          "each run freely from our initial parameters; differences ||ours - ref|| / ||ref|| of a whole tensor, "
          f"parameters / max(||ref - before||, {rem.FLOOR:.0e} x the largest such move); largest over the steps")
    failures = []
    start = time.time()
    for case in cases:
        t0 = time.time()
        out = os.path.join(a.work, case + ".npz")
        command = [a.remedies_helper, "--case", case, "--out", out]
        if a.perturb:
            command += ["--perturb", a.perturb]
        helper = subprocess.run(command, capture_output=True, text=True)
        if helper.returncode != 0:
            failures.append(f"FAILED: {case}: dump_remedies exited with {helper.returncode}: {helper.stderr.strip()}")
            print(failures[-1])
            continue
        with np.load(out) as d:
            if case == "init":
                lines, case_failures = rem.check_initialisers(d)
                print(f"init  ({time.time() - t0:.1f} s)")
                print("\n".join(lines))
            else:
                worst, case_failures = rem.compare_case(case, d)
                rem.print_case(case, worst, time.time() - t0)
        for line in case_failures[:MAX_FAILED_LINES]:
            print(line)
        failures += case_failures
        if not case_failures and not a.keep:
            os.remove(out)
    failed = len({f.split(":")[1] for f in failures})
    print(f"torch_crosscheck: {len(cases) - failed} of {len(cases)} cases passed ({time.time() - start:.1f} s)")
    sys.exit(1 if failures else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--helper", help="the dump_training program (build/tests/dump_training)")
    ap.add_argument("--remedies-helper", help="the dump_remedies program: check the remedies' cases instead")
    ap.add_argument("--data", help="folder with MNIST-shaped IDX files (default: synthetic ones made in WORK/data "
                                   "by tests/study/make_idx.py)")
    ap.add_argument("--work", default="crosscheck_work", help="folder for the data and the dumps")
    ap.add_argument("--cases", help="comma-separated CONFIG-DEPTH-NUMERICS (default: all 12), or the remedies' "
                                    "case names")
    ap.add_argument("--perturb", help="MEMBER:REL, passed to the helper: scale one dumped array by 1 + REL")
    ap.add_argument("--keep", action="store_true", help="keep the dumps of passing cases too")
    a = ap.parse_args()
    if a.remedies_helper:
        remedies_main(a)
    if not a.helper:
        ap.error("give --helper (the seed's networks) or --remedies-helper (the remedies)")
    steps, batch = 20, 128
    torch.set_num_threads(1)
    cases = a.cases.split(",") if a.cases else CASES
    for case in cases:
        if case not in CASES:
            sys.exit(f"torch_crosscheck.py: --cases: unknown case '{case}' (expected some of {', '.join(CASES)})")
    os.makedirs(a.work, exist_ok=True)
    data = a.data or os.path.join(a.work, "data")
    if not a.data and not os.path.exists(os.path.join(data, "t10k-labels-idx1-ubyte")):
        subprocess.run([SYSTEM_PYTHON, os.path.join(ROOT, "tests", "study", "make_idx.py"), data, "3000", "500"],
                       check=True)
    images = read_idx(idx_file(data, "train-images-idx3-ubyte"))
    labels = read_idx(idx_file(data, "train-labels-idx1-ubyte"))

    print(f"torch {torch.__version__}: reference in float64, {steps} RMSprop steps of batch {batch}, data {data}")
    print(f"each step t redone from our state after step t-1; differences ||ours - ref|| / ||ref|| of a whole tensor, "
          f"except: gradients of BatchNorm-fed Dense biases (exactly 0) / ({GRAD_FLOOR:.0e} x the largest gradient "
          f"norm); parameters / max(||ref - before||, {FLOOR:.0e} x the largest such move, "
          f"{RESOLUTION:.0e} ||before||), "
          f"without the elements whose gradient is under {UNDETERMINED} x its float32 error; largest over the steps")
    failures = []
    start = time.time()
    for case in cases:
        t0 = time.time()
        config, depth, numerics = case.split("-")
        out = os.path.join(a.work, case + ".npz")
        command = [a.helper, "--config", config, "--depth", depth, "--numerics", numerics, "--data", data,
                   "--steps", str(steps), "--batch", str(batch), "--seed", "1", "--out", out]
        if a.perturb:
            command += ["--perturb", a.perturb]
        helper = subprocess.run(command, capture_output=True, text=True)
        if helper.returncode != 0:
            failures.append(f"FAILED: {case}: dump_training exited with {helper.returncode}: {helper.stderr.strip()}")
            print(failures[-1])
            continue
        with np.load(out) as d:
            rows, case_failures = compare_case(case, d, images, labels, steps, batch)
        print_case(case, rows, time.time() - t0)
        for line in case_failures[:MAX_FAILED_LINES]:
            print(line)
        if len(case_failures) > MAX_FAILED_LINES:
            print(f"FAILED: {case}: ... and {len(case_failures) - MAX_FAILED_LINES} more differences over tolerance")
        failures += case_failures
        if not case_failures and not a.keep:
            os.remove(out)
    failed = len({f.split(":")[1] for f in failures})
    print(f"torch_crosscheck: {len(cases) - failed} of {len(cases)} cases passed ({time.time() - start:.1f} s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
