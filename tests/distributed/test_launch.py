"""Data parallelism from the outside: ``mpiexec -n 2`` started as a subprocess. It runs the
two-rank tests (test_mpi.py), and the training command on two ranks: what it writes, a
failure injected on one rank, Ctrl-C, a batch that does not split. Skipped where mpi4py or
mpiexec is missing (install the dist extra: pip install -e ".[dist]"), and inside mpiexec.

A plain run, without mpiexec, never imports mpi4py: checked here too, mpi4py or not.
"""
import csv
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import distributed
from devices import DEVICE, flatten_state
from tiny_runs import TINY_ARGS
from wgan.run_folder import RunFolder

ROOT = Path(__file__).resolve().parents[2]
COMMAND = str(ROOT / "examples" / "mnist_wgan.py")
FAILING_RUN = str(Path(__file__).with_name("failing_run.py"))
TINY = ["--mode", "wgan-gp", *TINY_ARGS, "--n-critic", "2", "--gp-every", "1",  # a penalty a row
        "--sample-every", "2", "--checkpoint-every", "2"]

pytestmark = pytest.mark.skipif(distributed.launched(),
                                reason="starts mpiexec itself: not run inside mpiexec")


def _mpiexec():
    """The mpiexec of the MPI mpi4py was installed with (the mpich wheel puts it beside the
    interpreter), else the one on PATH."""
    beside = Path(sys.executable).with_name("mpiexec")
    return str(beside) if beside.exists() else shutil.which("mpiexec")


MPIEXEC = _mpiexec()
needs_mpi = pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None or MPIEXEC is None,
    reason='needs mpi4py and mpiexec: pip install -e ".[dist]"')


def _environment(threads="1"):
    """This environment without a launcher's variables, with ``threads`` BLAS threads per
    process (None: no thread variable, the processes choose)."""
    env = {k: v for k, v in os.environ.items()
           if k not in distributed._RANK_VARIABLES + distributed._SIZE_VARIABLES
           + distributed.THREAD_VARIABLES}
    if threads is not None:
        env.update(OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    return env


def _finish(process, timeout):
    """(status, stdout, stderr) of a started process; a run that does not end in time (a
    rank left waiting) fails the test, after two Ctrl-C make mpiexec kill its ranks."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for _ in range(2):
            process.send_signal(signal.SIGINT)
            time.sleep(1)
        out, err = process.communicate(timeout=60)
        pytest.fail(f"did not finish within {timeout} s:\n{out}\n{err}")
    return process.returncode, out, err


def _start(*args, ranks=2, threads="1"):
    command = ([MPIEXEC, "-n", str(ranks)] if ranks else []) + [sys.executable, *args]
    return subprocess.Popen(command, cwd=ROOT, env=_environment(threads), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run(*args, ranks=2, timeout=300, threads="1"):
    return _finish(_start(*args, ranks=ranks, threads=threads), timeout)


def log_rows(folder):
    with open(Path(folder) / "log.csv", newline="") as f:
        return list(csv.DictReader(f))


BLAS_THREADS = ("import threadpoolctl\n"
                "from minigrad import distributed\n"
                "with distributed.session() as group:\n"
                "    info = threadpoolctl.threadpool_info()\n"
                "    counts = [i['num_threads'] for i in info if i['user_api'] == 'blas']\n"
                # one write per rank: print's pieces from two ranks would interleave
                "    print(f'threads {group.blas_threads} {counts}', flush=True)\n")


@needs_mpi
@pytest.mark.cpu_only("counts BLAS threads on the CPU")
def test_the_ranks_on_one_machine_share_its_cores_for_blas():
    """Two ranks on this machine with a BLAS thread per core each would fight for the cores
    (the bare command ran 5x slower): each takes its share, unless the user set a count."""
    cores = len(os.sched_getaffinity(0))
    status, out, err = run("-c", BLAS_THREADS, threads=None)
    assert status == 0, out + err
    share = max(1, cores // 2)
    assert out.count(f"threads {share} [{share}") == 2, out
    status, out, err = run("-c", BLAS_THREADS, threads="1")  # the user's choice stands
    assert status == 0 and out.count("threads None [1") == 2, out + err


@needs_mpi
def test_the_two_rank_tests_pass_under_mpiexec():
    status, out, err = run("-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/distributed/test_mpi.py", "--device", DEVICE, timeout=900)
    assert status == 0, out + err
    summaries = re.findall(r"^(\d+ passed.*) in [\d.]+s$", out, re.MULTILINE)  # one per rank
    assert len(summaries) == 2 and summaries[0] == summaries[1], out
    assert re.fullmatch(r"\d+ passed", summaries[0]), out  # nothing skipped or failed


@needs_mpi
@pytest.mark.cpu_only("runs the training command on the CPU")
def test_the_command_on_two_ranks_writes_once_what_one_process_writes(tmp_path):
    status, out, err = run(COMMAND, *TINY, "--iters", "4", "--out", str(tmp_path / "ranks"))
    assert status == 0, out + err
    assert out.count("training wgan-gp") == 1 and out.count("done: 4 iterations") == 1, out
    status, out, err = run(COMMAND, *TINY, "--iters", "4", "--out", str(tmp_path / "alone"),
                           ranks=0)
    assert status == 0, out + err

    def files(root):
        return sorted(str(p.relative_to(root)) for p in root.rglob("*"))

    assert files(tmp_path / "ranks") == files(tmp_path / "alone")
    ranks, alone = log_rows(tmp_path / "ranks"), log_rows(tmp_path / "alone")
    assert [r["iteration"] for r in ranks] == ["1", "2", "3", "4"]
    for mine, theirs in zip(ranks, alone):
        for name in ("critic_loss", "gradient_penalty", "generator_loss"):
            np.testing.assert_allclose(float(mine[name]), float(theirs[name]), rtol=1e-4,
                                       atol=1e-6, err_msg=name)
    state = {name: flatten_state(mg.load(tmp_path / name / "checkpoint.npz"))
             for name in ("ranks", "alone")}
    assert state["ranks"].keys() == state["alone"].keys()
    for key in ("/rng", "/sampler", "/iteration"):  # the random streams stay the same
        for entry in (k for k in state["alone"] if k.startswith(key)):
            assert np.array_equal(state["ranks"][entry], state["alone"][entry]), entry


FAILURES = {"rank 1 fails": (1, "OSError", 1, "error: rank 1: injected disk failure"),
            "rank 0 fails": (0, "OSError", 1, "error: injected disk failure"),
            "Ctrl-C on rank 1": (1, "KeyboardInterrupt", 130, "interrupted")}


@needs_mpi
@pytest.mark.cpu_only("runs the training command on the CPU")
@pytest.mark.parametrize("rank, failure, status, message", FAILURES.values(), ids=FAILURES)
def test_a_failure_on_one_rank_stops_both_with_its_message_and_status(tmp_path, rank, failure,
                                                                      status, message):
    out_dir = tmp_path / "run"
    code, out, err = run(FAILING_RUN, str(rank), "3", failure, *TINY, "--iters", "6",
                         "--out", str(out_dir))
    assert code == status, out + err
    said = [line for line in err.splitlines() if line.startswith(("error:", "interrupted"))]
    assert said == [message], err  # once, by rank 0
    assert [r["iteration"] for r in log_rows(out_dir)] == ["1", "2"]
    assert int(mg.load(out_dir / "checkpoint.npz")["iteration"]) == 2  # the last good one
    RunFolder(out_dir).lock()  # released
    code, out, err = run(COMMAND, "--resume", "--out", str(out_dir), ranks=0)
    assert code == 0 and "resuming" in out, out + err


@needs_mpi
@pytest.mark.cpu_only("runs the training command on the CPU")
def test_ctrl_c_stops_every_rank_at_the_same_iteration_with_a_checkpoint(tmp_path):
    out_dir = tmp_path / "run"
    process = _start(COMMAND, *TINY, "--iters", "100000", "--checkpoint-every", "100000",
                     "--out", str(out_dir))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (
            (out_dir / "log.csv").exists() and len(log_rows(out_dir)) >= 3):
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)  # mpiexec passes it to every rank
    status, out, err = _finish(process, timeout=120)
    assert status == 0, out + err
    stopped = re.findall(r"stopped by SIGINT at iteration (\d+)", out)
    assert len(stopped) == 1, out
    assert int(mg.load(out_dir / "checkpoint.npz")["iteration"]) == int(stopped[0])
    assert log_rows(out_dir)[-1]["iteration"] == stopped[0]


@needs_mpi
@pytest.mark.cpu_only("runs the training command on the CPU")
def test_a_batch_that_does_not_split_over_the_ranks_is_refused_once(tmp_path):
    status, out, err = run(COMMAND, *TINY, "--batch-size", "7", "--iters", "1",
                           "--out", str(tmp_path / "run"))
    assert status == 2, out + err
    assert err.count("--batch-size 7 does not divide by the 2 processes") == 1, err


@pytest.mark.cpu_only("runs the training command on the CPU")
def test_a_plain_run_never_imports_mpi4py(tmp_path):
    code = ("import sys; from wgan import cli; "
            f"status = cli.main({TINY + ['--iters', '1', '--out', str(tmp_path / 'run')]!r}); "
            "assert status == 0, status; "
            "assert 'mpi4py' not in sys.modules, 'mpi4py was imported'")
    status, out, err = run("-c", code, ranks=0)
    assert status == 0, out + err
