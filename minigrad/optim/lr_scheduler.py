"""Learning-rate schedules, with PyTorch's names and arguments (``torch.optim.lr_scheduler``).

A scheduler sets every parameter group's ``lr`` to its initial value times a factor of the
step count t: ``scheduler.step()`` after each ``optimizer.step()`` moves to the next t. The
factor is a closed form of t, so a scheduler restored from ``state_dict`` (t and the initial
rates) sets exactly the rates an uninterrupted run would have had.
"""


class LRScheduler:
    """lr = initial_lr * factor(t) for every parameter group; t = ``last_epoch``, 0 after
    construction. Subclasses write ``factor``."""

    def __init__(self, optimizer, last_epoch=-1):
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.optimizer = optimizer
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def factor(self, t):
        raise NotImplementedError

    def step(self):
        self.last_epoch += 1
        self._set_rates()

    def _set_rates(self):
        factor = self.factor(self.last_epoch)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = base * factor

    def get_last_lr(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state):
        self.last_epoch = int(state["last_epoch"])
        self.base_lrs = [float(lr) for lr in state["base_lrs"]]
        self._set_rates()


class LambdaLR(LRScheduler):
    """factor(t) = ``lr_lambda(t)``."""

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        self.lr_lambda = lr_lambda
        super().__init__(optimizer, last_epoch)

    def factor(self, t):
        return self.lr_lambda(t)


class LinearLR(LRScheduler):
    """The factor goes linearly from ``start_factor`` at t = 0 to ``end_factor`` at
    t = ``total_iters``, and stays there:
    start + (end - start) * min(t, total_iters) / total_iters."""

    def __init__(self, optimizer, start_factor=1 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR needs 0 < start_factor <= 1 and 0 <= end_factor <= 1, "
                             f"got {start_factor} and {end_factor}")
        if total_iters < 1:
            raise ValueError(f"LinearLR needs total_iters >= 1, got {total_iters}")
        self.start_factor, self.end_factor, self.total_iters = (start_factor, end_factor,
                                                                total_iters)
        super().__init__(optimizer, last_epoch)

    def factor(self, t):
        done = min(t, self.total_iters) / self.total_iters
        return self.start_factor + (self.end_factor - self.start_factor) * done
