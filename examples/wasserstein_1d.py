#!/usr/bin/env python
"""A WGAN critic as a Wasserstein-distance estimator, on two 1-D distributions where the
answer is known.

By Kantorovich-Rubinstein duality,

    W1(P, Q) = max over 1-Lipschitz f of  E_P[f(x)] - E_Q[f(x)],

and a WGAN's critic is a neural network trained to approximate that maximiser. Here P is a
Gaussian and Q a two-component Gaussian mixture; in 1-D the maximiser is known,
f*'(x) = sign(F_Q(x) - F_P(x)) with F the CDFs, so W1 = integral of |F_P - F_Q|, and
scipy.stats.wasserstein_distance computes it from samples. The critic (a ReLU MLP on
minigrad) is trained three ways:

- gradient penalty (WGAN-GP, Gulrajani et al. 2017), lambda = 100: loss
  E_Q f - E_P f + lambda E[(|f'(x_hat)| - 1)^2] on random interpolates x_hat. Its estimate
  E_P f - E_Q f on fresh samples is asserted to be within TOLERANCE (5%) of scipy's W1.
- gradient penalty with the paper's lambda = 10. The penalty is soft: where interpolates are
  rare the critic's slope is allowed to exceed 1 a little, and the estimate overshoots W1
  (by about 9% here). What is asserted is that overshoot: above W1, and by less than 15%.
- weight clipping (the original WGAN, Arjovsky et al. 2017): every parameter clamped to
  [-0.01, 0.01] after each step. That bounds the critic's Lipschitz constant K far below 1,
  so its raw estimate is tiny, not W1. Since f / K is 1-Lipschitz, (E_P f - E_Q f) / K is a
  lower bound on W1: that scaled value is reported (K measured as the largest |f'| on a grid
  covering the samples, by autodiff) and only the bound is asserted. Clipping underestimates.

Two details make the penalty critics train reliably in 1-D, and are worth knowing. The
two-sided penalty (|f'| - 1)^2 has two wells, slope +1 and slope -1, with a barrier of height
lambda at slope 0 between them; a critic whose slope falls into the wrong well early stays
there. So the last layer starts at zero: the critic starts flat, where the penalty's gradient
vanishes, and the loss alone picks the sign of each slope. And the activations are ReLUs, whose
pieces can change slope independently; with --activation tanh or leaky_relu the critic often
stalls near a linear function (estimate near the mean difference, 0.93, and the check fails),
which is worth seeing once.

    python examples/wasserstein_1d.py                      # full run, about 30 s
    python examples/wasserstein_1d.py --fast               # fewer steps and samples, for CI
    python examples/wasserstein_1d.py --plot docs/images/wasserstein_1d.png
"""
import argparse
import os
import sys
import time
from pathlib import Path

# The matrices here are tiny (batch x 64): BLAS threads cost more than they give, and on a busy
# machine their spinning can make each product tens of times slower. One thread, unless told.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402  (after the thread settings, which BLAS reads when loaded)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, installed or not

import minigrad as mg  # noqa: E402
from minigrad.nn.utils import clip_parameters_  # noqa: E402

TOLERANCE = 0.05        # relative: |estimate - W1| <= 5% of W1 for the lambda = 100 critic
LAMBDA = 100.0          # penalty weight of the asserted critic
PAPER_LAMBDA = 10.0     # the paper's weight, run to show the soft penalty's overshoot
OVERSHOOT_BOUND = 0.15  # the lambda = 10 estimate lies in (W1, 1.15 W1]
CLIP = 0.01             # weight-clipping bound, as in the paper
SAMPLING = 0.02         # slack for bounds that hold exactly only with infinite samples

# P = N(0, 1);  Q = 0.35 N(-2, 0.5^2) + 0.65 N(2.5, 0.7^2)
P_MEAN, P_STD = 0.0, 1.0
Q_WEIGHTS, Q_MEANS, Q_STDS = (0.35, 0.65), (-2.0, 2.5), (0.5, 0.7)
ACTIVATIONS = {"relu": mg.nn.ReLU, "leaky_relu": lambda: mg.nn.LeakyReLU(0.2), "tanh": mg.nn.Tanh}


def sample_p(rng, n):
    return rng.normal(P_MEAN, P_STD, n)


def sample_q(rng, n):
    component = rng.random(n) < Q_WEIGHTS[0]
    return np.where(component, rng.normal(Q_MEANS[0], Q_STDS[0], n),
                    rng.normal(Q_MEANS[1], Q_STDS[1], n))


def mixture(function, x, weights, means, stds):
    from scipy.stats import norm
    return sum(w * getattr(norm, function)(x, m, s) for w, m, s in zip(weights, means, stds))


def cdf_p(x):
    return mixture("cdf", x, (1.0,), (P_MEAN,), (P_STD,))


def cdf_q(x):
    return mixture("cdf", x, Q_WEIGHTS, Q_MEANS, Q_STDS)


def reference_distance(rng, n):
    """W1 by scipy on n samples of each, and by integrating |F_P - F_Q| on a fine grid."""
    from scipy.stats import wasserstein_distance
    by_samples = wasserstein_distance(sample_p(rng, n), sample_q(rng, n))
    grid = np.linspace(-10, 10, 200_001)
    trapezoid = getattr(np, "trapezoid", None) or np.trapz  # NumPy 2 renamed trapz
    by_cdfs = trapezoid(np.abs(cdf_p(grid) - cdf_q(grid)), grid)
    return by_samples, by_cdfs


def make_critic(hidden, activation):
    """MLP 1 -> hidden -> hidden -> 1 whose last layer starts at zero: a flat critic (see the
    docstring: the penalty's gradient vanishes there, so the loss picks the slopes' signs)."""
    act = ACTIVATIONS[activation]
    critic = mg.nn.Sequential(mg.nn.Linear(1, hidden), act(), mg.nn.Linear(hidden, hidden), act(),
                              mg.nn.Linear(hidden, 1))
    critic[4].weight.array[...] = 0
    critic[4].bias.array[...] = 0
    return critic


def column(x):
    return mg.tensor(np.asarray(x, dtype=np.float32).reshape(-1, 1))


def estimate(critic, x_p, x_q):
    """E_P f - E_Q f on the given samples (no graph recorded)."""
    with mg.no_grad():
        return critic(x_p).mean().item() - critic(x_q).mean().item()


def penalty_1d(critic, real, fake):
    """E[(|f'(x_hat)| - 1)^2], x_hat = real + alpha (fake - real), one alpha per sample: the
    steps of wgan.losses.gradient_penalty, written out for samples of shape (batch, 1)."""
    alpha = mg.rand(real.shape[0], 1)
    x_hat = (real + alpha * (fake - real)).requires_grad_()
    (slope,) = mg.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((((slope * slope).sum(axis=1) + 1e-12).sqrt() - 1) ** 2).mean()


def lipschitz_constant(critic, lo=-6.0, hi=6.0, n=4001):
    """max |f'(x)| over a grid on [lo, hi], by autodiff: in 1-D, the Lipschitz constant of f
    on the interval (which holds all but a negligible fraction of the samples)."""
    x = column(np.linspace(lo, hi, n)).requires_grad_()
    (slope,) = mg.grad(critic(x).sum(), x)
    return float(np.abs(slope.numpy()).max())


def train(kind, steps, args, rng, monitor, lam=None):
    """Train a critic ("gp" with penalty weight ``lam``, or "clip"); returns it and its
    estimates on the ``monitor`` samples every few steps."""
    critic = make_critic(args.hidden, args.activation)
    if kind == "gp":
        optimizer = mg.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    else:  # the original WGAN's RMSprop; its lr 5e-5 is a GAN setting, far too slow for this toy
        optimizer = mg.optim.RMSprop(critic.parameters(), lr=1e-3)
        clip_parameters_(critic, CLIP)
    history, every = [], max(steps // 25, 1)
    for step in range(1, steps + 1):
        x_p, x_q = column(sample_p(rng, args.batch)), column(sample_q(rng, args.batch))
        loss = critic(x_q).mean() - critic(x_p).mean()
        if kind == "gp":
            loss = loss + lam * penalty_1d(critic, x_p, x_q)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if kind == "clip":
            clip_parameters_(critic, CLIP)
        if step % every == 0 or step == steps:
            history.append((step, estimate(critic, *monitor)))
    return critic, history


def optimal_critic(grid):
    """f*(x) = integral of sign(F_Q - F_P) from the grid's start: the 1-D maximiser."""
    slope = np.sign(cdf_q(grid) - cdf_p(grid))
    return np.concatenate([[0.0], np.cumsum(0.5 * (slope[1:] + slope[:-1]) * np.diff(grid))])


def plot(path, w_ref, runs):
    """Left: the densities and the critics (each shifted to mean 0 under P); right: the
    estimates during training. ``runs``: (label, colour, critic, history, scale)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.linspace(-5, 5, 1001)
    density_p = mixture("pdf", grid, (1.0,), (P_MEAN,), (P_STD,))
    centre = lambda f: f - np.average(f, weights=density_p)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5.2))
    left.fill_between(grid, density_p, alpha=0.2, color="C0", label="P = N(0, 1)")
    left.fill_between(grid, mixture("pdf", grid, Q_WEIGHTS, Q_MEANS, Q_STDS), alpha=0.2,
                      color="C1", label="Q = 0.35 N(-2, 0.5²) + 0.65 N(2.5, 0.7²)")
    left.set_ylabel("density")
    left.set_xlabel("x")
    twin = left.twinx()
    twin.plot(grid, centre(optimal_critic(grid)), "k--", lw=1.5, label="optimal critic f*")
    for label, colour, critic, _, scale in runs:
        with mg.no_grad():
            f = critic(column(grid)).numpy().ravel() / scale
        twin.plot(grid, centre(f), colour, lw=1.8, label=label)
    twin.set_ylabel("critic value (shifted to mean 0 under P)")
    handles = left.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    left.legend(handles, [h.get_label() for h in handles], fontsize=8, ncol=2,
                loc="upper center", bbox_to_anchor=(0.5, -0.13))
    left.set_title("P, Q and the critics")
    for label, colour, _, history, scale in runs:
        steps, values = zip(*history)
        right.plot(steps, np.array(values) / scale, colour, lw=1.5, label=label)
    right.axhline(w_ref, color="k", ls="--", lw=1.2, label=f"W1 by scipy = {w_ref:.3f}")
    right.set_xlabel("critic step")
    right.set_ylabel("E_P f - E_Q f  (clipped: / K)")
    right.set_title("Estimates of W1(P, Q) while training")
    right.set_ylim(0, 1.35 * w_ref)
    right.legend(fontsize=8, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.13))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fast", action="store_true", help="fewer steps and samples, for CI")
    parser.add_argument("--steps", type=int, help="critic steps (default 2000, --fast 600)")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu",
                        help="hidden activation (default relu; the others stall, see above)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="PNG", help="save the picture to this file "
                        "(e.g. docs/images/wasserstein_1d.png); none by default")
    args = parser.parse_args(argv)
    steps = args.steps or (600 if args.fast else 2000)
    n_ref, n_eval = (200_000, 50_000) if args.fast else (1_000_000, 200_000)
    mg.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()

    w_ref, w_cdf = reference_distance(rng, n_ref)
    mean_gap = abs(P_MEAN - sum(w * m for w, m in zip(Q_WEIGHTS, Q_MEANS)))
    print(f"P = N({P_MEAN:g}, {P_STD:g}^2), Q = {Q_WEIGHTS[0]} N({Q_MEANS[0]:g}, {Q_STDS[0]:g}^2) + "
          f"{Q_WEIGHTS[1]} N({Q_MEANS[1]:g}, {Q_STDS[1]:g}^2)")
    print(f"W1(P, Q): scipy.stats.wasserstein_distance on {n_ref:,} samples each = {w_ref:.4f}; "
          f"integral of |F_P - F_Q| = {w_cdf:.4f} (a linear critic gets only the mean "
          f"difference, {mean_gap:.3f})")
    monitor = column(sample_p(rng, 20_000)), column(sample_q(rng, 20_000))
    final = column(sample_p(rng, n_eval)), column(sample_q(rng, n_eval))
    print(f"critics: MLP 1-{args.hidden}-{args.hidden}-1, {args.activation}, {steps} steps of "
          f"batch {args.batch}; final estimates on {n_eval:,} fresh samples of each")

    gp, hist_gp = train("gp", steps, args, rng, monitor, LAMBDA)
    w_gp, k_gp = estimate(gp, *final), lipschitz_constant(gp)
    error = (w_gp - w_ref) / w_ref
    print(f"gradient penalty, lambda {LAMBDA:g}: estimate {w_gp:.4f} vs scipy {w_ref:.4f}: "
          f"{100 * error:+.2f}% (tolerance {100 * TOLERANCE:.0f}%); largest slope K = {k_gp:.3f}")

    soft, hist_soft = train("gp", steps, args, rng, monitor, PAPER_LAMBDA)
    w_soft, k_soft = estimate(soft, *final), lipschitz_constant(soft)
    overshoot = (w_soft - w_ref) / w_ref
    print(f"gradient penalty, lambda {PAPER_LAMBDA:g} (the paper's): estimate {w_soft:.4f}: "
          f"{100 * overshoot:+.2f}%{' (the soft penalty overshoots)' if overshoot > 0 else ''}; "
          f"largest slope K = {k_soft:.3f}, "
          f"estimate / K = {w_soft / k_soft:.4f}")

    clip, hist_clip = train("clip", steps, args, rng, monitor)
    w_clip, k_clip = estimate(clip, *final), lipschitz_constant(clip)
    scaled = w_clip / k_clip
    print(f"weight clipping, c = {CLIP}: raw estimate {w_clip:.3e}, Lipschitz constant "
          f"K = {k_clip:.3e}; estimate / K = {scaled:.4f} = {100 * scaled / w_ref:.1f}% of W1 "
          "(a lower bound: clipping underestimates)")

    if args.plot:
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        plot(args.plot, w_ref, [
            (f"gradient penalty, λ = {LAMBDA:g}", "C2", gp, hist_gp, 1.0),
            (f"gradient penalty, λ = {PAPER_LAMBDA:g}", "C4", soft, hist_soft, 1.0),
            (f"weight clipping, divided by K = {k_clip:.1e}", "C3", clip, hist_clip, k_clip)])
        print(f"plot saved to {args.plot}")
    print(f"time {time.perf_counter() - start:.1f} s")

    assert abs(w_ref - w_cdf) / w_cdf < SAMPLING, "scipy's sample estimate disagrees with the CDFs"
    assert abs(error) <= TOLERANCE, (f"gradient-penalty estimate {w_gp:.4f} is {100 * error:+.1f}% "
                                     f"from W1 = {w_ref:.4f}, outside {100 * TOLERANCE:.0f}%")
    assert -SAMPLING < overshoot <= OVERSHOOT_BOUND, (
        f"lambda {PAPER_LAMBDA:g}: estimate {w_soft:.4f} is {100 * overshoot:+.1f}% from W1; "
        f"expected an overshoot of at most {100 * OVERSHOOT_BOUND:.0f}%")
    assert w_clip < 0.1 * w_ref, "a clipped critic's raw estimate should be far below W1"
    assert scaled <= w_ref * (1 + SAMPLING), (f"estimate / K = {scaled:.4f} should not exceed "
                                              f"W1 = {w_ref:.4f}")
    print(f"OK: the lambda = {LAMBDA:g} critic estimates W1 within {100 * TOLERANCE:.0f}%; "
          f"lambda = {PAPER_LAMBDA:g} overshoots by {100 * overshoot:.1f}%; the clipped critic, "
          "rescaled by its Lipschitz constant, stays below W1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
