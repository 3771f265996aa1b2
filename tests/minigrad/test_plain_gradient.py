"""Differentiating a gradient taken without create_graph=True says so: grad() marks what it
returns then, the mark follows the values computed from it while recording is on, and the
error for differentiating something that does not require grad names create_graph=True.
"""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

from devices import leaf


def penalty_from(g):
    """The WGAN-GP penalty of an input gradient g, (||g|| - 1)^2 averaged over the rows."""
    return ((((g * g).sum(axis=1) + 1e-12).sqrt() - 1) ** 2).mean()


def critic_and_input():
    rng = np.random.default_rng(0)
    return leaf(rng.standard_normal((3, 1))), leaf(rng.standard_normal((5, 3)))


def test_backward_through_a_gradient_taken_without_create_graph_names_the_fix():
    w, x = critic_and_input()
    (g,) = mg.grad((x @ w).sum(), x)
    penalty = penalty_from(g)
    assert not penalty.requires_grad
    with pytest.raises(RuntimeError, match=r"without create_graph=True.*pass create_graph=True"):
        penalty.backward()
    with pytest.raises(RuntimeError, match=r"output 0 .*without create_graph=True"):
        mg.grad(penalty, w)


def test_with_create_graph_the_same_penalty_trains_the_weights():
    w, x = critic_and_input()
    (g,) = mg.grad((x @ w).sum(), x, create_graph=True)
    penalty_from(g).backward()
    n = np.linalg.norm(w.numpy())  # every row of g is w^T: d penalty / dw = 2 (n - 1) w / n
    assert np.allclose(w.grad.numpy(), 2 * (n - 1) * w.numpy() / n)


def test_a_computation_that_never_required_grad_keeps_the_plain_message():
    w, x = critic_and_input()
    with pytest.raises(RuntimeError, match="no input of the computation has requires_grad"):
        (x.detach() * 2).sum().backward()
    (g,) = mg.grad((x @ w).sum(), x)
    with mg.no_grad():  # nothing is recorded here, and the mark is not carried either
        unmarked = g * 2
    with pytest.raises(RuntimeError, match="no input of the computation has requires_grad"):
        unmarked.sum().backward()


def test_a_gradient_constant_in_x_does_not_require_grad_even_with_create_graph():
    """relu / leaky_relu / abs multiply g by a constant mask: the gradient of sum(f(x)) is a
    constant, so it does not require grad (PyTorch records a node whose derivative is 0)."""
    _, x = critic_and_input()
    for f in (F.relu, lambda t: F.leaky_relu(t, 0.2), lambda t: t.abs()):
        (g,) = mg.grad(f(x).sum(), x, create_graph=True)
        assert not g.requires_grad and g.grad_fn is None
    (g,) = mg.grad(x.tanh().sum(), x, create_graph=True)  # curved: its gradient depends on x
    assert g.requires_grad
