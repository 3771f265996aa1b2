"""Module, Parameter and Sequential: registration, traversal, modes, devices, state_dicts, repr."""
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

import devices
from devices import on_device, to_device


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.norm = nn.BatchNorm2d(2)
        self.scale = nn.Parameter(mg.ones(1))
        self.register_buffer("calls", mg.zeros((), dtype=np.int64))
        self.name = "block"  # an ordinary attribute

    def forward(self, x):
        self.calls.array += 1
        return self.norm(self.conv(x)).relu() * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(2 * 4 * 4, 3))

    def forward(self, x):
        return self.head(self.block(x))


def test_parameter_is_a_tensor_that_requires_grad_and_shares_the_array():
    array = np.ones((2, 3), dtype=np.float32)
    p = nn.Parameter(mg.tensor(array))
    assert isinstance(p, mg.Tensor) and p.requires_grad and p.shape == (2, 3)
    q = nn.Parameter(array, requires_grad=False)
    assert q.array is array and not q.requires_grad
    assert repr(p).startswith("Parameter containing:")


def test_registration_sorts_parameters_buffers_submodules_and_plain_attributes():
    net = Net()
    block = net.block
    assert set(block._parameters) == {"scale"}
    assert set(block._buffers) == {"calls"}
    assert set(block._modules) == {"conv", "norm"}
    assert block.name == "block" and "name" not in block._parameters
    assert block.scale is block._parameters["scale"] and block.conv is block._modules["conv"]
    names = [name for name, _ in net.named_parameters()]
    assert names == ["block.scale", "block.conv.weight", "block.conv.bias", "block.norm.weight",
                     "block.norm.bias", "head.2.weight", "head.2.bias"]
    assert [n for n, _ in net.named_buffers()] == [
        "block.calls", "block.norm.running_mean", "block.norm.running_var",
        "block.norm.num_batches_tracked"]
    assert [type(m).__name__ for m in net.children()] == ["Block", "Sequential"]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.conv", "block.norm",
                                                   "head", "head.0", "head.1", "head.2"]
    assert len(net.modules()) == 8


def test_reassigning_and_deleting_attributes_keeps_registries_consistent():
    block = Block()
    with pytest.raises(TypeError, match="parameter 'scale'"):
        block.scale = mg.ones(1)
    with pytest.raises(TypeError, match="buffer 'calls'"):
        block.calls = 3
    block.scale = None
    assert block.scale is None and "block.scale" not in dict(block.named_parameters())
    block.conv = nn.Linear(2, 2)  # a module replaced by another
    assert isinstance(block.conv, nn.Linear)
    block.norm = "plain"  # a submodule name reused for a plain value
    assert "norm" not in block._modules and block.norm == "plain"
    del block.conv
    assert "conv" not in block._modules
    with pytest.raises(AttributeError, match="conv"):
        block.conv
    with pytest.raises(AttributeError):
        del block.missing


def test_assigning_before_super_init_is_a_clear_error():
    class Forgetful(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\) first in Forgetful"):
        Forgetful()


def test_shared_parameters_and_modules_are_listed_once():
    shared = nn.Linear(3, 3)
    seq = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(seq.parameters()) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias"]
    assert f"# {shared.weight.numel() + shared.bias.numel():,} parameters" in repr(seq).splitlines()[0]


def test_train_and_eval_reach_every_module_and_change_behaviour():
    net = to_device(Net())
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    x = devices.randn(4, 1, 4, 4)
    assert np.array_equal(net(x).numpy(), net(x).numpy())  # eval: no dropout, running stats
    net.train()
    assert all(m.training for m in net.modules())
    dropout = net.head[1]
    y = dropout(devices.ones(1000))
    assert set(np.unique(y.numpy())) == {0.0, 2.0}


def test_zero_grad_forgets_every_gradient():
    net = to_device(Net())
    net(devices.randn(4, 1, 4, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_state_dict_has_parameters_then_buffers_per_module_sharing_memory():
    net = to_device(Net())
    state = net.state_dict()
    assert list(state) == [
        "block.scale", "block.calls", "block.conv.weight", "block.conv.bias",
        "block.norm.weight", "block.norm.bias", "block.norm.running_mean",
        "block.norm.running_var", "block.norm.num_batches_tracked", "head.2.weight",
        "head.2.bias"]
    assert state["block.conv.weight"].array is net.block.conv.weight.array
    assert not state["block.conv.weight"].requires_grad
    assert state["block.norm.num_batches_tracked"].dtype == np.int64


def test_load_state_dict_copies_values_in_place_and_reproduces_outputs():
    mg.manual_seed(1)
    source, target = to_device(Net()), to_device(Net())
    source(devices.randn(4, 1, 4, 4))  # moves the running statistics and counters away from init
    source.eval(), target.eval()
    params_before = [(p, p.array) for p in target.parameters()]
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for p, array in params_before:  # same Parameter objects and arrays: optimizers keep working
        assert p.array is array
    for (name, a), (_, b) in zip(source.state_dict().items(), target.state_dict().items()):
        assert np.array_equal(a.numpy(), b.numpy()), name
    x = devices.randn(2, 1, 4, 4)
    assert np.array_equal(source(x).numpy(), target(x).numpy())


def test_load_state_dict_accepts_arrays():
    layer = to_device(nn.Linear(2, 2))
    state = {k: v.numpy() * 0 + 7 for k, v in layer.state_dict().items()}
    layer.load_state_dict(state)
    assert np.all(layer.weight.numpy() == 7) and np.all(layer.bias.numpy() == 7)
    assert on_device(layer.weight, layer.bias)


def test_strict_loading_names_missing_and_unexpected_keys_and_copies_nothing():
    net = to_device(Net())
    before = net.block.conv.weight.numpy()
    state = {k: v.numpy() + 1 for k, v in to_device(Net()).state_dict().items()}
    del state["head.2.bias"], state["block.norm.running_var"]
    state["head.3.weight"] = np.zeros(3, np.float32)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(state)
    message = str(info.value)
    assert "missing key(s): block.norm.running_var, head.2.bias" in message
    assert "unexpected key(s): head.3.weight" in message
    assert np.array_equal(net.block.conv.weight.numpy(), before)
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["block.norm.running_var", "head.2.bias"]
    assert result.unexpected_keys == ["head.3.weight"]
    assert np.array_equal(net.block.conv.weight.numpy(), state["block.conv.weight"])


def test_loading_names_every_shape_and_dtype_mismatch():
    net = to_device(Net())
    state = net.state_dict()
    state["head.2.weight"] = devices.zeros(3, 31)
    state["block.conv.bias"] = devices.zeros(5)
    state["block.norm.running_mean"] = devices.zeros(2, dtype=np.float64)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(state, strict=False)  # mismatches are errors even when not strict
    message = str(info.value)
    assert "shape mismatch for head.2.weight: the state has (3, 31), the module (3, 32)" in message
    assert "shape mismatch for block.conv.bias: the state has (5,), the module (2,)" in message
    assert "dtype mismatch for block.norm.running_mean: the state has float64" in message


def test_to_casts_floating_tensors_in_place_and_keeps_identities():
    net = to_device(Net())
    net(devices.randn(2, 1, 4, 4)).sum().backward()
    params = net.parameters()
    assert net.to(devices.DEVICE) is net and on_device(*params)
    net.to(dtype=np.float64)
    assert all(a is b for a, b in zip(params, net.parameters())) and on_device(*params)
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in params)
    assert net.block.norm.running_var.dtype == np.float64
    assert net.block.norm.num_batches_tracked.dtype == np.int64
    assert net(devices.randn(2, 1, 4, 4, dtype=np.float64)).dtype == np.float64


def test_apply_visits_every_module():
    net = to_device(Net())
    net.apply(lambda m: nn.init.zeros_(m.weight) if isinstance(m, (nn.Conv2d, nn.Linear)) else None)
    assert not net.block.conv.weight.numpy().any() and not net.head[2].weight.numpy().any()


def test_repr_prints_the_tree_with_parameter_counts():
    net = Net()
    text = repr(net)
    lines = text.splitlines()
    total = sum(p.numel() for p in net.parameters())
    assert lines[0] == f"Net(  # {total:,} parameters"
    conv = net.block.conv
    assert (f"    (conv): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
            f"  # {conv.weight.numel() + conv.bias.numel():,} parameters") in lines
    assert "    (0): Flatten(start_dim=1, end_dim=-1)" in lines
    assert "    (1): Dropout(p=0.5)" in lines  # no parameters, no count
    # every count printed is the sum of the parameters below it
    counts = [int(c.replace(",", "")) for c in re.findall(r"# ([\d,]+) parameters", text)]
    block = sum(p.numel() for p in net.block.parameters())
    head = sum(p.numel() for p in net.head.parameters())
    assert counts[0] == total == block + head and block in counts and head in counts


def test_sequential_indexing_length_iteration_and_slicing():
    layers = [to_device(nn.Linear(2, 3)), nn.Tanh(), to_device(nn.Linear(3, 1))]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and list(seq) == layers and seq[1] is layers[1] and seq[-1] is layers[2]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and list(head) == layers[:2]
    x = devices.randn(5, 2)
    assert np.allclose(seq(x).numpy(), layers[2](layers[1](layers[0](x))).numpy())
    with pytest.raises(TypeError, match="argument 1"):
        nn.Sequential(nn.ReLU(), lambda x: x)


def test_a_module_without_forward_says_so():
    with pytest.raises(NotImplementedError, match="Empty"):
        type("Empty", (nn.Module,), {})()(mg.ones(1))


def test_clip_parameters_clamps_a_module_or_a_list_in_place():
    net = to_device(nn.Sequential(nn.Linear(10, 10), nn.Linear(10, 1)))
    for p in net.parameters():
        nn.init.normal_(p, 0, 1)
    arrays = [p.array for p in net.parameters()]
    expected = [np.clip(p.numpy(), -0.01, 0.01) for p in net.parameters()]
    nn.utils.clip_parameters_(net, 0.01)
    for p, array, want in zip(net.parameters(), arrays, expected):
        assert p.array is array and np.array_equal(p.numpy(), want) and on_device(p)
    w = nn.Parameter(devices.tensor([-3.0, 0.5, 2.0]))
    nn.utils.clip_parameters_([w], 1.0)
    assert w.numpy().tolist() == [-1.0, 0.5, 1.0]


# ---- switching a whole module: requires_grad_, frozen, eval_mode ----

def test_requires_grad_switches_every_parameter():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    model.requires_grad_()
    assert all(p.requires_grad for p in model.parameters())


def test_frozen_restores_each_parameters_own_flag():
    """A parameter that did not require grad before stays so afterwards (not set to True)."""
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    model[0].bias.requires_grad = False
    with nn.utils.frozen(model):
        assert not any(p.requires_grad for p in model.parameters())
        x = mg.randn(4, 2)
        assert not model(x).requires_grad
    flags = [p.requires_grad for p in model.parameters()]
    assert flags == [True, False, True, True]


def test_frozen_restores_flags_after_an_exception():
    model = nn.Linear(2, 1)
    with pytest.raises(KeyError):
        with nn.utils.frozen(model):
            raise KeyError("inside")
    assert all(p.requires_grad for p in model.parameters())


def test_eval_mode_restores_each_submodules_own_mode():
    """A submodule that was already in eval mode inside a training model stays in eval mode."""
    model = nn.Sequential(nn.Dropout(0.5), nn.Sequential(nn.BatchNorm1d(3), nn.Dropout(0.1)))
    model[1][1].eval()
    with nn.utils.eval_mode(model):
        assert not any(m.training for m in model.modules())
    assert [m.training for m in model.modules()] == [True, True, True, True, False]
    model.eval()
    with nn.utils.eval_mode(model):
        pass
    assert not any(m.training for m in model.modules())
