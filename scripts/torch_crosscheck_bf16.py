#!/usr/bin/python3
"""Cross-checks layerwise's bfloat16 inference forms against PyTorch.

    torch_crosscheck_bf16.py --helper build/tests/dump_bf16 --work DIR [--perturb MEMBER:REL]

tests/crosscheck/dump_bf16 writes a small float network (Dense 20-33, ReLU, Dense 33-17, ReLU,
Dense 17-5), its to_bf16 and to_bf16_dot forms and their outputs on 13 rows. This script
checks, with PyTorch's own bfloat16 (torch.Tensor.to(torch.bfloat16): round to nearest, ties
to even):

    weights   each form's W, widened, is torch's W.to(bfloat16) to the bit
    to_bf16   y = x W~ + b per Dense, in float64 with torch's rounded weights
    to_bf16_dot   the same with each Dense's input x rounded by torch too: x~ W~ + b
    float     the float network, in float64

Outputs are compared as ||a - b|| / ||b|| against 1e-5 (float32 sums against float64). So
that the check can be seen to tell the forms apart, the to_bf16 output is also compared with
the to_bf16_dot reference, and must differ from it by more than 1e-4: the inputs' rounding
shows. --perturb is the helper's (tests/crosscheck/dump.hpp): scale one member, and this
script must fail naming it. Prints one line per check; exits 1 on the first failure list.
"""
import argparse
import io
import os
import subprocess
import sys
import zipfile

import numpy as np
import torch

TOLERANCE = 1e-5   # float32 sums of a few dozen terms against float64
DISTINCT = 1e-4    # to_bf16 against to_bf16_dot's reference: at least this far apart


def load(path):
    with zipfile.ZipFile(path) as z:
        return {n[:-4]: np.load(io.BytesIO(z.read(n))) for n in z.namelist()}


def rounded(a):
    """a rounded to bfloat16 by PyTorch, widened back to float32."""
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(torch.bfloat16).to(torch.float32).numpy()


def forward(d, round_inputs, round_weights):
    """The network in float64, its Dense weights and inputs rounded by torch where asked."""
    h = torch.from_numpy(d["x"].astype(np.float64))
    for k in range(3):
        w = d[f"dense_{k}/kernel"]
        w = torch.from_numpy((rounded(w) if round_weights else w).astype(np.float64))
        b = torch.from_numpy(d[f"dense_{k}/bias"].astype(np.float64))
        if round_inputs:
            h = h.to(torch.float32).to(torch.bfloat16).to(torch.float64)  # x is float32 in the network
        h = h @ w + b
        if k < 2:
            h = torch.relu(h)
    return h.numpy()


def relative(a, b):
    return float(np.linalg.norm(a.astype(np.float64) - b) / np.linalg.norm(b))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--helper", required=True, help="the dump_bf16 program")
    ap.add_argument("--work", required=True, help="a folder for its .npz")
    ap.add_argument("--perturb", default="", help="MEMBER:REL, passed to the helper")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    path = os.path.join(a.work, "bf16.npz")
    cmd = [a.helper, "--out", path] + (["--perturb", a.perturb] if a.perturb else [])
    helper = subprocess.run(cmd, capture_output=True, text=True)
    if helper.returncode != 0:
        print(f"FAILED: dump_bf16 exited with {helper.returncode}: {helper.stderr.strip()}")
        return 1
    d = load(path)
    print(f"torch_crosscheck_bf16: PyTorch {torch.__version__}, {bytes(d['config']).decode()}")
    failures = []
    for form in ("bf16", "bf16_dot"):
        for k in range(3):
            ours, theirs = d[f"{form}/dense_{k}"], rounded(d[f"dense_{k}/kernel"])
            differ = int(np.count_nonzero(ours.view(np.uint32) != theirs.view(np.uint32)))
            print(f"  weights {form}/dense_{k}: {differ} of {ours.size} differ from torch's bfloat16")
            if differ:
                failures.append(f"FAILED: weights: {form}/dense_{k}: {differ} of {ours.size} differ from torch's bfloat16")
    references = {"y/float": forward(d, False, False), "y/bf16": forward(d, False, True),
                  "y/bf16_dot": forward(d, True, True)}
    for name, reference in references.items():
        error = relative(d[name], reference)
        print(f"  output {name}: {error:.2e} from the float64 reference (at most {TOLERANCE:.0e})")
        if not error <= TOLERANCE:
            failures.append(f"FAILED: output: {name}: {error:.2e} from the float64 reference")
    apart = relative(d["y/bf16"], references["y/bf16_dot"])
    print(f"  y/bf16 against to_bf16_dot's reference: {apart:.2e} (at least {DISTINCT:.0e}: the check sees the inputs' rounding)")
    if not apart >= DISTINCT:
        failures.append(f"FAILED: y/bf16 is only {apart:.2e} from to_bf16_dot's reference: the check cannot tell the forms apart")
    for f in failures:
        print(f)
    print("torch_crosscheck_bf16: " + ("passed" if not failures else f"{len(failures)} failed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
