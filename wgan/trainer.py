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

A run's length is a number of iterations (``iters``), a budget of training time
(``time_limit`` minutes), or both, and ``progress()`` is the fraction of it done: the larger of
iterations / iters and seconds trained / budget. Everything that changes over a run is a
function of that fraction, read at the start of each generator iteration, so a faster machine
simply trains more iterations of the same schedule: the learning rates (``lr_decay`` linear:
constant, then falling linearly to 0 at the end from the fraction ``lr_decay_start`` on) and
the generator's weight average (``ema``, started at the fraction ``ema_start``). A step's own
duration (``clock``) is what the budget counts, so evaluations and file writes are not spent
from it.
"""
import contextlib
import math
import time

import numpy as np

import minigrad as mg
from minigrad import distributed
from minigrad.nn.utils import clip_parameters_, eval_mode, frozen
from minigrad.optim.swa_utils import AveragedModel

from . import augment, data, losses, models, modes
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


def check_batch_divides(batch_size, processes):
    """SettingError unless ``processes`` ranks can take equal shares of every batch."""
    if batch_size % processes:
        below = batch_size - batch_size % processes
        raise SettingError(f"--batch-size {batch_size} does not divide by the {processes} "
                           f"processes (--processes or mpiexec -n): each process takes an equal "
                           f"share of every batch; use a multiple of {processes}, like "
                           f"{below or processes} or {below + processes}")


def own_rows(batch_size, group):
    """The rows of every global batch that this rank of ``group`` trains on (None: all)."""
    if group is None:
        return None
    check_batch_divides(batch_size, group.size)
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
        # the generator that samples and is evaluated: its weight average, or itself
        self.averaged = (AveragedModel(self.generator, ema_with_warmup(config.ema),
                                       use_buffers=True) if config.ema else None)
        self.critic_steps_done = 0  # counts every critic step, for the penalty's schedule
        self.sampler = data.BatchSampler(images, config.batch_size,
                                         np.random.default_rng([config.seed, 1]))
        self.policy = augment.parse_policy(config.augment)
        self.augment_rng = np.random.default_rng([config.seed, 3])
        self.background = models.pixel_range(config.arch)[0]
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

    clock = staticmethod(time.perf_counter)  # what a step's duration is measured with

    def progress(self):
        """The fraction of the run done, in [0, 1]: of its iterations or of its time budget,
        whichever is further."""
        c = self.config
        done = max(self.iteration / c.iters if c.iters else 0.0,
                   self.elapsed / (60 * c.time_limit) if c.time_limit else 0.0)
        return min(1.0, done)

    def finished(self):
        return self.progress() >= 1.0

    def rate_factor(self, fraction):
        """The learning rates' multiplier at ``fraction`` of the run: 1, and with lr_decay
        linear, (1 - fraction) / (1 - lr_decay_start) from lr_decay_start on (0 at the end)."""
        c = self.config
        if c.lr_decay == "none" or fraction <= c.lr_decay_start:
            return 1.0
        return max(0.0, (1.0 - fraction) / (1.0 - c.lr_decay_start))

    def augmented(self, images):
        """``images`` with the run's augmentation (none without --augment): the draws are of
        the whole global batch, from the run's own seeded generator, and each rank applies
        its rows' draws, so real and fake, and every rank, are treated alike."""
        if not self.policy:
            return images
        draw = augment.draw(self.policy, self.config.batch_size, self.config.image_size,
                            self.augment_rng)
        return augment.apply(images, draw if self.rows is None else draw.rows(self.rows),
                             fill=self.background)

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
        real = self.augmented(mg.tensor(self._own(next(self.sampler)), device=c.device))
        fake = self.augmented(fake.detach())
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
            loss = self.mode.generator_loss(self.critic(self.augmented(fake)))
            self.opt_g.zero_grad()
            loss.backward()
        self._average_gradients(self.generator)
        self.opt_g.step()
        return loss.item()

    def step(self):
        """One generator iteration; returns the numbers for the log (with a group: their
        means over the ranks, the numbers of the whole batch)."""
        started = self.clock()
        fraction = self.progress()
        factor = self.rate_factor(fraction)
        for opt, rate in ((self.opt_g, self.config.lr), (self.opt_d, self.config.critic_lr)):
            for group in opt.param_groups:
                group["lr"] = rate * factor
        with contextlib.nullcontext() if self.group is None else self.group.batch_shard():
            steps, reuse = self.critic_steps(), self.config.reuse_fake
            for k in range(steps):
                fake = self.fakes(keep_graph=reuse and k == steps - 1)
                numbers = self.critic_step(fake)
            numbers = {name: value.item() for name, value in numbers.items()}
            numbers["generator_loss"] = self.generator_step(
                fake if reuse else self.fakes(keep_graph=True))
            if self.averaged is not None and fraction >= self.config.ema_start:
                self.averaged.update_parameters(self.generator)
        if self.group is not None:
            numbers = self.group.mean(numbers)
        self.iteration += 1
        self.elapsed += self.clock() - started
        for name, value in numbers.items():
            if not math.isfinite(value):
                raise TrainingDiverged(f"iteration {self.iteration}: {name.replace('_', ' ')} is "
                                       f"{value}; the run has diverged")
        return numbers

    @property
    def sampling_generator(self):
        """The generator that draws samples: the weight average once the run has started it."""
        if self.averaged is None or int(self.averaged.n_averaged.item()) == 0:
            return self.generator
        return self.averaged.module

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
        if self.policy:
            state["augment_rng"] = self.augment_rng.bit_generator.state
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
        if self.policy:
            self.augment_rng.bit_generator.state = state["augment_rng"]
        self.critic_steps_done = int(state.get("critic_steps_done", 0))
        self.iteration, self.elapsed = int(state["iteration"]), float(state["elapsed"])


def sampling_weights(state):
    """From a checkpoint, the state_dict of the generator that draws the samples: the weight
    average's once the run has started one, else the generator's own (as
    ``Trainer.sampling_generator``)."""
    averaged = state.get("averaged_generator")
    if averaged is None or int(averaged["n_averaged"].item()) == 0:
        return state["generator"]
    return {name.removeprefix("module."): value
            for name, value in averaged.items() if name.startswith("module.")}
