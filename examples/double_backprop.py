#!/usr/bin/env python
"""Double backprop, checked three ways: the gradient of the WGAN-GP penalty with respect to
the critic's weights.

The penalty differentiates a gradient:

    penalty(theta) = mean_i ( || d D_theta(x_i) / d x_i || - 1 )^2

so its gradient with respect to the weights theta needs second derivatives of D. The engine
gets them by recording the backward pass (``mg.grad(..., create_graph=True)``) and
differentiating that record. This script takes the penalty exactly as the WGAN trainer does
(``wgan.losses.gradient_penalty``) and compares what the engine computes with

1. a closed form, for a linear critic D(x) = <v, x> + c: its input gradient is v for every
   sample, so with the epsilon the code puts inside the square root,
       n = sqrt(||v||^2 + eps),  penalty = (n - 1)^2,  d penalty / dv = 2 (n - 1) v / n,
   and the bias c does not reach the penalty at all;
2. central finite differences, for that critic and for a two-layer tanh critic (no closed form).

Finally it shows what happens without create_graph=True: the gradient is a constant, the
penalty cannot train anything, and the engine says so when the penalty alone is differentiated
(added to a loss that requires grad, it is silently a constant term).

    python examples/double_backprop.py [--dim 6] [--batch 16] [--seed 0]
"""
import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, installed or not

import minigrad as mg  # noqa: E402
from wgan.losses import gradient_penalty  # noqa: E402

PENALTY_EPS = 1e-12  # gradient_penalty's default epsilon inside the square root


def penalty_of(critic, real, fake, seed):
    """The penalty with a fixed draw of the interpolation weights alpha (reseeded every call,
    so that finite differences compare the same function)."""
    mg.manual_seed(seed)
    return gradient_penalty(critic, real, fake, eps=PENALTY_EPS)


def finite_differences(critic, real, fake, seed, h=1e-6):
    """Central differences of the penalty in every parameter entry, {name: array}."""
    result = {}
    for name, p in critic.named_parameters():
        grad = np.zeros(p.shape)
        flat = p.array.reshape(-1)  # a view: changing it changes the parameter
        for k in range(flat.size):
            original = flat[k]
            flat[k] = original + h
            up = penalty_of(critic, real, fake, seed).item()
            flat[k] = original - h
            down = penalty_of(critic, real, fake, seed).item()
            flat[k] = original
            grad.reshape(-1)[k] = (up - down) / (2 * h)
        result[name] = grad
    return result


def engine_gradients(critic, real, fake, seed):
    """d penalty / d parameter by backward(); None for a parameter the penalty does not reach."""
    critic.zero_grad()
    penalty = penalty_of(critic, real, fake, seed)
    penalty.backward()
    return penalty.item(), {name: None if p.grad is None else p.grad.numpy()
                            for name, p in critic.named_parameters()}


def relative_error(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def linear_critic_check(dim, batch, seed):
    print(f"1. Linear critic D(x) = <v, x> + c on {dim}-dimensional samples, batch {batch}")
    rng = np.random.default_rng(seed)
    critic = mg.nn.Linear(dim, 1).to(dtype=np.float64)
    critic.weight.array[...] = rng.standard_normal((1, dim)) * 0.7
    critic.bias.array[...] = 0.3
    real = mg.tensor(rng.standard_normal((batch, dim)))
    fake = mg.tensor(rng.standard_normal((batch, dim)) + 2.0)

    penalty, engine = engine_gradients(critic, real, fake, seed)
    numeric = finite_differences(critic, real, fake, seed)
    v = critic.weight.numpy()
    n = np.sqrt((v * v).sum() + PENALTY_EPS)
    closed_penalty = (n - 1) ** 2
    closed = 2 * (n - 1) * v / n

    print(f"   ||v|| = {n:.6f}; penalty: engine {penalty:.12f}, closed form (||v|| - 1)^2 = "
          f"{closed_penalty:.12f}")
    print("   d penalty / d v, entry by entry:")
    print(f"   {'entry':>5} {'engine':>16} {'finite diff.':>16} {'closed form':>16}")
    for k in range(dim):
        print(f"   {k:>5} {engine['weight'][0, k]:>16.10f} {numeric['weight'][0, k]:>16.10f} "
              f"{closed[0, k]:>16.10f}")
    err_closed = relative_error(engine["weight"], closed)
    err_fd = relative_error(engine["weight"], numeric["weight"])
    print(f"   engine vs closed form: max relative difference {err_closed:.2e}")
    print(f"   engine vs finite differences: max relative difference {err_fd:.2e}")
    bias_fd = float(np.abs(numeric["bias"]).max())
    bias_engine = "not reached (None)" if engine["bias"] is None else engine["bias"]
    print(f"   d penalty / d c: engine {bias_engine}"
          f", finite differences {bias_fd:.1e}, closed form 0")
    assert abs(penalty - closed_penalty) <= 1e-12, "penalty differs from (||v|| - 1)^2"
    assert err_closed < 1e-10, f"engine vs closed form: {err_closed:.3g}"
    assert err_fd < 1e-6, f"engine vs finite differences: {err_fd:.3g}"
    assert engine["bias"] is None or np.all(engine["bias"] == 0), "the bias should not reach it"
    assert bias_fd < 1e-8
    print("   OK: the engine's second-order gradient equals the closed form and the finite "
          "differences")
    return err_closed, err_fd


def mlp_critic_check(dim, batch, seed):
    print("\n2. Two-layer critic D(x) = W2 tanh(W1 x + b1) + b2 (hidden 8): engine vs finite "
          "differences")
    mg.manual_seed(seed)
    critic = mg.nn.Sequential(mg.nn.Linear(dim, 8), mg.nn.Tanh(), mg.nn.Linear(8, 1))
    critic.to(dtype=np.float64)
    rng = np.random.default_rng(seed + 1)
    real = mg.tensor(rng.standard_normal((batch, dim)))
    fake = mg.tensor(rng.standard_normal((batch, dim)) * 0.5 - 1.0)
    penalty, engine = engine_gradients(critic, real, fake, seed)
    numeric = finite_differences(critic, real, fake, seed)
    print(f"   penalty {penalty:.10f}")
    worst = 0.0
    for name, g in engine.items():
        if g is None:  # the last bias shifts D but not its gradient
            print(f"   {name:>9}: not reached by the penalty; finite differences "
                  f"{np.abs(numeric[name]).max():.1e}")
            assert np.abs(numeric[name]).max() < 1e-8
            continue
        err = relative_error(g, numeric[name])
        worst = max(worst, err)
        print(f"   {name:>9} {str(g.shape):>8}: max relative difference {err:.2e}")
    assert worst < 1e-6, f"engine vs finite differences: {worst:.3g}"
    print("   OK: every weight's gradient matches")
    return worst


def without_create_graph(dim, batch, seed):
    print("\n3. The same gradient taken without create_graph=True")
    critic = mg.nn.Linear(dim, 1).to(dtype=np.float64)
    x = mg.randn(batch, dim, dtype=np.float64, requires_grad=True)
    (g,) = mg.grad(critic(x).sum(), x)  # create_graph=False: the backward pass records nothing
    penalty = ((((g * g).sum(axis=1) + PENALTY_EPS).sqrt() - 1) ** 2).mean()
    print(f"   the gradient requires grad: {g.requires_grad}; the penalty requires grad: "
          f"{penalty.requires_grad}")
    try:
        penalty.backward()
    except RuntimeError as e:
        print(f"   penalty.backward() -> RuntimeError: {e}")
        assert "create_graph=True" in str(e), "the error should name the missing create_graph"
    else:
        raise AssertionError("backward() through a gradient taken without create_graph should fail")
    assert not g.requires_grad and not penalty.requires_grad

    # In a real critic loss the penalty is added to terms that do require grad, so nothing
    # fails: the loss trains, and the penalty, a constant, adds nothing to the weights' gradient.
    loss = critic(x).mean() + 10 * penalty
    critic.zero_grad()
    loss.backward()
    without = critic.weight.grad.numpy().copy()
    critic.zero_grad()
    critic(x).mean().backward()
    assert np.array_equal(without, critic.weight.grad.numpy())
    print("   added to the critic's loss it raises nothing: d loss / d weight is the same with "
          "and without the penalty term")
    print("   OK: without create_graph the penalty is a constant to the optimizer")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dim", type=int, default=6, help="sample dimension (default 6)")
    parser.add_argument("--batch", type=int, default=16, help="samples per batch (default 16)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    linear_critic_check(args.dim, args.batch, args.seed)
    mlp_critic_check(args.dim, args.batch, args.seed)
    without_create_graph(args.dim, args.batch, args.seed)
    print("\nAll double-backprop checks passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
