"""Everything that reads a run's log, while it trains or after: the loss plot, the progress
animation, and the WGAN paper's central claim tested on the run itself, the Wasserstein
estimate against FID (``wasserstein_fid.png`` and their Spearman rank correlation).

The log is read once (``RunFolder.read_log``) and handed to each of these.
"""
import math

import numpy as np
import scipy.stats

from . import plots


def finish(run, say=print):
    """Draw a finished (or stopped) run's pictures from its folder, and report the
    Wasserstein estimate against FID if it was evaluated."""
    log = run.read_log()
    plots.plot_losses(log, run.losses_plot)
    plots.save_gif(run.sample_paths(), run.gif)
    if "fid" in log:
        report_wasserstein_vs_fid(run, say, log)


def report_wasserstein_vs_fid(run, say=print, log=None):
    """Plot the Wasserstein estimate against FID (wasserstein_fid.png) and say their Spearman
    rank correlation. Returns (rho, p-value, number of evaluations), or None when the log has
    no FID."""
    log = run.read_log() if log is None else log
    if "fid" not in log or not np.isfinite(log["fid"]).any():
        return None
    iterations, fid, wasserstein = wasserstein_at_evaluations(log)
    rho, p, n = spearman(wasserstein, fid)
    plots.plot_wasserstein_vs_fid(iterations, fid, wasserstein, (rho, p, n),
                                  run.wasserstein_fid_plot)
    where = run.wasserstein_fid_plot
    if "wasserstein" not in log or not np.isfinite(log["wasserstein"]).any():
        say(f"FID over training: {where} (no Wasserstein estimate in this run's log to compare "
            "it with)")
    elif n < 3 or not math.isfinite(rho):
        say(f"Wasserstein estimate vs FID: {n} evaluation(s) with both, too few for a rank "
            f"correlation; plot: {where}")
    else:
        say(f"Wasserstein estimate vs FID over {n} evaluations: Spearman rank correlation "
            f"{rho:+.3f} (p = {p:.2g}); plot: {where}")
    return rho, p, n


def wasserstein_at_evaluations(log):
    """From a log (RunFolder.read_log: {column: array}), the iterations with an FID, the FID, and
    the Wasserstein estimate averaged over the iterations since the previous evaluation
    (NaN where there are none, as at iteration 0)."""
    it = log["iteration"]
    fid = log.get("fid")
    if fid is None:
        return np.array([]), np.array([]), np.array([])
    evaluated = np.isfinite(fid)
    iterations = it[evaluated]
    w = log.get("wasserstein", np.full(len(it), np.nan))
    averages, previous = [], -np.inf
    for i in iterations:
        window = (it > previous) & (it <= i) & np.isfinite(w)
        averages.append(w[window].mean() if window.any() else np.nan)
        previous = i
    return iterations, fid[evaluated], np.array(averages)


def spearman(x, y):
    """Spearman's rank correlation and its p-value over the pairs where both are finite;
    (nan, nan, n) with fewer than 3 pairs or a constant series."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    if n < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return float("nan"), float("nan"), n
    result = scipy.stats.spearmanr(x[ok], y[ok])
    return float(result[0]), float(result[1]), n
