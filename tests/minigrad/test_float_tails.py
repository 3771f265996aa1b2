"""The float tails: sigmoid, tanh, softplus, log-sigmoid, logsumexp and the losses built on
them, far out where a naive formula cancels, overflows or gives NaN, in float64 and float32.

Values and first and second derivatives are compared with mpmath (exact to 80 digits) where
PyTorch itself is imprecise (its sigmoid is 0 below -709.8, its derivatives 1 - out round to
0 for large x), and with PyTorch where it is exact. An error is counted in units of the
dtype's epsilon relative to max(|true value|, smallest normal number): subnormal results
carry only the absolute precision they have.
"""
import math
import warnings

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

from devices import leaf, tensor

mp = pytest.importorskip("mpmath")
mp.mp.dps = 80

ULPS = 4  # a few roundings: each result is a handful of correctly rounded operations
POINTS = [-745, -740, -100, -89, -88, -40, -30, -20, -17, -10, -1, 0, 1, 10, 17, 20, 30, 40,
          88, 89, 100, 740, 745]


def value_and_derivatives(fn, x, dtype):
    """fn(x), fn'(x), fn''(x) at one point, through minigrad's graph (create_graph)."""
    t = leaf(np.array(x), dtype=dtype)
    y = fn(t)
    (d1,) = mg.grad(y, t, create_graph=True)
    (d2,) = mg.grad(d1, t)
    return y.item(), d1.item(), d2.item()


def ulps(mine, true, dtype):
    info = np.finfo(dtype)
    return abs(mine - float(true)) / (float(info.eps) * max(abs(float(true)), float(info.tiny)))


def assert_tails(fn, reference, dtype, points=POINTS, bound=ULPS):
    """Every point's value and derivatives within ``bound`` ulps of ``reference(X)`` (three
    mpmath numbers), with no warning."""
    worst = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x in points:
            mine = value_and_derivatives(fn, x, dtype)
            errors = [ulps(m, r, dtype) for m, r in zip(mine, reference(mp.mpf(x)))]
            if not max(errors) <= bound:
                worst.append(f"x={x}: {mine} vs {[mp.nstr(r, 6) for r in reference(mp.mpf(x))]}"
                             f" ({max(errors):.3g} ulps)")
    assert not worst, "\n".join(worst)


def sigma(X):
    return 1 / (1 + mp.exp(-X))


def sigmoid_reference(X):
    s, c = sigma(X), sigma(-X)
    return s, s * c, s * c * (c - s)


DTYPES = ["float64", "float32"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_in_both_tails(dtype):
    """Was: float64 relative error 1.7e-4 at -30 and 0 at -40 (true 4.2e-18); float32 2e-4 at
    -10 and 0 from -17; the derivatives 0 from +40 (float64) and +17 (float32)."""
    assert_tails(lambda t: t.sigmoid(), sigmoid_reference, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tanh_derivatives_are_pytorchs_in_the_tails(dtype):
    """tanh's rule is 1 - out^2, as PyTorch's: exact to a few ulps where the slope is not
    tiny, and 0 (both libraries) where 1 - out^2 rounds away, beyond |x| = 9 / 19. It is kept
    so for the reader (the rule in terms of the output, as docs/how-it-works.md draws it)."""
    def reference(X):
        slope = mp.sech(X) ** 2
        return mp.tanh(X), slope, -2 * mp.tanh(X) * slope
    assert_tails(lambda t: t.tanh(), reference, dtype, points=[p for p in POINTS if abs(p) <= 4])
    far = leaf(np.array([20.0, -20.0] if dtype == "float64" else [10.0, -10.0], dtype=dtype))
    (slope,) = mg.grad(far.to(dtype).tanh().sum(), far)  # in the dtype
    assert (slope.numpy() == 0).all()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta, threshold", [(1, 20), (2, 5), (-1, 20), (0.5, math.inf),
                                             (3, 20), (100, 20)], ids=str)
def test_softplus_with_beta_and_threshold(beta, threshold, dtype):
    """log(1 + e^(beta x)) / beta, x itself where beta x > threshold (PyTorch's rule); the
    derivative sigmoid(beta x), the second beta sigmoid(beta x) sigmoid(-beta x)."""
    def reference(X):
        if beta * X > threshold:
            return X, mp.mpf(1), mp.mpf(0)
        b = mp.mpf(beta)
        return mp.log1p(mp.exp(b * X)) / b, sigma(b * X), b * sigma(b * X) * sigma(-b * X)
    # beta x exact (so that the rounding of the product does not enter), and no subnormal
    # sigmoid(beta x) that the second derivative multiplies by |beta| > 1 into normal numbers
    limit = 88 if dtype == "float32" else 709
    points = [x for x in POINTS + [0.25, -0.375, 2 ** -10] if abs(beta) <= 1 or
              abs(beta * x) <= limit]
    assert_tails(lambda t: F.softplus(t, beta=beta, threshold=threshold), reference, dtype,
                 points)


@pytest.mark.parametrize("dtype", DTYPES)
def test_logsigmoid(dtype):
    assert_tails(F.logsigmoid, lambda X: (-mp.log1p(mp.exp(-X)), sigma(-X),
                                          -sigma(X) * sigma(-X)), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("target", [0.0, 1.0, 0.25])
def test_binary_cross_entropy_with_logits_in_the_tails(target, dtype):
    """(1 - t) softplus(x) + t softplus(-x): for t = 0 at x = -100 the loss is 3.7e-44 and its
    derivative sigmoid(x), which (1 - t) x + softplus(-x) rounded to 0."""
    def loss(t):
        return F.binary_cross_entropy_with_logits(t, tensor(np.array(target, dtype=dtype)))

    def reference(X):
        s, c = sigma(X), sigma(-X)
        return ((1 - target) * mp.log1p(mp.exp(X)) + target * mp.log1p(mp.exp(-X)),
                (1 - target) * s - target * c, s * c)
    points = [-745, -100, -40, -17, -1, 0, 1, 17, 40, 100, 745]
    # t = 0.25 mixes the two terms: near x = 0 its derivative 0.75 s - 0.25 c cancels
    assert_tails(loss, reference, dtype, [x for x in points if target != 0.25 or abs(x) > 1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_with_logits_pos_weight(dtype):
    x = leaf(np.array([100.0, -100.0, 3.0, -3.0]), dtype=dtype)
    t = tensor(np.array([1.0, 0.0, 1.0, 0.5], dtype=dtype))
    w = tensor(np.array([2.0], dtype=dtype))
    loss = F.binary_cross_entropy_with_logits(x, t, reduction="none", pos_weight=w)
    (g,) = mg.grad(loss.sum(), x)
    X = [mp.mpf(v) for v in (100, -100, 3, -3)]
    T = [1, 0, 1, 0.5]
    true = [2 * tt * mp.log1p(mp.exp(-xx)) + (1 - tt) * mp.log1p(mp.exp(xx)) for xx, tt in
            zip(X, T)]
    true_g = [(1 - tt) * sigma(xx) - 2 * tt * sigma(-xx) for xx, tt in zip(X, T)]
    for mine, ref in zip(loss.numpy(), true):
        assert ulps(mine, ref, dtype) <= ULPS, (mine, ref)
    for mine, ref in zip(g.numpy(), true_g):
        assert ulps(mine, ref, dtype) <= ULPS, (mine, ref)


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_at_zero_and_one(dtype):
    """Each log is clamped at -100 exactly, also in float32 (the floor e^-100 rounded to a
    float32 subnormal gave 99.98), without warnings, and the second derivative is finite (the
    target's rule was 0 * inf = NaN where a log is clamped)."""
    p = leaf(np.array([0.0, 1.0, 0.0, 1.0, 0.5]), dtype=dtype)
    t = leaf(np.array([1.0, 0.0, 0.0, 1.0, 1.0]), dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.binary_cross_entropy(p, t, reduction="none")
        np.testing.assert_allclose(loss.numpy(), [100, 100, 0, 0, math.log(2)], rtol=1e-6)
        gp, gt = mg.grad(loss.sum(), [p, t], create_graph=True)
        second = mg.grad((gp * gp).sum() + (gt * gt).sum(), [p, t])
    assert all(np.isfinite(h.numpy()).all() for h in second)
    np.testing.assert_allclose(gt.numpy()[:2], [100, -100], rtol=1e-6)


def test_sigmoid_values_without_mpmath():
    """Fixed values (mpmath's, to 17 digits) and the limits: no NaN, no warning."""
    x = tensor(np.array([-745.0, -40.0, -30.0, 0.0, 40.0, 745.0, np.inf, -np.inf, np.nan]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = x.sigmoid().numpy()
    np.testing.assert_allclose(s[1:3], [4.2483542552915889e-18, 9.3576229688392990e-14],
                               rtol=4e-16)
    assert s[0] == 5e-324 and s[3] == 0.5 and s[4] == 1 and s[5] == 1
    assert s[6] == 1 and s[7] == 0 and np.isnan(s[8])
    y = leaf(np.array([40.0, -40.0]))
    (g,) = mg.grad(y.sigmoid().sum(), y)
    np.testing.assert_allclose(g.numpy(), 4.2483542552915889e-18, rtol=4e-16)


@pytest.mark.parametrize("fn", [lambda x: x.sigmoid(), lambda x: x.tanh(),
                                lambda x: F.softplus(x, beta=2, threshold=3),
                                lambda x: F.binary_cross_entropy_with_logits(
                                    x, tensor(np.linspace(0, 1, 7).reshape(7, 1) * np.ones(3)))],
                         ids=["sigmoid", "tanh", "softplus", "bce_with_logits"])
def test_gradients_to_second_order(fn):
    x = leaf(np.linspace(-8, 8, 21).reshape(7, 3))
    assert mg.gradcheck(fn, (x,))
    assert mg.gradgradcheck(fn, (x,))


# ---- logsumexp and the softmax family ----

INF = math.inf


@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp_of_infinite_rows(dtype):
    """A row of -inf gives -inf (the shift by its maximum made it NaN), a row with +inf gives
    inf; a row of huge equal values keeps its value and the gradient 1/2 each (PyTorch's is 1,
    as its exp(x - result) rounds)."""
    x = leaf(np.array([[-INF, -INF, -INF], [INF, 0.0, 1.0], [3e38, 3e38, 0.0],
                       [-1000.0, -1000.0, -2000.0]]), dtype=dtype)
    with np.errstate(divide="ignore", invalid="ignore"):  # log(0) for the row of -inf
        y = mg.logsumexp(x, 1)
    np.testing.assert_allclose(y.numpy(), [-INF, INF, 3e38, -1000 + math.log(2)], rtol=1e-6)
    with np.errstate(divide="ignore", invalid="ignore"):
        (g,) = mg.grad(y[2:].sum(), x)
    np.testing.assert_allclose(g.numpy()[2:], [[0.5, 0.5, 0], [0.5, 0.5, 0]], rtol=1e-6)


def _exact_log_softmax(row):
    """mpmath's log_softmax of a row of finite numbers."""
    row = [mp.mpf(float(v)) for v in row]
    total = max(row) + mp.log(mp.fsum(mp.exp(v - max(row)) for v in row))
    return [v - total for v in row], total


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_family_of_huge_logits(dtype):
    """Values within a few ulps of mpmath's (log_softmax was x - logsumexp(x), which loses
    the digits of the maximum: 1.3e-14 off at [88, 89, 90] in float64; PyTorch's float32
    softmax is 2e-6 off there), cross-entropy of logits up to 1e30."""
    rows = np.array([[1000.0, -1000.0, 0.0], [1e30, 0.0, -1e30], [88.0, 89.0, 90.0],
                     [0.5, -3.0, 20.0]], dtype=dtype)
    x = tensor(rows)
    exact = [_exact_log_softmax(r) for r in rows]
    mine = {"logsumexp": mg.logsumexp(x, 1).numpy(), "log_softmax": F.log_softmax(x, 1).numpy(),
            "softmax": F.softmax(x, 1).numpy(),
            "cross_entropy": F.cross_entropy(x, tensor(np.array([0, 2, 1, 1])),
                                             reduction="none").numpy()}
    true = {"logsumexp": [total for _, total in exact],
            "log_softmax": [v for row, _ in exact for v in row],
            "softmax": [mp.exp(v) for row, _ in exact for v in row],
            "cross_entropy": [-exact[i][0][k] for i, k in enumerate([0, 2, 1, 1])]}
    for op, values in mine.items():
        # logs are known to eps * max(|value|, 1): log(sum) of a sum near 1 is a small
        # number carrying the sum's absolute rounding
        eps = float(np.finfo(dtype).eps)
        errors = [ulps(m, t, dtype) if op == "softmax" else
                  abs(m - float(t)) / (eps * max(abs(float(t)), 1))
                  for m, t in zip(values.ravel(), true[op])]
        assert max(errors) <= ULPS, (op, values, errors)


@pytest.mark.cpu_only("compares with PyTorch on the CPU")
@pytest.mark.parametrize("op", ["logsumexp", "log_softmax", "softmax", "cross_entropy"])
def test_softmax_family_with_infinite_logits_as_torch(op):
    """Rows with -inf entries, all -inf, +inf: values and gradients (of a weighted sum) as
    PyTorch's in float64, NaN where PyTorch's are."""
    torch = pytest.importorskip("torch")
    rows = np.array([[-INF, 0.0, 1.0], [-INF, -INF, 2.0], [-INF, -INF, -INF], [INF, 0.0, 1.0],
                     [3.0, 1.0, -2.0]])
    if op == "cross_entropy":  # PyTorch: a target at -inf gives inf, then NaN gradients
        rows = rows[:2]
    labels = np.array([2, 2])
    fns = {"logsumexp": (lambda x: mg.logsumexp(x, 1), lambda x: torch.logsumexp(x, 1)),
           "log_softmax": (lambda x: F.log_softmax(x, 1), lambda x: torch.log_softmax(x, 1)),
           "softmax": (lambda x: F.softmax(x, 1), lambda x: torch.softmax(x, 1)),
           "cross_entropy": (lambda x: F.cross_entropy(x, tensor(labels), reduction="none"),
                             lambda x: torch.nn.functional.cross_entropy(
                                 x, torch.tensor(labels), reduction="none"))}
    mine_fn, torch_fn = fns[op]
    x, tx = leaf(rows), torch.tensor(rows, requires_grad=True)
    with np.errstate(all="ignore"):  # log(0) and inf - inf, as PyTorch's (which says nothing)
        y = mine_fn(x)
        u = np.arange(1.0, y.numel() + 1).reshape(y.shape)
        (g,) = mg.grad(y, x, tensor(u))
    ty = torch_fn(tx)
    (tg,) = torch.autograd.grad(ty, tx, torch.tensor(u))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-14, atol=0)
    np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=1e-14, atol=1e-15)


# ---- float32 rounding of second derivatives through 1x1 convolutions and instance norms ----

def _penalty_gradients(lib, functional, grad, arrays, dtype):
    """The weights' gradients of a WGAN-GP-style penalty of x -> conv 1x1 -> instance norm ->
    conv 1x1 -> instance norm -> instance norm -> leaky ReLU -> conv 1x1, weighted by r (a
    plain sum after an instance norm would have a zero gradient, rounding noise only)."""
    x, w1, w2, w3, r = [lib(a.astype(dtype)) for a in arrays]
    h = functional.instance_norm(functional.conv2d(x, w1))
    h = functional.instance_norm(functional.instance_norm(functional.conv2d(h, w2)))
    out = (functional.conv2d(functional.leaky_relu(h, 0.2), w3) * r).sum()
    (gx,) = grad(out, [x], create_graph=True)
    penalty = ((((gx * gx).sum((1, 2, 3))) ** 0.5 - 1) ** 2).mean()
    return np.concatenate([g.detach().numpy().ravel() for g in grad(penalty, [w1, w2, w3])])


@pytest.mark.cpu_only("compares with PyTorch on the CPU")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_float32_second_derivatives_round_like_torchs(seed):
    """Against the float64 result of the same computation, minigrad's float32 error is within
    a small multiple of PyTorch's own float32 error (measured 0.4 to 2 times it)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    n, c, size = 4, 8, 6
    arrays = [rng.standard_normal((n, c, size, size)),
              rng.standard_normal((c, c, 1, 1)) / np.sqrt(c),
              rng.standard_normal((c, c, 1, 1)) / np.sqrt(c),
              rng.standard_normal((1, c, 1, 1)), rng.standard_normal((n, 1, size, size))]

    def mg_grad(y, xs, create_graph=False):
        return mg.grad(y, xs, create_graph=create_graph)

    def torch_grad(y, xs, create_graph=False):
        return torch.autograd.grad(y, xs, create_graph=create_graph)

    def run(lib, functional, grad, dtype):
        return _penalty_gradients(lambda a: lib(a, requires_grad=True), functional, grad,
                                  arrays, dtype).astype(np.float64)

    exact = run(torch.tensor, torch.nn.functional, torch_grad, np.float64)
    mine = run(mg.tensor, F, mg_grad, np.float32)
    theirs = run(torch.tensor, torch.nn.functional, torch_grad, np.float32)
    np.testing.assert_allclose(run(mg.tensor, F, mg_grad, np.float64), exact, rtol=1e-12,
                               atol=1e-14)
    error = np.linalg.norm(mine - exact) / np.linalg.norm(exact)
    torch_error = np.linalg.norm(theirs - exact) / np.linalg.norm(exact)
    assert error <= 4 * torch_error, (error, torch_error)
