"""The WGAN-GP generator iteration of wgan.trainer.Trainer.step, written in PyTorch, on models
copied layer by layer, with their weights, from the minigrad ones: what benchmarks/wgan_step.py
times minigrad against. Only processes that time PyTorch import this module.
"""
import numpy as np
import torch

from wgan import data


def _has_bias(layer):
    return layer.bias is not None


# minigrad layer -> the PyTorch layer computing the same, made from the layer's own settings
_TORCH_LAYERS = {
    "Linear": lambda m: torch.nn.Linear(m.in_features, m.out_features, _has_bias(m)),
    "Conv2d": lambda m: torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride,
                                        m.padding, m.dilation, m.groups, _has_bias(m),
                                        m.padding_mode),
    "ConvTranspose2d": lambda m: torch.nn.ConvTranspose2d(
        m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.output_padding,
        m.groups, _has_bias(m), m.dilation),
    "BatchNorm1d": lambda m: torch.nn.BatchNorm1d(m.num_features, m.eps, m.momentum, m.affine,
                                                  m.track_running_stats),
    "BatchNorm2d": lambda m: torch.nn.BatchNorm2d(m.num_features, m.eps, m.momentum, m.affine,
                                                  m.track_running_stats),
    "LayerNorm": lambda m: torch.nn.LayerNorm(m.normalized_shape, m.eps, m.elementwise_affine,
                                              bias=_has_bias(m)),
    "ReLU": lambda m: torch.nn.ReLU(),
    "LeakyReLU": lambda m: torch.nn.LeakyReLU(m.negative_slope),
    "Sigmoid": lambda m: torch.nn.Sigmoid(),
    "Tanh": lambda m: torch.nn.Tanh(),
    "Dropout": lambda m: torch.nn.Dropout(m.p),
    "Flatten": lambda m: torch.nn.Flatten(m.start_dim, m.end_dim),
    "Unflatten": lambda m: torch.nn.Unflatten(m.dim, m.unflattened_size),
    "ZeroPad2d": lambda m: torch.nn.ZeroPad2d(m.padding),
    "Crop2d": lambda m: torch.nn.ZeroPad2d((-m.left, -m.right, -m.top, -m.bottom)),  # crops
    "Upsample": lambda m: torch.nn.Upsample(m.size, m.scale_factor, m.mode, m.align_corners),
}


def torch_model(model):
    """The PyTorch model computing what the minigrad ``model`` (a Sequential) computes: the
    same layers, index for index, with a copy of its parameters and buffers, in their dtype
    (load_state_dict checks that the names and shapes correspond)."""
    def mirror(layer):
        kind = type(layer).__name__
        if kind == "Sequential":
            return torch.nn.Sequential(*map(mirror, layer))
        if kind not in _TORCH_LAYERS:
            raise TypeError(f"torch_model: no PyTorch counterpart for minigrad's {kind}; add "
                            "one to _TORCH_LAYERS in benchmarks/torch_engine.py")
        return _TORCH_LAYERS[kind](layer)

    state = {name: torch.from_numpy(t.numpy()) for name, t in model.state_dict().items()}
    copy = mirror(model).to(next(iter(state.values())).dtype)
    copy.load_state_dict(state)
    return copy


def make_optimizer(config, parameters, lr):
    """wgan.trainer.make_optimizer's optimizer, in PyTorch."""
    if config.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=lr, betas=(config.beta1, config.beta2))
    return torch.optim.RMSprop(parameters, lr=lr)


class TorchTrainer:
    """``Trainer.step`` of a wgan-gp Config in PyTorch, on ``torch_model`` copies of the
    minigrad ``generator`` and ``critic``: the same losses, penalty schedule and weight, one
    critic pass over real and fake where the critic scores each sample on its own, the same
    optimizers, the same fake batches (reused or not). Real batches come from the same
    host-side sampler; the noise and the penalty's alphas from PyTorch's generator."""

    def __init__(self, config, images, generator, critic):
        # a weight average that starts later in the run (ema_start > 0) is not updated in
        # the first steps of a run, the ones timed, by either engine
        unsupported = [f"{key}={getattr(config, key)!r}" for key, plain in
                       (("mode", "wgan-gp"), ("critic_warmup", False), ("lr_decay", "none"),
                        ("augment", "none")) if getattr(config, key) != plain]
        if config.ema and not config.ema_start:
            unsupported.append(f"ema={config.ema!r} from the start (ema_start 0)")
        if unsupported:
            raise ValueError("TorchTrainer mirrors the wgan-gp step without critic warm-up, "
                             "a weight average from the start, learning-rate decay or "
                             "augmentation; this Config has " + ", ".join(unsupported))
        self.config, self.device = config, config.device
        if self.device == "cuda":
            if not torch.cuda.is_available():
                raise RuntimeError(f"PyTorch {torch.__version__} sees no GPU: the comparison "
                                   "on device cuda needs PyTorch with CUDA")
            torch.backends.cuda.matmul.allow_tf32 = False  # float32 arithmetic, as CuPy's
            torch.backends.cudnn.allow_tf32 = False
        self.generator = torch_model(generator).to(self.device)
        self.critic = torch_model(critic).to(self.device)
        self.dtype = next(self.generator.parameters()).dtype
        self.joint_critic = not any(
            isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.Dropout))
            for m in self.critic.modules())
        self.opt_g = make_optimizer(config, self.generator.parameters(), config.lr)
        self.opt_d = make_optimizer(config, self.critic.parameters(), config.critic_lr)
        self.sampler = data.BatchSampler(images, config.batch_size,
                                         np.random.default_rng([config.seed, 1]))
        self.critic_steps_done = 0

    def noise(self):
        return torch.randn(self.config.batch_size, self.config.z_dim, dtype=self.dtype,
                           device=self.device)

    def interpolation_weights(self, n, like):
        """wgan.losses.interpolation_weights: one U[0, 1) per sample."""
        return torch.rand(n, *([1] * (like.ndim - 1)), dtype=like.dtype, device=like.device)

    def fakes(self, keep_graph=False):
        with torch.enable_grad() if keep_graph else torch.no_grad():
            return self.generator(self.noise())

    def gradient_penalty(self, real, fake, eps=1e-12):
        """wgan.losses.gradient_penalty."""
        alpha = self.interpolation_weights(real.shape[0], real)
        x_hat = (real + alpha * (fake - real)).detach().requires_grad_()
        (grad,) = torch.autograd.grad(self.critic(x_hat).sum(), x_hat, create_graph=True)
        norms = ((grad * grad).sum(dim=tuple(range(1, grad.ndim))) + eps).sqrt()
        return ((norms - 1) ** 2).mean()

    def critic_step(self, fake):
        c = self.config
        real = torch.from_numpy(next(self.sampler)).to(self.device)
        fake = fake.detach()
        if self.joint_critic:
            scores = self.critic(torch.cat([real, fake]))
            d_real, d_fake = scores[:len(real)], scores[len(real):]
        else:
            d_real, d_fake = self.critic(real), self.critic(fake)
        loss = d_fake.mean() - d_real.mean()
        numbers = {"critic_loss": loss.detach(), "wasserstein": -loss.detach()}
        total = loss
        if self.critic_steps_done % c.gp_every == 0:
            penalty = self.gradient_penalty(real, fake)
            numbers["gradient_penalty"] = penalty.detach()
            total = loss + (c.gp_lambda * c.gp_every) * penalty
        self.critic_steps_done += 1
        self.opt_d.zero_grad()
        total.backward()
        self.opt_d.step()
        return numbers

    def generator_step(self, fake):
        self.critic.requires_grad_(False)  # no weight gradients for the critic (frozen)
        loss = -self.critic(fake).mean()
        self.opt_g.zero_grad()
        loss.backward()
        self.critic.requires_grad_(True)
        self.opt_g.step()
        return loss.item()

    def step(self):
        steps, reuse = self.config.n_critic, self.config.reuse_fake
        for k in range(steps):
            fake = self.fakes(keep_graph=reuse and k == steps - 1)
            numbers = self.critic_step(fake)
        numbers = {name: value.item() for name, value in numbers.items()}
        numbers["generator_loss"] = self.generator_step(
            fake if reuse else self.fakes(keep_graph=True))
        return numbers
