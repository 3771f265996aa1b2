"""Pictures: sample grids, the progress animation, the loss plot and the Wasserstein-vs-FID
plot, each drawn from arrays it is given (``report`` reads the log and calls these)."""
import math

import numpy as np
from PIL import Image

from . import pixels
from .atomic import write_atomically

# matplotlib is imported inside plot_losses, with the non-interactive Agg backend, so that
# training never needs a display and pays for matplotlib only when it plots.


def grid(images, pixel_range, columns=None, pad=2):
    """Tile N x C x H x W images (C 1 or 3; or N x H x W) in ``pixel_range`` into one uint8
    picture on white: H' x W' for grey images, H' x W' x 3 for RGB."""
    images = pixels.to_unit(images, pixel_range)
    if images.ndim == 3:
        images = images[:, None]
    n, c, h, w = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    canvas = np.ones((c, rows * (h + pad) + pad, columns * (w + pad) + pad), np.float32)
    for k, image in enumerate(images):
        top, left = pad + (k // columns) * (h + pad), pad + (k % columns) * (w + pad)
        canvas[:, top:top + h, left:left + w] = image
    picture = (canvas * 255).round().astype(np.uint8)
    return picture[0] if c == 1 else picture.transpose(1, 2, 0).copy()


def save_png(picture, path, scale=2):
    """Save a uint8 picture (H x W grey or H x W x 3 RGB), enlarged ``scale`` times,
    atomically."""
    image = Image.fromarray(picture)
    image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    write_atomically(path, lambda temp: image.save(temp, format="PNG"))


def save_gif(png_paths, path, seconds_per_frame=0.25):
    """An animation of the sample grids, the last frame held longer."""
    if not png_paths:
        return
    frames = [Image.open(p) for p in png_paths]
    mode = "L" if all(frame.mode == "L" for frame in frames) else "RGB"
    frames = [frame.convert(mode) for frame in frames]
    durations = [int(seconds_per_frame * 1000)] * (len(frames) - 1) + [2000]
    write_atomically(path, lambda temp: frames[0].save(temp, format="GIF", save_all=True,
                                                       append_images=frames[1:],
                                                       duration=durations, loop=0))


def smooth(values, window):
    """Moving average over the last ``window`` finite values (shorter at the start)."""
    finite = np.isfinite(values)
    sums = np.concatenate([[0.0], np.cumsum(np.where(finite, values, 0.0))])
    counts = np.concatenate([[0], np.cumsum(finite)])
    end = np.arange(1, len(values) + 1)
    start = np.maximum(end - window, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (sums[end] - sums[start]) / (counts[end] - counts[start])


def plot_losses(log, path):
    """The Wasserstein estimate (or GAN losses) over generator iterations, raw and smoothed;
    ``log`` is {column: array}."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not log or len(log["iteration"]) == 0:
        return
    it = log["iteration"]
    window = max(1, len(it) // 50)
    panels = [("wasserstein", "Wasserstein estimate  E[D(real)] - E[D(fake)]"),
              ("critic_loss", "critic loss"), ("generator_loss", "generator loss"),
              ("gradient_penalty", "gradient penalty")]
    panels = [(k, title) for k, title in panels if k in log and np.isfinite(log[k]).any()]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.4 * len(panels)), sharex=True,
                             squeeze=False)
    for ax, (key, title) in zip(axes[:, 0], panels):
        logged = np.isfinite(log[key])  # the lazy penalty is logged where it is computed
        ax.plot(it[logged], log[key][logged], color="0.75", linewidth=0.8, label="raw")
        ax.plot(it, smooth(log[key], window), color="C0", linewidth=1.5,
                label=f"mean of {window}")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("generator iteration")
    fig.tight_layout()
    write_atomically(path, lambda temp: fig.savefig(temp, format="png", dpi=100))
    plt.close(fig)


def plot_wasserstein_vs_fid(iterations, fid, wasserstein, correlation, path):
    """The Wasserstein estimate against FID over training.

    Left: both over generator iterations (the Wasserstein estimate averaged over the
    iterations since the previous evaluation). Right: one against the other, with their
    Spearman rank correlation (``correlation``: rho, p-value, number of pairs) in the title.
    """
    rho, p, n = correlation
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(iterations, fid, "o-", color="C3", markersize=3, label="FID")
    left.set_xlabel("generator iteration")
    left.set_ylabel("FID (classifier features)", color="C3")
    left.grid(alpha=0.3)
    twin = left.twinx()
    twin.plot(iterations, wasserstein, "s-", color="C0", markersize=3,
              label="Wasserstein estimate")
    twin.set_ylabel("Wasserstein estimate (mean since last evaluation)", color="C0")
    left.set_title("over training", fontsize=10)
    ok = np.isfinite(wasserstein) & np.isfinite(fid)
    points = right.scatter(wasserstein[ok], fid[ok], c=iterations[ok], cmap="viridis", s=18)
    if ok.any():
        fig.colorbar(points, ax=right, label="generator iteration")
    right.set_xlabel("Wasserstein estimate")
    right.set_ylabel("FID")
    right.grid(alpha=0.3)
    title = (f"Spearman rank correlation {rho:+.3f} (p = {p:.2g}, {n} evaluations)"
             if np.isfinite(rho) else f"{n} evaluations: too few for a rank correlation")
    right.set_title(title, fontsize=10)
    fig.tight_layout()
    write_atomically(path, lambda temp: fig.savefig(temp, format="png", dpi=100))
    plt.close(fig)
