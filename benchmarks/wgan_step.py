#!/usr/bin/env python
"""Time one WGAN-GP generator iteration of the authors' MNIST model.

One iteration is what wgan.trainer.Trainer.step() does: n_critic critic steps (critic on real
and fake, gradient penalty with its double backward, Adam) and one generator step, through
the last critic step's fake batch (generated with its graph kept).

    python benchmarks/wgan_step.py                       # DIM 64, batch 50, 5 critic steps
    python benchmarks/wgan_step.py --compare-torch       # the same step in PyTorch, same run
    python benchmarks/wgan_step.py --json                # one JSON line
    python benchmarks/wgan_step.py --memory-iters 200    # resident memory over 200 iterations
    python benchmarks/wgan_step.py --device cuda --compare-torch   # CuPy against PyTorch CUDA

The work is counted from the matrix products minigrad performs in one iteration, and
set against the rate of a large float32 matrix product measured in the same run, on the
same device. With --compare-torch the two engines' iterations alternate, so both see the
same machine. On "cuda" every timed iteration ends with a device synchronisation
(minigrad.backend.synchronize, torch.cuda.synchronize), and PyTorch runs without TF32, so
that both do the same float32 arithmetic as CuPy's cuBLAS calls.
"""
import argparse
import json
import os
import sys
from pathlib import Path


def arguments():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--n-critic", type=int, default=5)
    p.add_argument("--threads", type=int, default=os.cpu_count(),
                   help="BLAS / PyTorch threads (default: all cores, %(default)s)")
    p.add_argument("--repeats", type=int, default=5, help="timed iterations (median reported)")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--compare-torch", action="store_true")
    p.add_argument("--matmul-size", type=int,
                   help="side of the square matrix product that gives the reference rate "
                        "(default: 2048 on the CPU, 8192 on cuda)")
    p.add_argument("--memory-iters", type=int, default=0,
                   help="also run this many iterations and report resident memory over them")
    p.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    return p.parse_args()


ARGS = arguments()
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = str(ARGS.threads)  # before NumPy loads its BLAS

import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import minigrad as mg  # noqa: E402
from wgan.config import with_preset  # noqa: E402
from wgan.trainer import Trainer  # noqa: E402


def resident_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def matmul_rate(size, repeats=5):
    """GFLOP/s of a float32 square matrix product on the benchmark's device, now."""
    a = mg.tensor(np.random.default_rng(0).random((size, size), dtype=np.float32),
                  device=ARGS.device)
    product = synchronised(lambda: a @ a)
    product()
    times = [timed(product) for _ in range(repeats)]
    return 2 * size**3 / statistics.median(times) / 1e9


def blas_kernels():
    """Which BLAS NumPy runs and with which kernels (threadpoolctl, of the bench extra), and
    the OpenBLAS settings from the environment that choose them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl to see it)"
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    ours = [i for i in blas if "numpy" in i["filepath"]] or blas  # NumPy's wheel, else all
    libraries = [f"{i['internal_api']} {i['version']}"
                 + (f", {i['architecture']} kernels" if i.get("architecture") else "")
                 for i in ours] or ["none found"]
    pins = [f"{v}={os.environ[v]}" for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
            if v in os.environ]
    return "; ".join(libraries) + (f" (set by {' '.join(pins)})" if pins else "")


def minigrad_trainer():
    # the authors' recipe (no averaged generator, no batch norm) with the trainer's default
    # generator step, through the last critic step's fake batch: the step PyTorch runs too
    config = with_preset("paper", dim=ARGS.dim, batch_size=ARGS.batch_size,
                         n_critic=ARGS.n_critic, device=ARGS.device, reuse_fake=True).resolved()
    images = np.random.default_rng(0).random((10 * ARGS.batch_size, 1, 28, 28), dtype=np.float32)
    return Trainer(config, images)


def count_gflop(step):
    """GFLOP of the matrix products in one call of ``step``, counted as 2*m*n*k each."""
    flop = [0]
    matmul = mg.ops.matmul

    def counting(a, b):
        out = matmul(a, b)
        flop[0] += 2 * out.size * (a.shape[-1] if hasattr(a, "shape") else 1)
        return out

    mg.ops.matmul = counting
    try:
        step()
    finally:
        mg.ops.matmul = matmul
    return flop[0] / 1e9


def torch_step():
    """The same model, losses and optimizers in PyTorch; returns a function doing one iteration."""
    import torch
    import torch.nn as nn

    torch.set_num_threads(ARGS.threads)
    dim, batch, device = ARGS.dim, ARGS.batch_size, ARGS.device
    if device == "cuda":
        if not torch.cuda.is_available():
            sys.exit(f"--compare-torch --device cuda needs PyTorch with CUDA; torch "
                     f"{torch.__version__} sees no GPU")
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    generator = nn.Sequential(
        nn.Linear(128, 4 * 4 * 4 * dim), nn.ReLU(), nn.Unflatten(1, (4 * dim, 4, 4)),
        nn.ConvTranspose2d(4 * dim, 2 * dim, 5, 2, 2, output_padding=1), nn.ReLU(),
        nn.ZeroPad2d((0, -1, 0, -1)),
        nn.ConvTranspose2d(2 * dim, dim, 5, 2, 2, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(dim, 1, 5, 2, 2, output_padding=1), nn.Sigmoid()).to(device)
    critic = nn.Sequential(
        nn.Conv2d(1, dim, 5, 2, 2), nn.LeakyReLU(0.2),
        nn.Conv2d(dim, 2 * dim, 5, 2, 2), nn.LeakyReLU(0.2),
        nn.Conv2d(2 * dim, 4 * dim, 5, 2, 2), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(4 * 4 * 4 * dim, 1)).to(device)
    opt_g = torch.optim.Adam(generator.parameters(), lr=1e-4, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.5, 0.9))
    images = torch.rand(10 * batch, 1, 28, 28, device=device)

    def fakes(keep_graph):
        with torch.enable_grad() if keep_graph else torch.no_grad():
            return generator(torch.randn(batch, 128, device=device))

    def critic_step(fake):
        real = images[torch.randint(0, len(images), (batch,))]
        fake = fake.detach()
        loss = critic(fake).mean() - critic(real).mean()
        alpha = torch.rand(batch, 1, 1, 1, device=device)
        x_hat = (real + alpha * (fake - real)).requires_grad_()
        (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
        penalty = ((((grad * grad).sum(dim=(1, 2, 3)) + 1e-12).sqrt() - 1) ** 2).mean()
        opt_d.zero_grad()
        (loss + 10 * penalty).backward()
        opt_d.step()

    def generator_step(fake):
        for p in critic.parameters():
            p.requires_grad_(False)
        loss = -critic(fake).mean()
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()
        for p in critic.parameters():
            p.requires_grad_(True)

    def step():
        for k in range(ARGS.n_critic):  # the last fake batch is the generator step's (as ours)
            fake = fakes(keep_graph=k == ARGS.n_critic - 1)
            critic_step(fake)
        generator_step(fake)
        if device == "cuda":
            torch.cuda.synchronize()

    return step, torch.__version__


def synchronised(step):
    def run():
        step()
        mg.backend.synchronize(ARGS.device)
    return run


def timed(step):
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def main():
    trainer = minigrad_trainer()
    engines = {"minigrad": synchronised(trainer.step)}
    torch_version = None
    if ARGS.compare_torch:
        try:
            engines["torch"], torch_version = torch_step()
        except ImportError:
            sys.exit("--compare-torch needs PyTorch: pip install -e '.[bench]'")
    gflop = count_gflop(trainer.step)
    for step in engines.values():
        for _ in range(ARGS.warmup):
            step()
    times = {name: [] for name in engines}
    for _ in range(ARGS.repeats):  # alternate, so that both engines see the same machine
        for name, step in engines.items():
            times[name].append(timed(step))
    size = ARGS.matmul_size or (2048 if ARGS.device == "cpu" else 8192)
    rate = matmul_rate(size)
    result = {"dim": ARGS.dim, "batch_size": ARGS.batch_size, "n_critic": ARGS.n_critic,
              "threads": ARGS.threads, "device": ARGS.device, "gflop_per_gen_iter": round(gflop, 2),
              "matmul_size": size, "matmul_gflops": round(rate, 1),
              "floor_s_per_gen_iter": round(gflop / rate, 4), "peak_rss_mb": round(peak_mb(), 1)}
    if ARGS.device == "cpu":
        result["blas"] = blas_kernels()
    for name, samples in times.items():
        median = statistics.median(samples)
        prefix = "" if name == "minigrad" else f"{name}_"
        result[f"{prefix}median_s_per_gen_iter"] = round(median, 4)
        result[f"{prefix}all_s_per_gen_iter"] = [round(t, 4) for t in samples]
    if "torch" in times:
        result["torch_version"] = torch_version
        result["ratio_minigrad_to_torch"] = round(
            result["median_s_per_gen_iter"] / result["torch_median_s_per_gen_iter"], 3)
    if ARGS.memory_iters:
        start_mb = resident_mb()
        samples = []
        for i in range(ARGS.memory_iters):
            trainer.step()
            samples.append(resident_mb())
        result["rss_mb_after_warmup"] = round(start_mb, 1)
        result["rss_mb_first_last_max"] = [round(samples[0], 1), round(samples[-1], 1),
                                           round(max(samples), 1)]
    if ARGS.json:
        print(json.dumps(result))
        return
    print(f"WGAN-GP generator iteration: DIM {ARGS.dim}, batch {ARGS.batch_size}, "
          f"{ARGS.n_critic} critic steps, {ARGS.threads} threads, {ARGS.device}; "
          f"{gflop:.1f} GFLOP of matrix products per iteration")
    print(f"{'engine':<16}{'s/iter (median)':>17}{'min-max':>14}{'GFLOP/s':>10}"
          f"{'% of matmul':>13}   all runs")
    for name, samples in times.items():
        median = statistics.median(samples)
        label = f"torch {torch_version}" if name == "torch" else name
        spread = f"{min(samples):.3f}-{max(samples):.3f}"
        print(f"{label:<16}{median:>17.3f}{spread:>14}{gflop / median:>10.1f}"
              f"{100 * gflop / median / rate:>12.0f}%   {' '.join(f'{t:.3f}' for t in samples)}")
    if "torch" in times:
        print(f"minigrad / torch: {result['ratio_minigrad_to_torch']:.2f}x")
    print(f"float32 matrix product ({size}^3, {ARGS.device}): {rate:.0f} GFLOP/s, so the "
          f"matrix products alone take {gflop / rate:.3f} s (the floor); peak resident memory "
          f"{result['peak_rss_mb']:.0f} MB")
    if ARGS.device == "cpu":
        print(f"NumPy's BLAS: {result['blas']}")
    if ARGS.memory_iters:
        first, last, most = result["rss_mb_first_last_max"]
        print(f"resident memory over {ARGS.memory_iters} iterations: after the first {first:.0f} MB, "
              f"after the last {last:.0f} MB, most {most:.0f} MB")


if __name__ == "__main__":
    main()
