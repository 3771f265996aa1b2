"""Layers and initialisation: outputs against NumPy references written from the definitions
(float64), gradients against the functional ops and finite differences, default init against
PyTorch's formulas."""
import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn

import devices


def float64(layer):
    """The layer on the test device with float64 parameters and buffers, for tight comparisons
    and gradcheck."""
    return devices.to_device(layer, dtype=np.float64)


def randn(*shape, requires_grad=False):
    return devices.randn(*shape, dtype=np.float64, requires_grad=requires_grad)


def check_gradients(layer, x):
    """Finite differences through the layer, with respect to the input and every parameter."""
    assert mg.gradcheck(lambda x, *params: layer(x), [x] + layer.parameters())


# ---- NumPy references, straight from the definitions ----

def conv2d_reference(x, w, b, stride, padding):
    """out[n, o, i, j] = b[o] + sum_{c, u, v} x_pad[n, c, i*s + u, j*s + v] w[o, c, u, v]."""
    n, _, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, :, i, j] = np.einsum("ncuv,ocuv->no", patch, w)
    return out + b[None, :, None, None]


def conv_transpose2d_reference(x, w, b, stride, padding, output_padding):
    """Each input pixel scatters w[c] * x[n, c, i, j] into the output at (i*s, j*s), and the
    border ``padding`` is cut off (the adjoint of conv2d)."""
    n, _, h, wd = x.shape
    _, o, kh, kw = w.shape
    full = np.zeros((n, o, (h - 1) * stride + kh + output_padding,
                     (wd - 1) * stride + kw + output_padding))
    for i in range(h):
        for j in range(wd):
            full[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw] += np.einsum(
                "nc,couv->nouv", x[:, :, i, j], w)
    hh, ww = full.shape[2] - padding, full.shape[3] - padding
    return full[:, :, padding:hh, padding:ww] + b[None, :, None, None]


# ---- Linear and convolutions ----

def test_linear_forward_backward_by_hand():
    layer = float64(nn.Linear(4, 3))
    x = randn(5, 4, requires_grad=True)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    y = layer(x)
    assert np.allclose(y.numpy(), x.numpy() @ w.T + b, rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(0).standard_normal((5, 3))
    y.backward(devices.tensor(g))
    assert np.allclose(layer.weight.grad.numpy(), g.T @ x.numpy())  # dW = g^T x
    assert np.allclose(layer.bias.grad.numpy(), g.sum(axis=0))  # db = sum_n g
    assert np.allclose(x.grad.numpy(), g @ w)  # dx = g W
    check_gradients(layer, randn(2, 4, requires_grad=True))
    assert nn.Linear(4, 3, bias=False).bias is None
    assert len(nn.Linear(4, 3, bias=False).parameters()) == 1


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), (2, 2)])
def test_conv2d_matches_the_definition_and_the_functional_op(stride, padding):
    layer = float64(nn.Conv2d(2, 3, 3, stride=stride, padding=padding))
    x = randn(2, 2, 7, 6, requires_grad=True)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    assert layer.weight.shape == (3, 2, 3, 3)
    y = layer(x)
    assert np.allclose(y.numpy(), conv2d_reference(x.numpy(), w, b, stride, padding))
    expected = mg.grad(F.conv2d(x, layer.weight, layer.bias, stride, padding).sum(),
                       [x, layer.weight, layer.bias])
    actual = mg.grad(y.sum(), [x, layer.weight, layer.bias])
    for a, e in zip(actual, expected):
        assert np.array_equal(a.numpy(), e.numpy())


def test_conv2d_gradients_by_finite_differences():
    check_gradients(float64(nn.Conv2d(2, 2, 3, stride=2, padding=1)),
                    randn(1, 2, 5, 5, requires_grad=True))


@pytest.mark.parametrize("stride, padding, output_padding", [(1, 0, 0), (2, 1, 1), (2, 2, 0)])
def test_conv_transpose2d_matches_the_definition(stride, padding, output_padding):
    layer = float64(nn.ConvTranspose2d(2, 3, 5, stride=stride, padding=padding,
                                       output_padding=output_padding))
    assert layer.weight.shape == (2, 3, 5, 5)
    x = randn(2, 2, 4, 3)
    y = layer(x)
    expected = conv_transpose2d_reference(x.numpy(), layer.weight.numpy(), layer.bias.numpy(),
                                          stride, padding, output_padding)
    assert y.shape == ((2, 3) + tuple((n - 1) * stride - 2 * padding + 5 + output_padding
                                      for n in (4, 3)))
    assert np.allclose(y.numpy(), expected)


def test_conv_transpose2d_gradients_by_finite_differences():
    check_gradients(float64(nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1, output_padding=1)),
                    randn(1, 2, 3, 3, requires_grad=True))


def test_conv_repr_and_bias_false():
    layer = nn.ConvTranspose2d(4, 2, 5, stride=2, padding=2, output_padding=1, bias=False)
    assert layer.extra_repr() == ("4, 2, kernel_size=(5, 5), stride=(2, 2), padding=(2, 2), "
                                  "output_padding=(1, 1), bias=False")
    assert layer.bias is None
    assert devices.to_device(layer)(devices.randn(1, 4, 3, 3)).shape == (1, 2, 6, 6)


def test_conv2d_dilation_groups_and_padding_modes():
    """Conv2d's arguments reach F.conv2d: weight (out, in / groups, kh, kw); padding "same";
    padding_mode pads with F.pad in that mode, then convolves without padding."""
    layer = float64(nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2))
    assert layer.weight.shape == (6, 2, 3, 3)
    x = randn(2, 4, 5, 6, requires_grad=True)
    np.testing.assert_array_equal(layer(x).numpy(), F.conv2d(x, layer.weight, layer.bias, 1, 2, 2,
                                                             2).numpy())
    check_gradients(layer, randn(1, 4, 5, 5, requires_grad=True))
    same = float64(nn.Conv2d(2, 3, (4, 3), padding="same", bias=False))
    assert same(randn(1, 2, 5, 7)).shape == (1, 3, 5, 7)
    for mode in ("reflect", "replicate", "circular"):
        padded = float64(nn.Conv2d(2, 2, 3, padding=(1, 2), padding_mode=mode))
        x = randn(1, 2, 4, 5)
        expected = F.conv2d(F.pad(x, (2, 2, 1, 1), mode=mode), padded.weight, padded.bias)
        np.testing.assert_array_equal(padded(x).numpy(), expected.numpy())
        assert padded(x).shape == (1, 2, 4, 7)
    reflect_same = float64(nn.Conv2d(1, 1, 4, padding="same", padding_mode="reflect"))
    x = randn(1, 1, 6, 6)
    expected = F.conv2d(F.pad(x, (1, 2, 1, 2), mode="reflect"), reflect_same.weight,
                        reflect_same.bias)
    np.testing.assert_array_equal(reflect_same(x).numpy(), expected.numpy())


def test_conv_transpose2d_dilation_and_groups():
    layer = float64(nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2,
                                       dilation=2))
    assert layer.weight.shape == (4, 3, 3, 3)
    x = randn(1, 4, 3, 4, requires_grad=True)
    expected = F.conv_transpose2d(x, layer.weight, layer.bias, 2, 1, 1, 2, 2)
    np.testing.assert_array_equal(layer(x).numpy(), expected.numpy())
    assert layer(x).shape == (1, 6, 8, 10)
    check_gradients(layer, randn(1, 4, 2, 2, requires_grad=True))


def test_conv_layer_argument_checks_and_repr():
    with pytest.raises(ValueError, match="in_channels \\(3\\) must be divisible by groups \\(2\\)"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels"):
        nn.ConvTranspose2d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="'mirror'"):
        nn.Conv2d(1, 1, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="only padding_mode 'zeros'"):
        nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(TypeError, match="'same'"):
        nn.ConvTranspose2d(1, 1, 3, padding="same")
    layer = nn.Conv2d(4, 8, 3, padding="same", dilation=2, groups=4, padding_mode="circular")
    assert layer.extra_repr() == ("4, 8, kernel_size=(3, 3), stride=(1, 1), padding=same, "
                                  "dilation=(2, 2), groups=4, padding_mode='circular'")


def test_pooling_layers():
    x = randn(2, 3, 7, 6, requires_grad=True)
    pool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
    np.testing.assert_array_equal(pool(x).numpy(), F.max_pool2d(x, 3, 2, 1, ceil_mode=True).numpy())
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 3, 3)  # stride defaults to the kernel size
    y, indices = nn.MaxPool2d(2, return_indices=True)(x)
    assert indices.shape == y.shape and indices.dtype == np.int64
    avg = nn.AvgPool2d(3, 2, 1, count_include_pad=False)
    np.testing.assert_array_equal(avg(x).numpy(),
                                  F.avg_pool2d(x, 3, 2, 1, count_include_pad=False).numpy())
    assert nn.AvgPool2d((2, 3)).stride == (2, 3)
    check_gradients(nn.AvgPool2d(2, divisor_override=3), randn(1, 2, 4, 4, requires_grad=True))
    assert pool.extra_repr() == "kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True"


# ---- normalisation ----

def batch_norm_reference(x, axes, weight, bias, eps):
    mean, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    shape = [1] * x.ndim
    shape[1] = -1
    return (x - mean) / np.sqrt(var + eps) * weight.reshape(shape) + bias.reshape(shape)


@pytest.mark.parametrize("layer_type, shape", [(nn.BatchNorm1d, (6, 3)),
                                               (nn.BatchNorm1d, (4, 3, 5)),
                                               (nn.BatchNorm2d, (4, 3, 2, 5))])
def test_batch_norm_running_statistics_over_several_steps_and_eval_output(layer_type, shape):
    momentum, eps = 0.3, 1e-3
    layer = float64(layer_type(3, eps=eps, momentum=momentum))
    nn.init.normal_(layer.weight), nn.init.normal_(layer.bias)
    axes = (0,) + tuple(range(2, len(shape)))
    count = math.prod(shape) // 3
    running_mean, running_var = np.zeros(3), np.ones(3)
    for step in range(4):
        x = randn(*shape) * (step + 1) + step
        y = layer(x)
        data = x.numpy()
        assert np.allclose(y.numpy(), batch_norm_reference(
            data, axes, layer.weight.numpy(), layer.bias.numpy(), eps))
        running_mean = (1 - momentum) * running_mean + momentum * data.mean(axis=axes)
        unbiased_var = data.var(axis=axes) * count / (count - 1)
        running_var = (1 - momentum) * running_var + momentum * unbiased_var
    assert np.allclose(layer.running_mean.numpy(), running_mean, rtol=1e-12)
    assert np.allclose(layer.running_var.numpy(), running_var, rtol=1e-12)
    assert layer.num_batches_tracked.item() == 4
    layer.eval()
    x = randn(*shape)
    view = [1, 3] + [1] * (len(shape) - 2)
    expected = ((x.numpy() - running_mean.reshape(view)) / np.sqrt(running_var.reshape(view) + eps)
                * layer.weight.numpy().reshape(view) + layer.bias.numpy().reshape(view))
    assert np.allclose(layer(x).numpy(), expected)
    assert layer.num_batches_tracked.item() == 4  # evaluation changes no statistics


def test_batch_norm_momentum_none_is_a_cumulative_average():
    layer = float64(nn.BatchNorm1d(2, momentum=None))
    batches = [randn(5, 2) * 3 + k for k in range(3)]
    for x in batches:
        layer(x)
    means = np.mean([x.numpy().mean(axis=0) for x in batches], axis=0)
    assert np.allclose(layer.running_mean.numpy(), means, rtol=1e-12)


def test_batch_norm_without_running_statistics_or_affine():
    layer = float64(nn.BatchNorm2d(2, affine=False, track_running_stats=False))
    assert layer.parameters() == [] and layer.buffers() == [] and layer.state_dict() == {}
    x = randn(3, 2, 2, 2)
    expected = batch_norm_reference(x.numpy(), (0, 2, 3), np.ones(2), np.zeros(2), 1e-5)
    assert np.allclose(layer.eval()(x).numpy(), expected)  # batch statistics even in eval


def test_batch_norm_gradients_in_training_and_input_checks():
    check_gradients(float64(nn.BatchNorm2d(2)), randn(3, 2, 2, 2, requires_grad=True))
    with pytest.raises(ValueError, match="BatchNorm2d expects .* got \\(3, 2\\)"):
        nn.BatchNorm2d(2)(mg.randn(3, 2))
    with pytest.raises(ValueError, match="BatchNorm1d"):
        nn.BatchNorm1d(2)(mg.randn(3, 2, 2, 2))


def test_layer_norm_normalises_each_sample_over_trailing_axes():
    layer = float64(nn.LayerNorm((2, 3)))
    nn.init.normal_(layer.weight), nn.init.normal_(layer.bias)
    x = randn(4, 5, 2, 3, requires_grad=True)
    data = x.numpy()
    mean, var = data.mean(axis=(2, 3), keepdims=True), data.var(axis=(2, 3), keepdims=True)
    expected = (data - mean) / np.sqrt(var + 1e-5) * layer.weight.numpy() + layer.bias.numpy()
    assert np.allclose(layer(x).numpy(), expected)
    check_gradients(layer, randn(2, 2, 3, requires_grad=True))
    assert nn.LayerNorm(3, elementwise_affine=False).parameters() == []
    assert nn.LayerNorm(3, bias=False).bias is None


def test_group_norm_layer():
    layer = float64(nn.GroupNorm(2, 4))
    nn.init.normal_(layer.weight), nn.init.normal_(layer.bias)
    x = randn(3, 4, 2, 3, requires_grad=True)
    grouped = x.numpy().reshape(3, 2, -1)
    mean, var = grouped.mean(axis=2, keepdims=True), grouped.var(axis=2, keepdims=True)
    expected = ((grouped - mean) / np.sqrt(var + 1e-5)).reshape(x.shape)
    expected = expected * layer.weight.numpy()[:, None, None] + layer.bias.numpy()[:, None, None]
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-12, atol=1e-12)
    check_gradients(layer, randn(1, 4, 2, 2, requires_grad=True))
    assert nn.GroupNorm(2, 4, affine=False).parameters() == []
    assert layer.extra_repr() == "2, 4, eps=1e-05, affine=True"
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(3, 4)


def test_instance_norm_layer():
    """PyTorch's defaults: no affine, no running statistics, so training and evaluation agree;
    with track_running_stats, evaluation uses the averages training collected."""
    layer = float64(nn.InstanceNorm2d(3))
    assert layer.parameters() == [] and layer.buffers() == []
    x = randn(2, 3, 4, 4, requires_grad=True)
    data = x.numpy()
    expected = (data - data.mean(axis=(2, 3), keepdims=True)) / np.sqrt(
        data.var(axis=(2, 3), keepdims=True) + 1e-5)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.eval()(x).numpy(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer(x[0]).numpy(), expected[0], rtol=1e-12, atol=1e-12)
    tracked = float64(nn.InstanceNorm2d(3, momentum=0.5, affine=True, track_running_stats=True))
    tracked(x)
    assert tracked.num_batches_tracked.item() == 0  # PyTorch never counts them here
    np.testing.assert_allclose(tracked.running_mean.numpy(),
                               0.5 * data.mean(axis=(2, 3)).mean(axis=0), rtol=1e-12)
    tracked.eval()
    view = (1, 3, 1, 1)
    expected = (data - tracked.running_mean.numpy().reshape(view)) / np.sqrt(
        tracked.running_var.numpy().reshape(view) + 1e-5)
    np.testing.assert_allclose(tracked(x).numpy(), expected, rtol=1e-12, atol=1e-12)
    check_gradients(float64(nn.InstanceNorm2d(2, affine=True)), randn(2, 2, 2, 3, requires_grad=True))
    with pytest.raises(ValueError, match="InstanceNorm2d expects"):
        layer(randn(2, 3))
    with pytest.raises(ValueError, match="4 channels"):
        nn.InstanceNorm2d(3, affine=True)(randn(1, 4, 2, 2))


# ---- dropout and activations ----

def test_dropout_scales_survivors_in_training_and_is_identity_in_eval():
    layer = nn.Dropout(0.25)
    x = devices.ones(20000)
    y = layer(x).numpy()
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.02
    layer.eval()
    assert np.array_equal(layer(x).numpy(), x.numpy())


@pytest.mark.parametrize("layer, reference", [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(), lambda x: np.where(x > 0, x, 0.01 * x)),
    (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    (nn.Tanh(), np.tanh),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
])
def test_activations(layer, reference):
    x = randn(3, 7, requires_grad=True)
    assert np.allclose(layer(x).numpy(), reference(x.numpy()), rtol=1e-12, atol=1e-12)
    check_gradients(layer, x)


# ---- shape layers ----

def test_flatten_unflatten_reshape():
    x = randn(2, 3, 4, 5, requires_grad=True)
    data = x.numpy()
    assert np.array_equal(nn.Flatten()(x).numpy(), data.reshape(2, 60))
    assert np.array_equal(nn.Flatten(0, 1)(x).numpy(), data.reshape(6, 4, 5))
    assert np.array_equal(nn.Flatten(2)(x).numpy(), data.reshape(2, 3, 20))
    flat = nn.Flatten()(x)
    assert np.array_equal(nn.Unflatten(1, (3, 4, 5))(flat).numpy(), data)
    assert nn.Unflatten(-1, (2, 2))(randn(3, 4)).shape == (3, 2, 2)
    assert np.array_equal(nn.Reshape(3, 20)(x).numpy(), data.reshape(2, 3, 20))
    assert nn.Reshape(-1, 4, 5)(flat).shape == (2, 3, 4, 5)
    nn.Reshape(60)(x).sum().backward()
    assert np.array_equal(x.grad.numpy(), np.ones(x.shape))


def test_zero_pad_and_crop_are_inverse():
    x = randn(2, 3, 5, 4, requires_grad=True)
    padded = nn.ZeroPad2d((1, 2, 3, 0))(x)  # (left, right, top, bottom), as PyTorch's
    assert np.array_equal(padded.numpy(),
                          np.pad(x.numpy(), ((0, 0), (0, 0), (3, 0), (1, 2))))
    assert np.array_equal(nn.ZeroPad2d(1)(x).numpy(),
                          np.pad(x.numpy(), ((0, 0), (0, 0), (1, 1), (1, 1))))
    assert np.array_equal(nn.Crop2d(top=3, left=1, right=2)(padded).numpy(), x.numpy())
    cropped = nn.Crop2d(0, 1, 0, 1)(x)  # (top, bottom, left, right)
    assert np.array_equal(cropped.numpy(), x.numpy()[:, :, :4, :3])
    assert np.array_equal(nn.Crop2d(1, 2, 0, 1)(x).numpy(), x.numpy()[:, :, 1:3, 0:3])
    cropped.sum().backward()
    expected = np.zeros(x.shape)
    expected[:, :, :4, :3] = 1
    assert np.array_equal(x.grad.numpy(), expected)
    assert nn.Crop2d(bottom=1, right=1)(devices.randn(1, 1, 8, 8)).shape == (1, 1, 7, 7)
    with pytest.raises(ValueError, match="would leave nothing"):
        nn.Crop2d(2, 3)(x)
    with pytest.raises(ValueError, match="non-negative"):
        nn.Crop2d(-1)
    with pytest.raises(ValueError, match="left, right, top, bottom"):
        nn.ZeroPad2d((1, 2))


def test_upsample_nearest():
    x = randn(2, 3, 2, 3, requires_grad=True)
    y = nn.Upsample(scale_factor=2)(x)
    assert np.array_equal(y.numpy(), x.numpy().repeat(2, axis=2).repeat(2, axis=3))
    y.sum().backward()
    assert np.array_equal(x.grad.numpy(), np.full(x.shape, 4.0))
    bilinear = nn.Upsample(size=(3, 5), mode="bilinear", align_corners=True)
    assert np.array_equal(bilinear(x).numpy(), F.interpolate(x, (3, 5), mode="bilinear",
                                                             align_corners=True).numpy())
    with pytest.raises(ValueError, match="'bicubic'"):
        nn.Upsample(scale_factor=2, mode="bicubic")


# ---- initialisation ----

def uniform_bound_check(values, bound):
    """Samples of U(-bound, bound): inside it, reaching close to both ends, with variance
    bound^2 / 3."""
    values = np.asarray(values, dtype=np.float64).ravel()
    assert np.all(np.abs(values) <= bound)
    assert values.max() > 0.95 * bound and values.min() < -0.95 * bound
    assert abs(values.std() / (bound / math.sqrt(3)) - 1) < 0.06


@pytest.mark.parametrize("make, fan_in", [
    (lambda: nn.Linear(300, 40), 300),
    (lambda: nn.Conv2d(6, 40, 5), 6 * 5 * 5),
    # PyTorch's fan_in of a (in, out, kh, kw) weight is its axis 1 times the kernel size: out*kh*kw
    (lambda: nn.ConvTranspose2d(64, 8, 4), 8 * 4 * 4),
    # with groups the weight is (out, in / groups, kh, kw) or (in, out / groups, kh, kw)
    (lambda: nn.Conv2d(8, 40, 5, groups=4), 2 * 5 * 5),
    (lambda: nn.Conv2d(40, 40, 3, groups=40), 3 * 3),
    (lambda: nn.ConvTranspose2d(40, 64, 4, groups=8), 8 * 4 * 4),
])
def test_default_init_is_pytorchs(make, fan_in):
    mg.manual_seed(0)
    layer = make()
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)): sqrt(3) * sqrt(2/6) / sqrt(fan_in)
    uniform_bound_check(layer.weight.numpy(), bound)
    bias = layer.bias.numpy()
    assert np.all(np.abs(bias) <= bound) and np.abs(bias).max() > 0.5 * bound
    assert layer.weight.dtype == np.float32 and layer.weight.requires_grad


def test_default_init_of_normalisation_layers():
    bn = nn.BatchNorm2d(3)
    assert bn.weight.numpy().tolist() == [1, 1, 1] and bn.bias.numpy().tolist() == [0, 0, 0]
    assert bn.running_mean.numpy().tolist() == [0, 0, 0]
    assert bn.running_var.numpy().tolist() == [1, 1, 1]
    assert bn.num_batches_tracked.item() == 0
    ln = nn.LayerNorm(4)
    assert ln.weight.numpy().tolist() == [1] * 4 and ln.bias.numpy().tolist() == [0] * 4


def test_the_seed_decides_the_weights():
    mg.manual_seed(3)
    a = nn.Conv2d(2, 3, 3).weight.numpy()
    mg.manual_seed(3)
    b = nn.Conv2d(2, 3, 3).weight.numpy()
    c = nn.Conv2d(2, 3, 3).weight.numpy()
    assert np.array_equal(a, b) and not np.array_equal(b, c)


def test_calculate_gain():
    assert nn.init.calculate_gain("linear") == nn.init.calculate_gain("conv2d") == 1
    assert nn.init.calculate_gain("sigmoid") == 1
    assert nn.init.calculate_gain("tanh") == 5 / 3
    assert nn.init.calculate_gain("relu") == math.sqrt(2)
    assert nn.init.calculate_gain("leaky_relu") == math.sqrt(2 / (1 + 0.01 ** 2))
    assert nn.init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / (1 + 0.2 ** 2))
    with pytest.raises(ValueError, match="softsign"):
        nn.init.calculate_gain("softsign")


def test_init_functions_follow_their_formulas_in_place():
    w = devices.zeros(200, 100, 3, 3)  # fan_in 900, fan_out 1800
    fan_in, fan_out = 100 * 9, 200 * 9
    assert nn.init.fan_in_and_fan_out(w) == (fan_in, fan_out)
    array = w.array
    assert nn.init.normal_(w, 1.0, 0.02) is w and w.array is array
    assert abs(w.numpy().mean() - 1.0) < 1e-3 and abs(w.numpy().std() / 0.02 - 1) < 0.01
    nn.init.uniform_(w, -2, 3)
    assert w.numpy().min() >= -2 and w.numpy().max() < 3 and abs(w.numpy().mean() - 0.5) < 0.02
    nn.init.xavier_uniform_(w, gain=2)
    uniform_bound_check(w.numpy(), 2 * math.sqrt(6 / (fan_in + fan_out)))
    nn.init.xavier_normal_(w)
    assert abs(w.numpy().std() / math.sqrt(2 / (fan_in + fan_out)) - 1) < 0.01
    nn.init.kaiming_uniform_(w, nonlinearity="relu")
    uniform_bound_check(w.numpy(), math.sqrt(3) * math.sqrt(2) / math.sqrt(fan_in))
    nn.init.kaiming_normal_(w, a=0.2, mode="fan_out")
    assert abs(w.numpy().std() / (math.sqrt(2 / 1.04) / math.sqrt(fan_out)) - 1) < 0.01
    nn.init.constant_(w, 0.5)
    assert np.all(w.numpy() == 0.5)
    nn.init.ones_(w)
    assert np.all(w.numpy() == 1)
    nn.init.zeros_(w)
    assert np.all(w.numpy() == 0) and w.array is array and w.dtype == np.float32
    with pytest.raises(ValueError, match="at least 2 axes"):
        nn.init.xavier_uniform_(devices.zeros(5))
    with pytest.raises(ValueError, match="fan_avg"):
        nn.init.kaiming_normal_(w, mode="fan_avg")


def test_init_keeps_a_float64_tensor_float64():
    w = devices.zeros(3, 4, dtype=np.float64)
    nn.init.normal_(w)
    assert w.dtype == np.float64 and w.numpy().std() > 0
