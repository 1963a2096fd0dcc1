"""Pictures and plots: sample grids, loss curves, image grids.

Functions return matplotlib `Figure` objects built without pyplot: no global figure state, no GUI
backend needed; a notebook shows one by leaving it as a cell's last expression.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import torch
from matplotlib.figure import Figure

from .data import denormalize


def _img(t: torch.Tensor):
    return denormalize(t.detach().float().cpu()).permute(1, 2, 0).numpy()


def sample_grid(
    content: torch.Tensor,
    style: torch.Tensor,
    generated: torch.Tensor,
    title: str = "",
) -> Figure:
    """Rows of content | style | generated, from normalised (B, 3, H, W) batches."""
    n = content.shape[0]
    fig = Figure(figsize=(7.5, 2.5 * n + 0.4))
    axes = fig.subplots(n, 3, squeeze=False)
    for i in range(n):
        for j, (name, batch) in enumerate(
            (("content", content), ("style", style), ("generated", generated))
        ):
            ax = axes[i, j]
            ax.imshow(_img(batch[i]))
            ax.set_axis_off()
            if i == 0:
                ax.set_title(name)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path: str | Path, dpi: int = 100) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def read_history(path: str | Path) -> list[dict[str, float]]:
    """Rows of a run's history.csv as floats (epoch as int)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [{k: (int(v) if k == "epoch" else float(v)) for k, v in r.items()} for r in rows]


def plot_history(history: Sequence[dict[str, float]] | str | Path, title: str = "") -> Figure:
    """Loss curves (total, content, style) per epoch, from rows or a history.csv path."""
    rows = read_history(history) if isinstance(history, (str, Path)) else list(history)
    fig = Figure(figsize=(13, 3.4))
    axes = fig.subplots(1, 3)
    epochs = [r["epoch"] for r in rows]
    for ax, key in zip(axes, ("total_loss", "content_loss", "style_loss"), strict=True):
        ax.plot(epochs, [r[key] for r in rows], marker="o", ms=3)
        ax.set_title(key.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def image_grid(
    images: Sequence, titles: Sequence[str] | None = None, cols: int = 6, title: str = ""
) -> Figure:
    """A grid of PIL images or normalised tensors with optional captions."""
    n = len(images)
    rows = max(1, -(-n // cols))
    fig = Figure(figsize=(2.2 * cols, 2.3 * rows + 0.4))
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
    fig.tight_layout()
    return fig
