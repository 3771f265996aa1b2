"""The three training modes, as one table: what each one's losses are, whether it penalises
the critic's gradient or clips its weights, and the papers' settings it starts from.

- ``wgan`` (Arjovsky et al. 2017): critic loss E[D(fake)] - E[D(real)], generator loss
  -E[D(fake)]; every critic parameter clipped to [-clip, clip] after each critic step;
  RMSprop 5e-5; 5 critic steps, and 100 for the first 25 generator iterations and every 500th;
  the generator step on a fake batch of its own, as the authors' code.
- ``wgan-gp`` (Gulrajani et al. 2017): the same losses plus lambda times the gradient
  penalty. Its defaults are not the paper's but a recipe chosen by measurement for ten minutes
  on a 2-core CPU (benchmarks/quality_budget.py; the README has the table): DIM 24, batch 64,
  one critic step, two time-scale Adam (3e-4 generator, 6e-4 critic, betas (0, 0.9)), the
  penalty on every 2nd critic step with weight 2 lambda, batch norm in the generator, the
  generator step on the last critic step's fake batch, samples from a moving average of the
  generator's weights (decay 0.999) started half-way through the run, and a time budget of 8
  minutes of training instead of an iteration count (with the launch, the classifier and the
  evaluations, ten minutes on that CPU; a faster machine trains more). ``--preset paper``
  (config.PRESETS) is the authors' recipe: DIM 64, Adam 1e-4 with betas (0.5, 0.9), 5
  critic steps, batch 50.
- ``gan`` (Goodfellow et al. 2014, with the DCGAN settings): the cross-entropy losses, the
  non-saturating generator loss; Adam 2e-4 with beta1 0.5; one discriminator step, whose fake
  batch the generator step trains on (as PyTorch's DCGAN example).

The trainer reads a mode's fields instead of comparing mode names, so a new mode is one more
entry here (and its losses in ``losses.py``).
"""
import dataclasses
from typing import Callable

from . import losses


@dataclasses.dataclass
class Mode:
    name: str
    critic_loss: Callable            # (D(real), D(fake)) -> the critic's loss
    generator_loss: Callable         # D(fake) -> the generator's loss
    wasserstein: bool                # the critic loss is minus a Wasserstein estimate
    gradient_penalty: bool           # add gp_lambda * losses.gradient_penalty to the critic loss
    clips_critic: bool               # clip the critic's parameters after each critic step
    defaults: dict                   # settings left unset (None) in a Config take these


# a fixed number of iterations, no schedule, no average, no augmentation
PLAIN = dict(time_limit=0.0, ema=0.0, ema_start=0.0, lr_decay="none", lr_decay_start=0.0,
             augment="none")

MODES = {mode.name: mode for mode in (
    Mode("wgan-gp", losses.critic_loss, losses.generator_loss, wasserstein=True,
         gradient_penalty=True, clips_critic=False,
         defaults=dict(arch="gp", dim=24, iters=0, time_limit=8.0, optimizer="adam", lr=3e-4,
                       critic_lr=6e-4, beta1=0.0, beta2=0.9, n_critic=1, batch_size=64,
                       critic_warmup=False, generator_norm="batch", gp_every=2, ema=0.999,
                       ema_start=0.5, lr_decay="none", lr_decay_start=0.0, augment="none",
                       reuse_fake=True)),
    Mode("wgan", losses.critic_loss, losses.generator_loss, wasserstein=True,
         gradient_penalty=False, clips_critic=True,
         defaults=dict(arch="dcgan", dim=16, iters=2500, optimizer="rmsprop", lr=5e-5,
                       critic_lr=5e-5, beta1=0.0, beta2=0.0, n_critic=5, batch_size=64,
                       critic_warmup=True, gp_every=1, **PLAIN, reuse_fake=False)),
    Mode("gan", losses.discriminator_loss_gan, losses.generator_loss_gan, wasserstein=False,
         gradient_penalty=False, clips_critic=False,
         defaults=dict(arch="dcgan", dim=16, iters=2500, optimizer="adam", lr=2e-4,
                       critic_lr=2e-4, beta1=0.5, beta2=0.999, n_critic=1, batch_size=64,
                       critic_warmup=False, gp_every=1, **PLAIN, reuse_fake=True)),
)}
NAMES = tuple(MODES)

