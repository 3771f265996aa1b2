"""What benchmarks/wgan_step.py times: the workloads, and the engines that run them.

A workload is one WGAN-GP generator iteration of a resolved ``wgan.config.Config``:

- ``bare``: the bare ``python examples/mnist_wgan.py``'s step, taken from the Config defaults
  (so it follows them when they change): architecture, DIM, batch, critic steps, the
  penalty's schedule (gp_every), the generator's batch norm, the optimizers (two time-scale
  learning rates, betas), the reuse of the last critic step's fake batch;
- ``dim64`` and ``dim16``: the authors' step (``--preset paper``: batch 50, 5 critic steps,
  Adam 1e-4 with betas (0.5, 0.9), the penalty on every critic step, a fake batch of its own
  for the generator step) at DIM 64 and DIM 16.

The engines: minigrad runs ``wgan.trainer.Trainer.step`` itself; PyTorch runs
``torch_engine.TorchTrainer.step``, the same step written in PyTorch on models copied layer by
layer, with their weights, from the minigrad ones, so both run the same architecture whatever
``models.build`` makes; ``matmul_rate`` measures the float32 matrix product that gives the
floor. PyTorch is imported only in a process that times it.
"""
import math
import os
import statistics
import time

import numpy as np

import minigrad as mg
from wgan import models
from wgan.config import Config, with_preset
from wgan.trainer import Trainer

WORKLOADS = {
    "bare": "the bare command's step (the Config defaults)",
    "dim64": "the authors' step at DIM 64 (--preset paper)",
    "dim16": "the authors' step at DIM 16 (--preset paper --dim 16)",
}
AUTHORS_DIM = {"dim64": 64, "dim16": 16}


def workload_config(name, device="cpu", **overrides):
    """The resolved Config of workload ``name``, with ``overrides`` (dim, batch_size, n_critic:
    for quick looks and tests) on top."""
    if name not in WORKLOADS:
        raise ValueError(f"unknown workload {name!r}: choose from {', '.join(WORKLOADS)}")
    if name == "bare":
        return Config(device=device, **overrides).resolved()
    settings = {"dim": AUTHORS_DIM[name], **overrides}
    return with_preset("paper", device=device, **settings).resolved()


def recipe(config):
    """The settings of a Config that shape one generator iteration."""
    keys = ("mode", "arch", "dim", "generator_dim", "z_dim", "batch_size", "n_critic",
            "critic_warmup", "gp_lambda", "gp_every", "critic_norm", "generator_norm", "bias",
            "optimizer", "lr", "critic_lr", "beta1", "beta2", "reuse_fake", "ema", "ema_start",
            "lr_decay", "augment")
    return {key: getattr(config, key) for key in keys}


def describe(config):
    """A workload's recipe in one line."""
    c = config
    rates = f"{c.lr:g}" + (f" / {c.critic_lr:g} (critic)" if c.critic_lr != c.lr else "")
    optimizer = (f"Adam {rates}, betas ({c.beta1:g}, {c.beta2:g})" if c.optimizer == "adam"
                 else f"{c.optimizer} {rates}")
    penalty = ("on every critic step" if c.gp_every == 1
               else f"every {c.gp_every} critic steps")
    widths = f"DIM {c.dim}" + (f" (generator {c.generator_dim})"
                               if c.generator_dim != c.dim else "")
    return (f"{c.arch} model, {widths}, batch {c.batch_size}, {c.n_critic} critic step"
            f"{'s' if c.n_critic > 1 else ''}, penalty {penalty}, generator norm "
            f"{c.generator_norm}, {optimizer}, "
            + ("fake batch reused" if c.reuse_fake else "a fake batch of its own for the "
               "generator step"))


def training_images(config, n_batches=10):
    """Random images in the generator's pixel range, ``n_batches`` batches of them."""
    low, high = models.pixel_range(config.arch)
    shape = (n_batches * config.batch_size, config.channels, config.image_size,
             config.image_size)
    return (low + (high - low) * np.random.default_rng(0).random(shape)).astype(np.float32)


# ---- timing ----

def engine_step(engine, config, group=None):
    """A function running one generator iteration of ``config`` on ``engine`` ("minigrad" or
    "torch") to its end (the device synchronised), and what to report about the engine.

    With ``group`` (minigrad only) this process is one rank of the data-parallel iteration;
    the GFLOP reported are still the whole batch's, counted on a trainer without a group."""
    images = training_images(config)
    trainer = Trainer(config, images, group)
    if engine == "minigrad":
        def step():
            trainer.step()
            mg.backend.synchronize(config.device)
        whole = trainer if group is None else Trainer(config, images)
        gflop = count_gflop(whole.step, calls=penalty_cycle(config))  # penalised or not
        if group is not None:
            group.maximum(0.0)  # every rank counted: the first timed iteration waits for none
        return step, {"gflop_per_gen_iter": round(gflop, 3),
                      "blas": blas_kernels() if config.device == "cpu" else None}
    import torch
    from torch_engine import TorchTrainer
    torch_trainer = TorchTrainer(config, trainer.sampler.x, trainer.generator, trainer.critic)
    del trainer  # minigrad's models were the pattern of PyTorch's, and are not run

    def torch_step():
        torch_trainer.step()
        if config.device == "cuda":
            torch.cuda.synchronize()
    return torch_step, {"torch_version": torch.__version__,
                        "torch_threads": torch.get_num_threads()}


def record_products(step, calls=1, keep=False):
    """(FLOP, operands) of the matrix products of ``calls`` calls of ``step``: each counted
    as 2*m*n*k, and with ``keep`` its operand arrays as (a, b) pairs (held until dropped)."""
    flop, operands, matmul = [0], [], mg.ops.matmul

    def recording(a, b):
        out = matmul(a, b)
        flop[0] += 2 * math.prod(out.shape) * a.shape[-1]
        if keep:
            operands.append((a.array, b.array))
        return out

    mg.ops.matmul = recording
    try:
        for _ in range(calls):
            step()
    finally:
        mg.ops.matmul = matmul
    return flop[0], operands


def count_gflop(step, calls=1):
    """GFLOP of the matrix products per call of ``step``, averaged over ``calls`` calls."""
    return record_products(step, calls)[0] / calls / 1e9


def penalty_cycle(config):
    """Generator iterations after which the gradient penalty's schedule repeats: it falls on
    every ``gp_every``-th critic step, ``n_critic`` of them per generator iteration."""
    return math.lcm(config.gp_every, config.n_critic) // config.n_critic


def timed(step, iters, warmup, cycle=1):
    """Seconds per call of ``step`` in each of ``iters`` timed runs of ``cycle`` calls, after
    ``warmup`` untimed runs. A cycle of the penalty's schedule (``penalty_cycle``) as the run
    gives every run the same mix of penalised and plain iterations, whose times differ."""
    for _ in range(warmup * cycle):
        step()
    seconds = []
    for _ in range(iters):
        start = time.perf_counter()
        for _ in range(cycle):
            step()
        seconds.append((time.perf_counter() - start) / cycle)
    return seconds


def matmul_rate(size, device="cpu", repeats=5):
    """GFLOP/s of a float32 ``size``-square matrix product through minigrad (NumPy's BLAS, or
    CuPy's cuBLAS), the median of ``repeats`` products after one untimed."""
    a = mg.tensor(np.random.default_rng(0).random((size, size), dtype=np.float32),
                  device=device)

    def product():
        a @ a
        mg.backend.synchronize(device)
    return 2 * size**3 / statistics.median(timed(product, repeats, warmup=1)) / 1e9


def blas_kernels():
    """Which BLAS NumPy runs and with which kernels (threadpoolctl, of the bench extra)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl to see it)"
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    ours = [i for i in blas if "numpy" in i["filepath"]] or blas  # NumPy's wheel, else all
    return "; ".join(f"{i['internal_api']} {i['version']}"
                     + (f", {i['architecture']} kernels" if i.get("architecture") else "")
                     + f", {i['num_threads']} thread{'s' if i['num_threads'] != 1 else ''}"
                     for i in ours) or "none found"


def blas_settings(environ=os.environ):
    """The environment's settings that choose the BLAS kernels and threads: every
    OPENBLAS_* variable, OMP_NUM_THREADS and MKL_NUM_THREADS, as {name: value}."""
    return {name: value for name, value in sorted(environ.items())
            if name.startswith("OPENBLAS_") or name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
