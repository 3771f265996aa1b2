"""The teaching examples run as a user runs them (a subprocess, with their fast flag where they
have one), exit 0, and print what they claim; each asserts its own claims too, so a wrong
result is a non-zero exit. About 20 s in all on 2 cores.
"""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

pytestmark = pytest.mark.cpu_only("runs the examples as scripts, on the CPU")


def run(script, *args, timeout=300):
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def ok(script, *args):
    code, out, err = run(script, *args)
    assert code == 0, f"{script} {' '.join(map(str, args))} exited {code}:\n{out}\n{err}"
    return out


def number(pattern, text):
    match = re.search(pattern, text)
    assert match, f"no line matching {pattern!r} in:\n{text}"
    return float(match.group(1))


def test_double_backprop_engine_vs_finite_differences_vs_closed_form():
    out = ok("double_backprop.py")
    assert number(r"engine vs closed form: max relative difference (\S+)", out) < 1e-10
    assert number(r"engine vs finite differences: max relative difference (\S+)", out) < 1e-6
    assert "d penalty / d c: engine not reached (None)" in out
    assert "0.weight   (8, 6): max relative difference" in out
    assert "the penalty requires grad: False" in out
    assert "penalty.backward() -> RuntimeError: " in out
    assert "pass create_graph=True to that grad() call" in out  # the real cause, named
    assert "All double-backprop checks passed." in out


def test_gradcheck_tour_passes_right_rules_and_catches_wrong_ones():
    out = ok("gradcheck_tour.py")
    assert out.count("gradcheck     ") >= 8 and out.count("gradgradcheck ") >= 3
    assert "float32 inputs are refused" in out
    assert "analytic / true derivative, every entry: [0.5 0.5 0.5 0.5]" in out
    wrong = out.split("2. Ops with deliberately wrong")[1]
    assert wrong.count("GradcheckError: gradient mismatch") == 2
    assert "gradcheck passes: the first derivative 3 x^2 is right" in out
    assert "vjp of 'add_no_unbroadcast' returned shape (4, 3) for a parent of shape (3,)" in out
    assert "Every check behaved as shown" in out


def test_wasserstein_1d_penalty_critic_matches_scipy_and_is_plotted(tmp_path):
    plot = tmp_path / "w1.png"
    out = ok("wasserstein_1d.py", "--fast", "--plot", plot)
    w_ref = number(r"wasserstein_distance on [\d,]+ samples each = ([\d.]+)", out)
    w_gp = number(r"lambda 100: estimate ([\d.]+) vs scipy", out)
    assert abs(w_gp - w_ref) <= 0.05 * w_ref
    assert number(r"lambda 10 \(the paper's\): estimate ([\d.]+)", out) > w_ref
    scaled = number(r"estimate / K = ([\d.]+) = [\d.]+% of W1", out)
    assert scaled <= 1.02 * w_ref
    assert number(r"weight clipping, c = 0.01: raw estimate (\S+),", out) < 0.1 * w_ref
    assert plot.read_bytes().startswith(b"\x89PNG")
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("OK: the lambda = 100 critic estimates W1 within 5%")


def test_mnist_classifier_learns_the_digits():
    out = ok("mnist_classifier.py", "--fast")
    assert "4,000 training digits, 1,000 held out" in out
    assert number(r"held-out ([\d.]+)%", out) >= 80
    first, last = (number(r"step +%d \(epoch \d+\): loss ([\d.]+)" % s, out) for s in (50, 150))
    assert last < first
    assert "OK: held-out accuracy" in out


def test_an_example_whose_claim_fails_exits_non_zero():
    """One training step cannot reach 80%: the script says so and exits with an error."""
    code, out, err = run("mnist_classifier.py", "--fast", "--steps", "1")
    assert code != 0
    assert "AssertionError: held-out accuracy" in err and "is below 80%" in err
    assert "OK:" not in out
