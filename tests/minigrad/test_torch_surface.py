"""PyTorch's module-level names on minigrad (docs/pytorch.md): devices, dtypes, legacy typed
constructors, grad-mode switches, function forms of tensor methods, factories, Variable,
``inplace=``, losses and layers made of other ops, and the AttributeError for what is missing.
Fixed values run everywhere; the comparisons with PyTorch (float64) run where it is installed.
"""
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import backend, nn

import cupy_standin
import devices
from devices import DEVICE, leaf, tensor

ROOT = Path(__file__).resolve().parents[2]
CPU_TORCH = pytest.mark.cpu_only("compares with PyTorch on the CPU")


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


# ---- devices ----

def test_device_objects_are_device_names():
    for spelling, name, index in (("cpu", "cpu", None), ("cuda", "cuda", None),
                                  ("cuda:0", "cuda", 0), ("cpu:0", "cpu", 0)):
        d = mg.device(spelling)
        assert d == name and str(d) == name and d.type == name and d.index == index
    assert repr(mg.device("cuda:0")) == "device(type='cuda', index=0)"
    assert repr(mg.device("cpu")) == "device(type='cpu')"
    assert mg.device("cuda", 0).index == 0 and mg.device(mg.device("cpu")) == "cpu"
    x = mg.zeros(2, device=mg.device(DEVICE))
    assert x.device == DEVICE and x.to(mg.device(DEVICE)) is x
    assert mg.tensor([1.0], device=f"{DEVICE}:0").device == DEVICE


def test_bad_devices_are_refused_naming_them():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        mg.device("tpu")
    with pytest.raises(ValueError, match="'cuda:1'.*select_gpu"):
        mg.device("cuda:1")
    with pytest.raises(ValueError, match="cuda:1"):
        mg.zeros(2, device="cuda:1")


@pytest.fixture
def no_cupy(monkeypatch):
    """No CuPy installed: the stand-in taken away and ``import cupy`` failing."""
    previous = backend.set_cupy_module(None)
    monkeypatch.setitem(sys.modules, "cupy", None)
    yield
    backend.set_cupy_module(previous)


def test_without_cupy_there_is_no_gpu(no_cupy):
    assert not mg.cuda.is_available() and mg.cuda.device_count() == 0
    assert not mg.accelerator.is_available() and mg.accelerator.device_count() == 0
    assert mg.accelerator.current_accelerator() is None
    assert mg.accelerator.current_accelerator(check_available=True) is None
    assert not mg.backends.mps.is_available() and not mg.backends.cudnn.is_available()


def test_with_cupy_and_a_gpu_the_accelerator_is_cuda():
    previous = backend.set_cupy_module(backend._cupy or cupy_standin)
    try:
        assert mg.cuda.is_available() and mg.cuda.device_count() >= 1
        assert mg.accelerator.is_available()
        assert mg.accelerator.current_accelerator(check_available=True).type == "cuda"
        device = mg.accelerator.current_accelerator().type if mg.accelerator.is_available() \
            else "cpu"
        assert mg.ones(2, device=device).device == "cuda"
        mg.cuda.synchronize()
        assert mg.cuda.FloatTensor(2).device == "cuda"
    finally:
        backend.set_cupy_module(previous)


def test_cuda_manual_seed_seeds_the_one_generator():
    mg.cuda.manual_seed(3)
    a = devices.randn(4).numpy()
    mg.cuda.manual_seed_all(3)
    b = devices.randn(4).numpy()
    mg.manual_seed(3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(devices.randn(4).numpy(), a)


def test_cudnn_switches_can_be_set(monkeypatch):
    """PyTorch programs set them; minigrad keeps what they say (the test puts them back)."""
    cudnn = mg.backends.cudnn
    assert (cudnn.benchmark, cudnn.deterministic) == (False, False)
    monkeypatch.setattr(cudnn, "benchmark", True)
    monkeypatch.setattr(cudnn, "deterministic", True)
    assert (mg.backends.cudnn.benchmark, mg.backends.cudnn.deterministic) == (True, True)


# ---- dtypes and legacy constructors ----

def test_dtype_names_are_numpy_dtypes():
    pairs = {"float32": np.float32, "float": np.float32, "float64": np.float64,
             "double": np.float64, "half": np.float16, "int64": np.int64, "long": np.int64,
             "int": np.int32, "short": np.int16, "uint8": np.uint8, "int8": np.int8,
             "bool": np.bool_, "cdouble": np.complex128}
    for name, dtype in pairs.items():
        assert getattr(mg, name) == np.dtype(dtype), name
    assert devices.zeros(2, dtype=mg.long).dtype == mg.int64
    assert devices.randn(2).dtype is mg.float32 and mg.get_default_dtype() == mg.float32
    assert not hasattr(mg, "np")  # the dtype module's own imports stay out of mg


def test_legacy_typed_constructors():
    assert mg.FloatTensor(2, 3).shape == (2, 3) and mg.FloatTensor(2, 3).dtype == np.float32
    assert not mg.FloatTensor(2, 3).numpy().any()  # zeros, never uninitialised memory
    x = mg.LongTensor([1, 2])
    assert x.dtype == np.int64 and x.numpy().tolist() == [1, 2]
    assert mg.DoubleTensor(np.arange(3)).dtype == np.float64
    assert mg.BoolTensor([True]).dtype == np.bool_ and mg.ByteTensor(1).dtype == np.uint8
    assert mg.FloatTensor().shape == (0,)
    assert mg.FloatTensor.dtype == np.float32 and mg.FloatTensor.device == "cpu"
    assert repr(mg.cuda.FloatTensor) == "mg.cuda.FloatTensor"
    with pytest.raises(TypeError, match="FloatTensor"):
        mg.FloatTensor([1.0], [2.0])


# ---- grad modes ----

def test_no_grad_as_context_and_both_decorator_forms():
    x = leaf([1.0, 2.0])

    @mg.no_grad
    def bare():
        return x * 2

    @mg.no_grad()
    def called():
        return x * 2

    with mg.no_grad():
        assert not (x * 2).requires_grad
    assert not bare().requires_grad and not called().requires_grad
    assert (x * 2).requires_grad and mg.is_grad_enabled()
    with mg.no_grad():
        with mg.enable_grad():
            assert (x * 2).requires_grad

        @mg.enable_grad
        def recorded():
            return x * 2
        assert recorded().requires_grad
    with mg.inference_mode():
        assert not (x * 2).requires_grad
    assert mg.inference_mode(lambda: (x * 2).requires_grad)() is False
    with mg.inference_mode(False):
        assert (x * 2).requires_grad


def test_set_grad_enabled_as_a_call_and_as_a_context():
    x = leaf([1.0])
    with mg.set_grad_enabled(False):
        assert not mg.is_grad_enabled() and not (x * 2).requires_grad
    assert mg.is_grad_enabled()
    mg.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        mg.set_grad_enabled(True)
    assert (x * 2).requires_grad
    with mg.no_grad():
        with mg.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not mg.is_grad_enabled()


# ---- Variable and grad ----

def test_variable_is_a_detached_tensor_that_may_require_grad():
    x = leaf([1.0, 2.0])
    y = x * 3
    v = mg.autograd.Variable(y)
    assert v.grad_fn is None and not v.requires_grad and v is not y
    np.testing.assert_array_equal(v.numpy(), [3.0, 6.0])
    w = mg.autograd.Variable(tensor([1.0, 2.0]), requires_grad=True)
    assert w.requires_grad and w.is_leaf
    with pytest.raises(TypeError, match="Variable.*list"):
        mg.autograd.Variable([1.0])


def test_grad_takes_pytorchs_arguments_in_pytorchs_order():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    (g,) = mg.autograd.grad(y, x, None, True, True, only_inputs=True)  # retain, create
    np.testing.assert_array_equal(g.numpy(), [2.0, 4.0])
    assert g.requires_grad
    (gg,) = mg.grad(g.sum(), x, retain_graph=False, only_inputs=False)
    np.testing.assert_array_equal(gg.numpy(), [2.0, 2.0])


# ---- function forms ----

def test_function_forms_call_the_methods():
    x = leaf(np.arange(12.0).reshape(3, 4) - 5)
    assert mg.mean(x).item() == x.mean().item() == 0.5
    np.testing.assert_array_equal(mg.sum(x, 1).numpy(), x.numpy().sum(1))
    np.testing.assert_array_equal(mg.flatten(x).numpy(), np.arange(12.0) - 5)
    assert mg.reshape(x, (4, 3)).shape == (4, 3) and mg.squeeze(x[None]).shape == (3, 4)
    assert mg.unsqueeze(x, -1).shape == (3, 4, 1) and mg.transpose(x, 0, 1).shape == (4, 3)
    assert mg.permute(x[None], 2, 0, 1).shape == (4, 1, 3) and mg.t(x).shape == (4, 3)
    assert mg.t(x[0]).shape == (4,) and mg.numel(x) == 12 and mg.is_tensor(x)
    assert not mg.is_tensor(np.zeros(2))
    assert mg.argmax(x).item() == 11 and mg.argmin(x, 0).numpy().tolist() == [0, 0, 0, 0]
    np.testing.assert_allclose(mg.var(x).item(), x.var().item())
    np.testing.assert_allclose(mg.std(x).item(), x.std().item())
    assert mg.max(x).item() == 6 and mg.min(x).item() == -5
    np.testing.assert_array_equal(mg.max(x, tensor(0.0)).numpy(), np.maximum(x.numpy(), 0))
    np.testing.assert_array_equal(mg.min(x, tensor(0.0)).numpy(), np.minimum(x.numpy(), 0))
    np.testing.assert_array_equal(mg.clamp(x, min=-1, max=2).numpy(),
                                  np.clip(x.numpy(), -1, 2))
    assert mg.cat([x, x], dim=1).shape == (3, 8) and mg.cat([x, x]).shape == (6, 4)
    with pytest.raises(TypeError, match=r"mg.mean\(\) takes a Tensor.*list"):
        mg.mean([1.0, 2.0])


def test_norm_function_form():
    x = leaf(np.arange(12.0).reshape(3, 4) - 5)
    np.testing.assert_allclose(mg.norm(x).item(), np.linalg.norm(x.numpy()))
    np.testing.assert_allclose(mg.norm(x, dim=1).numpy(), np.linalg.norm(x.numpy(), axis=1))


def test_matrix_products_and_their_shape_checks():
    a, b = leaf(np.ones((2, 3))), leaf(np.ones((3, 4)))
    np.testing.assert_array_equal(mg.mm(a, b).numpy(), np.full((2, 4), 3.0))
    assert mg.bmm(a[None], b[None]).shape == (1, 2, 4)
    with pytest.raises(ValueError, match="mm"):
        mg.mm(a[None], b)
    with pytest.raises(ValueError, match="bmm"):
        mg.bmm(a[None], mg.cat([b[None], b[None]]))
    with pytest.raises(RuntimeError, match="mg.t"):
        mg.t(a[None])
    assert mg.mm(a, b).grad_fn is not None


def test_from_numpy_shares_memory_and_as_tensor_copies_only_when_needed():
    array = np.arange(3.0)
    x = mg.from_numpy(array)
    array[0] = 7
    assert x.dtype == np.float64 and x.numpy()[0] == 7
    with pytest.raises(TypeError, match="from_numpy"):
        mg.from_numpy([1.0])
    assert mg.as_tensor(array).numpy()[0] == 7 and mg.as_tensor(x) is x
    assert mg.as_tensor(array, dtype=mg.float32).dtype == np.float32
    assert mg.as_tensor([1, 2]).dtype == np.int64
    assert mg.as_tensor(x, device=DEVICE).device == DEVICE
    y = mg.empty(2, 3, device=DEVICE)
    assert y.shape == (2, 3) and not y.numpy().any()
    assert mg.empty_like(y, dtype=mg.int64).dtype == np.int64


def test_random_factories_are_seeded_and_in_range():
    mg.manual_seed(0)
    a = mg.randint(3, 7, (50,), device=DEVICE)
    p = mg.randperm(10, device=DEVICE)
    n = mg.normal(2.0, 0.5, (4000,))
    assert a.dtype == np.int64 and a.device == DEVICE
    assert set(a.numpy().tolist()) <= set(range(3, 7)) and len(set(a.numpy().tolist())) == 4
    assert sorted(p.numpy().tolist()) == list(range(10))
    assert abs(n.numpy().mean() - 2) < 0.05 and abs(n.numpy().std() - 0.5) < 0.05
    mg.manual_seed(0)
    np.testing.assert_array_equal(mg.randint(3, 7, (50,)).numpy(), a.numpy())
    assert mg.randint(5, size=(2, 2)).shape == (2, 2)
    g1, g2 = mg.Generator().manual_seed(4), mg.Generator().manual_seed(4)
    np.testing.assert_array_equal(mg.randperm(20, generator=g1).numpy(),
                                  mg.randperm(20, generator=g2).numpy())
    state = g1.get_state()
    first = mg.randint(100, (5,), generator=g1).numpy()
    np.testing.assert_array_equal(mg.randint(100, (5,), generator=g1.set_state(state)).numpy(),
                                  first)
    assert g1.initial_seed() == 4
    mean = leaf(np.zeros((2, 3)))
    sample = mg.normal(mean, 1.0)
    assert sample.shape == (2, 3) and sample.dtype == np.float64 and not sample.requires_grad
    with pytest.raises(TypeError, match="size"):
        mg.normal(0.0, 1.0)
    with pytest.raises(TypeError, match="randint"):
        mg.randint(5)


# ---- inplace= ----

INPLACE = [(F.relu, (), nn.ReLU, ()), (F.leaky_relu, (0.2,), nn.LeakyReLU, (0.2,)),
           (F.elu, (1.5,), nn.ELU, (1.5,)), (F.hardtanh, (-0.5, 0.5), nn.Hardtanh, (-0.5, 0.5)),
           (F.silu, (), nn.SiLU, ()), (F.relu6, (), nn.ReLU6, ())]


@pytest.mark.parametrize("function, args, module, module_args", INPLACE,
                         ids=[f.__name__ for f, *_ in INPLACE])
def test_inplace_is_accepted_and_computed_out_of_place(function, args, module, module_args):
    x = tensor([-7.0, -0.3, 0.2, 7.0])
    before = x.numpy()
    expected = function(x, *args).numpy()
    np.testing.assert_array_equal(function(x, *args, inplace=True).numpy(), expected)
    np.testing.assert_array_equal(module(*module_args, inplace=True)(x).numpy(), expected)
    np.testing.assert_array_equal(x.numpy(), before)  # the input is left as it was
    assert "inplace=True" in repr(module(*module_args, inplace=True))
    assert "inplace" not in repr(module(*module_args))
    w = leaf([1.0, -1.0])
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad.*in-place"):
        function(w, *args, inplace=True)
    with mg.no_grad():
        function(w, *args, inplace=True)
    h = w * 1  # not a leaf: fine, and differentiable
    function(h, *args, inplace=True).sum().backward()
    assert w.grad is not None


def test_dropout_takes_inplace():
    x = leaf(np.ones(100)) * 1
    mg.manual_seed(1)
    a = F.dropout(x, 0.5, True, inplace=True).numpy()
    mg.manual_seed(1)
    np.testing.assert_array_equal(nn.Dropout(0.5, inplace=True)(x).numpy(), a)
    assert repr(nn.Dropout(0.5, inplace=True)) == "Dropout(p=0.5, inplace=True)"


# ---- losses and layers: fixed values ----

def test_regression_losses_fixed_values():
    x, t = leaf([0.0, 0.5, 3.0]), tensor([1.0, 0.0, 0.0])
    assert math.isclose(F.mse_loss(x, t).item(), (1 + 0.25 + 9) / 3)
    assert math.isclose(F.l1_loss(x, t, reduction="sum").item(), 4.5)
    np.testing.assert_allclose(F.smooth_l1_loss(x, t, reduction="none").numpy(),
                               [0.5, 0.125, 2.5])
    np.testing.assert_allclose(F.smooth_l1_loss(x, t, reduction="none", beta=2.0).numpy(),
                               [0.25, 0.0625, 2.0])
    np.testing.assert_allclose(F.huber_loss(x, t, reduction="none", delta=2.0).numpy(),
                               [0.5, 0.125, 4.0])
    np.testing.assert_allclose(F.smooth_l1_loss(x, t, beta=0.0, reduction="none").numpy(),
                               [1.0, 0.5, 3.0])
    assert math.isclose(nn.MSELoss(reduction="sum")(x, t).item(), 10.25)
    assert math.isclose(nn.L1Loss()(x, t).item(), 1.5)
    assert math.isclose(nn.HuberLoss(delta=2.0)(x, t).item(), 4.625 / 3)
    assert math.isclose(nn.SmoothL1Loss(beta=2.0)(x, t).item(), 2.3125 / 3)
    with pytest.warns(UserWarning, match="target size"):
        F.mse_loss(x, tensor([1.0]))
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(x, t, reduction="avg")
    with pytest.raises(ValueError, match="delta"):
        F.huber_loss(x, t, delta=0.0)


def test_kl_div_fixed_values():
    p = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    q = np.array([[0.25, 0.25, 0.5], [0.2, 0.3, 0.5]])
    log_q = leaf(np.log(q))
    pointwise = np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0) - p * np.log(q)
    np.testing.assert_allclose(F.kl_div(log_q, tensor(p), reduction="none").numpy(), pointwise)
    np.testing.assert_allclose(F.kl_div(log_q, tensor(p), reduction="batchmean").item(),
                               math.log(2) / 2)  # KL of the first row is log 2, the second's 0
    np.testing.assert_allclose(nn.KLDivLoss(reduction="sum", log_target=True)(
        log_q, tensor(np.log(q))).item(), 0.0, atol=1e-15)
    loss = F.kl_div(log_q, tensor(p), reduction="batchmean")
    loss.backward()
    np.testing.assert_allclose(log_q.grad.numpy(), -p / 2)


def test_loss_modules_pass_their_settings_and_move_their_weights():
    logits = leaf([[1.0, 2.0, 0.5], [0.1, 0.2, 3.0]])
    target = tensor([1, 2])
    weight = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64)
    loss = nn.CrossEntropyLoss(weight=weight, label_smoothing=0.1)
    loss.to(DEVICE)
    assert loss.weight.device == DEVICE and "weight" in dict(loss.named_buffers())
    expected = F.cross_entropy(logits, target, devices.to_device(weight), label_smoothing=0.1)
    assert loss(logits, target).item() == expected.item()
    assert nn.NLLLoss(ignore_index=2)(F.log_softmax(logits, dim=1), target).item() == \
        F.nll_loss(F.log_softmax(logits, dim=1), target, ignore_index=2).item()
    p = tensor([0.2, 0.9])
    assert nn.BCELoss(reduction="sum")(p, tensor([0.0, 1.0])).item() == \
        F.binary_cross_entropy(p, tensor([0.0, 1.0]), reduction="sum").item()
    assert math.isclose(nn.BCEWithLogitsLoss()(tensor([0.0]), tensor([1.0])).item(), math.log(2),
                        rel_tol=1e-6)
    assert repr(nn.MSELoss()) == "MSELoss()" and "sum" in repr(nn.L1Loss(reduction="sum"))


def test_softmax_modules_and_the_dim_argument():
    x = leaf([[1.0, 2.0], [3.0, 5.0]])
    np.testing.assert_allclose(nn.Softmax(dim=1)(x).numpy().sum(1), [1.0, 1.0])
    np.testing.assert_allclose(nn.LogSoftmax(dim=0)(x).exp().numpy().sum(0), [1.0, 1.0])
    np.testing.assert_array_equal(F.softmax(x, dim=1).numpy(), F.softmax(x, axis=1).numpy())
    with pytest.warns(UserWarning, match="Implicit dimension"):
        implicit = F.log_softmax(x)
    np.testing.assert_array_equal(implicit.numpy(), F.log_softmax(x, dim=1).numpy())
    with pytest.raises(TypeError, match="dim or axis"):
        F.softmax(x, dim=1, axis=1)


def test_adaptive_avg_pool2d_tiles_as_pytorch():
    x = leaf(np.arange(2 * 35.0).reshape(1, 2, 5, 7))
    y = nn.AdaptiveAvgPool2d((2, 3))(x)
    # rows [0, 3) and [2, 5); columns [0, 3), [2, 5), [4, 7)
    a = x.numpy()
    expected = [[a[0, 0, r0:r1, c0:c1].mean() for c0, c1 in ((0, 3), (2, 5), (4, 7))]
                for r0, r1 in ((0, 3), (2, 5))]
    np.testing.assert_allclose(y.numpy()[0, 0], expected)
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d(1)(x).numpy()[..., 0, 0],
                               a.mean(axis=(2, 3)))
    assert F.adaptive_avg_pool2d(x, (None, 2)).shape == (1, 2, 5, 2)
    assert mg.gradcheck(lambda v: F.adaptive_avg_pool2d(v, (2, 3)), [x])
    assert mg.gradgradcheck(lambda v: F.adaptive_avg_pool2d(v, 3) ** 2, [x])


def test_embedding_looks_up_rows_and_leaves_the_padding_row_alone():
    mg.manual_seed(0)
    embedding = devices.to_device(nn.Embedding(5, 3, padding_idx=-1), mg.float64)
    assert embedding.padding_idx == 4 and not embedding.weight.numpy()[4].any()
    indices = tensor([[0, 4, 2], [2, 2, 4]])
    out = embedding(indices)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.numpy()[1, 0], embedding.weight.numpy()[2])
    (out * out).sum().backward()
    g = embedding.weight.grad.numpy()
    np.testing.assert_allclose(g[2], 2 * 3 * embedding.weight.numpy()[2])
    assert not g[4].any() and not g[1].any()
    assert repr(embedding) == "Embedding(5, 3, padding_idx=4)  # 15 parameters"
    w = leaf(np.random.default_rng(0).standard_normal((4, 2)))
    assert mg.gradgradcheck(lambda w: F.embedding(tensor([3, 0, 3]), w) ** 2, [w])
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(3, 2, padding_idx=3)


def test_containers_register_their_members():
    layers = nn.ModuleList([nn.Linear(2, 2), nn.ReLU()])
    layers.append(nn.Linear(2, 1))
    assert len(layers) == 3 and isinstance(layers[-1], nn.Linear)
    assert len(layers.parameters()) == 4 and isinstance(layers[:2], nn.ModuleList)
    layers[1] = nn.Tanh()
    assert isinstance(layers[1], nn.Tanh) and [type(m).__name__ for m in layers] == [
        "Linear", "Tanh", "Linear"]
    heads = nn.ModuleDict({"a": nn.Linear(2, 3)})
    heads["b"] = nn.Linear(3, 1)
    assert list(heads) == ["a", "b"] and "a" in heads and len(heads.parameters()) == 4
    assert sorted(dict(heads.named_parameters())) == ["a.bias", "a.weight", "b.bias",
                                                      "b.weight"]
    params = nn.ParameterList([mg.zeros(2), nn.Parameter(mg.ones(3))])
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in params)
    assert len(params) == 2 and params[1].shape == (3,)
    assert list(dict(params.named_parameters())) == ["0", "1"]
    with pytest.raises(TypeError, match="holds Modules"):
        layers.append(mg.zeros(2))
    x = tensor([1.0, 2.0])
    assert nn.Identity(54, unused=1)(x) is x


# ---- the error for what is missing ----

def test_missing_names_say_that_pytorch_has_them():
    import minigrad.optim as optim
    for module, name, hint in ((mg, "multinomial", None), (mg, "concatenate", "mg.cat"),
                               (nn, "LSTM", None), (nn, "ReflectionPad2d", "mode='reflect'"),
                               (F, "grid_sample", None), (optim, "LBFGS", None)):
        with pytest.raises(AttributeError) as error:
            getattr(module, name)
        message = str(error.value)
        assert f"has no attribute {name!r}" in message and "PyTorch has torch." in message
        assert hint is None or hint in message
    with pytest.raises(AttributeError) as error:
        mg.no_such_thing
    assert "PyTorch" not in str(error.value)


# ---- against PyTorch (float64) ----

@CPU_TORCH
def test_losses_match_pytorch(torch):
    TF = torch.nn.functional
    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((5, 7)) * 2, rng.standard_normal((5, 7))
    for name, kwargs in (("mse_loss", {}), ("l1_loss", {}), ("smooth_l1_loss", {"beta": 0.7}),
                         ("huber_loss", {"delta": 1.3})):
        for reduction in ("mean", "sum", "none"):
            mine_x = mg.tensor(x, requires_grad=True)
            theirs_x = torch.tensor(x, requires_grad=True)
            mine = getattr(F, name)(mine_x, mg.tensor(t), reduction=reduction, **kwargs)
            theirs = getattr(TF, name)(theirs_x, torch.tensor(t), reduction=reduction, **kwargs)
            np.testing.assert_allclose(mine.numpy(), theirs.detach().numpy(), rtol=1e-12)
            mine.sum().backward()
            theirs.sum().backward()
            np.testing.assert_allclose(mine_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-12)
    log_q = np.log(rng.dirichlet(np.ones(7), 5))
    p = rng.dirichlet(np.ones(7), 5)
    p[0, 0] = 0
    for reduction in ("batchmean", "sum", "none", "mean"):
        for log_target in (False, True):
            target = np.log(p + 1e-3) if log_target else p
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                theirs = TF.kl_div(torch.tensor(log_q), torch.tensor(target),
                                   reduction=reduction, log_target=log_target)
            mine = F.kl_div(mg.tensor(log_q), mg.tensor(target), reduction=reduction,
                            log_target=log_target)
            np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-15)


@CPU_TORCH
def test_layers_match_pytorch(torch):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 7, 9))
    for size in (1, (3, 4), (5, None), (7, 9), (4, 2)):
        mine = nn.AdaptiveAvgPool2d(size)(mg.tensor(x)).numpy()
        theirs = torch.nn.AdaptiveAvgPool2d(size)(torch.tensor(x)).numpy()
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-15)
    weight = rng.standard_normal((6, 4))
    indices = np.array([[0, 5, 2], [2, 2, 5]])
    mine_w, theirs_w = mg.tensor(weight, requires_grad=True), torch.tensor(weight,
                                                                         requires_grad=True)
    mine = F.embedding(mg.tensor(indices), mine_w, padding_idx=2)
    theirs = torch.nn.functional.embedding(torch.tensor(indices), theirs_w, padding_idx=2)
    np.testing.assert_array_equal(mine.numpy(), theirs.detach().numpy())
    (mine ** 2).sum().backward()
    (theirs ** 2).sum().backward()
    np.testing.assert_allclose(mine_w.grad.numpy(), theirs_w.grad.numpy(), rtol=1e-12)


@CPU_TORCH
def test_module_level_names_match_pytorch(torch):
    for name in ("float32", "float", "float64", "double", "half", "int64", "long", "int",
                 "short", "uint8", "int8", "bool", "cfloat", "cdouble"):
        assert str(getattr(mg, name)) == str(getattr(torch, name)).replace("torch.", ""), name
    assert mg.accelerator.current_accelerator() == torch.accelerator.current_accelerator() \
        or torch.cuda.is_available()
    for spelling in ("cpu", "cuda", "cuda:0"):
        assert (mg.device(spelling).type, mg.device(spelling).index) == (
            torch.device(spelling).type, torch.device(spelling).index)
    x = np.arange(6.0).reshape(2, 3)
    assert mg.max(mg.tensor(x)).item() == torch.max(torch.tensor(x)).item()
    np.testing.assert_array_equal(mg.t(mg.tensor(x)).numpy(), torch.t(torch.tensor(x)).numpy())
    from minigrad.utils.data import default_collate
    mine = default_collate([(1, 2.0, np.zeros(2, np.float32)), (3, 4.0, np.ones(2, np.float32))])
    theirs = torch.utils.data.default_collate([(1, 2.0, np.zeros(2, np.float32)),
                                               (3, 4.0, np.ones(2, np.float32))])
    assert type(mine) is type(theirs) is list
    for m, t in zip(mine, theirs):
        assert str(m.dtype) == str(t.dtype).replace("torch.", "")
        np.testing.assert_array_equal(m.numpy(), t.numpy())
