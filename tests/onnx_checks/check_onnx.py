#!/usr/bin/python3
"""Judges layerwise's ONNX files with other people's code (ctest -R onnx).

  check_onnx.py export_checker_opencv --helper onnx_models --work DIR
      For every network onnx_models knows, save_onnx's file must pass Debian's python3-onnx
      onnx.checker.check_model(full_check=True), and OpenCV's DNN module
      (cv2.dnn.readNetFromONNX) must compute layerwise's inference outputs from it.
  check_onnx.py import_torch --helper onnx_models --work DIR
      For the seed's networks at depth 10 and a network with every layer type, built in
      PyTorch with parameters away from their defaults and written by torch.onnx.export
      (opset 17), load_onnx must give PyTorch's outputs; a graph of the wrong architecture
      must be refused, naming the first node that differs.

Outputs agree when max|ours - theirs| <= 1e-5 * max|theirs| (float32 on both sides).
OpenCV 4.6 (Debian 12) has no LayerNormalization and fails on ReduceMean over a 2-D input,
so the networks with LayerNorm are judged by the checker only.
"""
import argparse
import pathlib
import subprocess
import sys

import numpy as np

TOLERANCE = 1e-5
NETWORKS = ["bn", "plain", "skip", "selu", "layernorm", "rezero", "every", "every_but_layernorm"]
WITH_LAYERNORM = {"layernorm", "every"}


def relative_error(ours, theirs):
    if ours.shape != theirs.shape:
        raise SystemExit(f"shapes differ: {ours.shape} against {theirs.shape}")
    return float(np.max(np.abs(ours - theirs)) / max(np.max(np.abs(theirs)), 1e-30))


def helper(args, *argv):
    result = subprocess.run([args.helper, *argv], capture_output=True, text=True)
    return result


def export_checker_opencv(args):
    import cv2
    import onnx

    failures = []
    for name in NETWORKS:
        model_path = args.work / f"{name}.onnx"
        inputs, outputs = args.work / f"{name}_in.npy", args.work / f"{name}_out.npy"
        r = helper(args, "export", name, str(model_path), str(inputs), str(outputs))
        if r.returncode != 0:
            failures.append(f"{name}: onnx_models export failed: {r.stderr.strip()}")
            continue
        model = onnx.load(str(model_path))
        try:
            onnx.checker.check_model(model, full_check=True)
        except Exception as e:  # the checker's own exceptions
            failures.append(f"{name}: onnx.checker refuses it: {e}")
            continue
        names = {t.name for t in model.graph.initializer}
        if "dense/kernel" not in names or "dense/bias" not in names:
            failures.append(f"{name}: initializers are not named after the parameters: {sorted(names)[:4]}")
        ops = sorted({n.op_type for n in model.graph.node})
        if name in WITH_LAYERNORM:
            print(f"{name}: onnx.checker (full_check) accepts it; ops {ops}; OpenCV 4.6 cannot run LayerNormalization: "
                  "not run there")
            continue
        try:
            net = cv2.dnn.readNetFromONNX(str(model_path))
            net.setInput(np.load(inputs))
            theirs = net.forward()
        except cv2.error as e:
            failures.append(f"{name}: OpenCV cannot run it: {str(e).strip().splitlines()[-1]}")
            continue
        err = relative_error(np.load(outputs), theirs)
        verdict = "ok" if err <= TOLERANCE else "FAILED"
        print(f"{name}: onnx.checker (full_check) accepts it; OpenCV's outputs differ from ours by {err:.2e} "
              f"relative: {verdict}; ops {ops}")
        if err > TOLERANCE:
            failures.append(f"{name}: OpenCV's outputs differ by {err:.2e} relative (tolerance {TOLERANCE})")
    return failures


def torch_networks():
    import torch
    from torch import nn

    class Residual(nn.Module):
        def __init__(self, *layers):
            super().__init__()
            self.block = nn.Sequential(*layers)

        def forward(self, x):
            return x + self.block(x)

    class ReZero(nn.Module):
        def __init__(self, *layers):
            super().__init__()
            self.block = nn.Sequential(*layers)
            self.alpha = nn.Parameter(torch.tensor([0.5]))

        def forward(self, x):
            return x + self.alpha * self.block(x)

    def mlp(first, hidden, depth=10):
        layers = [nn.Linear(784, 128), *first()]
        for _ in range(depth - 2):
            layers += [nn.Linear(128, 128), *hidden()]
        return nn.Sequential(*layers, nn.Linear(128, 10))

    def skip():
        layers = [nn.Linear(784, 128), nn.BatchNorm1d(128), nn.ReLU()]
        for _ in range((10 - 1) // 2):
            layers += [nn.Linear(128, 128), nn.BatchNorm1d(128), nn.ReLU(),
                       Residual(nn.Linear(128, 128), nn.BatchNorm1d(128)), nn.ReLU()]
        return nn.Sequential(*layers, nn.Linear(128, 10))

    def rezero():
        layers = [nn.Linear(784, 128), nn.ReLU()]
        for _ in range((10 - 1) // 2):
            layers.append(ReZero(nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU()))
        return nn.Sequential(*layers, nn.Linear(128, 10))

    def every():
        return nn.Sequential(
            nn.Linear(16, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 32), nn.LayerNorm(32), nn.GELU(),
            Residual(nn.Linear(32, 32), nn.Tanh()), ReZero(nn.Linear(32, 32), nn.SELU()), nn.Dropout(0.3),
            nn.Linear(32, 32), nn.ELU(0.7), nn.AlphaDropout(0.2), nn.Linear(32, 32), nn.LeakyReLU(0.2),
            nn.Linear(32, 24), nn.Sigmoid(), nn.Linear(24, 24), nn.GELU(approximate="tanh"), nn.Linear(24, 24),
            nn.GELU(approximate="tanh"), nn.Linear(24, 10))

    return {
        "bn": lambda: mlp(lambda: [nn.BatchNorm1d(128), nn.ReLU()], lambda: [nn.BatchNorm1d(128), nn.ReLU()]),
        "plain": lambda: mlp(lambda: [nn.ReLU()], lambda: [nn.ReLU()]),
        "skip": skip,
        "selu": lambda: mlp(lambda: [nn.SELU()], lambda: [nn.SELU()]),
        "layernorm": lambda: mlp(lambda: [nn.LayerNorm(128), nn.ReLU()], lambda: [nn.LayerNorm(128), nn.ReLU()]),
        "rezero": rezero,
        "every": every,
    }


def import_torch(args):
    import torch
    from torch import nn

    torch.manual_seed(20261203)
    failures = []
    for name, build in torch_networks().items():
        model = build()
        with torch.no_grad():  # normalisation parameters and statistics away from their defaults
            for m in model.modules():
                if isinstance(m, (nn.BatchNorm1d, nn.LayerNorm)):
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.5, 0.5)
                if isinstance(m, nn.BatchNorm1d):
                    m.running_mean.uniform_(-0.5, 0.5)
                    m.running_var.uniform_(0.5, 2.0)
        model.eval()
        width = model[0].in_features
        x = torch.rand(6, width) if width == 784 else 4 * torch.rand(6, width) - 2
        for softmax in ([False, True] if name == "plain" else [False]):
            exported = nn.Sequential(model, nn.Softmax(dim=1)) if softmax else model
            label = name + (" + Softmax" if softmax else "")
            path = args.work / f"torch_{name}{'_softmax' if softmax else ''}.onnx"
            torch.onnx.export(exported, x, str(path), opset_version=17, input_names=["x"], output_names=["y"],
                              dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
            inputs, outputs = args.work / f"torch_{name}_in.npy", args.work / f"torch_{name}_out.npy"
            np.save(inputs, x.numpy())
            r = helper(args, "import", name, str(path), str(inputs), str(outputs))
            if r.returncode != 0:
                failures.append(f"{label}: load_onnx refused PyTorch's export: {r.stderr.strip()}")
                continue
            if softmax != ("ends in Softmax" in r.stdout):
                failures.append(f"{label}: load_onnx did not report the Softmax as it is: {r.stdout.strip()}")
            with torch.no_grad():
                theirs = model(x).numpy()  # logits: the network's own output, without the Softmax
            err = relative_error(np.load(outputs), theirs)
            verdict = "ok" if err <= TOLERANCE else "FAILED"
            print(f"{label}: {r.stdout.strip()}; our outputs differ from PyTorch's by {err:.2e} relative: {verdict}")
            if err > TOLERANCE:
                failures.append(f"{label}: outputs differ from PyTorch's by {err:.2e} relative (tolerance {TOLERANCE})")

    # The wrong architecture: PyTorch's plain network read as the bn network.
    r = helper(args, "import", "bn", str(args.work / "torch_plain.onnx"), str(args.work / "torch_plain_in.npy"),
               str(args.work / "wrong_out.npy"))
    expected = "node 1 (Relu) where the network has BatchNorm<128> (layer 1)"
    if r.returncode == 0 or expected not in r.stderr:
        failures.append(f"plain read as bn: expected a refusal naming '{expected}', got: {r.stderr.strip() or 'success'}")
    else:
        print(f"plain read as bn: refused: {r.stderr.strip()}")
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("check", choices=["export_checker_opencv", "import_torch"])
    parser.add_argument("--helper", required=True, help="the onnx_models program")
    parser.add_argument("--work", required=True, type=pathlib.Path, help="a directory for the files")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    failures = export_checker_opencv(args) if args.check == "export_checker_opencv" else import_torch(args)
    for f in failures:
        print("FAILED: " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
