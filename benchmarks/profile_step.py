#!/usr/bin/env python
"""Where the time of one WGAN-GP generator iteration goes: by phase and by op.

    python benchmarks/profile_step.py                 # the authors' step: DIM 64, batch 50, ...
    python benchmarks/profile_step.py --dim 16 --threads 2 --top 25
    python benchmarks/profile_step.py --recipe bare    # the bare command's step (DIM 24, ...)

The step is the trainer's own (wgan.trainer.Trainer.step) on one of the workloads that
benchmarks/wgan_step.py times (benchmarks/engines.py): the authors' (--preset paper, at
--dim) or the bare command's, from the Config defaults (--recipe bare). Timers are wrapped
around it, and every op of minigrad.ops and every backward rule is timed exclusively (its
own time, without the ops it calls):

- phases: the generator's forward (the critic steps' fakes; the last one's graph is kept for
  the generator step), the critic on real and fake, the penalty's forward on the
  interpolates, the penalty's gradient (create_graph), the critic's backward (the double
  backward included), the optimizers, the generator step's critic forward and backward, and
  the rest (the graph traversal, data), per iteration;
- ops: the forward of each public op (its private helpers count as its own time) and each
  op's backward rule ("vjp of conv2d" is the time of the rule's own arithmetic; the ops it
  calls are counted under their names), with call counts;
- memory: the peak of NumPy's arrays in one iteration (tracemalloc, in a separate untimed
  pass) and page faults per iteration;
- the matrix products: how many and how many GFLOP per iteration, their time when each is
  run again alone on the operands the step gave it (in a warm cache), and their floor at the
  rate of a --matmul-size square product on the same threads.

The timers add overhead (a few microseconds per op): the "instrumented" total is above the
plain one, which is measured first without them. Run it alone: other busy processes on a
2-core machine change everything.
"""
import argparse
import os
import sys
from pathlib import Path


def arguments():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--recipe", choices=("paper", "bare"), default="paper",
                   help="the authors' settings (--preset paper) or the bare command's")
    p.add_argument("--dim", type=int, help="default: the recipe's")
    p.add_argument("--batch-size", type=int, help="default: the recipe's")
    p.add_argument("--n-critic", type=int, help="default: the recipe's")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--iters", type=int, default=3, help="profiled iterations (after 2 warm-up)")
    p.add_argument("--top", type=int, default=20, help="ops shown")
    p.add_argument("--matmul-size", type=int, default=1024,
                   help="side of the square product whose rate gives the products' floor")
    return p.parse_args()


ARGS = arguments()
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = str(ARGS.threads)  # before NumPy loads its BLAS

import collections  # noqa: E402
import functools  # noqa: E402
import inspect  # noqa: E402
import operator  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402


ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]  # minigrad, wgan, engines
import engines  # noqa: E402
import minigrad as mg  # noqa: E402
import minigrad.nn.functional as F  # noqa: E402
import minigrad.ops  # noqa: E402
from minigrad import autograd  # noqa: E402
from wgan import losses  # noqa: E402
from wgan.trainer import Trainer  # noqa: E402


class Clock:
    """Exclusive time per label: a label's time excludes the labels started inside it."""

    def __init__(self):
        self.time = collections.Counter()
        self.calls = collections.Counter()
        self.stack = []  # [label, started, time of the children]

    def timed(self, label, fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            self.stack.append([label, time.perf_counter(), 0.0])
            try:
                return fn(*args, **kwargs)
            finally:
                name, started, children = self.stack.pop()
                total = time.perf_counter() - started
                self.time[name] += total - children
                self.calls[name] += 1
                if self.stack:
                    self.stack[-1][2] += total
        return run


def instrument_ops(clock):
    """Time every function of minigrad.ops' modules, and every backward rule, exclusively."""
    for module in [m for name, m in inspect.getmembers(minigrad.ops, inspect.ismodule)]:
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                wrapped = clock.timed(name, fn)
                for namespace in (module, minigrad.ops, F, mg):  # wherever the op is imported
                    if getattr(namespace, name, None) is fn:
                        setattr(namespace, name, wrapped)
    node_init = autograd.Node.__init__

    def init(self, op, parents, vjps, saved):
        node_init(self, op, parents, tuple(clock.timed(f"vjp of {op}", v) for v in vjps), saved)
    autograd.Node.__init__ = init


def instrument_phases(clock, trainer):
    """Phase labels around the trainer's calls (the ops inside take their own time)."""
    step_kind = ["critic"]
    critic_forward = trainer.critic.forward
    generator_forward = trainer.generator.forward

    def critic(x):
        inside_penalty = any(frame[0] == "penalty" for frame in clock.stack)
        label = ("penalty: critic on the interpolates" if inside_penalty
                 else f"{step_kind[0]} step: critic forward")
        return clock.timed(label, critic_forward)(x)

    def generator(z):  # the critic steps' fakes (the last one's is the generator step's too)
        return clock.timed("generator forward", generator_forward)(z)

    trainer.critic.forward, trainer.generator.forward = critic, generator
    losses.gradient_penalty = clock.timed("penalty", losses.gradient_penalty)
    grad = mg.grad
    mg.grad = clock.timed("penalty: its gradient (create_graph)", grad)
    backward = mg.Tensor.backward
    mg.Tensor.backward = lambda self, *a, **k: clock.timed(
        f"{step_kind[0]} step: backward", backward)(self, *a, **k)
    for which, optimizer in (("critic", trainer.opt_d), ("generator", trainer.opt_g)):
        optimizer.step = clock.timed(f"{which} step: Adam", optimizer.step)
    critic_step, generator_step = trainer.critic_step, trainer.generator_step

    def run_critic_step(fake):
        step_kind[0] = "critic"
        return clock.timed("critic step: the rest (graph, data)", critic_step)(fake)

    def run_generator_step(fake):
        step_kind[0] = "generator"
        return clock.timed("generator step: the rest (graph)", generator_step)(fake)
    trainer.critic_step, trainer.generator_step = run_critic_step, run_generator_step


def products_alone(trainer, cycle, repeats=5):
    """(products per iteration, GFLOP per iteration, seconds per iteration) of the matrix
    products of ``cycle`` iterations, each product timed alone on the operands the step gave
    it (their shapes and memory layouts), back to back in a warm cache: the sum of each
    one's median of ``repeats``. Against a large square product's rate this is what the
    shapes cost; against the ``matmul`` op's time in the step, what the step's memory
    traffic costs the products. The operands of the whole cycle are kept meanwhile (about a
    hundred MB at DIM 64)."""
    flop, operands = engines.record_products(trainer.step, cycle, keep=True)
    seconds = sum(statistics.median(engines.timed(functools.partial(operator.matmul, a, b),
                                                  repeats, warmup=1))
                  for a, b in operands)
    return len(operands) / cycle, flop / cycle / 1e9, seconds / cycle


def counted(n, thing):
    """"1 thread", "2 threads"."""
    return f"{n} {thing}" + ("" if n == 1 else "s")


def main():
    chosen = {key: value for key, value in (("dim", ARGS.dim), ("batch_size", ARGS.batch_size),
                                            ("n_critic", ARGS.n_critic)) if value is not None}
    config = engines.workload_config("dim64" if ARGS.recipe == "paper" else "bare", **chosen)
    trainer = Trainer(config, engines.training_images(config))
    for _ in range(2):
        trainer.step()
    started = time.perf_counter()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(ARGS.iters):
        trainer.step()
    plain = (time.perf_counter() - started) / ARGS.iters
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / ARGS.iters

    tracemalloc.start()
    trainer.step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    cycle = engines.penalty_cycle(config)
    n_products, gflop, alone = products_alone(trainer, cycle)
    rate = engines.matmul_rate(ARGS.matmul_size)

    phases, ops = Clock(), Clock()
    instrument_phases(phases, trainer)
    instrument_ops(ops)
    started = time.perf_counter()
    for _ in range(ARGS.iters):
        trainer.step()
    instrumented = (time.perf_counter() - started) / ARGS.iters

    n = ARGS.iters
    print(f"WGAN-GP generator iteration ({ARGS.recipe} recipe): DIM {config.dim}, batch "
          f"{config.batch_size}, {counted(config.n_critic, 'critic step')}, penalty every "
          f"{config.gp_every}, {counted(ARGS.threads, 'thread')}")
    print(f"plain {plain * 1e3:.1f} ms per iteration; instrumented {instrumented * 1e3:.1f} ms")
    print(f"memory: peak {peak / 2**20:.0f} MB traced in one iteration (NumPy's arrays), "
          f"{faults:.0f} page faults per iteration ({faults * 4 / 1024:.0f} MB touched fresh)")
    print(f"\n{'phase':<48}{'ms/iter':>9}{'share':>8}")
    total = sum(phases.time.values())
    for label, seconds in phases.time.most_common():
        print(f"{label:<48}{seconds / n * 1e3:>9.1f}{seconds / total:>8.1%}")
    print(f"\n{'op (exclusive time)':<34}{'ms/iter':>9}{'share':>8}{'calls/iter':>12}")
    total = sum(ops.time.values())
    for label, seconds in ops.time.most_common(ARGS.top):
        print(f"{label:<34}{seconds / n * 1e3:>9.1f}{seconds / total:>8.1%}"
              f"{ops.calls[label] / n:>12.0f}")
    rest = ops.time.most_common()[ARGS.top:]
    if rest:
        print(f"{'(%d more)' % len(rest):<34}{sum(s for _, s in rest) / n * 1e3:>9.1f}"
              f"{sum(s for _, s in rest) / total:>8.1%}")
    print(f"{'time outside any op (Python, autograd)':<34}"
          f"{(instrumented * n - total) / n * 1e3:>9.1f}")
    print(f"\nmatrix products: {n_products:.0f} per iteration, {gflop:.2f} GFLOP; each timed "
          f"alone on its operands (warm cache, a cycle of {cycle}) {alone * 1e3:.1f} ms per "
          f"iteration; at the rate of a {ARGS.matmul_size}-square product here "
          f"({rate:.0f} GFLOP/s) {gflop / rate * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
