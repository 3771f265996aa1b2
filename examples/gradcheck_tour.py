#!/usr/bin/env python
"""A tour of gradcheck: checking backward rules against finite differences, and what a wrong
rule looks like when it is caught.

``mg.gradcheck(fn, inputs)`` draws a random weighting u of fn's output and compares the
engine's gradient of L = sum(u * fn(inputs)) with central differences
(L(x + eps e_k) - L(x - eps e_k)) / (2 eps), entry by entry (along random directions for
large inputs). ``mg.gradgradcheck`` does the same for the gradient itself, built with
create_graph=True: that is the second derivative the WGAN-GP penalty needs.

Part 1 runs the checks on real ops. Part 2 builds ops with deliberately wrong backward rules
through ``minigrad.autograd.apply`` (the function every primitive op records itself with;
composite ops such as conv2d or layer_norm are made of primitives) and shows the error each
one produces:

- a rule with the wrong formula (d(x^2)/dx = x instead of 2x): gradcheck fails;
- a rule with the right numbers written outside the graph (a constant array instead of
  Tensor ops): gradcheck passes, gradgradcheck fails, and the penalty would be silently wrong;
- a rule that forgets to sum over a broadcast axis: the engine itself rejects the shape.

    python examples/gradcheck_tour.py
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, installed or not

import minigrad as mg  # noqa: E402
import minigrad.nn.functional as F  # noqa: E402
from minigrad.autograd import apply  # noqa: E402
from minigrad.tensor import constant  # noqa: E402

RNG = np.random.default_rng(0)


def leaf(*shape, scale=1.0):
    """A float64 tensor that requires grad: finite differences in float32 are too noisy."""
    return mg.tensor(scale * RNG.standard_normal(shape), requires_grad=True)


def run_checks():
    print("1. Checking real ops (float64, central differences, eps 1e-6)")
    x, w, b = leaf(2, 3, 6, 6), leaf(4, 3, 3, 3, scale=0.5), leaf(4)
    cases = [
        ("matmul", lambda a, c: a @ c, [leaf(3, 4), leaf(4, 2)]),
        ("broadcast add, mul", lambda a, c: (a + c) * c, [leaf(3, 1), leaf(4)]),
        ("sum / mean / max", lambda a: a.sum(axis=0) + a.mean(axis=1).max(), [leaf(3, 5)]),
        ("conv2d, stride 2, padding 1", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
         [x, w, b]),
        ("conv_transpose2d, stride 2", lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1,
                                                                       output_padding=1),
         [leaf(2, 4, 3, 3), leaf(4, 2, 3, 3, scale=0.5)]),
        ("batch_norm (training)", lambda x, g, c: F.batch_norm(x, None, None, g, c, training=True),
         [leaf(5, 3), leaf(3), leaf(3)]),
        ("layer_norm", lambda x: F.layer_norm(x, 4), [leaf(3, 4)]),
        ("log_softmax", lambda x: F.log_softmax(x, axis=1), [leaf(3, 5)]),
    ]
    for name, fn, inputs in cases:
        assert mg.gradcheck(fn, inputs)
        sizes = ", ".join(f"{x.numel()}" + (" (8 random directions)" if x.numel() > 400 else "")
                          for x in inputs)
        print(f"   gradcheck     {name:<30} ok   inputs of {sizes} entries")
    critic = lambda x, w, b: F.leaky_relu(F.conv2d(x, w, b, stride=2, padding=1), 0.2).tanh()
    second = [
        ("tanh(x) * x", lambda a: a.tanh() * a, [leaf(3, 4)]),
        ("conv2d -> leaky_relu -> tanh", critic, [leaf(1, 2, 5, 5), leaf(3, 2, 3, 3), leaf(3)]),
        ("layer_norm", lambda x: F.layer_norm(x, 4), [leaf(2, 4)]),
    ]
    for name, fn, inputs in second:
        assert mg.gradgradcheck(fn, inputs)
        print(f"   gradgradcheck {name:<30} ok")
    try:
        mg.gradcheck(lambda a: a * a, [mg.randn(3, requires_grad=True)])
    except TypeError as e:
        print(f"   float32 inputs are refused: TypeError: {e}")
    else:
        raise AssertionError("gradcheck should refuse float32 inputs")


def square_wrong(x):
    """x^2 with the backward rule d/dx = x: the factor 2 is missing."""
    return apply(x.array ** 2, (x,), (lambda g, out: g * x,), "square_wrong")


def cube_outside_graph(x):
    """x^3 whose rule has the right value 3x^2, but computed on the raw array: a constant to
    the engine, so the rule's own dependence on x is invisible when it is differentiated."""
    return apply(x.array ** 3, (x,), (lambda g, out: g * constant(3 * x.array ** 2),), "cube_outside")


def cube_right(x):
    """The same rule written with Tensor ops: recorded under create_graph, differentiable."""
    return apply(x.array ** 3, (x,), (lambda g, out: g * 3 * x * x,), "cube")


def add_no_unbroadcast(a, b):
    """a + b whose rule for b forgets to sum the gradient over the axis b was broadcast along."""
    return apply(a.array + b.array, (a, b), (lambda g, out: g, lambda g, out: g),
                 "add_no_unbroadcast")


def expect_failure(check, fn, inputs, error):
    try:
        check(fn, inputs)
    except error as e:
        return str(e)
    raise AssertionError(f"{check.__name__} should have raised {error.__name__}")


def wrong_rules():
    print("\n2. Ops with deliberately wrong backward rules, built with minigrad.autograd.apply")

    print("\n   a) square_wrong: the rule says d(x^2)/dx = x")
    x = leaf(4)
    message = expect_failure(mg.gradcheck, square_wrong, [x], mg.GradcheckError)
    print(f"      GradcheckError: {message}")
    (g,) = mg.grad(square_wrong(x).sum(), x)
    ratio = g.numpy() / (2 * x.numpy())
    print(f"      analytic / true derivative, every entry: {np.round(ratio, 12)}")
    assert np.allclose(ratio, 0.5)

    print("\n   b) cube_outside_graph: the right first derivative, computed outside the graph")
    x = leaf(4)
    assert mg.gradcheck(cube_outside_graph, [x])
    print("      gradcheck passes: the first derivative 3 x^2 is right")
    message = expect_failure(mg.gradgradcheck, cube_outside_graph, [x], mg.GradcheckError)
    print(f"      gradgradcheck fails: GradcheckError: {message}")
    assert mg.gradgradcheck(cube_right, [x])
    print("      cube with the rule g * 3 * x * x (Tensor ops): gradgradcheck passes")
    (g_wrong,) = mg.grad(cube_outside_graph(x).sum(), x, create_graph=True)
    (g,) = mg.grad(cube_right(x).sum(), x, create_graph=True)
    (gg,) = mg.grad(g.sum(), x)
    print(f"      d/dx sum(x^3) with create_graph=True: outside the graph, requires grad: "
          f"{g_wrong.requires_grad} (its dependence on x was never recorded); with Tensor ops: "
          f"{g.requires_grad}, and its derivative is {np.round(gg.numpy(), 6)} = 6x: "
          f"{np.allclose(gg.numpy(), 6 * x.numpy())}")
    assert not g_wrong.requires_grad and np.allclose(gg.numpy(), 6 * x.numpy())

    print("\n   c) add_no_unbroadcast: b of shape (3,) is broadcast over 4 rows, its rule "
          "returns (4, 3)")
    a, b = leaf(4, 3), leaf(3)
    message = expect_failure(mg.gradcheck, add_no_unbroadcast, [a, b], AssertionError)
    print("      the engine stops it before gradcheck compares anything: "
          f"AssertionError: {message}")
    assert "returned shape (4, 3) for a parent of shape (3,)" in message


def main():
    run_checks()
    wrong_rules()
    print("\nEvery check behaved as shown: right rules pass, each wrong rule is caught.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
