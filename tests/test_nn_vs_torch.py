"""Layers and initialisation against torch.nn, when PyTorch is installed: the same weights
give the same outputs, gradients and running statistics, and PyTorch's own default weights
fall inside the bounds our init computes."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

pytestmark = pytest.mark.cpu_only("compares with PyTorch's CPU layers")
torch = pytest.importorskip("torch")


def copy_weights(ours, theirs):
    """Load torch's weights and buffers into our layer (same names, same layouts)."""
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})


def compare(ours, theirs, shape, steps=1):
    """Outputs and input/parameter gradients of both layers, in float64, over ``steps`` calls."""
    ours.to(dtype=np.float64)
    theirs.double()
    copy_weights(ours, theirs)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        x = rng.standard_normal(shape)
        x_ours, x_theirs = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y_ours, y_theirs = ours(x_ours), theirs(x_theirs)
        np.testing.assert_allclose(y_ours.numpy(), y_theirs.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)
        g = rng.standard_normal(y_ours.shape)
        y_ours.backward(mg.tensor(g))
        y_theirs.backward(torch.tensor(g))
        np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=1e-10,
                                   atol=1e-12)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs.get_parameter(name).grad.numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=name)
    for name, b in ours.named_buffers():
        np.testing.assert_allclose(b.numpy(), theirs.get_buffer(name).numpy(), rtol=1e-12,
                                   err_msg=name)


@pytest.mark.parametrize("make, shape", [
    (lambda m: m.Linear(5, 3), (4, 5)),
    (lambda m: m.Conv2d(2, 3, 5, stride=2, padding=2), (2, 2, 9, 8)),
    (lambda m: m.ConvTranspose2d(3, 2, 5, stride=2, padding=2, output_padding=1), (2, 3, 4, 3)),
    (lambda m: m.LayerNorm((3, 4)), (2, 5, 3, 4)),
    (lambda m: m.Sequential(m.Conv2d(1, 2, 3), m.LeakyReLU(0.2), m.Flatten(), m.Linear(12, 1),
                            m.Sigmoid()), (3, 1, 5, 4)),
])
def test_layers_match_torch(make, shape):
    compare(make(nn), make(torch.nn), shape)


@pytest.mark.parametrize("make, shape", [
    (lambda m: m.BatchNorm1d(3, momentum=0.2), (5, 3)),
    (lambda m: m.BatchNorm1d(3, momentum=None), (5, 3, 4)),
    (lambda m: m.BatchNorm2d(3, eps=1e-3), (4, 3, 2, 3)),
])
def test_batch_norm_statistics_and_eval_output_match_torch(make, shape):
    ours, theirs = make(nn), make(torch.nn)
    compare(ours, theirs, shape, steps=3)
    ours.eval(), theirs.eval()
    x = np.random.default_rng(1).standard_normal(shape)
    np.testing.assert_allclose(ours(mg.tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)


def test_module_state_dict_keys_match_torch():
    def net(m):
        return m.Sequential(m.Conv2d(1, 2, 3), m.BatchNorm2d(2), m.ReLU(), m.Flatten(),
                            m.Linear(8, 1))
    assert list(net(nn).state_dict()) == list(net(torch.nn).state_dict())


@pytest.mark.parametrize("make", [
    lambda m: m.Linear(300, 50),
    lambda m: m.Conv2d(8, 32, 5),
    lambda m: m.ConvTranspose2d(64, 8, 4),
    lambda m: m.ConvTranspose2d(4, 32, 5),
])
def test_torchs_default_weights_fill_the_bounds_our_init_uses(make):
    torch.manual_seed(0)
    layer = make(torch.nn)
    fan_in, fan_out = nn.init.fan_in_and_fan_out(make(nn).weight)
    assert (fan_in, fan_out) == torch.nn.init._calculate_fan_in_and_fan_out(layer.weight)
    bound = 1 / np.sqrt(fan_in)
    for values in (layer.weight.detach().numpy(), layer.bias.detach().numpy()):
        assert np.abs(values).max() <= bound
    assert np.abs(layer.weight.detach().numpy()).max() > 0.95 * bound


@pytest.mark.parametrize("nonlinearity, param", [
    ("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", np.sqrt(5)), ("selu", None)])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert np.isclose(nn.init.calculate_gain(nonlinearity, param),
                      torch.nn.init.calculate_gain(nonlinearity, param), rtol=1e-15)
