"""Learning-rate schedules, with PyTorch's names and arguments (``torch.optim.lr_scheduler``).

A scheduler sets every parameter group's ``lr`` to its initial value times a factor of the
step count t: ``scheduler.step()`` after each ``optimizer.step()`` moves to the next t. The
factor is a closed form of t, so a scheduler restored from ``state_dict`` (t and the initial
rates) sets exactly the rates an uninterrupted run would have had. (PyTorch updates most
rates recursively, from the last one; the closed forms agree with it to rounding.)
"""
import bisect
import math


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

    def rate(self, base, t):
        """The rate of a group whose initial rate is ``base``, at step t."""
        return base * self.factor(t)

    def step(self):
        self.last_epoch += 1
        self._set_rates()

    def _set_rates(self):
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.rate(base, self.last_epoch)

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


class StepLR(LRScheduler):
    """factor(t) = gamma^(t // step_size): the rate falls by gamma every step_size steps."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def factor(self, t):
        return self.gamma ** (t // self.step_size)


class MultiStepLR(LRScheduler):
    """factor(t) = gamma^(number of milestones <= t)."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def factor(self, t):
        return self.gamma ** bisect.bisect_right(self.milestones, t)


class ExponentialLR(LRScheduler):
    """factor(t) = gamma^t."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def factor(self, t):
        return self.gamma ** t


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base - eta_min) (1 + cos(pi t / T_max)) / 2: from the initial rate
    down to eta_min at t = T_max, and (as PyTorch's) back up over the next T_max steps."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def rate(self, base, t):
        return self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2
