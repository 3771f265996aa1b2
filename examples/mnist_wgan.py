#!/usr/bin/env python
"""Train a Wasserstein GAN on MNIST digits with minigrad, and use the result.

    python examples/mnist_wgan.py                       # WGAN-GP on the 5,000 embedded digits
    python examples/mnist_wgan.py --mode wgan --iters 5000
    python examples/mnist_wgan.py --resume --out runs/wgan-gp-20261123-101500
    mpiexec -n 2 python examples/mnist_wgan.py          # data-parallel: pip install -e ".[dist]"
    python examples/mnist_wgan.py sample --run RUN_DIR --n 64 --out samples.png
    python examples/mnist_wgan.py evaluate --run RUN_DIR                 # FID, score, coverage

`python examples/mnist_wgan.py train --help` lists every setting.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout, installed or not

from wgan.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
