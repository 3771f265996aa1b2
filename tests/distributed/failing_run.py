"""The training command with a failure injected on one rank, for test_launch.py:

    mpiexec -n 2 python tests/distributed/failing_run.py RANK ITERATION FAILURE [train options]

raises FAILURE (OSError, KeyboardInterrupt or bug) on rank RANK when its generator iteration
ITERATION begins; the other ranks carry on as usual.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from wgan import cli, trainer  # noqa: E402

FAILURES = {"OSError": lambda: OSError("injected disk failure"),
            "KeyboardInterrupt": KeyboardInterrupt,
            "bug": lambda: ZeroDivisionError("injected bug")}


def main():
    rank, iteration, failure = int(sys.argv[1]), int(sys.argv[2]), FAILURES[sys.argv[3]]
    step = trainer.Trainer.step

    def failing_step(self):
        if self.group.rank == rank and self.iteration + 1 == iteration:
            raise failure()
        return step(self)

    trainer.Trainer.step = failing_step
    return cli.main(sys.argv[4:])


if __name__ == "__main__":
    sys.exit(main())
