#!/usr/bin/python3
"""Writes a small MNIST-shaped data set (IDX files) for the study tests: DIR N_TRAIN N_TEST.
Each class is a bright 7x7 block at its own place plus noise, so a network can learn it."""
import os
import random
import struct
import sys


def write(path, magic_dims, payload):
    with open(path, "wb") as f:
        f.write(struct.pack(">I", 0x00000800 | len(magic_dims)))
        for d in magic_dims:
            f.write(struct.pack(">I", d))
        f.write(payload)


def make(prefix, n, rng):
    pixels, labels = bytearray(), bytearray()
    for i in range(n):
        label = i % 10
        img = [rng.randrange(0, 60) for _ in range(784)]
        r0, c0 = 3 + 7 * (label // 4), 3 + 7 * (label % 4)
        for r in range(r0, r0 + 7):
            for c in range(c0, c0 + 7):
                img[r * 28 + c] = 255
        pixels += bytes(img)
        labels.append(label)
    write(prefix + "-images-idx3-ubyte", [n, 28, 28], bytes(pixels))
    write(prefix + "-labels-idx1-ubyte", [n], bytes(labels))


out, n_train, n_test = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out, exist_ok=True)
rng = random.Random(1)
make(os.path.join(out, "train"), n_train, rng)
make(os.path.join(out, "t10k"), n_test, rng)
