"""One run's models, optimizers and data, and one generator iteration at a time.

A generator iteration is ``critic_steps()`` critic steps followed by one generator step. With
``reuse_fake`` (wgan-gp's and gan's default) the last critic step's fake batch is the
generator step's too, generated with its graph kept (as PyTorch's DCGAN example does): the
generator has not changed in between, so this is exactly a fresh forward pass on that noise,
and one generator forward fewer per iteration; without it the generator step draws a batch
of its own. What differs between WGAN, WGAN-GP and the standard GAN (the losses, the gradient
penalty, weight clipping, the critic schedule) comes from the run's entry in ``modes.MODES``.
The checkpoint (``state_dict``) holds everything the next iteration depends on, so a resumed
run continues exactly as if it had never stopped.
"""
import contextlib
import math

import numpy as np

import minigrad as mg
from minigrad import distributed
from minigrad.nn.utils import clip_parameters_, eval_mode, frozen
from minigrad.optim.lr_scheduler import LinearLR
from minigrad.optim.swa_utils import AveragedModel

from . import data, losses, models, modes
from .config import SettingError


class TrainingDiverged(RuntimeError):
    pass


def make_optimizer(config, parameters, lr):
    if config.optimizer == "adam":
        return mg.optim.Adam(parameters, lr=lr, betas=(config.beta1, config.beta2))
    return mg.optim.RMSprop(parameters, lr=lr)


def ema_with_warmup(decay):
    """The average of ``AveragedModel`` as an exponential moving average whose decay grows
    from 0.1 to ``decay`` over the first updates, min(decay, (1 + n) / (10 + n)) at the n-th:
    without the warm-up a short run's average would still remember its first weights."""
    def average(averaged, current, n):
        d = min(decay, (1 + n) / (10 + n))
        return d * averaged + (1 - d) * current
    return average


def own_rows(batch_size, group):
    """The rows of every global batch that this rank of ``group`` trains on (None: all)."""
    if group is None:
        return None
    if batch_size % group.size:
        below = batch_size - batch_size % group.size
        raise SettingError(f"--batch-size {batch_size} does not divide by the {group.size} "
                           f"processes (mpiexec -n {group.size}): each process takes an equal "
                           f"share of every batch; use a multiple of {group.size}, like "
                           f"{below or group.size} or {below + group.size}")
    share = batch_size // group.size
    return slice(group.rank * share, (group.rank + 1) * share)


def _check_batch_fits(config, n_images):
    """Every batch is drawn from the training images without repeats: there must be at least
    one batch of them (SettingError naming --batch-size and the data otherwise)."""
    if config.batch_size <= n_images:
        return
    which = "" if config.classes is None else \
        f" of classes {','.join(map(str, config.classes))}"
    raise SettingError(f"--batch-size {config.batch_size} is more than the {n_images} training "
                       f"images{which} in {config.data}: use at most {n_images}")


class Trainer:
    """The models, optimizers and data of one run (``config`` resolved; ``images`` in the
    generator's pixel range, N x C x H x W).

    With ``group`` (a ``minigrad.distributed.ProcessGroup``) this is one rank of a
    data-parallel run: every rank draws the random numbers of each whole batch (data order,
    noise, the penalty's alphas, dropout masks) from the same seeded generators and keeps its
    own rows (``rows``); batch norm takes its statistics over the whole batch, gradients are
    averaged over the ranks before each update, and the logged numbers are the means over the
    ranks. So the parameters stay those of one process training on the whole batch, up to
    float rounding, and the checkpoint is the same on every rank."""

    def __init__(self, config, images, group=None):
        _check_batch_fits(config, len(images))
        self.config = config
        self.mode = modes.MODES[config.mode]
        self.group, self.rows = group, own_rows(config.batch_size, group)
        mg.manual_seed(config.seed)
        self.generator, self.critic = models.build_for(config)
        if group is not None:
            for model in (self.generator, self.critic):
                distributed.sync_batch_norm(model, group)
        self.generator.to(config.device)
        self.critic.to(config.device)
        # a critic that scores each sample on its own (no batch norm, no dropout masks to draw
        # per batch) may score real and fake in one pass: the same numbers, to rounding
        self.joint_critic = not any(isinstance(m, (mg.nn.BatchNorm1d, mg.nn.BatchNorm2d,
                                                   mg.nn.Dropout)) for m in self.critic.modules())
        self.opt_g = make_optimizer(config, self.generator.parameters(), config.lr)
        self.opt_d = make_optimizer(config, self.critic.parameters(), config.critic_lr)
        # stepped once per generator iteration: the rates of iteration t are lr * (1 - t/iters)
        self.schedulers = ([LinearLR(opt, 1.0, 0.0, total_iters=config.iters)
                            for opt in (self.opt_g, self.opt_d)]
                           if config.lr_decay == "linear" else [])
        # the generator that samples and is evaluated: its weight average, or itself
        self.averaged = (AveragedModel(self.generator, ema_with_warmup(config.ema),
                                       use_buffers=True) if config.ema else None)
        self.critic_steps_done = 0  # counts every critic step, for the penalty's schedule
        self.sampler = data.BatchSampler(images, config.batch_size,
                                         np.random.default_rng([config.seed, 1]))
        fixed = np.random.default_rng([config.seed, 2]).standard_normal(
            (config.n_samples, config.z_dim)).astype(np.float32)
        self.fixed_noise = mg.tensor(fixed, device=config.device)
        self.iteration = 0
        self.elapsed = 0.0

    def _own(self, batch):
        """This rank's rows of a global batch (all of them without a group)."""
        return batch if self.rows is None else batch[self.rows]

    def _average_gradients(self, model):
        if self.group is not None:
            self.group.average_gradients(model.parameters())

    def noise(self):
        return self._own(mg.randn(self.config.batch_size, self.config.z_dim,
                                  device=self.config.device))

    def critic_steps(self):
        """How many critic steps this generator iteration gets."""
        c = self.config
        if c.critic_warmup and (self.iteration < 25 or self.iteration % 500 == 0):
            return 100
        return c.n_critic

    def fakes(self, keep_graph=False):
        """A batch from the generator; with ``keep_graph``, differentiable for its step."""
        with contextlib.nullcontext() if keep_graph else mg.no_grad():
            return self.generator(self.noise())

    def critic_step(self, fake):
        """One critic update against the batch ``fake`` (taken as data: detached); returns its
        numbers as one-element tensors, left on the device (reading them costs a
        device-to-host sync, so ``step`` reads only the last step's)."""
        c, mode = self.config, self.mode
        real = mg.tensor(self._own(next(self.sampler)), device=c.device)
        fake = fake.detach()
        if self.joint_critic:  # one pass over real and fake: fewer, larger products
            scores = self.critic(mg.concat([real, fake]))
            d_real, d_fake = scores[:len(real)], scores[len(real):]
        else:
            d_real, d_fake = self.critic(real), self.critic(fake)
        loss = mode.critic_loss(d_real, d_fake)
        numbers = {"critic_loss": loss.detach()}
        if mode.wasserstein:
            numbers["wasserstein"] = -loss.detach()
        total = loss
        if mode.gradient_penalty and self.critic_steps_done % c.gp_every == 0:
            # lazy regularisation (Karras et al. 2020): every gp_every-th step, gp_every times
            # the weight, the same penalty on average at a fraction of its cost
            alpha = self._own(losses.interpolation_weights(c.batch_size, real))
            penalty = losses.gradient_penalty(self.critic, real, fake, alpha=alpha)
            numbers["gradient_penalty"] = penalty.detach()
            total = loss + (c.gp_lambda * c.gp_every) * penalty
        self.critic_steps_done += 1
        self.opt_d.zero_grad()
        total.backward()
        self._average_gradients(self.critic)
        self.opt_d.step()
        if mode.clips_critic:
            clip_parameters_(self.critic.parameters(), c.clip)
        return numbers

    def generator_step(self, fake):
        """One generator update through the frozen critic, from ``fake`` with its graph
        (``fakes(keep_graph=True)``); returns the loss as a number."""
        with frozen(self.critic):
            loss = self.mode.generator_loss(self.critic(fake))
            self.opt_g.zero_grad()
            loss.backward()
        self._average_gradients(self.generator)
        self.opt_g.step()
        if self.averaged is not None:
            self.averaged.update_parameters(self.generator)
        return loss.item()

    def step(self):
        """One generator iteration; returns the numbers for the log (with a group: their
        means over the ranks, the numbers of the whole batch)."""
        with contextlib.nullcontext() if self.group is None else self.group.batch_shard():
            steps, reuse = self.critic_steps(), self.config.reuse_fake
            for k in range(steps):
                fake = self.fakes(keep_graph=reuse and k == steps - 1)
                numbers = self.critic_step(fake)
            numbers = {name: value.item() for name, value in numbers.items()}
            numbers["generator_loss"] = self.generator_step(
                fake if reuse else self.fakes(keep_graph=True))
        if self.group is not None:
            numbers = self.group.mean(numbers)
        for scheduler in self.schedulers:
            scheduler.step()
        self.iteration += 1
        for name, value in numbers.items():
            if not math.isfinite(value):
                raise TrainingDiverged(f"iteration {self.iteration}: {name.replace('_', ' ')} is "
                                       f"{value}; the run has diverged")
        return numbers

    @property
    def sampling_generator(self):
        """The generator that draws samples: the weight average if the run keeps one."""
        return self.generator if self.averaged is None else self.averaged.module

    def samples(self, noise=None):
        """Generator outputs for ``noise`` (default: the fixed noise), as a host array."""
        generator = self.sampling_generator
        with eval_mode(generator), mg.no_grad():
            return generator(self.fixed_noise if noise is None else noise).numpy()

    def state_dict(self):
        state = {"iteration": self.iteration, "elapsed": self.elapsed,
                 "generator": self.generator.state_dict(), "critic": self.critic.state_dict(),
                 "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                 "rng": mg.get_rng_state(), "sampler": self.sampler.state_dict()}
        if self.averaged is not None:
            state["averaged_generator"] = self.averaged.state_dict()
        if self.schedulers:
            state["lr_schedulers"] = [s.state_dict() for s in self.schedulers]
        state["critic_steps_done"] = self.critic_steps_done
        return state

    def load_state_dict(self, state):
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        mg.set_rng_state(state["rng"])
        self.sampler.load_state_dict(state["sampler"])
        if self.averaged is not None:
            self.averaged.load_state_dict(state["averaged_generator"])
        for scheduler, saved in zip(self.schedulers, state.get("lr_schedulers", ())):
            scheduler.load_state_dict(saved)  # the rates of the loaded iteration, of --iters
        self.critic_steps_done = int(state.get("critic_steps_done", 0))
        self.iteration, self.elapsed = int(state["iteration"]), float(state["elapsed"])


def sampling_weights(state):
    """From a checkpoint, the state_dict of the generator that draws the samples: the weight
    average's if the run kept one, else the generator's own."""
    if "averaged_generator" not in state:
        return state["generator"]
    return {name.removeprefix("module."): value
            for name, value in state["averaged_generator"].items() if name.startswith("module.")}
