"""Bad inputs give clear errors: the right exception type, raised before any work is done, and a
message that names what was wrong (the shapes, the devices, the argument) so that users can fix
their call without reading the engine.
"""
import re
import sys

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import backend
from minigrad.tensor import apply

import cupy_standin
import devices
from devices import leaf, other_device, tensor


def zeros(*shape):
    return tensor(np.zeros(shape))


# ---- shapes ----

def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=re.escape("(2, 3)")) as e:
        zeros(2, 3) @ zeros(4, 5)
    assert "(4, 5)" in str(e.value)


def test_matmul_batch_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match="batch") as e:
        zeros(2, 3, 4) @ zeros(3, 4, 5)
    assert "(2, 3, 4)" in str(e.value) and "(3, 4, 5)" in str(e.value)


def test_matmul_of_a_scalar_is_refused():
    with pytest.raises(ValueError, match=re.escape("()")):
        mg.matmul(zeros(), zeros(3))


def test_linear_weight_mismatch_names_shapes():
    with pytest.raises(ValueError, match=re.escape("(2, 3)")) as e:
        F.linear(zeros(2, 3), zeros(5, 4))
    assert "(5, 4)" in str(e.value)


@pytest.mark.parametrize("op", [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
                                lambda a, b: a / b, lambda a, b: a ** b, mg.maximum, mg.minimum,
                                lambda a, b: mg.where(np.ones((3,), bool), a, b)])
def test_broadcast_mismatch_names_both_shapes(op):
    """Binary ops whose operands do not broadcast name both shapes."""
    with pytest.raises(ValueError, match="broadcast") as e:
        op(zeros(3, 4), zeros(3))
    assert "(3, 4)" in str(e.value) and "(3,)" in str(e.value)


def test_reshape_to_a_wrong_size_names_both_shapes():
    with pytest.raises(ValueError, match=re.escape("(3, 4)")) as e:
        zeros(3, 4).reshape(5, 2)
    assert "(5, 2)" in str(e.value) and "12" in str(e.value)


def test_concat_mismatch_names_shapes():
    with pytest.raises(ValueError, match=re.escape("(2, 3)")) as e:
        mg.concat([zeros(2, 3), zeros(2, 4)], axis=0)
    assert "(2, 4)" in str(e.value)


def test_stack_mismatch_names_shapes():
    with pytest.raises(ValueError, match=re.escape("(2, 3)")):
        mg.stack([zeros(2, 3), zeros(3, 2)])


def test_reduction_axis_out_of_range():
    with pytest.raises(ValueError, match="axis 3"):
        zeros(2, 3).sum(axis=3)


def test_transpose_with_a_bad_permutation():
    with pytest.raises(ValueError, match="permutation"):
        zeros(2, 3, 4).transpose(0, 0, 1)


def test_pad_width_of_the_wrong_length():
    with pytest.raises(ValueError, match="pad_width"):
        mg.pad(zeros(2, 3), ((1, 1),))


# ---- convolution ----

def test_conv2d_channel_mismatch_names_the_channels():
    with pytest.raises(ValueError, match="3 channels") as e:
        F.conv2d(zeros(1, 3, 5, 5), zeros(4, 2, 3, 3))
    assert "(4, 2, 3, 3)" in str(e.value)


def test_conv_transpose2d_channel_mismatch_names_the_channels():
    with pytest.raises(ValueError, match="3 channels") as e:
        F.conv_transpose2d(zeros(1, 3, 5, 5), zeros(2, 4, 3, 3))
    assert "(2, 4, 3, 3)" in str(e.value)


def test_conv2d_needs_4d_tensors():
    with pytest.raises(ValueError, match="4-D") as e:
        F.conv2d(zeros(3, 5, 5), zeros(4, 3, 3, 3))
    assert "(3, 5, 5)" in str(e.value)


def test_conv2d_bias_mismatch():
    with pytest.raises(ValueError, match="bias"):
        F.conv2d(zeros(1, 2, 5, 5), zeros(4, 2, 3, 3), zeros(3))


def test_conv2d_with_an_empty_output():
    """A kernel larger than the padded image would give an empty output: the message says so."""
    with pytest.raises(ValueError, match="empty") as e:
        F.conv2d(zeros(1, 1, 3, 3), zeros(1, 1, 5, 5), padding=0)
    assert "5x5" in str(e.value) and "3x3" in str(e.value)


def test_conv_transpose2d_with_an_empty_output():
    with pytest.raises(ValueError, match="empty"):
        F.conv_transpose2d(zeros(1, 1, 1, 1), zeros(1, 1, 1, 1), padding=1)


def test_conv_stride_zero_and_negative_padding():
    with pytest.raises(ValueError, match="stride"):
        F.conv2d(zeros(1, 1, 5, 5), zeros(1, 1, 3, 3), stride=0)
    with pytest.raises(ValueError, match="padding"):
        F.conv2d(zeros(1, 1, 5, 5), zeros(1, 1, 3, 3), padding=-1)


def test_output_padding_must_be_smaller_than_stride():
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(zeros(1, 1, 3, 3), zeros(1, 1, 3, 3), stride=2, output_padding=2)


# ---- differentiation ----

def test_backward_on_a_non_scalar_needs_a_gradient():
    """The message gives the shape and says what to pass."""
    y = leaf(np.ones((2, 3))) * 2
    with pytest.raises(RuntimeError, match=re.escape("(2, 3)")) as e:
        y.backward()
    assert "grad" in str(e.value)


def test_backward_with_a_gradient_of_the_wrong_shape():
    y = leaf(np.ones((2, 3))) * 2
    with pytest.raises(ValueError, match=re.escape("(3, 2)")):
        y.backward(tensor(np.ones((3, 2))))


def test_backward_on_a_tensor_that_does_not_require_grad():
    with pytest.raises(RuntimeError, match="requires_grad"):
        zeros(3).sum().backward()


def test_grad_of_an_input_that_does_not_require_grad():
    """The message names the input by position and shape."""
    x, c = leaf([1.0, 2.0]), zeros(4)
    with pytest.raises(RuntimeError, match="does not require grad") as e:
        mg.grad((x * 2).sum(), [x, c])
    assert "input 1" in str(e.value) and "(4,)" in str(e.value)


def test_grad_of_a_non_scalar_output_without_grad_outputs():
    with pytest.raises(RuntimeError, match="grad_outputs"):
        mg.grad(leaf([1.0, 2.0]) * 2, [])


def test_grad_outputs_of_the_wrong_shape_or_number():
    x = leaf([1.0, 2.0])
    y = x * 2
    with pytest.raises(ValueError, match=re.escape("(3,)")) as e:
        mg.grad(y, x, tensor(np.ones(3)))
    assert "(2,)" in str(e.value)
    with pytest.raises(ValueError, match="2 grad_outputs"):
        mg.grad(y, x, [tensor(np.ones(2)), tensor(np.ones(2))])


def test_requires_grad_on_an_integer_tensor():
    """Only floating tensors can require grad; the message names the dtype."""
    with pytest.raises(TypeError, match="int64"):
        tensor(np.array([1, 2], dtype=np.int64), requires_grad=True)
    with pytest.raises(TypeError, match="floating"):
        tensor(np.array([1, 2], dtype=np.int32)).requires_grad_()


def test_advanced_indexing_is_refused():
    """Integer arrays, lists, boolean masks and tensors as indices are refused by name."""
    x = leaf(np.arange(6.0).reshape(2, 3))
    for index in ([0, 1], np.array([0, 1]), np.array([True, False]), (slice(None), [0, 2]), x > 2):
        with pytest.raises(TypeError, match="basic indexing"):
            x[index]


def test_truth_value_of_a_tensor_with_several_elements():
    with pytest.raises(ValueError, match=re.escape("(2, 3)")):
        bool(zeros(2, 3))


def test_index_out_of_range_names_the_shape():
    with pytest.raises(IndexError, match=re.escape("(2, 3)")):
        zeros(2, 3)[5]


def test_dropout_probability_out_of_range():
    with pytest.raises(ValueError, match="1.5"):
        F.dropout(zeros(3), 1.5)


def test_cross_entropy_targets_out_of_range():
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        F.cross_entropy(zeros(2, 3), np.array([0, 3]))


def test_batch_norm_running_stat_of_the_wrong_size():
    with pytest.raises(ValueError, match="running_mean"):
        F.batch_norm(zeros(4, 3), zeros(2), zeros(3), training=True)


def test_batch_norm_training_needs_two_values_per_channel():
    with pytest.raises(ValueError, match=re.escape("(1, 3)")):
        F.batch_norm(zeros(1, 3), None, None, training=True)


def test_layer_norm_shape_mismatch():
    with pytest.raises(ValueError, match=re.escape("(2, 3)")):
        F.layer_norm(zeros(4, 3), (2, 3))


# ---- devices ----

@pytest.mark.parametrize("op", [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a @ b,
                                lambda a, b: mg.concat([a, b]),
                                lambda a, b: F.conv2d(a, b), lambda a, b: F.conv_transpose2d(a, b)])
def test_mixed_devices_name_both_devices(cuda, op):
    """An op between a CPU and a "cuda" tensor fails with a message naming both devices."""
    here = tensor(np.ones((1, 1, 2, 2)))
    there = mg.tensor(np.ones((1, 1, 2, 2)), device=other_device())
    assert {here.device, there.device} == {"cpu", "cuda"}
    for a, b in ((here, there), (there, here)):
        with pytest.raises(RuntimeError, match="different devices") as e:
            op(a, b)
        assert "cpu" in str(e.value) and "cuda" in str(e.value)


@pytest.mark.cpu_only("a device run keeps its CuPy for the whole session")
def test_the_cuda_fixture_of_a_cpu_run_leaves_no_stand_in_behind():
    """In a CPU run, the stand-in installed by the ``cuda`` fixture is gone after the test
    (this test runs after those that use it)."""
    assert backend._cupy is not cupy_standin


def test_cuda_without_cupy_says_how_to_install_it(monkeypatch):
    """Asking for "cuda" when CuPy cannot be imported names the pip extra to install."""
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError
    with pytest.raises(RuntimeError, match="CuPy") as e:
        mg.tensor([1.0], device="cuda")
    assert "pip install" in str(e.value) and "gpu" in str(e.value)
    assert "cupy-cuda11x" in str(e.value)
    with pytest.raises(RuntimeError, match="pip install"):
        mg.zeros(2, device="cuda")


def test_unknown_device_is_named():
    with pytest.raises(ValueError, match="'tpu'"):
        mg.tensor([1.0], device="tpu")


# ---- a wrong backward rule ----

def square_with_wrong_rule(x):
    """x ** 2 whose vjp is off by 1 at flat entry 5 only (entry (1, 1) of a (2, 4) input)."""
    bump = np.zeros(x.shape)
    bump.flat[5] = 1.0
    return apply(x.data ** 2, (x,), (lambda g, out: g * 2 * x + devices.constant(bump),), "wrong_square")


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
