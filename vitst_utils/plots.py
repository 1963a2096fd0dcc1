"""Pictures and plots: sample grids, loss curves, image grids.

Functions return matplotlib figures built without pyplot: no global figure state, no GUI
backend needed. They render themselves as PNG in Jupyter (leave one as a cell's last expression,
or `display(fig)`), with or without `%matplotlib inline`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib import figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

from .data import IMAGENET_MEAN, IMAGENET_STD, denormalize
from .explore import channel_summary, short_name
from .metrics import HIGHER_IS_BETTER, METRICS


class Figure(figure.Figure):
    """A matplotlib Figure that Jupyter shows as a PNG even when pyplot was never imported."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()


def _img(t: torch.Tensor):
    return denormalize(t.detach().float().cpu()).permute(1, 2, 0).numpy()


def sample_grid(
    content: torch.Tensor,
    style: torch.Tensor,
    generated: torch.Tensor,
    title: str = "",
) -> Figure:
    """Rows of content | style | generated, from normalised (B, 3, H, W) batches."""
    return plot_checkpoint_grid(content, style, [("generated", generated)], title)


def save_figure(fig: Figure, path: str | Path, dpi: int = 100) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


LOSS_PANELS = ("total_loss", "rec_loss", "content_loss", "style_loss")
VAL_PANELS = ("rec_loss", "content_loss", "style_loss")  # what evaluate has of them
FIGURE_METRICS = (*METRICS, "content_loss", "style_loss", "rec_loss")  # metrics.png


def plot_history(rows: Sequence[dict[str, float]], title: str = "") -> Figure:
    """Loss curves per epoch, from history rows (`TrainResult.history` or
    `rundir.read_history`): total (what the generator minimised), rec (the same without the
    adversarial term), content and style always, then every other loss the run trained
    (identity, Gram, TV, luma, palette, edges, adversarial, the discriminator's), one panel
    each."""
    extra = [k for k in dict.fromkeys(k for r in rows for k in r) if k.endswith("loss")]
    keys = [*LOSS_PANELS, *(k for k in extra if k not in LOSS_PANELS)]
    cols = min(4, len(keys)) if len(keys) > 3 else 3
    n_rows = -(-len(keys) // cols)
    fig = Figure(layout="constrained", figsize=(13, 3.4 * n_rows))
    axes = fig.subplots(n_rows, cols, squeeze=False).flat
    epochs = [r["epoch"] for r in rows]
    for ax, key in zip(axes, keys, strict=False):
        values = [r.get(key, float("nan")) for r in rows]
        ax.plot(epochs, values, marker="o", ms=3, label="train (epoch mean)")
        ax.set_title(key.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    for ax in list(fig.axes)[len(keys) :]:
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return fig


def plot_balance(rows: Sequence[dict[str, float]], title: str = "") -> Figure:
    """The loss balance per epoch, from history rows with `<term>_share` columns: each term's
    share of the generator's gradient at the decoder's last layer, stacked to 1 (one term
    drowning the others shows as one band filling the panel); beside it the adversarial
    term's (adaptive) weight, when the run has one."""
    terms = [k for k in dict.fromkeys(k for r in rows for k in r) if k.endswith("_share")]
    if not terms:
        raise ValueError("no <term>_share columns in these rows: the run measured no balance")
    adv = [r.get("adv_weight", float("nan")) for r in rows]
    with_adv = any(np.isfinite(adv))
    fig = Figure(layout="constrained", figsize=(11 if with_adv else 7, 3.6))
    axes = fig.subplots(1, 2 if with_adv else 1, squeeze=False)[0]
    epochs = [r["epoch"] for r in rows]
    shares = np.nan_to_num(np.array([[r.get(k, 0.0) for r in rows] for k in terms]))
    axes[0].stackplot(epochs, shares, labels=[k.removesuffix("_share") for k in terms])
    axes[0].set_ylim(0, 1)
    axes[0].set_title("share of the generator's gradient (decoder's last layer)", fontsize=9)
    axes[0].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    if with_adv:
        axes[1].plot(epochs, adv, marker="o", ms=3)
        axes[1].set_yscale("log")
        axes[1].set_title("adversarial weight (adaptive: |grad rec| / |grad adv|)", fontsize=9)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig


def image_grid(
    images: Sequence, titles: Sequence[str] | None = None, cols: int = 6, title: str = ""
) -> Figure:
    """A grid of PIL images or normalised tensors with optional captions."""
    n = len(images)
    rows = max(1, -(-n // cols))
    fig = Figure(layout="constrained", figsize=(2.2 * cols, 2.3 * rows + 0.4))
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k < n:
            im = images[k]
            ax.imshow(_img(im) if isinstance(im, torch.Tensor) else im)
            if titles:
                ax.set_title(titles[k], fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


# --- data exploration (notebook 01) ------------------------------------------------------------
_DOMAIN_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red")


def plot_counts(rows: Sequence[dict], title: str = "") -> Figure:
    """Image files per split, one bar per domain, from `explore.dataset_overview` rows;
    each bar is labelled with its count and the number of entries (of any kind, junk included)
    the loader skips."""
    domains = list(dict.fromkeys(r["domain"] for r in rows))
    splits = list(dict.fromkeys(r["split"] for r in rows))
    fig = Figure(layout="constrained", figsize=(7.5, 3.6))
    ax = fig.subplots()
    width = 0.8 / max(1, len(domains))
    for d, domain in enumerate(domains):
        by_split = {r["split"]: r for r in rows if r["domain"] == domain}
        xs = [s + (d - (len(domains) - 1) / 2) * width for s in range(len(splits))]
        counts = [by_split[s]["image_files"] if s in by_split else 0 for s in splits]
        role = next((r["role"] for r in rows if r["domain"] == domain), "")
        bars = ax.bar(xs, counts, width, label=f"{domain} ({role})", color=_DOMAIN_COLOURS[d % 4])
        for bar, split in zip(bars, splits, strict=True):
            r = by_split.get(split)
            text = "missing" if r is None or not r["exists"] else str(r["image_files"])
            if r is not None and r["skipped"]:
                text += f"\n{len(r['skipped'])} entries skipped"
            ax.annotate(
                text,
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
            )
    ax.set_xticks(range(len(splits)), splits)
    ax.set_ylabel("image files (by extension)")
    ax.margins(y=0.25)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title or "images per domain and split")
    return fig


def _spread(values, lo_hi_ratio: float = 30.0) -> bool:
    """True when positive values span so many orders of magnitude that a log axis reads better."""
    return len(values) > 0 and min(values) > 0 and max(values) / min(values) > lo_hi_ratio


def _bins(values, log: bool, n: int = 30):
    """Histogram bin edges over `values`: fewer bins for few distinct values (CelebA's aligned
    crops are all one size), widened around a single value, log-spaced when `log`."""

    n = min(n, max(5, 3 * len(np.unique(values))))
    lo, hi = float(min(values)), float(max(values))
    if hi <= lo * 1.02:
        lo, hi = lo * 0.9, hi * 1.1
    return np.geomspace(lo, hi, n + 1) if log else np.linspace(lo, hi, n + 1)


def plot_image_sizes(
    stats: dict[str, dict], image_size: int | None = None, title: str = ""
) -> Figure:
    """Width vs height, aspect-ratio and shorter-side histograms per domain (from
    `explore.stats_by_domain`); a line marks the model's `image_size` (smaller sides are
    scaled up by the Resize)."""

    fig = Figure(layout="constrained", figsize=(13, 3.8))
    ax_wh, ax_ar, ax_side = fig.subplots(1, 3)
    items = [(d, s) for d, s in stats.items() if len(s["width"])]
    all_w = np.concatenate([s["width"] for _, s in items]) if items else np.array([1])
    all_h = np.concatenate([s["height"] for _, s in items]) if items else np.array([1])
    all_side = np.minimum(all_w, all_h)
    all_ar = np.concatenate([s["aspect"] for _, s in items]) if items else np.array([1.0])
    log_size = _spread(list(all_w) + list(all_h))
    for k, (domain, s) in enumerate(items):
        colour = _DOMAIN_COLOURS[k % 4]
        ax_wh.scatter(s["width"], s["height"], s=12, alpha=0.5, color=colour, label=domain)
    lo, hi = min(all_w.min(), all_h.min()), max(all_w.max(), all_h.max())
    ax_wh.plot([lo, hi], [lo, hi], color="grey", lw=0.8, ls="--", label="square")
    ax_wh.set_xlabel("width (px)")
    ax_wh.set_ylabel("height (px)")
    ax_wh.set_title("image sizes")
    if log_size:
        ax_wh.set_xscale("log")
        ax_wh.set_yscale("log")

    log_ar = max(all_ar.max(), 1) / min(all_ar.min(), 1) > 4  # 1:4 .. 4:1 reads better linear
    ar_bins = _bins([*all_ar, 1.0], log_ar)  # 1.0 (square) always in view
    side_bins = _bins([*all_side] + ([image_size] if image_size else []), log_size)
    for k, (domain, s) in enumerate(items):
        colour = _DOMAIN_COLOURS[k % 4]
        ax_ar.hist(s["aspect"], bins=ar_bins, alpha=0.6, color=colour, label=domain)
        ax_side.hist(
            np.minimum(s["width"], s["height"]),
            bins=side_bins,
            alpha=0.6,
            color=colour,
            label=domain,
        )
    ax_ar.axvline(1.0, color="grey", lw=0.8, ls="--")
    if log_ar:
        ax_ar.set_xscale("log")
        ax_ar.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax_ar.xaxis.set_minor_formatter(NullFormatter())
    ax_ar.set_xlabel("aspect ratio width / height" + (" (log)" if log_ar else ""))
    ax_ar.set_ylabel("images")
    ax_ar.set_title("aspect ratios")
    if image_size is not None:
        ax_side.axvline(image_size, color="black", lw=1, ls=":", label=f"model {image_size} px")
    ax_side.set_xlabel("shorter side (px)")
    ax_side.set_title("shorter side (Resize target)")
    if log_size:
        ax_side.set_xscale("log")
    for ax in (ax_wh, ax_ar, ax_side):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def plot_colour_stats(stats: dict[str, dict], title: str = "") -> Figure:
    """Per-channel mean ± std per domain (ImageNet's as markers), and the pixel brightness and
    saturation histograms per domain (from `explore.stats_by_domain`)."""

    fig = Figure(layout="constrained", figsize=(13, 3.8))
    ax_ch, ax_b, ax_s = fig.subplots(1, 3)
    items = [(d, s) for d, s in stats.items() if len(s["paths"])]
    width = 0.8 / max(1, len(items))
    for k, (domain, s) in enumerate(items):
        c = channel_summary(s)
        xs = np.arange(3) + (k - (len(items) - 1) / 2) * width
        ax_ch.bar(
            xs,
            c["mean"],
            width,
            yerr=c["std"],
            capsize=3,
            alpha=0.75,
            color=_DOMAIN_COLOURS[k % 4],
            label=domain,
        )
        centres = (s["bin_edges"][:-1] + s["bin_edges"][1:]) / 2
        colour = _DOMAIN_COLOURS[k % 4]
        ax_b.plot(centres, s["brightness_hist"], color=colour, label=domain)
        ax_s.plot(centres, s["saturation_hist"], color=colour, label=domain)
    ax_ch.errorbar(
        np.arange(3),
        IMAGENET_MEAN,
        yerr=IMAGENET_STD,
        fmt="k_",
        ms=18,
        capsize=0,
        lw=0.8,
        label="ImageNet (normalisation)",
    )
    ax_ch.set_xticks(range(3), ["R", "G", "B"])
    ax_ch.set_ylim(0, 1.15)
    ax_ch.set_title("channel mean ± std (0-1)")
    ax_b.set_title("pixel brightness (Rec. 601 luma)")
    ax_s.set_title("pixel saturation (HSV)")
    for ax in (ax_b, ax_s):
        ax.set_xlabel("value (0-1)")
        ax.set_ylabel("fraction of pixels")
    for ax in (ax_ch, ax_b, ax_s):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def plot_transform_examples(examples: Sequence[dict], title: str = "") -> Figure:
    """Rows of original | eval transform (centre crop) | train transform draws, from
    `explore.transform_examples`; the original keeps its own shape, the rest are what the
    model sees (denormalised)."""

    n = len(examples)
    draws = max((len(e["train"]) for e in examples), default=0)
    cols = 2 + draws
    fig = Figure(layout="constrained", figsize=(2.2 * cols, 2.4 * n + 0.5))
    axes = fig.subplots(max(1, n), cols, squeeze=False)
    for i, ex in enumerate(examples):
        w, h = ex["original"].size
        panels = [(ex["original"], f"{short_name(ex['path'])}\noriginal {w}x{h}")]
        panels.append((ex["eval"], "eval: resize +\ncentre crop"))
        panels += [(t, f"train draw {j + 1}:\nrandom crop/flip") for j, t in enumerate(ex["train"])]
        for j, ax in enumerate(axes[i]):
            ax.set_axis_off()
            if j < len(panels):
                image, caption = panels[j]
                ax.imshow(_img(image) if isinstance(image, torch.Tensor) else image)
                ax.set_title(caption, fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


# --- inference and checkpoints (notebooks 03, 04) ----------------------------------------------
def plot_style_matrix(
    content: torch.Tensor, style: torch.Tensor, generated: torch.Tensor, title: str = ""
) -> Figure:
    """Every content (rows) in every style (columns): styles across the top, contents down the
    left, `generated[i, j]` = content i in style j; all normalised tensors."""
    n_c, n_s = content.shape[0], style.shape[0]
    if tuple(generated.shape[:2]) != (n_c, n_s):
        raise ValueError(
            f"generated must be ({n_c}, {n_s}, 3, H, W) for {n_c} contents x {n_s} styles, "
            f"got {tuple(generated.shape)}"
        )
    fig = Figure(layout="constrained", figsize=(2.2 * (n_s + 1), 2.2 * (n_c + 1) + 0.4))
    axes = fig.subplots(n_c + 1, n_s + 1, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for j in range(n_s):
        axes[0, j + 1].imshow(_img(style[j]))
        axes[0, j + 1].set_title(f"style {j + 1}", fontsize=9)
    for i in range(n_c):
        axes[i + 1, 0].imshow(_img(content[i]))
        axes[i + 1, 0].set_title(f"content {i + 1}", fontsize=9)
        for j in range(n_s):
            axes[i + 1, j + 1].imshow(_img(generated[i, j]))
    if title:
        fig.suptitle(title)
    return fig


def plot_checkpoint_grid(
    content: torch.Tensor,
    style: torch.Tensor,
    generated: Sequence[tuple[str, torch.Tensor]],
    title: str = "",
) -> Figure:
    """Rows = pairs; columns = content, style, then one column per checkpoint, captioned with
    its label (e.g. "epoch 5"); all normalised (B, 3, H, W) batches."""
    n = content.shape[0]
    cols = [("content", content), ("style", style), *generated]
    for label, batch in cols:
        if batch.shape[0] != n:
            raise ValueError(f"{label}: {batch.shape[0]} images, expected {n} (one per pair)")
    fig = Figure(layout="constrained", figsize=(2.1 * len(cols), 2.2 * n + 0.5))
    axes = fig.subplots(n, len(cols), squeeze=False)
    for i in range(n):
        for j, (label, batch) in enumerate(cols):
            ax = axes[i, j]
            ax.imshow(_img(batch[i]))
            ax.set_axis_off()
            if i == 0:
                ax.set_title(label, fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def plot_val_losses(
    rows: Sequence[dict],
    history: Sequence[dict[str, float]] | None = None,
    title: str = "",
) -> Figure:
    """Validation losses per checkpoint epoch (evaluate's rows: markers) over the training loss
    curves of `plot_history` when `history` is given: rec_loss (the weighted sum of every term
    but the adversarial one, the same meaning in both), content and style."""
    fig = plot_history(history or [], title)
    rows = [r for r in rows if r.get("epoch") is not None]
    epochs = [r["epoch"] for r in rows]
    for ax, key in zip(fig.axes, LOSS_PANELS, strict=False):
        if key in VAL_PANELS:
            values = [float("nan") if r.get(key) is None else r[key] for r in rows]
            ax.plot(epochs, values, marker="o", color="tab:red", label="validation")
            ax.legend(fontsize=8)
    return fig


# --- evaluation (notebook 04, metrics.png) -----------------------------------------------------
_BASELINE_STYLE = {"photo": ("tab:gray", "--"), "anime": ("black", "--")}


def _plot_metric(
    ax: Any, table: Sequence[dict[str, Any]], metric: str, classifier: dict[str, Any] | None
) -> None:
    """One panel: a line per run over epochs, a dotted line per checkpoint without an epoch,
    a dashed line per baseline."""
    arrow = "higher is better" if HIGHER_IS_BETTER.get(metric) else "lower is better"
    title = f"{metric} ({arrow})"
    if metric == "domain_score" and classifier and "heldout_accuracy" in classifier:
        title += f"\nclassifier held-out accuracy {classifier['heldout_accuracy']:.2f}"
    ax.set_title(title, fontsize=9)
    runs = dict.fromkeys(r["run"] for r in table if r["checkpoint"] != "baseline")
    for k, run in enumerate(runs):
        colour = f"C{k % 10}"
        mine = [r for r in table if r["run"] == run and r.get(metric) is not None]
        pts = sorted((r["epoch"], r[metric]) for r in mine if r["epoch"] is not None)
        if pts:
            ax.plot(*zip(*pts, strict=True), marker="o", ms=4, color=colour, label=run)
        for r in mine:
            if r["epoch"] is None:
                ax.axhline(r[metric], color=colour, ls=":", label=f"{run} ({r['checkpoint']})")
    for r in table:
        if r["checkpoint"] == "baseline" and r.get(metric) is not None:
            colour, ls = _BASELINE_STYLE.get(r["run"], ("gray", "--"))
            ax.axhline(r[metric], color=colour, ls=ls, lw=1, label=r["run"])
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def plot_metrics(
    table: Sequence[dict[str, Any]],
    unavailable: dict[str, str] | None = None,
    classifier: dict[str, Any] | None = None,
    label: str = "",
    metrics: Sequence[str] = FIGURE_METRICS,
) -> Figure:
    """One panel per available metric: x = epoch, one line per run, the photo and anime
    baselines as dashed lines, checkpoints without an epoch (seed state dicts) as dotted
    lines; the metrics that were not available are named below (reasons in the table)."""
    unavailable = unavailable or {}
    shown = [m for m in metrics if m not in unavailable]
    cols = min(3, max(1, len(shown)))
    rows = max(1, -(-len(shown) // cols))
    fig = Figure(layout="constrained", figsize=(4.4 * cols, 3.1 * rows + 0.6))
    axes = list(fig.subplots(rows, cols, squeeze=False).flat)
    for ax, metric in zip(axes, shown, strict=False):
        _plot_metric(ax, table, metric, classifier)
    for ax in axes[len(shown) :]:
        ax.set_axis_off()
    title = f"metrics by checkpoint | {label}" if label else "metrics by checkpoint"
    missing = [m for m in metrics if m in unavailable]
    if missing:
        title += f"\nnot available: {', '.join(missing)} (reasons: the table, metrics.json)"
    fig.suptitle(title, fontsize=10)
    return fig
