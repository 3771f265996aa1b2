"""The checker itself: mg.gradcheck and mg.gradgradcheck must fail on wrong rules, or a
passing suite means nothing. Each test builds an op with a deliberately wrong vector-Jacobian
product (through minigrad.autograd.apply, which every primitive op records itself with) and
shows that the check catches it, and that the same op with the right rule passes.
"""
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import apply
from minigrad.tensor import constant

import devices
from devices import leaf, tensor


def square(x, rule):
    """x ** 2 as a single recorded node whose vjp is ``rule(g, x)``."""
    return apply(x.array ** 2, (x,), (lambda g, out: rule(g, x),), "test_square")


def right(g, x):
    return g * 2 * x


def test_right_rule_passes_both_checks():
    """The control: a correct, differentiable rule passes first and second order."""
    x = leaf(np.random.default_rng(0).standard_normal((3, 4)))
    assert mg.gradcheck(lambda x: square(x, right), [x])
    assert mg.gradgradcheck(lambda x: square(x, right), [x])


def test_wrong_factor_is_caught():
    """A rule off by a factor (g * x instead of g * 2x) fails gradcheck."""
    x = leaf(np.random.default_rng(1).standard_normal((3, 4)))
    with pytest.raises(mg.GradcheckError, match="input 0"):
        mg.gradcheck(lambda x: square(x, lambda g, x: g * x), [x])


def test_rule_wrong_for_the_second_input_only_is_caught_and_named():
    """With two inputs, the error names the one whose gradient is wrong."""
    rng = np.random.default_rng(2)
    a, b = leaf(rng.standard_normal(3)), leaf(rng.standard_normal(3))

    def product(a, b):  # d/db should be g * a; the rule gives g * a * 1.01
        return apply(a.array * b.array, (a, b), (lambda g, out: g * b, lambda g, out: g * a * 1.01), "test_mul")

    with pytest.raises(mg.GradcheckError, match=r"input 1 \(shape \(3,\)\)"):
        mg.gradcheck(product, [a, b])


def test_non_differentiable_rule_is_caught_by_gradgradcheck():
    """A rule with the right values but built from constants (g * 2x with x's data frozen) passes
    the first-order check and must fail the second-order one: the gradient penalty would be wrong."""
    x = leaf(np.random.default_rng(3).standard_normal((2, 3)))

    def frozen(g, x):
        return g * constant(2 * x.array)

    assert mg.gradcheck(lambda x: square(x, frozen), [x])
    with pytest.raises(mg.GradcheckError):
        mg.gradgradcheck(lambda x: square(x, frozen), [x])


def test_wrong_second_derivative_is_caught():
    """A rule whose values are right but whose own derivative is wrong (g * (x + x.array) has
    derivative g, not 2g) fails gradgradcheck."""
    x = leaf(np.random.default_rng(4).standard_normal(4))
    with pytest.raises(mg.GradcheckError):
        mg.gradgradcheck(lambda x: square(x, lambda g, x: g * (x + constant(x.array))), [x])


def test_large_input_checked_along_random_directions():
    """Inputs above max_entries are probed along random directions: still correct rules pass and
    a wrong one is caught, and the message says it was a direction."""
    x = leaf(np.random.default_rng(5).standard_normal((21, 23)))  # 483 entries > 400
    assert mg.gradcheck(lambda x: square(x, right), [x])
    with pytest.raises(mg.GradcheckError, match="random direction"):
        mg.gradcheck(lambda x: square(x, lambda g, x: g * 2 * x + 0.01), [x])


def test_error_in_a_single_entry_is_found():
    """One wrong entry among many (a rule that is right except at one place) is caught."""
    x = leaf(np.random.default_rng(6).standard_normal((5, 7)))
    bump = np.zeros((5, 7))
    bump[4, 6] = 1e-3

    with pytest.raises(mg.GradcheckError):
        mg.gradcheck(lambda x: square(x, lambda g, x: g * 2 * x + devices.constant(bump)), [x])


def test_several_outputs_are_all_checked():
    """fn may return a tuple; a wrong rule reachable only from the second output is caught."""
    x = leaf(np.random.default_rng(7).standard_normal(3))
    assert mg.gradcheck(lambda x: (x.exp(), square(x, right)), [x])
    with pytest.raises(mg.GradcheckError):
        mg.gradcheck(lambda x: (x.exp(), square(x, lambda g, x: g * 3 * x)), [x])


def test_inputs_that_do_not_require_grad_are_not_checked():
    """A constant input is passed through unchanged; only the others are differentiated."""
    rng = np.random.default_rng(8)
    x, c = leaf(rng.standard_normal(3)), tensor(rng.standard_normal(3))
    assert mg.gradcheck(lambda x, c: x * c.exp(), [x, c])
    assert mg.gradgradcheck(lambda x, c: x * x * c, [x, c])


def test_unused_input_has_zero_gradient():
    """An input fn ignores has gradient 0, which matches its (zero) finite differences."""
    rng = np.random.default_rng(9)
    x, unused = leaf(rng.standard_normal(3)), leaf(rng.standard_normal(2))
    assert mg.gradcheck(lambda x, u: x * x, [x, unused])


def test_inputs_are_restored():
    """gradcheck perturbs inputs in place and must put the original values back."""
    x = leaf(np.random.default_rng(10).standard_normal((3, 3)))
    before = x.numpy()
    mg.gradcheck(lambda x: x.exp(), [x])
    mg.gradgradcheck(lambda x: x.exp(), [x])
    np.testing.assert_array_equal(x.numpy(), before)


def test_float32_is_refused():
    """float32 finite differences are too noisy to trust: gradcheck refuses them by name."""
    x = tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="float64.*float32"):
        mg.gradcheck(lambda x: x * x, [x])


def test_gradgradcheck_with_given_grad_outputs():
    """Explicit grad_outputs (requiring grad) are used and checked too."""
    rng = np.random.default_rng(11)
    x, u = leaf(rng.standard_normal(4)), leaf(rng.standard_normal(4))
    assert mg.gradgradcheck(lambda x: x.tanh() * x, [x], grad_outputs=[u])
    with pytest.raises(mg.GradcheckError):
        mg.gradgradcheck(lambda x: square(x, lambda g, x: g * (x + constant(x.array))), [x], grad_outputs=u)


def test_constant_outputs_are_ignored_by_both_checks():
    """gradcheck and gradgradcheck accept the same functions: an output that does not depend on
    any input (a constant returned next to the real result) has no derivatives to check."""
    x = leaf(np.random.default_rng(12).standard_normal(3))
    fn = lambda x: (x * x, tensor(np.ones(2)))  # noqa: E731
    assert mg.gradcheck(fn, [x])
    assert mg.gradgradcheck(fn, [x])


# ---- bad inputs: clear errors naming what was wrong ----


def square_with_wrong_rule(x):
    """x ** 2 whose vjp is off by 1 at flat entry 5 only (entry (1, 1) of a (2, 4) input)."""
    bump = np.zeros(x.shape)
    bump.flat[5] = 1.0
    return apply(x.array ** 2, (x,), (lambda g, out: g * 2 * x + devices.constant(bump),), "wrong_square")

def test_gradcheck_names_the_input_and_entry_of_a_wrong_rule():
    """gradcheck on an op with a wrong vjp raises GradcheckError naming the input, the entry and
    both values."""
    a, x = leaf(np.random.default_rng(0).standard_normal(3)), leaf(np.random.default_rng(1).standard_normal((2, 4)))
    with pytest.raises(mg.GradcheckError) as e:
        mg.gradcheck(lambda a, x: a.sum() * square_with_wrong_rule(x), [a, x])
    message = str(e.value)
    assert "input 1" in message and "(2, 4)" in message
    entry = re.sub(r"np\.int\d+", "", message.split("at entry ")[1].split(":")[0])
    assert [int(n) for n in re.findall(r"\d+", entry)] == [1, 1]
    assert "analytic" in message and "numerical" in message

def test_gradcheck_entry_is_printed_as_a_plain_index():
    """The entry reads as the index a user would type, "(1, 1)", not "(np.int64(1), np.int64(1))"."""
    x = leaf(np.random.default_rng(1).standard_normal((2, 4)))
    with pytest.raises(mg.GradcheckError, match=re.escape("entry (1, 1)")):
        mg.gradcheck(square_with_wrong_rule, [x])
