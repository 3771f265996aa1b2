#!/usr/bin/env python
"""Forward, backward and double-backward timings of single ops at the WGAN models' shapes.

    python benchmarks/ops.py                 # minigrad alone
    python benchmarks/ops.py --compare-torch # PyTorch side by side, IN THE SAME PROCESS: both
                                             # engines' threads compete there, so the ratios
                                             # are rough; benchmarks/wgan_step.py times each
                                             # engine in a process of its own

For an op y = f(x, w):
  forward   y, with nothing recorded;
  backward  y, then the gradients of <y, r> for a fixed random r with respect to x and w;
  double    the gradient-penalty pattern: gx = d<y, r>/dx recorded, then the gradients of
            sum(gx^2) with respect to x and w.
Each figure is the median of several runs, in milliseconds.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ARGS = None


def arguments():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--compare-torch", action="store_true")
    return p.parse_args()


if __name__ == "__main__":
    ARGS = arguments()
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(ARGS.threads)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minigrad as mg  # noqa: E402
import minigrad.nn.functional as F  # noqa: E402


def cases(dim, batch):
    """(name, x shape, w shape, minigrad op, torch op name, keyword arguments)."""
    up = dict(stride=2, padding=2, output_padding=1)
    down = dict(stride=2, padding=2)
    return [
        ("conv2d 1->D 28x28", (batch, 1, 28, 28), (dim, 1, 5, 5), "conv2d", down),
        ("conv2d D->2D 14x14", (batch, dim, 14, 14), (2 * dim, dim, 5, 5), "conv2d", down),
        ("conv2d 2D->4D 7x7", (batch, 2 * dim, 7, 7), (4 * dim, 2 * dim, 5, 5), "conv2d", down),
        ("conv_t 4D->2D 4x4", (batch, 4 * dim, 4, 4), (4 * dim, 2 * dim, 5, 5), "conv_transpose2d", up),
        ("conv_t 2D->D 7x7", (batch, 2 * dim, 7, 7), (2 * dim, dim, 5, 5), "conv_transpose2d", up),
        ("conv_t D->1 14x14", (batch, dim, 14, 14), (dim, 1, 5, 5), "conv_transpose2d", up),
        ("linear 128->64D", (batch, 128), (64 * dim, 128), "linear", {}),
        ("linear 64D->1", (batch, 64 * dim), (1, 64 * dim), "linear", {}),
        ("batch_norm 2D 14x14", (batch, 2 * dim, 14, 14), (2 * dim,), "batch_norm", {}),
    ]


def median_ms(fn):
    fn()
    times = []
    for _ in range(ARGS.repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def minigrad_timings(op, x_shape, w_shape, kwargs, rng):
    x = mg.tensor(rng.standard_normal(x_shape, dtype=np.float32), requires_grad=True)
    w = mg.tensor(rng.standard_normal(w_shape, dtype=np.float32) * 0.05, requires_grad=True)
    if op == "batch_norm":
        mean, var = mg.zeros(w_shape), mg.ones(w_shape)
        f = lambda: F.batch_norm(x, mean, var, w, None, training=True)  # noqa: E731
    else:
        f = lambda: getattr(F, op)(x, w, **kwargs)  # noqa: E731
    with mg.no_grad():
        r = mg.tensor(rng.standard_normal(f().shape, dtype=np.float32))

    def forward():
        with mg.no_grad():
            f()

    def backward():
        mg.grad((f() * r).sum(), [x, w])

    def double():
        (gx,) = mg.grad((f() * r).sum(), x, create_graph=True)
        mg.grad((gx * gx).sum(), [x, w], allow_unused=True)

    return [median_ms(forward), median_ms(backward), median_ms(double)]


def torch_timings(op, x_shape, w_shape, kwargs, rng):
    import torch

    x = torch.tensor(rng.standard_normal(x_shape, dtype=np.float32), requires_grad=True)
    w = torch.tensor(rng.standard_normal(w_shape, dtype=np.float32) * 0.05, requires_grad=True)
    if op == "batch_norm":
        mean, var = torch.zeros(w_shape), torch.ones(w_shape)
        f = lambda: torch.nn.functional.batch_norm(x, mean, var, w, None, training=True)  # noqa: E731
    else:
        f = lambda: getattr(torch.nn.functional, op)(x, w, **kwargs)  # noqa: E731
    with torch.no_grad():
        r = torch.tensor(rng.standard_normal(tuple(f().shape), dtype=np.float32))

    def forward():
        with torch.no_grad():
            f()

    def backward():
        torch.autograd.grad((f() * r).sum(), [x, w])

    def double():
        (gx,) = torch.autograd.grad((f() * r).sum(), x, create_graph=True)
        torch.autograd.grad((gx * gx).sum(), [x, w], allow_unused=True)

    return [median_ms(forward), median_ms(backward), median_ms(double)]


def main():
    compare = ARGS.compare_torch
    if compare:
        try:
            import torch
        except ImportError:
            sys.exit("--compare-torch needs PyTorch: pip install -e '.[bench]'")
        torch.set_num_threads(ARGS.threads)
    print(f"ms per call, median of {ARGS.repeats}; DIM {ARGS.dim}, batch {ARGS.batch_size}, "
          f"{ARGS.threads} threads, float32")
    if compare:
        print("both engines run in this one process, where their threads compete: the ratios "
              "are rough (benchmarks/wgan_step.py --compare-torch times each engine alone)")
    header = f"{'op':<22}{'forward':>10}{'backward':>10}{'double':>10}"
    if compare:
        header += f"{'torch fwd':>11}{'bwd':>8}{'double':>8}{'  ratio (minigrad / torch)':>26}"
    print(header)
    for name, x_shape, w_shape, op, kwargs in cases(ARGS.dim, ARGS.batch_size):
        ours = minigrad_timings(op, x_shape, w_shape, kwargs, np.random.default_rng(0))
        line = f"{name:<22}" + "".join(f"{t:>10.2f}" for t in ours)
        if compare:
            theirs = torch_timings(op, x_shape, w_shape, kwargs, np.random.default_rng(0))
            line += f"{theirs[0]:>11.2f}{theirs[1]:>8.2f}{theirs[2]:>8.2f}   "
            line += " ".join(f"{a / b:>6.2f}" for a, b in zip(ours, theirs))
        print(line)


if __name__ == "__main__":
    main()
