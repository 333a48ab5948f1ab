"""The remedies' cross-check against PyTorch, in float64 (used by torch_crosscheck.py --remedies-helper).

tests/crosscheck/dump_remedies trains small networks built from the newer layers in double
(12 features, 16 wide, 4 classes, batch 32, 20 steps) and dumps, per case, the data, every
parameter after init and after each step, every step's logits, loss, gradients (before
clipping), learning rate, gradient norm, and each dropout layer's masks. This module builds
the same network from torch's own functions, starts it from our initial parameters and runs
the 20 steps freely with torch's optimizers, schedulers and clip_grad_norm_, handing our
dropout masks to torch (which has no way to take a mask), and compares:

    learning rate (each step)          |a - b| / |b|, b from torch's schedulers (a warm-up before
                                       a schedule multiplies the two, each from torch's own)
    logits, loss (each step)           ||a - b|| / ||b||
    gradients (each step)              ||a - b|| / ||b||
    parameters (each step)             ||a - b|| / max(||b - b_before||, FLOOR x the largest move)
    gradient norm (steps that clip)    |a - b| / |b|

Both sides compute in float64 and the networks are small, so the tolerances are tight: the
largest differences measured over all cases are in TOLERANCES' comments. A perturbation of
1e-6 of one gradient or of one parameter after its last update fails (the two ctest cases
crosscheck.torch_remedies_detects_*).

The layers (torch):
    Dense            y = x W + b                         (W: in x out, as ours; torch's weight is W^T)
    LayerNorm        F.layer_norm(x, (n,), gamma, beta, eps)
    SELU, ELU, LeakyReLU, GELU (exact and tanh), ReLU, Tanh, Sigmoid: torch.nn.functional's
    Dropout          x m / (1 - rate) with our mask m
    AlphaDropout     a (x m + alpha' (1 - m)) + b, alpha' = -SELU's scale x alpha, q = 1 - rate,
                     a = (q + alpha'^2 q (1 - q))^-1/2, b = -a alpha' (1 - q)  (F.alpha_dropout's)
    ReZero           x + alpha F(x)
    loss             mean -log(clip(softmax(z)_y, 1e-7, 1 - 1e-7)), as Keras (a clipped
                     probability passes no gradient; none is clipped here)
The optimizers: torch.optim.SGD (momentum, Nesterov, weight_decay), RMSprop (ours with epsilon
outside the root is torch's formula), Adam (ours is TF's, whose epsilon is torch's times
sqrt(1 - beta2^t): the case uses epsilon 1e-16, where the two differ by less than 1e-10 of a
step), AdamW; torch.nn.utils.clip_grad_norm_. SGD with momentum is compared at a constant
learning rate only: Keras' momentum (ours) holds lr g in its velocity and torch's holds g, so
the two differ once the rate changes.

The initialisers, from a case that only initialises: orthogonal as a property, W^T W = gain^2 I
(tall), W W^T = gain^2 I (wide) to 1e-5; glorot_uniform and he_uniform against samples of torch's
xavier_uniform_ and kaiming_uniform_ (two-sample Kolmogorov-Smirnov), he_normal and lecun_normal
(Keras' truncated normals, which torch does not have) against their distribution function.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

STEPS, BATCH, CLASSES = 20, 32, 4
STEPS_PER_EPOCH = 5  # the step schedule's epochs
CLIP = 1e-7
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
FLOOR = 1e-3  # a parameter's difference is judged against at least this x the largest move of the step
TOLERANCES = {  # the largest difference measured over all cases (float64 on both sides)
    "lr": 1e-12,     # 4.8e-16
    "logits": 1e-9,  # 3.3e-13 (rezero-adam: Adam's two epsilons; 1e-16 elsewhere)
    "loss": 1e-9,    # 5.8e-14
    "grad": 1e-8,    # 7.8e-10 (rezero-adam's alpha; 5e-15 elsewhere)
    "param": 1e-7,   # 4.7e-10 (rezero-adam's alpha; 1.7e-11 elsewhere)
    "norm": 1e-10,   # 4.5e-16
}
KS_LIMIT = 1.95  # sqrt(n m / (n + m)) D above this rejects the same distribution at 0.1%

# Each case: the network as a list of layers, input to output (names as visit.hpp walks them),
# the optimizer, the schedule and the clipping norm. Mirrors tests/crosscheck/dump_remedies.cpp.
CASES = {
    "layernorm-adamw": {
        "layers": [("dense", "dense"), ("layernorm", "layer_normalization", 1e-3), ("gelu", "none"),
                   ("dropout", 0, 0.25), ("dense", "dense_1"), ("layernorm", "layer_normalization_1", 1e-5),
                   ("relu",), ("dense", "dense_2")],
        "optimizer": ("adamw", {"lr": 1e-2, "weight_decay": 0.05}),
        "schedule": ("warmup", 5, ("cosine", 0.0)), "clip": 0.0},
    "selu-nesterov": {
        "layers": [("dense", "dense"), ("selu",), ("alpha_dropout", 0, 0.2), ("dense", "dense_1"), ("selu",),
                   ("dense", "dense_2")],
        "optimizer": ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
        "schedule": ("constant",), "clip": 0.5},
    "rezero-adam": {
        "layers": [("dense", "dense"), ("elu", 0.7),
                   ("rezero", "rezero", [("dense", "dense_1"), ("leaky_relu", 0.05), ("dense", "dense_2"),
                                         ("gelu", "tanh")]),
                   ("dense", "dense_3")],
        "optimizer": ("adam", {"lr": 1e-2, "eps": 1e-16, "weight_decay": 1e-3}),
        "schedule": ("step", 2, 0.5), "clip": 0.0},
    "elu-rmsprop": {
        "layers": [("dense", "dense"), ("elu", 1.0), ("dense", "dense_1"), ("leaky_relu", 0.01),
                   ("dense", "dense_2")],
        "optimizer": ("rmsprop", {"lr": 1e-2, "alpha": 0.9, "eps": 1e-7, "weight_decay": 1e-3}),
        "schedule": ("constant",), "clip": 0.0},
    "gelu-momentum": {
        "layers": [("dense", "dense"), ("gelu", "none"), ("dropout", 0, 0.5), ("dense", "dense_1"), ("tanh",),
                   ("dense", "dense_2")],
        "optimizer": ("sgd", {"lr": 0.1, "momentum": 0.9}),
        "schedule": ("constant",), "clip": 1.0},
    "sigmoid-sgd-cosine": {
        "layers": [("dense", "dense"), ("sigmoid",), ("dense", "dense_1")],
        "optimizer": ("sgd", {"lr": 0.5}),
        "schedule": ("cosine", 0.1), "clip": 0.0},
}


def parameter_names(layers):
    kinds = {"dense": ("kernel", "bias"), "layernorm": ("gamma", "beta")}
    names = []
    for layer in layers:
        if layer[0] == "rezero":
            names += parameter_names(layer[2]) + [f"{layer[1]}/alpha"]
        else:
            names += [f"{layer[1]}/{k}" for k in kinds.get(layer[0], ())]
    return names


def dropout_count(layers):
    return sum(dropout_count(l[2]) if l[0] == "rezero" else l[0] in ("dropout", "alpha_dropout") for l in layers)


def run(layers, h, p, masks):
    """The forward of `layers` on h with parameters p and this step's dropout masks (by index)."""
    for layer in layers:
        kind = layer[0]
        if kind == "dense":
            h = h @ p[layer[1] + "/kernel"] + p[layer[1] + "/bias"]
        elif kind == "layernorm":
            n = layer[1]
            h = F.layer_norm(h, (h.shape[1],), p[n + "/gamma"], p[n + "/beta"], eps=layer[2])
        elif kind == "relu":
            h = F.relu(h)
        elif kind == "selu":
            h = F.selu(h)
        elif kind == "elu":
            h = F.elu(h, alpha=layer[1])
        elif kind == "leaky_relu":
            h = F.leaky_relu(h, negative_slope=layer[1])
        elif kind == "gelu":
            h = F.gelu(h, approximate=layer[1])
        elif kind == "tanh":
            h = torch.tanh(h)
        elif kind == "sigmoid":
            h = torch.sigmoid(h)
        elif kind == "dropout":
            h = h * masks[layer[1]] / (1 - layer[2])
        elif kind == "alpha_dropout":
            m, q = masks[layer[1]], 1 - layer[2]
            alpha = -SELU_SCALE * SELU_ALPHA
            a = (q + alpha * alpha * q * (1 - q)) ** -0.5
            h = a * (h * m + alpha * (1 - m)) + (-a * alpha * (1 - q))
        elif kind == "rezero":
            h = h + p[layer[1] + "/alpha"] * run(layer[2], h, p, masks)
        else:
            raise ValueError(f"unknown layer kind {kind}")
    return h


def keras_loss(logits, labels):
    """mean_i -log(clip(p_i,y_i, 1e-7, 1 - 1e-7)); a clipped probability passes no gradient."""
    logp = torch.log_softmax(logits, dim=1).gather(1, labels[:, None])[:, 0]
    py = torch.exp(logp).detach()
    clipped = (py < CLIP) | (py > 1 - CLIP)
    return torch.where(clipped, -torch.log(py.clamp(CLIP, 1 - CLIP)), -logp).mean()


def make_optimizer(spec, params):
    kind, kw = spec
    if kind == "sgd":
        return torch.optim.SGD(params, **kw)
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, **kw)
    if kind == "adam":
        return torch.optim.Adam(params, **kw)
    if kind == "adamw":
        return torch.optim.AdamW(params, **kw)
    raise ValueError(kind)


def factors(schedule, steps):
    """The learning-rate factor of each step from torch's schedulers, each run on an optimizer
    of its own at lr 1 (a warm-up multiplies the factors of LinearLR and of the schedule after it)."""
    kind = schedule[0]
    if kind == "warmup":
        w = schedule[1]
        warm = factors(("linear", w), steps)
        return [a * b for a, b in zip(warm, factors(schedule[2], steps))]
    p = [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))]
    opt = torch.optim.SGD(p, lr=1.0)
    per_epoch = False
    if kind == "constant":
        return [1.0] * steps
    if kind == "linear":
        s = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1 / schedule[1], total_iters=schedule[1] - 1)
    elif kind == "cosine":
        s = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=schedule[1])
    elif kind == "step":
        s = torch.optim.lr_scheduler.StepLR(opt, step_size=schedule[1], gamma=schedule[2])
        per_epoch = True
    else:
        raise ValueError(kind)
    out = []
    for t in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        if not per_epoch or (t + 1) % STEPS_PER_EPOCH == 0:
            s.step()
    return out


def norm(v):
    return float(np.linalg.norm(np.asarray(v, dtype=np.float64)))


def compare_case(case, d):
    """Runs the case in torch from our initial parameters; returns (worst, failures): worst maps a
    category to (value, where), failures are FAILED lines."""
    spec = CASES[case]
    failures = []
    worst = {}

    def record(category, value, where):
        old = worst.get(category)
        if old is None or (not np.isnan(old[0]) and (np.isnan(value) or value > old[0])):
            worst[category] = (value, where)

    expected = f"case={case} steps={STEPS} batch={BATCH}"
    got = bytes(d["config"]).decode()
    if not got.startswith(expected):
        return {}, [f"FAILED: {case}: dump: it says '{got}', expected '{expected} ...'"]
    names = parameter_names(spec["layers"])
    ours = sorted(k[len("params/"):] for k in d.files if k.startswith("params/"))
    if sorted(names) != ours:
        return {}, [f"FAILED: {case}: names: ours {ours}, the reference's {sorted(names)}"]
    p = {k: torch.tensor(d["params/" + k][0], dtype=torch.float64, requires_grad=True) for k in names}
    opt = make_optimizer(spec["optimizer"], [p[k] for k in names])
    base_lr = spec["optimizer"][1]["lr"]
    lr = [base_lr * f for f in factors(spec["schedule"], STEPS)]
    x = torch.tensor(d["x"], dtype=torch.float64)
    y = torch.tensor(d["labels"].astype(np.int64))
    masks = [torch.tensor(d[f"mask/{k}"].astype(np.float64)) for k in range(dropout_count(spec["layers"]))]
    for t in range(1, STEPS + 1):
        rows = slice((t - 1) * BATCH, t * BATCH)
        for group in opt.param_groups:
            group["lr"] = lr[t - 1]
        record("lr", abs(float(d["lr"][t - 1]) - lr[t - 1]) / lr[t - 1], f"step {t}")
        opt.zero_grad()
        logits = run(spec["layers"], x[rows], p, [m[t - 1] for m in masks])
        loss = keras_loss(logits, y[rows])
        loss.backward()
        record("logits", norm(d["logits"][t - 1] - logits.detach().numpy()) / norm(logits.detach().numpy()),
               f"step {t}")
        record("loss", abs(float(d["loss"][t - 1]) - loss.item()) / abs(loss.item()), f"step {t}")
        for k in names:
            g = p[k].grad.numpy()
            record("grad", norm(d["grad/" + k][t - 1] - g) / max(norm(g), 1e-300), f"{k} (step {t})")
        if spec["clip"] > 0:
            total = float(torch.nn.utils.clip_grad_norm_([p[k] for k in names], spec["clip"]))
            record("norm", abs(float(d["norm"][t - 1]) - total) / total, f"step {t}")
        before = {k: p[k].detach().numpy().copy() for k in names}
        opt.step()
        moved = {k: norm(p[k].detach().numpy() - before[k]) for k in names}
        largest = max(moved.values())
        for k in names:
            diff = norm(d["params/" + k][t] - p[k].detach().numpy())
            record("param", diff / max(moved[k], FLOOR * largest, 1e-300), f"{k} (step {t})")
    for category, (value, where) in worst.items():
        if not value <= TOLERANCES[category]:  # NaN fails too
            failures.append(f"FAILED: {case}: {category}: {where}: {value:.2e} > {TOLERANCES[category]:.0e}")
    return worst, failures


def print_case(case, worst, seconds):
    spec = CASES[case]
    print(f"{case}  ({seconds:.1f} s): {spec['optimizer'][0]} {spec['optimizer'][1]}, schedule {spec['schedule']}, "
          f"clip {spec['clip'] or 'off'}")
    for category in ("lr", "logits", "loss", "grad", "param", "norm"):
        if category in worst:
            v, where = worst[category]
            print(f"  {category:8s} {v:9.2e}  (tol {TOLERANCES[category]:.0e})  {where}")


# ---- the initialisers ---------------------------------------------------------------------
def ks_two_sample(a, b):
    """sqrt(n m / (n + m)) times the largest distance between the two empirical distributions."""
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    d = np.abs(np.searchsorted(a, grid, side="right") / len(a) - np.searchsorted(b, grid, side="right") / len(b))
    return math.sqrt(len(a) * len(b) / (len(a) + len(b))) * float(d.max())


def ks_one_sample(a, cdf):
    a = np.sort(a)
    n = len(a)
    c = cdf(a)
    d = max(float((np.arange(1, n + 1) / n - c).max()), float((c - np.arange(n) / n).max()))
    return math.sqrt(n) * d


def truncated_normal_cdf(sigma):
    """The distribution function of N(0, sigma^2) truncated to [-2 sigma, 2 sigma]."""
    phi = np.vectorize(lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2))))
    lo, hi = phi(-2.0), phi(2.0)
    return lambda w: (phi(np.clip(w / sigma, -2, 2)) - lo) / (hi - lo)


def check_initialisers(d):
    """The init case's kernels; returns (lines, failures)."""
    lines, failures = [], []

    def judge(what, value, limit):
        ok = value <= limit
        lines.append(f"  {what:58s} {value:9.2e}  (limit {limit:.0e})")
        if not ok:
            failures.append(f"FAILED: init: {what}: {value:.2e} > {limit:.0e}")

    gain = math.sqrt(2)
    for name in ("orthogonal/tall", "orthogonal/square", "orthogonal/wide"):
        w = d[name].astype(np.float64)
        g = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
        judge(f"{name} {w.shape}: max |W^T W - gain^2 I| (gain sqrt 2)", float(np.abs(g - gain * gain *
                                                                                          np.eye(len(g))).max()), 1e-5)
    torch.manual_seed(0)
    fan_in, fan_out = d["glorot_uniform"].shape
    w = torch.empty(fan_out, fan_in, dtype=torch.float64)  # torch's weight is our kernel transposed
    judge(f"glorot_uniform {fan_in}x{fan_out} against torch xavier_uniform_ (KS)",
          ks_two_sample(d["glorot_uniform"].ravel(), torch.nn.init.xavier_uniform_(w).numpy().ravel()), KS_LIMIT)
    judge(f"he_uniform {fan_in}x{fan_out} against torch kaiming_uniform_(relu) (KS)",
          ks_two_sample(d["he_uniform"].ravel(),
                        torch.nn.init.kaiming_uniform_(w, nonlinearity="relu").numpy().ravel()), KS_LIMIT)
    for name, variance in (("he_normal", 2.0 / fan_in), ("lecun_normal", 1.0 / fan_in)):
        sigma = math.sqrt(variance) / 0.87962566103423978
        judge(f"{name} {fan_in}x{fan_out} against N(0, {sigma:.4f}^2) truncated at 2 sigma (KS)",
              ks_one_sample(d[name].ravel(), truncated_normal_cdf(sigma)), KS_LIMIT)
    # and the test can fail: a uniform sample is far from the truncated normal
    wrong = ks_one_sample(d["he_uniform"].ravel(), truncated_normal_cdf(math.sqrt(2.0 / fan_in) / 0.8796))
    lines.append(f"  (he_uniform against he_normal's distribution, for scale: {wrong:.1f})")
    if wrong <= KS_LIMIT:
        failures.append("FAILED: init: the KS test does not tell he_uniform from he_normal")
    return lines, failures
