#!/usr/bin/python3
"""vs-pytorch.py: whole-network inference, dae next to PyTorch, same run.

Runs the same network (the layers and weights of a .dae file, default the
tutorial network), the same batch and the same thread counts in PyTorch
(eval, no_grad) and in build/bench/dae-bench --network-only, one after the
other for each thread count, and prints tiles/s and the ratio.  Each figure
is the best of --reps timed runs of at least --seconds.

    bench/vs-pytorch.py [--bench build/bench/dae-bench] [--threads 1,2]

Needs python3-torch (Debian) and numpy; training is compared by
bench/train-vs-pytorch.py.
"""

import argparse
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))


def torch_net(m):
    """A plain nn.Sequential for chains of conv/pool/upsample (what
    frameworks run), else daemodel.to_torch()."""
    import torch
    import daemodel as dm

    if any(l.kind not in (dm.CONV3X3, dm.MAXPOOL2, dm.UPSAMPLE2) for l in m.layers):
        return dm.to_torch(m)
    mods, cin, off = [], m.in_channels, 0
    for l in m.layers:
        if l.kind == dm.CONV3X3:
            conv = torch.nn.Conv2d(cin, l.out_channels, 3, padding=1)
            nw = conv.weight.numel()
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(m.params[off:off + nw].copy()).reshape(conv.weight.shape))
                conv.bias.copy_(torch.from_numpy(m.params[off + nw:off + nw + l.out_channels].copy()))
            off += nw + l.out_channels
            mods.append(conv)
            cin = l.out_channels
        elif l.kind == dm.MAXPOOL2:
            mods.append(torch.nn.MaxPool2d(2, ceil_mode=True))
        else:
            mods.append(torch.nn.Upsample(scale_factor=2, mode="nearest"))
        if l.kind == dm.CONV3X3 or l.act != dm.NONE:
            if l.act == dm.RELU:
                mods.append(torch.nn.ReLU())
            elif l.act == dm.SIGMOID:
                mods.append(torch.nn.Sigmoid())
    return torch.nn.Sequential(*mods).eval()


def best_rate(fn, seconds, reps, cpu_threads=0):
    """Best calls per second of reps runs of at least seconds; with
    cpu_threads, per (process CPU seconds / cpu_threads) instead."""
    fn()
    best = 0.0
    for _ in range(reps):
        calls, t0, c0 = 0, time.perf_counter(), time.process_time()
        while True:
            fn()
            calls += 1
            t = time.perf_counter() - t0
            if t >= seconds:
                break
        if cpu_threads:
            t = (time.process_time() - c0) / cpu_threads
        best = max(best, calls / t)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", default=None, help="the dae-bench program (default: build*/bench/dae-bench)")
    ap.add_argument("--model", default=os.path.join(ROOT, "tests", "data", "ref", "tutorial.dae"))
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", default="1,%d" % os.cpu_count())
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cpu-time", action="store_true",
                    help="rates per CPU second of each process / threads (as dae-bench --cpu-time), "
                         "for a machine shared with other work")
    a = ap.parse_args()

    bench = a.bench
    if bench is None:
        for d in sorted(os.listdir(ROOT)):
            cand = os.path.join(ROOT, d, "bench", "dae-bench")
            if d.startswith("build") and os.access(cand, os.X_OK):
                bench = cand
                break
    if bench is None or not os.access(bench, os.X_OK):
        sys.exit("vs-pytorch.py: no dae-bench found; build it or pass --bench")
    try:
        import torch
    except ImportError:
        sys.exit("vs-pytorch.py: PyTorch is not installed (Debian: python3-torch)")
    import daemodel as dm

    m = dm.load(a.model)
    net = torch_net(m)
    x = torch.rand(a.batch, m.in_channels, m.patch_h, m.patch_w)
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    print("model %s, batch %d, torch %s, load average %s%s" % (
        a.model, a.batch, torch.__version__, load, ", rates per CPU second / threads" if a.cpu_time else ""))
    print("%7s %16s %16s %8s" % ("threads", "PyTorch tiles/s", "dae tiles/s", "ratio"))
    for t in [int(v) for v in a.threads.split(",")]:
        torch.set_num_threads(t)

        def run():
            with torch.no_grad():
                net(x)

        pt = best_rate(run, a.seconds, a.reps, t if a.cpu_time else 0) * a.batch
        out = subprocess.run([bench, "--network-only", "--model", a.model, "--batch", str(a.batch),
                              "--threads", str(t), "--seconds", str(a.seconds), "--reps", str(a.reps)]
                             + (["--cpu-time"] if a.cpu_time else []),
                             check=True, capture_output=True, text=True).stdout
        ours = None
        for line in out.splitlines():
            mm = re.search(r"isa=(\S+) path=auto threads=(\d+) .*tiles_per_s=([\d.]+)", line)
            if mm and int(mm.group(2)) == t:
                isa, ours = mm.group(1), float(mm.group(3))
        if ours is None:
            sys.exit("vs-pytorch.py: unexpected dae-bench output:\n" + out)
        print("%7d %16.0f %16.0f %7.2fx   (dae kernels: %s)" % (t, pt, ours, ours / pt, isa))


if __name__ == "__main__":
    main()
