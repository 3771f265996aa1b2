#!/usr/bin/env python
"""What does a configuration reach in T minutes on this machine?

Trains one configuration (any `mnist_wgan.py train` options after `--`) for a wall-clock
budget of training time (--minutes) or a number of generator iterations (--iters), measures
sample quality with wgan.metrics at --evals evenly spaced points of the budget (and at the
end), and appends one row per measurement to a CSV: the configuration's name and settings,
iterations, training seconds, FID, classifier score, classes covered, KL from uniform. Then
it draws FID against training time for every configuration in the CSV.

    python benchmarks/quality_budget.py --name paper --minutes 10 -- --preset paper
    python benchmarks/quality_budget.py --name dim32 --minutes 10 -- --dim 32 --n-critic 2

Timing counts only the training steps (as a run's wall_time does); the evaluations, about a
second each, are left out of the budget. Run it alone: on a 2-core machine any other busy
process changes how far a configuration gets. The run's checkpoint and samples go to a run
folder like any other (--out, default runs/quality-NAME-SEED).
"""
import argparse
import csv
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wgan import cli, metrics, models  # noqa: E402
from wgan.config import Config  # noqa: E402
from wgan.run_folder import RunFolder  # noqa: E402
from wgan.train import load_training_data  # noqa: E402
from wgan.trainer import Trainer  # noqa: E402

COLUMNS = ("name", "seed", "iterations", "train_seconds", "fid", "classifier_score",
           "classes_covered", "kl_uniform", "settings")
DEFAULT_CSV = ROOT / "benchmarks" / "results" / "quality_budget.csv"


def settings_of(config):
    """The settings that differ from a bare run's, as JSON (what the row's name stands for);
    the generator's width only where it differs from --dim."""
    bare = Config().resolved()
    skipped = {"out", "time_limit", "iters", "eval_every"}
    if config.generator_dim == config.dim:
        skipped.add("generator_dim")
    return json.dumps({k: v for k, v in dataclasses.asdict(config).items()
                       if getattr(bare, k) != v and k not in skipped}, sort_keys=True)


def measure(config, name, minutes=None, iters=None, evals=5, say=print, evaluator=None,
            images=None):
    """Train ``config`` for ``minutes`` of training time or ``iters`` iterations (the run's
    length, which its schedules follow); returns the rows (one per evaluation, at each
    ``evals``-th of the run). ``images`` and ``evaluator`` (both, or neither) replace the run's
    data and its evaluator."""
    config = dataclasses.replace(config, time_limit=minutes or 0.0, iters=iters or 0).resolved()
    if images is None or evaluator is None:
        images, (unit, labels) = load_training_data(config)
        evaluator = metrics.Evaluator.for_images(unit, labels, config.data, config.classes,
                                                 n_samples=config.eval_samples, say=say)
    trainer = Trainer(config, images)
    marks = [(k + 1) / evals for k in range(evals)]
    rows = []
    while marks:
        trainer.step()
        if trainer.progress() >= marks[0]:
            while marks and trainer.progress() >= marks[0]:
                marks.pop(0)
            results = evaluator.evaluate_generator(
                trainer.sampling_generator, config.z_dim, models.pixel_range(config.arch),
                n=config.eval_samples, seed=config.seed, device=config.device)
            row = {"name": name, "seed": config.seed, "iterations": trainer.iteration,
                   "train_seconds": round(trainer.elapsed, 3),
                   **{k: results[k] for k in metrics.METRIC_COLUMNS},
                   "settings": settings_of(config)}
            rows.append(row)
            say(f"{name}: iteration {row['iterations']}, {row['train_seconds']:.0f} s: "
                f"FID {row['fid']:.1f}, score {row['classifier_score']:.2f}, "
                f"{row['classes_covered']}/10 classes")
    if config.out:
        run = RunFolder(config.out)
        run.write_config(config)
        run.save_checkpoint(trainer.state_dict())
    return rows


def append_rows(path, rows):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        if new:
            writer.writeheader()
        writer.writerows(rows)


def plot(csv_path, png_path):
    """FID against training time, one line per (name, seed) of the CSV."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    series = {}
    for r in rows:
        series.setdefault((r["name"], r["seed"]), []).append(
            (float(r["train_seconds"]) / 60, float(r["fid"])))
    fig, ax = plt.subplots(figsize=(9, 5.5))
    colours = plt.get_cmap("tab20").colors
    for k, ((name, seed), points) in enumerate(sorted(series.items())):
        minutes, fid = zip(*sorted(points))
        ax.plot(minutes, fid, "o" + ("-", "--", ":")[k // len(colours) % 3], markersize=3,
                color=colours[k % len(colours)], label=f"{name} (seed {seed})")
    ax.set_xlabel("training time (minutes)")
    ax.set_ylabel("FID (classifier features; lower is better)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    train_args = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--name", required=True, help="the configuration's name in the CSV")
    budget = p.add_mutually_exclusive_group(required=True)
    budget.add_argument("--minutes", type=float, help="budget of training time")
    budget.add_argument("--iters", type=int, help="budget of generator iterations")
    p.add_argument("--evals", type=int, default=5, help="measurements over the budget")
    p.add_argument("--csv", default=str(DEFAULT_CSV))
    p.add_argument("--plot", help="the FID-vs-time picture (default: the CSV's name, .png)")
    args = p.parse_args(argv)
    options = vars(cli.parser().parse_args(["train", *train_args]))
    options = {k: v for k, v in options.items() if k not in ("command", "debug")}
    config, _ = cli.train_config(options)
    if config.out is None:
        config = dataclasses.replace(config, out=str(ROOT / "runs" /
                                                     f"quality-{args.name}-{config.seed}"))
    rows = measure(config, args.name, args.minutes, args.iters, args.evals)
    append_rows(args.csv, rows)
    png = args.plot or str(Path(args.csv).with_suffix(".png"))
    plot(args.csv, png)
    print(f"{len(rows)} rows appended to {args.csv}; plot: {png}")


if __name__ == "__main__":
    main()
