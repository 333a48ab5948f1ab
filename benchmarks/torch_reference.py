#!/usr/bin/python3
"""The same training step as bench_train, and the same inference call as bench_infer, in
PyTorch (Debian's python3-torch), for comparison.

    torch_reference.py --config bn --depth 25 --batch 128 --steps 300 --threads 1
    torch_reference.py --infer eager --batch 1 --calls 2000     one forward in eval mode, torch.no_grad()
    torch_reference.py --infer script --batch 1                 the same, TorchScript traced and frozen

Same network (the seed's MLP: Linear+BatchNorm1d+ReLU, Linear+ReLU, or BN with a skip
connection every two layers; or a remedy's: Linear+SELU with LeCun-normal kernels,
Linear+LayerNorm+ReLU, or Linear+ReLU pairs in ReZero blocks x + alpha F(x)), Keras'
initialisation otherwise (glorot-uniform kernels, zero biases), BatchNorm with eps 1e-3 and
momentum 0.01 (Keras' 0.99), LayerNorm with eps 1e-3 (Keras'), RMSprop (lr 1e-3, rho 0.9,
eps 1e-7), cross-entropy on logits, MNIST-shaped random data. Prints what it measured and,
last, samples_per_s=<number> (training) or us_per_call=<number> (--infer: the median over
11 blocks of calls, as bench_infer).
"""
import argparse
import resource
import statistics
import time

import torch
from torch import nn


class Residual(nn.Module):
    def __init__(self, block):
        super().__init__()
        self.block = block

    def forward(self, x):
        return x + self.block(x)


class ReZero(nn.Module):
    """x + alpha F(x), alpha a trainable scalar from 0 (Bachlechner et al. 2020)."""

    def __init__(self, block):
        super().__init__()
        self.block = block
        self.alpha = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return x + self.alpha * self.block(x)


def dense(i, o, lecun=False):
    layer = nn.Linear(i, o)
    if lecun:  # LeCun-normal: N(0, 1 / fan_in), as SELU needs
        nn.init.normal_(layer.weight, std=i ** -0.5)
    else:
        nn.init.xavier_uniform_(layer.weight)  # glorot-uniform, as Keras
    nn.init.zeros_(layer.bias)
    return layer


def bn(n):
    return nn.BatchNorm1d(n, eps=1e-3, momentum=0.01)


def network(config, depth, width=128):
    layers = []
    if config == "bn":
        layers += [dense(784, width), bn(width), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [dense(width, width), bn(width), nn.ReLU()]
    elif config == "plain":
        layers += [dense(784, width), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [dense(width, width), nn.ReLU()]
    elif config == "skip":
        layers += [dense(784, width), bn(width), nn.ReLU()]
        for _ in range((depth - 1) // 2):
            layers += [dense(width, width), bn(width), nn.ReLU(),
                       Residual(nn.Sequential(dense(width, width), bn(width))), nn.ReLU()]
    elif config == "selu":
        layers += [dense(784, width, lecun=True), nn.SELU()]
        for _ in range(depth - 2):
            layers += [dense(width, width, lecun=True), nn.SELU()]
    elif config == "layernorm":
        layers += [dense(784, width), nn.LayerNorm(width, eps=1e-3), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [dense(width, width), nn.LayerNorm(width, eps=1e-3), nn.ReLU()]
    else:  # rezero
        layers += [dense(784, width), nn.ReLU()]
        for _ in range((depth - 1) // 2):
            layers.append(ReZero(nn.Sequential(dense(width, width), nn.ReLU(), dense(width, width), nn.ReLU())))
    layers.append(dense(width, 10))
    return nn.Sequential(*layers)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="bn", choices=["bn", "plain", "skip", "selu", "layernorm", "rezero"])
    ap.add_argument("--depth", type=int, default=25)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--infer", choices=["eager", "script"], help="time inference calls instead of training steps")
    ap.add_argument("--calls", type=int, default=2000, help="timed inference calls")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    net = network(a.config, a.depth)
    if a.infer:
        return infer(a, net)
    opt = torch.optim.RMSprop(net.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(a.batch, 784)
    y = torch.randint(0, 10, (a.batch,))
    net.train()

    def step():
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    seconds = time.perf_counter() - t0
    print(f"pytorch {torch.__version__} train: config={a.config} depth={a.depth} batch={a.batch} steps={a.steps} "
          f"threads={torch.get_num_threads()} seconds={seconds:.3f} blas={torch.__config__.parallel_info().splitlines()[0]}")
    print(f"memory: peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.1f}")
    print(f"samples_per_s={a.steps * a.batch / seconds:.1f}")


def infer(a, net):
    net.eval()
    x = torch.rand(a.batch, 784)
    with torch.no_grad():
        if a.infer == "script":
            net = torch.jit.freeze(torch.jit.trace(net, x))
        blocks, per_block = 11, max(1, a.calls // 11)
        for _ in range(per_block):  # warm-up (and TorchScript's profiling runs)
            net(x)
        times = []
        for _ in range(blocks):
            t0 = time.perf_counter()
            for _ in range(per_block):
                net(x)
            times.append((time.perf_counter() - t0) / per_block)
    print(f"pytorch {torch.__version__} infer: mode={a.infer} config={a.config} depth={a.depth} batch={a.batch} "
          f"calls={blocks * per_block} threads={torch.get_num_threads()}")
    print(f"us_per_call={statistics.median(times) * 1e6:.3f}")


if __name__ == "__main__":
    main()
