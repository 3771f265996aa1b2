"""Device "cuda" end to end at the engine level: tensors and their arrays, moves between
devices, modules, optimizers whose state stays on the device, checkpoints saved from the host
and loaded back onto the device, the gradient penalty's random weights, and where data crosses
between host and device.

Every test takes the ``cuda`` fixture: in a CPU run it installs the CuPy stand-in for the test,
in a device run it is the session's CuPy (the stand-in, or the real one with --real-cupy).
Tests that count transfers need the stand-in's counter and are skipped against real CuPy.
"""
import math

import sys
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import backend, nn, optim
from wgan import losses

import cupy_standin
from devices import assert_close, other_device, tensor


def is_cuda(*tensors):
    return all(t.device == "cuda" and backend.is_device_array(t.array) for t in tensors)


# ---- tensors ----

def test_every_way_of_making_a_tensor_puts_it_on_the_device(cuda):
    made = [mg.tensor([1.0, 2.0], device="cuda"), mg.tensor(np.ones((2, 3)), device="cuda"),
            mg.tensor(3, device="cuda"), mg.tensor(np.float32(2.5), device="cuda"),
            mg.zeros(2, 3, device="cuda"), mg.ones((2,), device="cuda"),
            mg.full((2, 2), 0.5, device="cuda"), mg.randn(3, device="cuda"),
            mg.rand(3, 1, device="cuda", requires_grad=True),
            mg.tensor(mg.tensor(np.ones(2), device="cuda"), device="cuda")]
    assert is_cuda(*made)
    assert made[0].dtype == np.float32 and made[2].dtype == np.int64
    assert made[1].dtype == np.float64  # NumPy arrays keep their dtype
    assert type(made[1].numpy()) is np.ndarray and made[1].numpy().shape == (2, 3)
    assert made[3].item() == 2.5 and isinstance(made[3].item(), float)
    assert 'device="cuda"' in repr(made[0])
    assert bool(mg.tensor([1.0], device="cuda") > 0)


def test_a_host_array_is_copied_to_the_device_not_shared(cuda):
    host = np.zeros(3)
    t = mg.tensor(host, device="cuda")
    host[0] = 1
    assert t.numpy().tolist() == [0, 0, 0]
    out = t.numpy()
    out[1] = 5
    assert t.numpy().tolist() == [0, 0, 0]


def test_a_seed_gives_the_same_numbers_on_both_devices(cuda):
    mg.manual_seed(5)
    on_cpu = [mg.randn(4, 3).numpy(), mg.rand(2).numpy(), nn.Linear(3, 2).weight.numpy()]
    mg.manual_seed(5)
    on_cuda = [mg.randn(4, 3, device="cuda").numpy(), mg.rand(2, device="cuda").numpy(),
               nn.Linear(3, 2).to("cuda").weight.numpy()]
    for a, b in zip(on_cpu, on_cuda):
        np.testing.assert_array_equal(a, b)


def test_results_and_gradients_stay_on_the_device(cuda):
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((2, 1, 6, 6)), device="cuda", requires_grad=True)
    w = mg.tensor(rng.standard_normal((3, 1, 3, 3)), device="cuda", requires_grad=True)
    y = F.leaky_relu(F.conv2d(x, w, stride=2, padding=1), 0.2)
    h = F.layer_norm(F.conv_transpose2d(y, w, stride=2, padding=1, output_padding=1), (1, 6, 6))
    loss = (h.sigmoid() * x).sum() + F.cross_entropy(y.flatten(1)[:, :3], [0, 2])
    (gx,) = mg.grad(loss, x, create_graph=True)
    ((gx * gx).sum() + loss).backward()
    assert is_cuda(y, h, loss, gx, x.grad, w.grad)


def test_float32_stays_float32_through_every_op_on_the_device(cuda):
    """No op widens float32 on the device (Python numbers and NumPy scalars are weak), forward
    and backward: a silent float64 on a GPU halves the speed."""
    rng = np.random.default_rng(4)
    x = mg.tensor(rng.standard_normal((2, 2, 6, 6)).astype(np.float32), device="cuda",
                  requires_grad=True)
    w = mg.tensor(rng.standard_normal((2, 2, 3, 3)).astype(np.float32), device="cuda",
                  requires_grad=True)
    running = [mg.zeros(2, device="cuda"), mg.ones(2, device="cuda")]
    outputs = {
        "conv2d": F.conv2d(x, w, padding=1), "conv_transpose2d": F.conv_transpose2d(x, w),
        "leaky_relu": F.leaky_relu(x, 0.2), "relu": F.relu(x), "sigmoid": x.sigmoid(),
        "tanh": x.tanh(), "softplus": F.softplus(x), "clip": x.clip(-0.5, None),
        "abs": abs(x), "where": mg.where(x > 0, x, 0.5), "maximum": mg.maximum(x, 0.1),
        "dropout": F.dropout(x, 0.3), "batch_norm": F.batch_norm(x, *running, training=True),
        "layer_norm": F.layer_norm(x, (6, 6)), "upsample": F.upsample_nearest(x),
        "pad": F.pad(x, (0, 2, 1, 1)),  # PyTorch's order: last axis first
        "scalars": (x * 2 + 0.5) ** 2 / 3 - np.float32(1) + x.mean() * x.var(),
        "log_softmax": F.log_softmax(x.flatten(1)), "linear": F.linear(x.flatten(1), x.flatten(1)), "matmul": w.flatten(1) @ w.flatten(1).T,
    }
    for name, y in outputs.items():
        assert y.dtype == np.float32 and is_cuda(y), name
        grads = [g for g in mg.grad((y * y).sum(), [x, w], create_graph=True, allow_unused=True)
                 if g is not None]
        assert grads and all(g.dtype == np.float32 and is_cuda(g) for g in grads), name
    assert running[0].dtype == running[1].dtype == np.float32


def test_cross_entropy_takes_targets_from_either_device(cuda):
    logits = mg.tensor(np.random.default_rng(1).standard_normal((3, 4)), device="cuda")
    targets = np.array([0, 3, 1])
    expected = F.cross_entropy(logits.to("cpu"), targets).item()
    for t in (targets, targets.tolist(), mg.tensor(targets), mg.tensor(targets, device="cuda")):
        assert math.isclose(F.cross_entropy(logits, t).item(), expected, rel_tol=1e-12)
    with pytest.raises(ValueError, match=r"\[0, 4\), got values from 0 to 4"):
        F.cross_entropy(logits, mg.tensor([0, 4, 1], device="cuda"))


# ---- modules, optimizers, checkpoints ----

def small_net():
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.LeakyReLU(0.2),
                         nn.Flatten(), nn.Dropout(0.25), nn.Linear(2 * 4 * 4, 3))


def batch():
    rng = np.random.default_rng(2)
    return (mg.tensor(rng.standard_normal((4, 1, 4, 4)).astype(np.float32), device="cuda"),
            mg.tensor(rng.integers(0, 3, 4), device="cuda"))


def train_steps(model, optimizer, steps, data):
    x, y = data
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()


def test_module_to_moves_parameters_buffers_and_gradients_in_place(cuda):
    model = small_net()
    model(mg.randn(4, 1, 4, 4)).sum().backward()
    tensors = model.parameters() + model.buffers()
    assert model.to("cuda") is model
    assert all(a is b for a, b in zip(tensors, model.parameters() + model.buffers()))
    assert is_cuda(*tensors, *(p.grad for p in model.parameters()))
    assert model.to("cpu") is model
    assert all(isinstance(t.array, np.ndarray) for t in tensors)


OPTIMIZERS = [(optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
              (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
              (optim.Adam, dict(lr=0.01, betas=(0.5, 0.9), amsgrad=True, weight_decay=0.01))]


@pytest.mark.parametrize("kind, kwargs", OPTIMIZERS, ids=lambda v: getattr(v, "__name__", ""))
def test_optimizer_state_lives_on_the_device_and_survives_a_checkpoint(cuda, tmp_path, kind,
                                                                       kwargs):
    """Train 2 steps, checkpoint (saved from the host), resume on the device for 2 more: the
    state is on the device all along, and the result equals 4 uninterrupted steps."""
    data = batch()
    mg.manual_seed(0)
    straight = small_net().to("cuda")
    initial = {k: v.numpy() for k, v in straight.state_dict().items()}
    mg.manual_seed(1)
    train_steps(straight, kind(straight.parameters(), **kwargs), 4, data)

    first = small_net().to("cuda")
    first.load_state_dict(initial)
    optimizer = kind(first.parameters(), **kwargs)
    mg.manual_seed(1)
    train_steps(first, optimizer, 2, data)
    for state in optimizer.state.values():
        assert all(backend.is_device_array(v) for v in state.values() if hasattr(v, "shape"))
    mg.save({"model": first.state_dict(), "optimizer": optimizer.state_dict(),
             "rng": mg.get_rng_state()}, tmp_path / "checkpoint.npz")
    with np.load(tmp_path / "checkpoint.npz", allow_pickle=False) as archive:
        assert len(archive.files) > 10  # plain NumPy arrays in the file

    checkpoint = mg.load(tmp_path / "checkpoint.npz", device="cuda")
    assert is_cuda(*checkpoint["model"].values())
    resumed = small_net().to("cuda")
    arrays = [p.array for p in resumed.parameters()]
    resumed.load_state_dict(checkpoint["model"])
    assert all(p.array is a for p, a in zip(resumed.parameters(), arrays))
    optimizer = kind(resumed.parameters(), lr=123.0)
    optimizer.load_state_dict(checkpoint["optimizer"])
    for p, state in optimizer.state.items():
        for name, value in state.items():
            if hasattr(value, "shape"):
                assert backend.is_device_array(value) and value.dtype == p.dtype, name
    mg.set_rng_state(checkpoint["rng"])
    train_steps(resumed, optimizer, 2, data)
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert_close(a.numpy(), b.numpy())


def test_a_device_checkpoint_loads_on_the_host_and_back(cuda, tmp_path):
    model = small_net().to("cuda")
    model(batch()[0])
    mg.save(model.state_dict(), tmp_path / "model.npz")
    on_host = mg.load(tmp_path / "model.npz")
    assert all(isinstance(t.array, np.ndarray) for t in on_host.values())
    cpu_model = small_net()
    cpu_model.load_state_dict(on_host)
    cuda_model = small_net().to("cuda")
    cuda_model.load_state_dict(on_host)
    model.eval(), cpu_model.eval(), cuda_model.eval()
    x = batch()[0]
    expected = model(x).numpy()
    assert_close(cpu_model(x.to("cpu")).numpy(), expected)
    assert_close(cuda_model(x).numpy(), expected)


# ---- the gradient penalty ----

def test_the_penalty_draws_alpha_on_the_host_and_uses_it_on_the_device(cuda, monkeypatch):
    drawn = []
    rand = mg.rand

    def spy(*shape, **kwargs):
        t = rand(*shape, **kwargs)
        drawn.append(t)
        return t

    monkeypatch.setattr(mg, "rand", spy)
    critic = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2), nn.LeakyReLU(0.2), nn.Flatten(),
                           nn.Linear(2 * 3 * 3, 1))
    rng = np.random.default_rng(3)
    real, fake = (rng.uniform(0, 1, (4, 1, 7, 7)).astype(np.float32) for _ in range(2))
    mg.manual_seed(9)
    on_cpu = losses.gradient_penalty(critic, mg.tensor(real), mg.tensor(fake))
    critic.to("cuda")
    mg.manual_seed(9)
    penalty = losses.gradient_penalty(critic, mg.tensor(real, device="cuda"),
                                      mg.tensor(fake, device="cuda"))
    assert [t.device for t in drawn] == ["cpu", "cuda"] and drawn[1].shape == (4, 1, 1, 1)
    np.testing.assert_array_equal(drawn[0].numpy(), drawn[1].numpy())  # one seed, one alpha
    assert is_cuda(penalty) and penalty.requires_grad
    assert math.isclose(penalty.item(), on_cpu.item(), rel_tol=1e-5)
    penalty.backward()  # the biases do not reach a piecewise-linear critic's input gradient
    assert is_cuda(critic[0].weight.grad, critic[3].weight.grad)


# ---- what crosses between host and device ----

@pytest.mark.standin_only("counts copies with the stand-in's counter")
def test_data_crosses_only_where_it_must(standin_transfers):
    """A forward and double backward on the device: the input goes over once, and nothing
    but the loss's one number comes back."""
    x = mg.tensor(np.ones((2, 1, 5, 5), np.float32), device="cuda", requires_grad=True)
    critic = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Tanh(), nn.Flatten(), nn.Linear(18, 1))
    critic.to("cuda")
    with standin_transfers.record() as log:
        (g,) = mg.grad(critic(x).sum(), x, create_graph=True)
        ((g * g).sum()).backward()
        critic(x).mean().item()
    arrays = [entry for entry in log if entry[1] != ()]
    assert arrays == [], f"arrays crossed between host and device: {arrays}"
    assert [d for d, _ in log if d == "to_host"] == ["to_host"]


@pytest.mark.standin_only("counts copies with the stand-in's counter")
def test_python_numbers_do_not_cross_to_the_device(standin_transfers):
    x = mg.tensor(np.ones((3, 4), np.float32), device="cuda", requires_grad=True)
    with standin_transfers.record() as log:
        y = ((x * 2 + 0.5) ** 2 / 3 - 1).mean() + x.var()
        y.backward()
    assert log == []


# ---- bad inputs: clear errors naming what was wrong ----


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
