"""``python -m wgan``: the command line of examples/mnist_wgan.py (train, sample, evaluate)."""
import sys

from .cli import main

sys.exit(main())
