"""Batches of the training images, resumable exactly."""

class BatchSampler:
    """Random batches of ``x`` (along axis 0), epoch after epoch, resumable exactly.

    Each epoch is a fresh permutation drawn from ``rng`` (a numpy.random.Generator), cut
    into batches of ``batch_size``; the last incomplete batch is dropped, so every batch has
    the same shape. ``state_dict()`` records the generator's state at the start of the
    current epoch and how far into the epoch the sampler is; ``load_state_dict()`` redraws
    that epoch's permutation and continues from the same place, so a resumed training run
    sees exactly the batches an uninterrupted one would.
    """

    def __init__(self, x, batch_size, rng):
        if not 0 < batch_size <= len(x):
            raise ValueError(f"batch_size must be from 1 to len(x) = {len(x)}, got {batch_size}")
        self.x, self.batch_size, self.rng = x, batch_size, rng
        self._new_epoch()

    def _new_epoch(self):
        self._epoch_start = self.rng.bit_generator.state
        self._order = self.rng.permutation(len(self.x))
        self._position = 0

    def __iter__(self):
        return self

    def __next__(self):
        if self._position + self.batch_size > len(self.x):
            self._new_epoch()
        batch = self.x[self._order[self._position:self._position + self.batch_size]]
        self._position += self.batch_size
        return batch

    def state_dict(self):
        return {"epoch_start": self._epoch_start, "position": self._position}

    def load_state_dict(self, state):
        self.rng.bit_generator.state = state["epoch_start"]
        self._new_epoch()
        self._position = state["position"]
