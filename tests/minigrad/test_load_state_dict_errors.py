"""Module.load_state_dict given something that is not a dict: a TypeError naming what it got,
before anything is copied."""
import types

import numpy as np
import pytest

import minigrad as mg
from devices import to_device


@pytest.mark.parametrize("given, name", [([np.zeros((3, 2)), np.zeros(3)], "list"),
                                         (None, "NoneType"), ("weight", "str"),
                                         ((np.zeros((3, 2)),), "tuple")])
def test_load_state_dict_of_something_else_than_a_dict_is_a_type_error(given, name):
    layer = to_device(mg.nn.Linear(2, 3))
    before = {k: v.numpy().copy() for k, v in layer.state_dict().items()}
    with pytest.raises(TypeError, match=rf"dict of names .* got {name} "):
        layer.load_state_dict(given)
    for key, value in layer.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key])


def test_load_state_dict_takes_any_mapping():
    """A read-only mapping of the right arrays loads (the check is for a Mapping, not a dict)."""
    source, target = to_device(mg.nn.Linear(2, 3)), to_device(mg.nn.Linear(2, 3))
    target.load_state_dict(types.MappingProxyType(source.state_dict()))
    for key, value in target.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), source.state_dict()[key].numpy())
