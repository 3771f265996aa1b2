"""Layers right before a batch norm carry no bias (the norm cancels it, so its exact gradient
is zero and it would only follow rounding noise), except in run folders made before that
setting, which keep theirs so that their checkpoints load and continue."""
import json

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
from wgan import config as config_file
from wgan import models
from wgan.config import Config

pytestmark = pytest.mark.cpu_only("builds the models on the host")

DIM, Z_DIM = 2, 8
# (arch, gradient_penalty, generator_norm, critic_norm): pairs with a biased layer before a
# batch norm (the upsample generator never had one there)
WITH_BATCH_NORM = [("gp", True, "batch", None), ("dcgan", False, None, "batch"),
                   ("dcgan64", False, None, None), ("mlp", False, "batch", "batch")]


def built(arch, gradient_penalty, generator_norm, critic_norm, **settings):
    mg.manual_seed(0)
    shape = models.native_shape(arch)
    return models.build(arch, DIM, Z_DIM, critic_norm, gradient_penalty, generator_norm,
                        shape, **settings)


def layer_pairs(net):
    layers = list(net)
    return zip(layers, layers[1:])


@pytest.mark.parametrize("pair", WITH_BATCH_NORM, ids=[p[0] for p in WITH_BATCH_NORM])
def test_no_layer_right_before_a_batch_norm_has_a_bias_and_the_rest_are_unchanged(pair):
    new, old = built(*pair), built(*pair, bias_before_batch_norm=True)
    removed = 0
    for net, before in zip(new, old):
        for layer, following in layer_pairs(net):
            if isinstance(following, (nn.BatchNorm1d, nn.BatchNorm2d)):
                assert getattr(layer, "bias", None) is None, (pair, layer)
        kept = dict(net.named_parameters())
        for name, p in before.named_parameters():  # the same seed draws the same weights
            if name in kept:
                np.testing.assert_array_equal(kept[name].numpy(), p.numpy(), err_msg=name)
            else:
                assert name in models.biases_before_batch_norm(before), name
                removed += 1
    assert removed > 0


def test_the_removed_bias_has_a_zero_gradient_in_float64():
    """What the decision rests on: the gradient a batch norm leaves to the bias before it is
    zero up to float64 rounding, while the last layer's bias (no norm after it) has a real one."""
    generator, critic = built("gp", True, "batch", None, bias_before_batch_norm=True)
    generator.to(dtype=np.float64)
    critic.to(dtype=np.float64)
    z = mg.tensor(np.random.default_rng(1).standard_normal((5, Z_DIM)))
    critic(generator(z)).mean().backward()
    parameters = dict(generator.named_parameters())
    cancelled = models.biases_before_batch_norm(generator)
    assert len(cancelled) == 3
    for name in cancelled:
        weight_grad = np.abs(parameters[name.replace("bias", "weight")].grad.numpy()).max()
        assert np.abs(parameters[name].grad.numpy()).max() < 1e-13 * weight_grad, name
    last = [name for name in parameters if name.endswith("bias")][-1]
    assert last not in cancelled and np.abs(parameters[last].grad.numpy()).max() > 1e-6


def test_new_runs_record_the_setting_and_older_config_files_keep_their_biases(tmp_path):
    config = Config(out=str(tmp_path)).resolved()
    saved = json.loads(config_file.to_json(config))
    assert saved["bias_before_batch_norm"] is False
    del saved["bias_before_batch_norm"]  # a config.json written before the setting existed
    older = config_file.from_json(json.dumps(saved), tmp_path / "config.json")
    assert older.bias_before_batch_norm is True
    generator, _ = models.build_for(older)
    assert models.biases_before_batch_norm(generator)  # the bare recipe has batch norm in G
    assert not models.biases_before_batch_norm(models.build_for(config)[0])


def test_the_setting_must_be_a_bool():
    with pytest.raises(ValueError, match="--bias-before-batch-norm must be True or False"):
        Config(bias_before_batch_norm="no").resolved()
