#!/usr/bin/env python
"""Data-parallel speed-up on one machine: WGAN-GP generator iterations per second of the
authors' MNIST model (the paper preset) in one process with T BLAS threads against N
processes (mpiexec -n N) with T / N threads each, and the share of a step spent in MPI.

    python benchmarks/mpi_scaling.py                      # DIM 64, batch 64: 1 x 2 against 2 x 1
    python benchmarks/mpi_scaling.py --processes 4 --threads 4 --dim 32
    python benchmarks/mpi_scaling.py --json               # one JSON line

Each configuration runs in fresh processes, one after the other; every run trains the same
global batch (--batch-size, divisible by N). Reported: the median seconds of a timed
iteration (after --warmup), iterations per second, the speed-up over one process, and for
N > 1 the seconds each step spent in collectives on rank 0 (the gradients' Allreduce, batch
norm, the logged numbers: waiting for the slower rank included), next to the time of one
Allreduce of every gradient of both networks with the ranks lined up (the transfer alone).
Needs the dist extra (mpi4py, mpich). A benchmark: never part of the test run.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def arguments():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=64,
                   help="the global batch (default %(default)s: the authors' 50 does not "
                        "split over 4 processes)")
    p.add_argument("--n-critic", type=int, default=5)
    p.add_argument("--threads", type=int, default=2, help="BLAS threads in all (default: 2)")
    p.add_argument("--processes", type=int, default=2, help="MPI processes (default: 2)")
    p.add_argument("--repeats", type=int, default=5, help="timed iterations (median reported)")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args()


def worker(args):
    """One configuration, in this process (and its MPI peers): prints one JSON line on rank 0."""
    import statistics
    import time

    import numpy as np

    sys.path.insert(0, str(ROOT))
    from minigrad import distributed
    from wgan.config import with_preset
    from wgan.trainer import Trainer

    with distributed.session() as group:
        config = with_preset("paper", dim=args.dim, batch_size=args.batch_size,
                             n_critic=args.n_critic).resolved()
        images = np.random.default_rng(0).random((10 * args.batch_size, 1, 28, 28),
                                                 dtype=np.float32)
        trainer = Trainer(config, images, group)
        for _ in range(args.warmup):
            trainer.step()
        before = dict(group.seconds) if group else {}
        times = []
        for _ in range(args.repeats):
            if group:
                group.maximum(0.0)  # start together
            started = time.perf_counter()
            trainer.step()
            times.append(time.perf_counter() - started)
        result = {"processes": group.size if group else 1,
                  "threads_per_process": int(os.environ.get("OPENBLAS_NUM_THREADS", 0)),
                  "seconds_per_iteration": statistics.median(times)}
        if group:
            spent = {k: (v - before.get(k, 0.0)) / args.repeats for k, v in group.seconds.items()}
            result["collective_seconds_per_iteration"] = spent
            parameters = trainer.generator.parameters() + trainer.critic.parameters()
            for p in parameters:
                p.grad = p.detach()
            group.maximum(0.0)
            started = time.perf_counter()
            group.average_gradients(parameters)
            result["allreduce_all_gradients_seconds"] = time.perf_counter() - started
            result["gradient_megabytes"] = sum(p.numel() for p in parameters) * 4 / 2**20
        if group is None or group.rank == 0:
            print(json.dumps(result), flush=True)


def run(args, processes):
    threads = max(1, args.threads // processes)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads)}
    command = [sys.executable, __file__, "--worker", "--dim", str(args.dim), "--batch-size",
               str(args.batch_size), "--n-critic", str(args.n_critic), "--repeats",
               str(args.repeats), "--warmup", str(args.warmup)]
    if processes > 1:
        mpiexec = Path(sys.executable).with_name("mpiexec")
        mpiexec = str(mpiexec) if mpiexec.exists() else shutil.which("mpiexec")
        if mpiexec is None:
            sys.exit('needs mpiexec: pip install -e ".[dist]"')
        command = [mpiexec, "-n", str(processes)] + command
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    args = arguments()
    if args.worker:
        return worker(args)
    if args.batch_size % args.processes:
        sys.exit(f"--batch-size {args.batch_size} does not divide by {args.processes} processes")
    results = [run(args, 1), run(args, args.processes)]
    base = results[0]["seconds_per_iteration"]
    for r in results:
        r["iterations_per_second"] = 1 / r["seconds_per_iteration"]
        r["speed_up"] = base / r["seconds_per_iteration"]
    if args.json:
        print(json.dumps({"dim": args.dim, "batch_size": args.batch_size,
                          "n_critic": args.n_critic, "results": results}))
        return
    print(f"WGAN-GP, the paper's model: DIM {args.dim}, global batch {args.batch_size}, "
          f"{args.n_critic} critic steps; median of {args.repeats} iterations")
    for r in results:
        line = (f"  {r['processes']} process(es) x {r['threads_per_process']} thread(s): "
                f"{r['seconds_per_iteration']:.3f} s/iteration, "
                f"{r['iterations_per_second']:.2f} it/s, speed-up {r['speed_up']:.2f}")
        if "collective_seconds_per_iteration" in r:
            spent = r["collective_seconds_per_iteration"]
            total = sum(spent.values())
            line += (f"\n    in MPI collectives {total:.3f} s/iteration "
                     f"({total / r['seconds_per_iteration']:.1%} of a step, waiting for the "
                     f"slower rank included): "
                     + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in sorted(spent.items()))
                     + f"\n    one Allreduce of all {r['gradient_megabytes']:.1f} MB of "
                     f"gradients, ranks lined up: "
                     f"{r['allreduce_all_gradients_seconds'] * 1000:.1f} ms")
        print(line)


if __name__ == "__main__":
    main()
