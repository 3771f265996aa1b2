"""benchmarks/wgan_step.py and what it times (benchmarks/engines.py, torch_engine.py): the
workloads follow the Config defaults and the preset, the PyTorch step mirrors minigrad's (same
layers and weights, same numbers for one step in float64), --compare-torch times each engine
in processes of its own, alternating, and --processes times minigrad's data-parallel step under
mpiexec. Every size here is tiny: nothing is timed for real."""
import dataclasses
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import distributed
from wgan import losses, models, modes
from wgan.config import Config
from wgan.trainer import Trainer

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "wgan_step.py"
sys.path.insert(0, str(ROOT / "benchmarks"))
import engines  # noqa: E402

pytestmark = pytest.mark.cpu_only("times and compares the engines on the host")

spec = importlib.util.spec_from_file_location("wgan_step", SCRIPT)
wgan_step = importlib.util.module_from_spec(spec)
spec.loader.exec_module(wgan_step)

TINY = dict(dim=2, batch_size=4)
needs_mpi = pytest.mark.skipif(
    distributed.local_launcher() is None,
    reason='--processes needs mpi4py and mpiexec: pip install -e ".[dist]"')


# ---- the workloads ----

def test_the_bare_workload_is_the_bare_commands_step():
    assert engines.recipe(engines.workload_config("bare")) == engines.recipe(Config().resolved())


def test_the_bare_workload_follows_a_changed_default(monkeypatch):
    defaults = modes.MODES["wgan-gp"].defaults
    changed = dict(dim=8, batch_size=10, n_critic=3, gp_every=3, generator_norm="none",
                   lr=1e-3, critic_lr=2e-3, beta1=0.5, beta2=0.99, reuse_fake=False)
    for key, value in changed.items():
        assert defaults[key] != value, key  # else the test could not fail
        monkeypatch.setitem(defaults, key, value)
    recipe = engines.recipe(engines.workload_config("bare"))
    assert {key: recipe[key] for key in changed} == changed
    assert "DIM 8, batch 10, 3 critic steps, penalty every 3 critic steps" in engines.describe(
        engines.workload_config("bare"))


def test_the_authors_workloads_are_the_paper_preset_at_dim_64_and_16():
    for name, dim in (("dim64", 64), ("dim16", 16)):
        r = engines.recipe(engines.workload_config(name))
        assert (r["arch"], r["dim"], r["batch_size"], r["n_critic"], r["gp_every"]) == \
            ("gp", dim, 50, 5, 1)
        assert (r["optimizer"], r["lr"], r["critic_lr"], r["beta1"], r["beta2"]) == \
            ("adam", 1e-4, 1e-4, 0.5, 0.9)
        assert (r["gp_lambda"], r["generator_norm"], r["ema"]) == (10.0, "none", 0.0)


def test_sizes_change_every_workload_and_unknown_names_are_refused():
    for name in engines.WORKLOADS:
        c = engines.workload_config(name, dim=3, batch_size=6, n_critic=2)
        assert (c.dim, c.batch_size, c.n_critic) == (3, 6, 2)
    assert tuple(engines.WORKLOADS) == wgan_step.WORKLOADS
    with pytest.raises(ValueError, match="unknown workload 'dim32'.*bare, dim64, dim16"):
        engines.workload_config("dim32")


def test_count_gflop_counts_two_m_n_k_per_product():
    a, b = mg.ones(2, 3), mg.ones(3, 5)
    assert engines.count_gflop(lambda: (a @ b) @ mg.ones(5, 7)) == \
        pytest.approx((2 * 2 * 5 * 3 + 2 * 2 * 7 * 5) / 1e9)


def test_each_timed_run_is_a_whole_penalty_cycle(monkeypatch):
    """Penalised and plain iterations take different times: a median over single iterations
    would pick one kind; each timed run is a whole cycle, divided by its length."""
    now, calls = [0.0], []
    monkeypatch.setattr(engines.time, "perf_counter", lambda: now[0])

    def step():  # 3 s with the penalty, 1 s without, alternating
        calls.append(1)
        now[0] += 3.0 if len(calls) % 2 else 1.0
    assert engines.timed(step, iters=3, warmup=1, cycle=2) == [2.0, 2.0, 2.0]
    assert len(calls) == 8  # a warm-up cycle and three timed ones


def test_the_gflop_of_an_iteration_average_the_penalty_schedule():
    """The bare step's penalty falls on every 2nd critic step, one per iteration (4th in the
    recipe before): the GFLOP reported are the mean over the cycle, not the first (penalised)
    iteration's."""
    config = dataclasses.replace(engines.workload_config("bare"), gp_every=4)
    assert (config.n_critic, engines.penalty_cycle(config)) == (1, 4)
    assert engines.penalty_cycle(engines.workload_config("bare")) == 2
    assert engines.penalty_cycle(engines.workload_config("dim16", dim=2)) == 1
    assert engines.penalty_cycle(dataclasses.replace(config, gp_every=4, n_critic=6)) == 2
    trainer = Trainer(config, engines.training_images(config))
    each = [engines.count_gflop(trainer.step) for _ in range(4)]
    assert each[0] > each[1] == each[2] == each[3]  # the penalty's products on the first
    _, about = engines.engine_step("minigrad", config)
    assert about["gflop_per_gen_iter"] == pytest.approx(sum(each) / 4, abs=1e-3)  # 5.2
    assert about["gflop_per_gen_iter"] < 0.9 * each[0]                               # not 6.5


# ---- the PyTorch step mirrors minigrad's ----

@pytest.mark.parametrize("arch", models.ARCHITECTURES)
def test_the_torch_models_have_minigrads_layers_and_weights(arch):
    torch = pytest.importorskip("torch")
    torch_engine = pytest.importorskip("torch_engine")
    generator, critic = models.build(arch, dim=2, gradient_penalty=True)
    x = np.random.default_rng(1).random((3,) + models.native_shape(arch))
    z = np.random.default_rng(2).standard_normal((3, 128))
    for model, data in ((generator, z), (critic, x)):
        model.to(dtype=mg.float64).eval()
        copy = torch_engine.torch_model(model).eval()
        assert [(n, p.shape) for n, p in model.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in copy.named_parameters()]
        assert sum(p.array.size for p in model.parameters()) == \
            sum(p.numel() for p in copy.parameters())
        with mg.no_grad(), torch.no_grad():
            np.testing.assert_allclose(copy(torch.from_numpy(data)).numpy(),
                                       model(mg.tensor(data)).numpy(), rtol=1e-12, atol=1e-12)


def test_a_layer_without_a_counterpart_is_named():
    pytest.importorskip("torch")
    torch_engine = pytest.importorskip("torch_engine")
    with pytest.raises(TypeError, match="no PyTorch counterpart for minigrad's GELU"):
        torch_engine.torch_model(mg.nn.Sequential(mg.nn.Linear(2, 2), mg.nn.GELU()))


@pytest.mark.parametrize("workload, n_critic", [("bare", None), ("bare", 5), ("dim64", 3),
                                               ("dim16", 2)])
def test_one_step_gives_the_same_numbers_and_weights_in_both_engines(workload, n_critic,
                                                                     monkeypatch):
    """One generator iteration (every critic step, the penalty on its schedule, the
    optimizers' updates, the generator step) from the same weights on the same real batch,
    noise and alphas, in float64: the same losses and the same weights afterwards."""
    torch = pytest.importorskip("torch")
    torch_engine = pytest.importorskip("torch_engine")
    sizes = {**TINY, **({} if n_critic is None else {"n_critic": n_critic})}
    config = engines.workload_config(workload, **sizes)
    rng = np.random.default_rng(3)
    real = rng.random((4, 1, 28, 28))
    z = rng.standard_normal((4, 128))
    alpha = rng.random((4, 1, 1, 1))
    ours = engines.Trainer(config, engines.training_images(config))
    ours.generator.to(dtype=mg.float64)
    ours.critic.to(dtype=mg.float64)
    theirs = torch_engine.TorchTrainer(config, real, ours.generator, ours.critic)
    ours.sampler = iter([real] * config.n_critic)
    theirs.sampler = iter([real] * config.n_critic)
    ours.noise = lambda: mg.tensor(z)
    theirs.noise = lambda: torch.from_numpy(z)
    monkeypatch.setattr(losses, "interpolation_weights", lambda n, like: mg.tensor(alpha))
    theirs.interpolation_weights = lambda n, like: torch.from_numpy(alpha)
    numbers, torch_numbers = ours.step(), theirs.step()
    assert set(numbers) == set(torch_numbers)
    for name in numbers:
        assert torch_numbers[name] == pytest.approx(numbers[name], rel=1e-9, abs=1e-12), name
    # Adam moves every weight by about lr (1e-4 here) whatever its gradient's size, so a
    # disagreement shows as ~1e-4 against rounding's ~1e-16. No weight's gradient is rounding
    # noise (none is a bias right before batch norm, whose gradient is 0 in exact arithmetic
    # and whose update would then be noise too), so no absolute tolerance is needed
    for model, copy in ((ours.generator, theirs.generator), (ours.critic, theirs.critic)):
        state = copy.state_dict()
        for name, value in model.state_dict().items():
            np.testing.assert_allclose(state[name].numpy(), value.numpy(), rtol=1e-9,
                                       atol=0, err_msg=name)


def test_the_torch_step_refuses_what_it_does_not_mirror():
    pytest.importorskip("torch")
    torch_engine = pytest.importorskip("torch_engine")
    config = engines.workload_config("bare", **TINY)
    generator, critic = models.build_for(config)
    for change, named in ((dict(ema=0.999, ema_start=0.0), "ema=0.999 from the start"),
                          (dict(augment="translation"), "augment='translation'"),
                          (dict(lr_decay="linear"), "lr_decay='linear'")):
        with pytest.raises(ValueError, match=named):
            torch_engine.TorchTrainer(dataclasses.replace(config, **change),
                                      engines.training_images(config), generator, critic)


# ---- the script ----

@pytest.mark.parametrize("argv, message", [
    (["--workloads", "bare,dim32"], "unknown dim32"),
    (["--workloads", "bare,dim16"], "one workload per process"),
    (["--compare-torch", "--memory-iters", "5"], "leave out --compare-torch"),
    (["--rounds", "0", "--compare-torch"], "--rounds must be at least 1"),
    (["--workloads", "bare", "--batch-size", "1"], "--batch-size must be"),  # batch norm in G
    (["--compare-torch", "--batch-size", "1"], "--batch-size must be"),
    (["--engine", "torch", "--processes", "2"], "leave out --engine torch"),
    (["--processes", "0"], "--processes must be at least 1"),
    (["--compare-torch", "--batch-size", "6", "--processes", "4"],
     "batch of 6 does not split into 4 equal shares"),
])
def test_bad_arguments_are_named(argv, message, capsys):
    with pytest.raises(SystemExit):
        wgan_step.arguments(argv)
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("engine", ["minigrad", "torch"])
def test_one_engine_is_timed_in_the_calling_process(engine):
    if engine == "torch":
        pytest.importorskip("torch")
    args = wgan_step.arguments(["--engine", engine, "--workloads", "bare", "--dim", "2",
                                "--batch-size", "4", "--iters", "2", "--warmup", "0",
                                "--matmul-size", "16", "--json"])
    result = wgan_step.time_here(args)
    assert (result["engine"], result["workload"], result["pid"]) == (engine, "bare", os.getpid())
    assert (result["dim"], result["batch_size"], result["device"]) == (2, 4, "cpu")
    assert len(result["all_s_per_gen_iter"]) == 2 and result["median_s_per_gen_iter"] > 0
    if engine == "minigrad":
        assert result["gflop_per_gen_iter"] > 0 and result["floor_s_per_gen_iter"] >= 0
    else:
        assert result["torch_version"] and "gflop_per_gen_iter" not in result
    json.dumps(result)


def test_compare_torch_alternates_the_engines_in_processes_of_their_own(tmp_path):
    pytest.importorskip("torch")
    command = [sys.executable, str(SCRIPT), "--compare-torch", "--json", "--workloads", "dim16",
               "--dim", "2", "--batch-size", "4", "--n-critic", "1", "--iters", "1",
               "--warmup", "0", "--rounds", "2", "--matmul-size", "16", "--threads", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    entry = result["workloads"]["dim16"]
    assert entry["recipe"]["dim"] == 2 and entry["gflop_per_gen_iter"] > 0
    pids = entry["minigrad"]["pids"] + entry["torch"]["pids"]
    assert len(set(pids)) == 4 and result["driver_pid"] not in pids
    for engine in ("minigrad", "torch"):
        s = entry[engine]
        assert len(s["rounds"]) == 2 and s["min"] <= s["median"] <= s["max"]
    ratios = entry["ratio_minigrad_to_torch"]["rounds"]
    assert ratios == [round(m / t, 3) for m, t in zip(entry["minigrad"]["rounds"],
                                                      entry["torch"]["rounds"])]
    assert entry["floor_s_per_gen_iter"] == round(
        entry["gflop_per_gen_iter"] / result["matmul_gflops"]["median"], 4)
    assert len(result["matmul_gflops"]["rounds"]) == 2
    assert result["blas_settings"]["OPENBLAS_NUM_THREADS"] == "1"  # --threads 1, in the children
    assert result["torch_threads"] == 1
    order = [line.split(": ")[1].split()[1] for line in done.stderr.splitlines()
             if line.startswith("round ")]
    assert order == ["minigrad", "torch", "minigrad", "torch"]


# ---- minigrad data-parallel (--processes) ----

# DIM 4, so that half the batch's GFLOP (one rank's) differ from the whole batch's to 3 places
DATA_PARALLEL = ["--workloads", "bare", "--dim", "4", "--batch-size", "4", "--iters", "2",
                 "--warmup", "1", "--matmul-size", "16"]


@needs_mpi
def test_processes_time_minigrads_data_parallel_step_under_mpiexec(tmp_path):
    command = [sys.executable, str(SCRIPT), "--json", "--processes", "2", *DATA_PARALLEL]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["engine"], result["processes"], result["batch_size"]) == ("minigrad", 2, 4)
    assert len(result["all_s_per_gen_iter"]) == 2 and result["floor_s_per_gen_iter"] > 0
    config = engines.workload_config("bare", dim=4, batch_size=4)
    _, one_process = engines.engine_step("minigrad", config)
    assert result["gflop_per_gen_iter"] == one_process["gflop_per_gen_iter"]  # the whole batch


@needs_mpi
def test_under_mpiexec_rank_0_alone_reports(tmp_path):
    command = [distributed.local_launcher(), "-n", "2", sys.executable, str(SCRIPT), "--json",
               "--processes", "2", *DATA_PARALLEL]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    assert json.loads(line)["processes"] == 2


@needs_mpi
def test_compare_torch_runs_minigrad_in_processes_and_torch_alone(tmp_path, capsys):
    pytest.importorskip("torch")
    command = [sys.executable, str(SCRIPT), "--compare-torch", "--json", "--processes", "2",
               "--rounds", "1", *DATA_PARALLEL]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    entry = result["workloads"]["bare"]
    assert (result["processes"], entry["minigrad"]["processes"], entry["torch"]["processes"]) \
        == (2, 2, 1)
    wgan_step.print_comparison(result)
    table = capsys.readouterr().out
    assert "\n  minigrad (2 processes)  " in table and "data-parallel under mpiexec" in table


def test_processes_without_mpiexec_say_what_to_install(monkeypatch):
    monkeypatch.setattr(distributed, "local_launcher", lambda: None)
    args = wgan_step.arguments(["--processes", "2", "--workloads", "bare", "--dim", "2",
                                "--batch-size", "4"])
    with pytest.raises(SystemExit, match=re.escape('mpiexec: pip install -e ".[dist]"')):
        wgan_step.child_command(args, "minigrad", "bare")
    assert wgan_step.child_command(args, "torch", "bare")[0] == sys.executable  # not mpiexec
