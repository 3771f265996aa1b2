"""benchmarks/gpu_check.py without a GPU: its no-GPU mode, the parts that need no GPU (pytest's
counts, the CPU-GPU loss agreement, the steps' time limits, the summary), and the whole
pipeline on the CuPy stand-in."""
import csv
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"

pytestmark = pytest.mark.cpu_only("runs the GPU check script on the host; makes no tensors")

spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
gpu_check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_check)


def run_script(*args, cwd, env=None, timeout=60):
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def test_without_a_gpu_it_says_so_in_one_line_and_exits_0(tmp_path):
    environment = {k: v for k, v in os.environ.items() if k != "OUT"}
    environment["CUDA_VISIBLE_DEVICES"] = ""  # no GPU, even where there is one
    started = time.monotonic()
    result = subprocess.run([sys.executable, str(SCRIPT)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, env=environment)
    assert time.monotonic() - started < 30
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu_check: no GPU here: "), result.stdout
    assert "CuPy" in lines[0] and lines[0].endswith("nothing was checked")
    assert result.stderr == ""
    assert list(tmp_path.iterdir()) == []  # nothing written


# ---- pytest's counts ----

def test_counts_come_from_the_final_summary_line():
    output = "\n".join([
        "....F..s.x", "FAILED tests/minigrad/test_x.py::test_y - AssertionError: 1 != 2",
        "ERROR tests/wgan/test_z.py::test_w - RuntimeError",
        "----- device suite -----",
        'device "cuda" against the installed CuPy: 900 passed, 3 failed, 2 xfailed (known '
        "bugs, reported), 7 skipped",
        "  skipped    7: CPU only: compares with PyTorch on the CPU",
        "3 failed, 550 passed, 368 skipped, 2 xfailed, 1 xpassed, 1 warning, 2 errors in "
        "80.10s (0:01:20)"])
    counts = gpu_check.suite_counts(output)
    assert counts == {"passed": 550, "failed": 3, "errors": 2, "skipped": 368, "xfailed": 2,
                      "xpassed": 1, "deselected": 0, "warnings": 1, "partial": False,
                      "summary_line": output.splitlines()[-1]}
    details = gpu_check.suite_details(output)
    assert details["device_line"].startswith('device "cuda" against the installed CuPy: 900')
    assert details["failures"] == output.splitlines()[1:3]


def test_a_summary_line_framed_by_equals_signs_and_one_error():
    counts = gpu_check.suite_counts("collecting ...\n===== 1 error in 0.52s =====\n")
    assert counts["errors"] == 1 and counts["passed"] == 0 and not counts["partial"]
    assert counts["summary_line"] == "1 error in 0.52s"


def test_a_suite_stopped_before_its_summary_is_counted_from_its_progress():
    output = ("ssss....F. [ 10%]\n"
              "..E.xX.... [ 20%]\n"
              "...")
    counts = gpu_check.suite_counts(output)
    assert counts["partial"] and counts["summary_line"] is None
    assert (counts["passed"], counts["failed"], counts["errors"], counts["skipped"],
            counts["xfailed"], counts["xpassed"]) == (15, 1, 1, 4, 1, 1)


# ---- the loss agreement ----

COLUMNS = ("iteration", "wall_time", "critic_loss", "wasserstein", "gradient_penalty",
           "generator_loss", "fid")


def write_log(path, rows):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def row(iteration, critic, penalty, generator, wall_time=None):
    return {"iteration": iteration, "wall_time": wall_time or 0.1 * iteration,
            "critic_loss": critic, "wasserstein": -critic, "gradient_penalty": penalty,
            "generator_loss": generator}


def test_loss_agreement_finds_the_largest_difference_and_where_the_runs_drift(tmp_path):
    cpu = write_log(tmp_path / "cpu.csv", [
        {"iteration": 0, "wall_time": 0.0, "fid": 300.0},  # an evaluation row: no losses
        row(1, -0.5, 2.0, 0.25), row(2, -0.75, 1.0, 0.5), row(3, -1.0, 0.5, 1.0),
        row(4, -1.25, 0.25, 2.0), row(5, -1.5, 0.125, 4.0)])
    gpu = write_log(tmp_path / "gpu.csv", [
        {"iteration": 0, "wall_time": 0.0, "fid": 301.0},
        row(1, -0.5, 2.0, 0.25),
        row(2, -0.75 * (1 + 1e-7), 1.0, 0.5),
        row(3, -1.0, 0.5 * (1 - 2e-6), 1.0),
        row(4, -1.25 * (1 + 5e-3), 0.25, 2.0 * (1 + 2e-3))])  # stopped one iteration earlier
    result = gpu_check.loss_agreement(cpu, gpu, first_n=3, drift=1e-3)
    assert result["iterations_compared"] == 4 and result["first_n"] == 3
    assert result["drift_threshold"] == 1e-3 and result["drift_from_iteration"] == 4
    losses = result["losses"]
    assert set(losses) == {"critic_loss", "wasserstein", "gradient_penalty", "generator_loss"}
    critic = losses["critic_loss"]
    assert critic["max_rel_diff_first_n"] == pytest.approx(1e-7, rel=1e-3)
    assert critic["max_rel_diff"] == pytest.approx(5e-3 / (1 + 5e-3))  # of the larger
    assert critic["drift_from_iteration"] == 4
    assert critic["first_cpu"] == critic["first_gpu"] == -0.5
    assert losses["gradient_penalty"]["max_rel_diff_first_n"] == pytest.approx(2e-6, rel=1e-3)
    assert losses["gradient_penalty"]["drift_from_iteration"] is None
    assert losses["generator_loss"]["max_rel_diff_first_n"] == 0.0
    assert losses["generator_loss"]["drift_from_iteration"] == 4
    assert gpu_check.seconds_per_iteration(gpu) == pytest.approx(0.1)


def test_a_non_finite_loss_counts_as_drift(tmp_path):
    cpu = write_log(tmp_path / "cpu.csv", [row(1, -0.5, 2.0, 0.25), row(2, -0.5, 2.0, 0.25)])
    gpu = write_log(tmp_path / "gpu.csv", [row(1, -0.5, 2.0, 0.25),
                                           row(2, -0.5, float("nan"), 0.25)])
    result = gpu_check.loss_agreement(cpu, gpu)
    assert result["losses"]["gradient_penalty"]["max_rel_diff"] == math.inf
    assert result["drift_from_iteration"] == 2
    assert result["losses"]["critic_loss"]["drift_from_iteration"] is None


def test_relative_difference():
    assert gpu_check.relative_difference(0.0, 0.0) == 0.0
    assert gpu_check.relative_difference(2.0, -2.0) == 2.0
    assert gpu_check.relative_difference(1.0, 1.5) == pytest.approx(1 / 3)
    assert gpu_check.relative_difference(math.inf, math.inf) == math.inf


# ---- steps and the summary ----

def python_step(tmp_path, code, limit):
    return gpu_check.Step("probe", [sys.executable, "-c", code], limit, tmp_path / "probe.log",
                          dict(os.environ))


def test_a_failing_step_is_recorded_with_its_status_and_output(tmp_path):
    step = python_step(tmp_path, "import sys; print('out'); sys.exit(3)", 30).start()
    record = step.wait()
    assert record["status"] == "failed" and record["returncode"] == 3
    assert record["log"] == "probe.log" and "out" in step.output()


def test_a_step_past_its_limit_is_stopped_and_recorded(tmp_path):
    started = time.monotonic()
    record = python_step(tmp_path, "import time; time.sleep(60)", 1).start().wait()
    assert record["status"] == "timed out" and record["limit_s"] == 1
    assert time.monotonic() - started < 20


def test_the_summary_has_every_part_and_is_json():
    steps = [{"name": "suite", "status": "ok", "wall_s": 1.0}]
    result = gpu_check.summary("full", "2026-12-01T00:00:00", 1.26, {"iters": 300},
                               {"gpu": "x"}, {"passed": 1}, None, {}, steps)
    assert tuple(result) == gpu_check.SUMMARY_KEYS == (
        "check", "mode", "started", "wall_s", "settings", "versions", "suite",
        "loss_agreement", "timings", "steps")
    assert result["mode"] == "full" and result["steps"] == steps and result["wall_s"] == 1.3
    assert json.loads(json.dumps(result)) == result


def test_the_whole_check_runs_end_to_end_on_the_stand_in(tmp_path):
    """Every step, against the CuPy stand-in with tiny settings: the suite's device tests,
    three iterations of training on both devices, the agreement (exact here: both are NumPy)
    and one timing; the JSON summary and the logs land in --out."""
    out = tmp_path / "out"
    result = run_script("--standin", "--out", str(out), cwd=tmp_path, timeout=600,
                        env={"TMPDIR": str(tmp_path), "OPENBLAS_NUM_THREADS": "1"})
    summary = json.loads((out / "gpu_check.json").read_text())
    assert tuple(summary) == gpu_check.SUMMARY_KEYS and summary["mode"] == "standin"
    steps = {s["name"]: s for s in summary["steps"]}
    assert list(steps) == ["versions", "install", "suite", "train_cuda", "train_cpu",
                           "agreement", "timing_dim4"]
    suite = summary["suite"]  # its pass/fail is test_device.py's own: reported, not required
    assert suite["passed"] > 0 and not suite["partial"]
    assert steps["suite"]["status"] == ("ok" if suite["failed"] + suite["errors"] == 0
                                        else "failed")
    others = [s for name, s in steps.items() if name != "suite"]
    assert all(s["status"] == "ok" for s in others), others
    assert result.returncode == (0 if steps["suite"]["status"] == "ok" else 1), result.stdout
    agreement = summary["loss_agreement"]
    assert agreement["iterations_compared"] == 3 and agreement["drift_from_iteration"] is None
    assert all(v["max_rel_diff"] == 0.0 for v in agreement["losses"].values())
    assert summary["timings"]["dim4"]["device"] == "cuda"
    assert summary["timings"]["dim4"]["median_s_per_gen_iter"] > 0
    for name in ("suite.log", "train_cuda.log", "train_cpu.log", "timing.log", "log_cpu.csv",
                 "log_cuda.csv"):
        assert (out / name).is_file(), name
    assert len(list(out.iterdir())) <= 8  # what the GPU machine's tool brings back
