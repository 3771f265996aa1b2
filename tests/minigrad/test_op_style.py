"""The one way an op is written (minigrad/ops/__init__.py, docs/anatomy-of-an-op.md), checked on
the source: every rule is ``vjp(g, out)``, ``saved=`` is never a string, no rule reaches for
NumPy directly. Then what the style promises, on tensors: ``saved`` / ``OUTPUT`` protect what
the rules read (and only that), and the plain-NumPy reference versions of the compiled
kernels in docs/anatomy-of-an-op.md equal the kernels on awkward geometries.
"""
import ast
import re
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import backend

from devices import leaf

ROOT = Path(__file__).resolve().parents[2]
OP_FILES = sorted((ROOT / "minigrad" / "ops").glob("*.py"))


def _rules(tree):
    """The backward rules: every lambda whose first parameter is ``g``, and every function
    whose name says vjp or whose parameters start (g, out) (helpers that take ``g`` with
    other arguments, as unbroadcast(g, shape), are not rules)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Lambda, ast.FunctionDef)):
            args = node.args
            names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
            names += [args.vararg.arg] if args.vararg else []
            if names[:1] == ["g"] and (isinstance(node, ast.Lambda) or "vjp" in node.name
                                       or names[:2] == ["g", "out"]):
                yield node, names


@pytest.mark.parametrize("path", OP_FILES, ids=lambda p: p.name)
def test_every_rule_is_vjp_g_out(path):
    tree = ast.parse(path.read_text())
    wrong = [(node.lineno, names) for node, names in _rules(tree) if names != ["g", "out"]]
    assert not wrong, f"{path.name}: rules with another signature than (g, out): {wrong}"


def test_the_rules_are_found():
    """The scan above sees the rules (so that it could fail): mul's, exp's, the reductions'."""
    count = sum(1 for path in OP_FILES for _ in _rules(ast.parse(path.read_text())))
    assert count > 60


@pytest.mark.parametrize("path", OP_FILES, ids=lambda p: p.name)
def test_saved_is_a_tuple_of_tensors_never_a_string(path):
    tree = ast.parse(path.read_text())
    strings = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.keyword)
               and node.arg == "saved" and isinstance(node.value, ast.Constant)
               and isinstance(node.value.value, str)]
    assert not strings, f"{path.name}: saved= given as a string on lines {strings}"


@pytest.mark.parametrize("path", OP_FILES, ids=lambda p: p.name)
def test_no_rule_uses_numpy_directly(path):
    """A rule with ``np.`` passes the first-order check and fails at second order (and on
    the GPU): rules are Tensor ops, arrays come from backend.xp_of."""
    uses = _numpy_in_rules(ast.parse(path.read_text()))
    assert not uses, f"{path.name}: rules (line, use) that call NumPy: {uses}"


def _numpy_in_rules(tree):
    """(rule's line, use's line) of every ``np.`` or ``numpy.`` inside a backward rule."""
    return [(rule.lineno, sub.lineno) for rule, _ in _rules(tree) for sub in ast.walk(rule)
            if isinstance(sub, ast.Name) and sub.id in ("np", "numpy")]


def test_numpy_in_a_rule_is_seen_by_either_name():
    source = ("import numpy\nimport numpy as np\n"
              "f = apply(lambda g, out: (g * 2,))\n"
              "h = apply(lambda g, out: (numpy.exp(g),))\n"
              "k = apply(lambda g, out: (np.exp(g),))\n")
    assert _numpy_in_rules(ast.parse(source)) == [(4, 4), (5, 5)]


# ---- saved and OUTPUT, on tensors ----

def test_mul_saves_both_inputs_and_refuses_a_changed_one():
    a, b = leaf(np.array([1.0, -2.0, 3.0])), leaf(np.array([4.0, 5.0, 6.0]))
    y = a * b
    assert [t for t, _ in y.grad_fn.saved_versions] == [a, b]
    assert [version for _, version in y.grad_fn.saved_versions] == [0, 0]
    with mg.no_grad():
        b.add_(1.0)
    with pytest.raises(RuntimeError, match="'mul'.*changed by an in-place operation"):
        y.sum().backward()


def test_exp_saves_its_output_not_its_input():
    x = leaf(np.array([0.0, 1.0, -1.0]))
    y = x.exp()
    assert [t for t, _ in y.grad_fn.saved_versions] == [y]  # OUTPUT became the result
    with mg.no_grad():
        x.add_(1.0)  # the rule never reads x: backward still runs, from e^x as computed
    (g,) = mg.grad(y.sum(), x)
    np.testing.assert_allclose(g.numpy(), np.exp([0.0, 1.0, -1.0]), rtol=1e-15)

    z = leaf(np.array([0.5, 2.0]))
    w = z.exp()
    with mg.no_grad():
        w.mul_(2.0)  # the rule reads out: backward must refuse
    with pytest.raises(RuntimeError, match="'exp'.*its output"):
        w.sum().backward()


def test_add_saves_nothing():
    a, b = leaf(np.ones((2, 3))), leaf(np.ones(3))
    y = a + b
    assert y.grad_fn.saved_versions == ()
    with mg.no_grad():
        a.mul_(5.0)
    y.sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), [2.0, 2.0, 2.0])  # summed over the rows


def test_binary_rules_see_promoted_operands():
    """``2 * x`` and ``x ** 3`` and ``2 ** x``: the Python number becomes a tensor before the
    rules close over it; first and second derivatives are the calculus ones."""
    x = leaf(np.array([0.5, 1.5, -2.0]))
    for fn, first, second in [(lambda t: 2 * t, lambda v: 2 + 0 * v, lambda v: 0 * v),
                              (lambda t: t ** 3, lambda v: 3 * v ** 2, lambda v: 6 * v),
                              (lambda t: 2 ** t, lambda v: 2 ** v * np.log(2),
                               lambda v: 2 ** v * np.log(2) ** 2)]:
        (g,) = mg.grad(fn(x).sum(), x, create_graph=True)
        np.testing.assert_allclose(g.numpy(), first(x.numpy()), rtol=1e-14)
        if g.requires_grad:
            (gg,) = mg.grad(g.sum(), x)
            np.testing.assert_allclose(gg.numpy(), second(x.numpy()), rtol=1e-14)
        else:  # 2 * x: the gradient is a constant
            np.testing.assert_array_equal(second(x.numpy()), 0)


# ---- the compiled kernels equal the page's plain-NumPy references ----

def _page_references():
    """The functions defined by docs/anatomy-of-an-op.md's block of reference versions."""
    text = (ROOT / "docs" / "anatomy-of-an-op.md").read_text()
    blocks = re.findall(r"^```python[ \t]*\n(.*?)^```[ \t]*$", text, re.S | re.M)
    (block,) = [b for b in blocks if "def im2col_reference" in b]
    definitions = block[:block.index("\nrng = ")]  # the functions, without the page's demo
    namespace = {"np": np}
    exec(compile(definitions, "anatomy-of-an-op.md", "exec"), namespace)
    return namespace["im2col_reference"], namespace["col2im_reference"]


GEOMETRIES = [  # image (C, H, W, N), kernel, stride, dilation, start (top, left)
    ((1, 1, 1, 1), (1, 1), (1, 1), (1, 1), (0, 0)),
    ((3, 7, 5, 1), (3, 3), (1, 1), (1, 1), (1, 1)),
    ((2, 6, 9, 4), (2, 5), (2, 3), (1, 1), (0, 2)),
    ((2, 8, 7, 3), (3, 2), (1, 2), (2, 3), (2, 1)),
    ((1, 5, 5, 2), (5, 5), (3, 3), (1, 1), (2, 2)),
]


@pytest.mark.cpu_only("the compiled kernels are the CPU's")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, kernel, stride, dilation, start", GEOMETRIES)
def test_im2col_and_col2im_equal_their_references(shape, kernel, stride, dilation, start, dtype):
    im2col_reference, col2im_reference = _page_references()
    image = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    c, h, w, n = shape
    padded = (h + 2 * start[0], w + 2 * start[1])
    out_hw = tuple((p - d * (k - 1) - 1) // s + 1
                   for p, k, s, d in zip(padded, kernel, stride, dilation))
    expected = im2col_reference(image, kernel, out_hw, stride, dilation, start)
    assert expected.any() or not image.any()
    for im2col in (backend.im2col, backend._im2col_strided):  # compiled, and the array path
        np.testing.assert_array_equal(im2col(image, kernel, out_hw, stride, dilation, start),
                                      expected)
    cols = np.random.default_rng(1).standard_normal(expected.shape).astype(dtype)
    image_back = col2im_reference(cols, (h, w), stride, dilation, start)
    for col2im in (backend.col2im, backend._col2im_slabs):
        np.testing.assert_array_equal(col2im(cols, (h, w), stride, dilation, start), image_back)


@pytest.mark.cpu_only("the compiled kernel is the CPU's")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sign_scale_is_where(dtype):
    rng = np.random.default_rng(2)
    values = rng.standard_normal((4, 7, 3)).astype(dtype)
    signs = rng.standard_normal((4, 7, 3)).astype(dtype)
    signs[0, 0, 0] = 0  # not > 0: scaled
    for v, s in [(values, signs), (values.transpose(2, 0, 1), signs.transpose(2, 0, 1)),
                 (values[:, ::2], signs[:, ::2])]:
        np.testing.assert_array_equal(backend.sign_scale(v, s, 0.2),
                                      np.where(s > 0, v, v * dtype(0.2)))
