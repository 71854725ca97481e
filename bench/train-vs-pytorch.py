#!/usr/bin/python3
"""train-vs-pytorch: training speed of dae-train against PyTorch, side by side.

Trains the tutorial's network (conv 32 relu, pool, conv 32 relu, pool,
conv 32 relu, up, conv 32 relu, up, conv 1 sigmoid; BCE; Adam) at the same
batch size and thread count with both, alternating runs so that both see the
same machine load, and prints images per second and the ratio.

  bench/train-vs-pytorch.py [--build build] [--threads 2] [--batch 128]
                            [--images 9000] [--epochs 3] [--rounds 3]

Data: MNIST's training images from ../shared/data/mnist (or --data FILE), else
synthetic strokes written to a temporary IDX file.  Each side draws the noise
once (the tutorial's recipe), so the timed loop is forward, backward and Adam
on shuffled batches.  dae-train reports images/s per epoch; the first epoch
of each run is a warm-up and is not counted (nor is PyTorch's).  Each run is
a process of its own (PyTorch's too: its idle OpenMP threads must not share
the cores with dae-train), and the order alternates from round to round so
that a drift in the machine's speed favours neither.  The median and the
best round of each are compared: on a busy machine, the best is the least
disturbed.

Needs python3-torch; prints a note and exits 0 without it.
"""

import argparse
import gzip
import os
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_idx(path, limit):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    n, h, w = struct.unpack(">III", data[4:16])
    n = min(n, limit)
    return data[16:16 + n * h * w], n, h, w


def synthetic_idx(path, n):
    """Strokes on black, MNIST-like enough for a speed test."""
    import random
    rnd = random.Random(1)
    px = bytearray(n * 784)
    for k in range(n):
        for _ in range(3):
            x, y = rnd.randrange(4, 24), rnd.randrange(4, 24)
            dx, dy = rnd.choice((-1, 0, 1)), rnd.choice((-1, 0, 1))
            for _ in range(12):
                if 0 <= x < 28 and 0 <= y < 28:
                    px[k * 784 + y * 28 + x] = 255
                x, y = x + dx, y + dy
    with open(path, "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28))
        f.write(bytes(px))


def run_dae(exe, data, args):
    cmd = [exe, "--noise", "gaussian:0.5", "--noise-once", "--epochs", str(args.epochs),
           "--batch", str(args.batch), "--threads", str(args.threads),
           "--limit", str(args.images), "--seed", "1", "-o", os.devnull + ".dae", data]
    with tempfile.TemporaryDirectory() as tmp:
        cmd[cmd.index(os.devnull + ".dae")] = os.path.join(tmp, "bench.dae")
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rates = [float(m) for m in re.findall(r"([0-9.]+) img/s", out)]
    return statistics.median(rates[1:]) if len(rates) > 1 else rates[0]


def run_torch(torch, x_clean, args):
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    net = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
        nn.Conv2d(32, 1, 3, padding=1), nn.Sigmoid())
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    x_noisy = (x_clean + 0.5 * torch.randn_like(x_clean)).clamp(0, 1)
    n = x_clean.shape[0]
    rates = []
    for _ in range(args.epochs):
        perm = torch.randperm(n)
        t0 = time.perf_counter()
        for s in range(0, n, args.batch):
            idx = perm[s:s + args.batch]
            opt.zero_grad()
            loss = F.binary_cross_entropy(net(x_noisy[idx]), x_clean[idx])
            loss.backward()
            opt.step()
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates[1:]) if len(rates) > 1 else rates[0]


def run_torch_child(data, args):
    """run_torch in a child process of its own; returns its images/s."""
    cmd = [sys.executable, os.path.abspath(__file__), "--torch-child", "--data", data,
           "--threads", str(args.threads), "--batch", str(args.batch),
           "--images", str(args.images), "--epochs", str(args.epochs)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return float(out.split()[-1])


def loadavg():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"),
                    help="meson build directory holding train/dae-train")
    ap.add_argument("--data", help="IDX file of 28x28 training images")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--images", type=int, default=9000)
    ap.add_argument("--epochs", type=int, default=3, help="per run; the first is warm-up")
    ap.add_argument("--rounds", type=int, default=3, help="alternating runs of each")
    ap.add_argument("--torch-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    try:
        import torch
    except ImportError:
        print("train-vs-pytorch: python3-torch is not installed; nothing to compare")
        return 0
    if args.torch_child:
        px, n, h, w = load_idx(args.data, args.images)
        x = torch.frombuffer(bytearray(px), dtype=torch.uint8).float().div(255)
        print("%.1f" % run_torch(torch, x.reshape(n, 1, h, w), args))
        return 0
    exe = os.path.join(args.build, "train", "dae-train")
    if not os.access(exe, os.X_OK):
        sys.exit("train-vs-pytorch: %s not found (build first, or pass --build)" % exe)

    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or os.path.join(ROOT, "..", "shared", "data", "mnist",
                                         "train-images-idx3-ubyte.gz")
        if not os.path.exists(data):
            data = os.path.join(tmp, "synthetic-idx3-ubyte")
            synthetic_idx(data, args.images)
        _, n, h, w = load_idx(data, args.images)
        args.images = n

        print("tutorial network, batch %d, %d threads, %d images, %s"
              % (args.batch, args.threads, n, os.path.relpath(data)))
        print("%-6s %12s %12s %7s %6s" % ("round", "dae img/s", "torch img/s", "ratio", "load"))
        ours, theirs = [], []
        for r in range(args.rounds):
            load = loadavg()
            if r % 2 == 0:
                a = run_dae(exe, data, args)
                b = run_torch_child(data, args)
            else:
                b = run_torch_child(data, args)
                a = run_dae(exe, data, args)
            ours.append(a)
            theirs.append(b)
            print("%-6d %12.0f %12.0f %7.2f %6.2f" % (r + 1, a, b, a / b, load))
        a, b = statistics.median(ours), statistics.median(theirs)
        print("%-6s %12.0f %12.0f %7.2f" % ("median", a, b, a / b))
        # On a loaded machine the best round of each is the least disturbed.
        a, b = max(ours), max(theirs)
        print("%-6s %12.0f %12.0f %7.2f" % ("best", a, b, a / b))
        print("(torch %s; load = 1-minute load average before each round)" % torch.__version__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
