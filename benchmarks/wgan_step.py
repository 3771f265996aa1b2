#!/usr/bin/env python
"""Time one WGAN-GP generator iteration, each engine in a process of its own.

    python benchmarks/wgan_step.py --compare-torch          # the three workloads, minigrad and
                                                            # PyTorch in alternating processes
    python benchmarks/wgan_step.py --compare-torch --json   # one JSON object (the README table)
    python benchmarks/wgan_step.py --compare-torch --workloads dim16 --rounds 9
    python benchmarks/wgan_step.py                          # minigrad alone, here (dim64)
    python benchmarks/wgan_step.py --engine torch --workloads bare    # PyTorch alone, here
    python benchmarks/wgan_step.py --processes 2 --workloads bare     # minigrad data-parallel
    python benchmarks/wgan_step.py --compare-torch --processes 2 --workloads bare
    python benchmarks/wgan_step.py --memory-iters 200       # resident memory over 200 iterations
    python benchmarks/wgan_step.py --device cuda --compare-torch      # CuPy against PyTorch CUDA

The workloads (benchmarks/engines.py): ``bare``, the bare command's step, taken from the
Config defaults; ``dim64`` and ``dim16``, the authors' step (--preset paper) at DIM 64 and 16.
One generator iteration is what wgan.trainer.Trainer.step does: its critic steps (the critic
on real and fake, the gradient penalty with its double backward where the schedule has it,
the optimizer) and one generator step.

With --compare-torch this process only launches the others and collects what they print.
Each of --rounds rounds runs, one after another: a process measuring the rate of a float32
matrix product, then for each workload a process timing minigrad and a process timing
PyTorch (--iters timed penalty cycles after --warmup; a cycle is gp_every iterations of the
bare step, one of the authors'). No process loads both engines: inside one
process they disturb each other (OpenBLAS's threads spin after each product, on the cores
PyTorch's threads need; PyTorch's DIM 16 step took 0.20 s there against 0.12 s alone). Per
workload and engine the table gives the min / median / max over the rounds of each
process's median; minigrad / PyTorch is the median (min-max) of the rounds' ratios; the
floor is the time of the workload's matrix products (GFLOP counted on minigrad's step) at the
median rate of the matrix-product processes. Each engine uses the machine as it chooses
(PyTorch its default threads, NumPy's BLAS its own) unless --threads is given; the BLAS
kernels NumPy ran and the environment's OpenBLAS settings are printed with the table.

Without --compare-torch one engine is timed on one workload in this process (minigrad's
result includes the floor, measured in the same process after its iterations). On "cuda"
every timed iteration ends with a device synchronisation (minigrad.backend.synchronize,
torch.cuda.synchronize), and PyTorch runs without TF32, so that both do the same float32
arithmetic as CuPy's cuBLAS calls.

With --processes N (N > 1) minigrad's step is the data-parallel one the bare command runs in
N local processes: its timing process is ``mpiexec -n N`` running this script, each rank a
``Trainer`` with the group of ``minigrad.distributed.session()`` (which gives each rank its
share of the cores' BLAS threads, ``distributed.share_cores``, unless --threads sets them),
computing on its share of every global batch and averaging gradients over the ranks. A step
ends when every rank has ended it (its numbers are averaged over the ranks), so rank 0's
times are the step's; rank 0 alone reports. The GFLOP, and so the floor, stay those of the
whole global batch (counted by a trainer without the group). PyTorch and the matrix-product
processes keep their own threads. Without --compare-torch the floor's rate is measured on
rank 0 at its share of the threads, a lower rate than the machine's (--compare-torch measures
it in a process of its own, with the default threads).
"""
import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]  # minigrad, wgan, engines
WORKLOADS = ("bare", "dim64", "dim16")  # engines.WORKLOADS, without loading NumPy here
ENGINES = ("minigrad", "torch")
SIZES = ("dim", "batch_size", "n_critic")  # the settings that --dim and so on change


def arguments(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--compare-torch", action="store_true",
                   help="time minigrad and PyTorch, each in processes of its own, alternating")
    p.add_argument("--engine", choices=ENGINES + ("matmul",), default="minigrad",
                   help="without --compare-torch: what this process times (matmul: the rate "
                        "of the reference matrix product)")
    p.add_argument("--workloads", help=f"comma-separated, from {', '.join(WORKLOADS)} "
                                       "(default: all with --compare-torch, else dim64)")
    p.add_argument("--rounds", type=int, default=5,
                   help="with --compare-torch: rounds of processes (default %(default)s)")
    p.add_argument("--iters", "--repeats", type=int, default=5,
                   help="timed runs per process, after the warm-up, each one cycle of the "
                        "penalty's schedule (gp_every iterations for the bare step, 1 for the "
                        "authors'), timed as a whole and divided by its length "
                        "(default %(default)s)")
    p.add_argument("--warmup", type=int, default=2, help="(default %(default)s)")
    p.add_argument("--dim", type=int, help="change every workload's DIM (quick looks, tests)")
    p.add_argument("--batch-size", type=int, help="change every workload's batch size")
    p.add_argument("--n-critic", type=int, help="change every workload's critic steps")
    p.add_argument("--threads", type=int,
                   help="BLAS and PyTorch threads of each process (default: each engine's own "
                        "choice; with --processes, each rank its share of the cores)")
    p.add_argument("--processes", type=int, default=1,
                   help="minigrad's step data-parallel in this many local processes, started "
                        "by mpiexec (default %(default)s)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--matmul-size", type=int,
                   help="side of the square matrix product that gives the reference rate "
                        "(default: 2048 on the CPU, 8192 on cuda)")
    p.add_argument("--memory-iters", type=int, default=0,
                   help="without --compare-torch: also run this many iterations and report "
                        "resident memory over them")
    p.add_argument("--json", action="store_true", help="print one JSON line instead of text")
    args = p.parse_args(argv)
    for name, least in (("rounds", 1), ("iters", 1), ("warmup", 0), ("memory_iters", 0),
                        ("dim", 1), ("batch_size", 1), ("n_critic", 1), ("threads", 1),
                        ("matmul_size", 1), ("processes", 1)):
        value = getattr(args, name)
        if value is not None and value < least:
            p.error(f"--{name.replace('_', '-')} must be at least {least}, got {value}")
    default = WORKLOADS if args.compare_torch else ("dim64",)
    args.workloads = tuple(args.workloads.split(",")) if args.workloads else default
    unknown = [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        p.error(f"--workloads: unknown {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    if not args.compare_torch and len(args.workloads) > 1:
        p.error("one engine alone times one workload per process: name one in --workloads, "
                "or give --compare-torch to time several in processes of their own")
    if args.compare_torch and args.memory_iters:
        p.error("--memory-iters measures one engine in this process: leave out --compare-torch")
    if args.processes > 1 and not args.compare_torch and args.engine != "minigrad":
        p.error("--processes times minigrad's data-parallel step: leave out --engine "
                f"{args.engine}, or give --compare-torch (PyTorch then keeps its threads)")
    args.matmul_size = args.matmul_size or (2048 if args.device == "cpu" else 8192)
    if not args.compare_torch:  # this process times its engine: its BLAS threads are set
        os.environ.update(thread_settings(args.threads))  # before NumPy loads, just below
    import engines
    from wgan.config import SettingError
    for workload in args.workloads:  # sizes that cannot work (a batch of 1 under batch norm)
        try:
            config = engines.workload_config(workload, args.device, **sizes_given(args))
        except SettingError as e:
            p.error(str(e))
        if config.batch_size % args.processes:
            p.error(f"{workload}: its batch of {config.batch_size} does not split into "
                    f"{args.processes} equal shares (--processes); change --batch-size")
    return args


def sizes_given(args):
    """The settings --dim, --batch-size and --n-critic change, where given."""
    return {key: getattr(args, key) for key in SIZES if getattr(args, key) is not None}


def thread_settings(threads):
    """The environment variables that set NumPy's BLAS and PyTorch's threads (none: their
    own choice)."""
    if threads is None:
        return {}
    return {v: str(threads) for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                      "MKL_NUM_THREADS")}


def spread(values):
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


# ---- one engine, in this process ----

def resident_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_here(args):
    """Time ``args.engine`` on the workload in this process (under mpiexec: this rank's part
    of minigrad's data-parallel step); returns what it measured, or None on ranks but 0."""
    from minigrad import distributed
    with distributed.session() as group:  # its ranks' BLAS threads set before any product
        result = measure(args, group)
    return result if distributed.is_root() else None


def measure(args, group):
    """What ``time_here`` reports, measured by this process (rank of ``group``, or None)."""
    import engines  # NumPy's BLAS threads were set by ``arguments``
    result = {"engine": args.engine, "pid": os.getpid(), "device": args.device,
              "threads": args.threads, "processes": 1 if group is None else group.size,
              "blas_settings": engines.blas_settings()}
    if args.engine == "matmul":
        rate = engines.matmul_rate(args.matmul_size, args.device)
        return {**result, "matmul_size": args.matmul_size, "matmul_gflops": round(rate, 1),
                "blas": engines.blas_kernels() if args.device == "cpu" else None}
    (workload,) = args.workloads
    config = engines.workload_config(workload, args.device, **sizes_given(args))
    if group is not None and config.device == "cuda":
        group.select_gpu()
    step, about = engines.engine_step(args.engine, config, group)
    seconds = engines.timed(step, args.iters, args.warmup, engines.penalty_cycle(config))
    result.update(workload=workload, description=engines.WORKLOADS[workload],
                  recipe_line=engines.describe(config), recipe=engines.recipe(config),
                  dim=config.dim, batch_size=config.batch_size, n_critic=config.n_critic,
                  iters=args.iters, warmup=args.warmup, **about,
                  median_s_per_gen_iter=round(statistics.median(seconds), 4),
                  all_s_per_gen_iter=[round(s, 4) for s in seconds])
    if args.engine == "minigrad" and (group is None or group.rank == 0):
        # the floor, by the same engine after its iterations (under mpiexec: on rank 0, at its
        # share of the BLAS threads)
        rate = engines.matmul_rate(args.matmul_size, args.device)
        result.update(matmul_size=args.matmul_size, matmul_gflops=round(rate, 1),
                      floor_s_per_gen_iter=round(result["gflop_per_gen_iter"] / rate, 4))
    if args.memory_iters:
        start_mb = resident_mb()
        samples = []
        for _ in range(args.memory_iters):
            step()
            samples.append(resident_mb())
        result["memory_iters"] = args.memory_iters
        result["rss_mb_after_warmup"] = round(start_mb, 1)
        result["rss_mb_first_last_max"] = [round(samples[0], 1), round(samples[-1], 1),
                                           round(max(samples), 1)]
    result["peak_rss_mb"] = round(peak_mb(), 1)
    return result


def print_here(r):
    if r["engine"] == "matmul":
        print(f"float32 matrix product ({r['matmul_size']}^3, {r['device']}): "
              f"{r['matmul_gflops']:.0f} GFLOP/s")
        return
    label = f"PyTorch {r['torch_version']}" if r["engine"] == "torch" else \
        minigrad_label(r["processes"])
    where = (f"alone in this process (pid {r['pid']})" if r["processes"] == 1 else
             f"alone, data-parallel under mpiexec (rank 0: pid {r['pid']})")
    print(f"{label} {where}, {r['device']}: {r['workload']}, {r['description']}: "
          f"{r['recipe_line']}")
    times = r["all_s_per_gen_iter"]
    print(f"{r['median_s_per_gen_iter']:.3f} s per generator iteration (median of {len(times)} "
          f"after {r['warmup']} warm-up; {min(times):.3f}-{max(times):.3f}); peak resident "
          f"memory {r['peak_rss_mb']:.0f} MB")
    if r["engine"] == "minigrad":
        here = "here" if r["processes"] == 1 else "on rank 0 (its share of the threads)"
        print(f"{r['gflop_per_gen_iter']:.1f} GFLOP of matrix products per iteration (the "
              f"whole batch); a float32 {r['matmul_size']}^3 product runs at "
              f"{r['matmul_gflops']:.0f} GFLOP/s {here}, so the products alone take "
              f"{r['floor_s_per_gen_iter']:.3f} s (the floor)")
        if r["blas"]:
            each = "" if r["processes"] == 1 else " (each process)"
            print(f"NumPy's BLAS{each}: {r['blas']}; {settings_text(r['blas_settings'])}")
    if "rss_mb_first_last_max" in r:
        first, last, most = r["rss_mb_first_last_max"]
        print(f"resident memory over {r['memory_iters']} more iterations: after the first "
              f"{first:.0f} MB, after the last {last:.0f} MB, most {most:.0f} MB")


def minigrad_label(processes):
    return "minigrad" if processes == 1 else f"minigrad ({processes} processes)"


def settings_text(settings):
    return ("settings from the environment: " + " ".join(f"{k}={v}" for k, v in settings.items())
            if settings else "no OpenBLAS settings in the environment")


# ---- the engines in processes of their own, alternating ----

def run_process(command, environment):
    """Run one timing process; its last line of output is its JSON result."""
    done = subprocess.run(command, capture_output=True, text=True, env=environment)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        sys.exit(f"wgan_step: {' '.join(command)} failed (exit {done.returncode}):\n"
                 f"{done.stderr[-3000:]}")
    return json.loads(lines[-1])


def child_command(args, engine, workload=None):
    """The command of a process timing ``engine`` (on ``workload``) with the settings of
    ``args``: for minigrad with --processes N > 1, mpiexec starting N of them."""
    command = [sys.executable, str(Path(__file__).resolve()), "--json", "--engine", engine,
               "--device", args.device, "--iters", str(args.iters), "--warmup", str(args.warmup),
               "--matmul-size", str(args.matmul_size), "--memory-iters", str(args.memory_iters)]
    if workload is not None:
        command += ["--workloads", workload]
    for key in SIZES + ("threads",):
        if getattr(args, key) is not None:
            command += [f"--{key.replace('_', '-')}", str(getattr(args, key))]
    if engine != "minigrad" or args.processes == 1:
        return command
    from minigrad.distributed import local_launcher  # NumPy, in the driver only from here
    mpiexec = local_launcher()
    if mpiexec is None:
        sys.exit('--processes needs mpi4py and mpiexec: pip install -e ".[dist]"')
    return [mpiexec, "-n", str(args.processes)] + command + ["--processes", str(args.processes)]


def compare(args):
    """Time the engines on the workloads in processes of their own, alternating over rounds;
    returns the summary (``summarise``)."""
    if importlib.util.find_spec("torch") is None:
        sys.exit("--compare-torch needs PyTorch: pip install -e '.[bench]'")
    environment = {**os.environ, **thread_settings(args.threads)}
    matmul, runs = [], {(w, e): [] for w in args.workloads for e in ENGINES}
    for round_ in range(1, args.rounds + 1):
        matmul.append(run_process(child_command(args, "matmul"), environment))
        for workload in args.workloads:
            for engine in ENGINES:
                r = run_process(child_command(args, engine, workload), environment)
                runs[workload, engine].append(r)
                print(f"round {round_}/{args.rounds}: {workload} {engine} "
                      f"{r['median_s_per_gen_iter']:.3f} s (pid {r['pid']})", file=sys.stderr)
    return summarise(args, matmul, runs)


def summarise(args, matmul, runs):
    rates = [m["matmul_gflops"] for m in matmul]
    rate = statistics.median(rates)
    torch_run = runs[args.workloads[0], "torch"][0]
    result = {"method": "each engine in a process of its own, the processes alternating over "
                        "rounds; per round the median of the process's iterations",
              "driver_pid": os.getpid(), "device": args.device, "rounds": args.rounds,
              "iters_per_round": args.iters, "warmup": args.warmup, "threads": args.threads,
              "processes": args.processes,
              "minigrad_blas": runs[args.workloads[0], "minigrad"][0]["blas"],
              "blas": matmul[0]["blas"], "blas_settings": matmul[0]["blas_settings"],
              "torch_version": torch_run["torch_version"],
              "torch_threads": torch_run["torch_threads"], "matmul_size": args.matmul_size,
              "matmul_gflops": {**spread(rates), "rounds": rates}, "workloads": {}}
    for workload in args.workloads:
        first = runs[workload, "minigrad"][0]
        entry = {key: first[key] for key in ("description", "recipe_line", "recipe",
                                             "gflop_per_gen_iter")}
        entry["floor_s_per_gen_iter"] = round(first["gflop_per_gen_iter"] / rate, 4)
        medians = {}
        for engine in ENGINES:
            medians[engine] = [r["median_s_per_gen_iter"] for r in runs[workload, engine]]
            entry[engine] = {**spread(medians[engine]), "rounds": medians[engine],
                             "processes": runs[workload, engine][0]["processes"],
                             "pids": [r["pid"] for r in runs[workload, engine]],
                             "peak_rss_mb": max(r["peak_rss_mb"] for r in runs[workload, engine])}
        ratios = [round(m / t, 3) for m, t in zip(medians["minigrad"], medians["torch"])]
        entry["ratio_minigrad_to_torch"] = {**spread(ratios), "rounds": ratios}
        result["workloads"][workload] = entry
    return result


def print_comparison(r):
    print(f"One WGAN-GP generator iteration, each engine in a process of its own ({r['device']}):"
          f" {r['rounds']} rounds, each a process per engine and workload timing "
          f"{r['iters_per_round']} iterations after {r['warmup']} warm-up")
    if r["blas"]:
        print(f"NumPy's BLAS: {r['blas']}; {settings_text(r['blas_settings'])}")
    if r["processes"] > 1:
        print(f"{minigrad_label(r['processes'])}: data-parallel under mpiexec, NumPy's BLAS in "
              f"each: {r['minigrad_blas']}")
    print(f"PyTorch {r['torch_version']}, {r['torch_threads']} threads")
    m = r["matmul_gflops"]
    print(f"float32 {r['matmul_size']}^3 matrix product: {m['median']:.0f} GFLOP/s (median; "
          f"{m['min']:.0f}-{m['max']:.0f} over {r['rounds']} processes)")
    for name, w in r["workloads"].items():
        print(f"\n{name}: {w['description']}\n  {w['recipe_line']}; "
              f"{w['gflop_per_gen_iter']:.1f} GFLOP of matrix products")
        print(f"  {'s per generator iteration':<28}{'median':>8}{'min-max':>16}")
        for engine in ENGINES:
            s = w[engine]
            label = f"PyTorch {r['torch_version']}" if engine == "torch" else \
                minigrad_label(s["processes"])
            print(f"  {label:<28}{s['median']:>8.3f}{s['min']:>10.3f}-{s['max']:.3f}")
        q = w["ratio_minigrad_to_torch"]
        print(f"  {'minigrad / PyTorch':<28}{q['median']:>7.2f}x{q['min']:>9.2f}-{q['max']:.2f}x")
        print(f"  {'floor (the products alone)':<28}{w['floor_s_per_gen_iter']:>8.3f}")


def main(argv=None):
    args = arguments(argv)
    from minigrad import distributed
    if args.compare_torch:
        result = compare(args)
    elif args.processes > 1 and not distributed.launched():  # start the ranks, and report
        result = run_process(child_command(args, args.engine, args.workloads[0]), os.environ)
    else:
        result = time_here(args)
    if result is None:  # a rank other than 0
        return
    if args.json:
        print(json.dumps(result))
    elif args.compare_torch:
        print_comparison(result)
    else:
        print_here(result)


if __name__ == "__main__":
    main()
