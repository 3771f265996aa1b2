"""benchmarks/profile_step.py runs, on the step benchmarks/wgan_step.py times: --recipe bare
is the bare command's, from the Config defaults. Tiny sizes: nothing is timed for real."""
import subprocess
import sys
from pathlib import Path

import pytest

from wgan.config import Config, with_preset

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "profile_step.py"

pytestmark = pytest.mark.cpu_only("profiles a training step on the host")


@pytest.mark.parametrize("recipe", ["bare", "paper"])
def test_the_profile_names_its_recipe_phases_and_ops(recipe, tmp_path):
    expected = (Config() if recipe == "bare" else with_preset("paper")).resolved()
    command = [sys.executable, str(SCRIPT), "--recipe", recipe, "--dim", "2", "--batch-size",
               "4", "--iters", "1", "--threads", "1", "--top", "3", "--matmul-size", "64"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    critic_steps = {1: "1 critic step", 5: "5 critic steps"}[expected.n_critic]
    assert lines[0] == (f"WGAN-GP generator iteration ({recipe} recipe): DIM 2, batch 4, "
                        f"{critic_steps}, penalty every {expected.gp_every}, 1 thread")
    assert any(line.startswith("critic step: backward") for line in lines)
    assert any(line.startswith("matmul") for line in lines)
    products = next(line for line in lines if line.startswith("matrix products: "))
    count = float(products.split()[2])
    assert count >= 10 and "timed alone" in products and "64-square product" in products
