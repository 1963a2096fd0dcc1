"""Figures (plots.py) of inference, checkpoints, losses and the evaluation."""

import pytest
import torch
from matplotlib.figure import Figure

from vitst_utils import plots as P


def _n_axes(fig: Figure) -> int:
    return len(fig.axes)


def test_inference_figures() -> None:
    c, s = torch.randn(3, 3, 16, 16), torch.randn(2, 3, 16, 16)
    fig = P.plot_style_matrix(c, s, torch.randn(3, 2, 3, 16, 16), "m")
    assert _n_axes(fig) == 4 * 3
    with pytest.raises(ValueError, match="3 contents x 2 styles"):
        P.plot_style_matrix(c, s, torch.randn(2, 3, 3, 16, 16))
    gen = [(f"epoch {e}", torch.randn(3, 3, 16, 16)) for e in (1, 5, 9)]
    fig = P.plot_checkpoint_grid(c, c, gen, "g")
    assert _n_axes(fig) == 3 * 5
    assert [fig.axes[j].get_title() for j in range(5)] == [
        "content",
        "style",
        "epoch 1",
        "epoch 5",
        "epoch 9",
    ]
    with pytest.raises(ValueError, match="expected 3"):
        P.plot_checkpoint_grid(c, s, gen)
    history = [
        {"epoch": e, "total_loss": 1.2, "rec_loss": 1.0, "content_loss": 0.5, "style_loss": 0.2}
        for e in (1, 2)
    ]
    val = [{"epoch": 2, "rec_loss": 1.1, "content_loss": 0.6, "style_loss": None}]
    fig = P.plot_val_losses(val, history, "v")
    assert [ax.get_title() for ax in fig.axes] == [
        "total loss",
        "rec loss",
        "content loss",
        "style loss",
    ]
    marked = [[line.get_label() for line in ax.lines] for ax in fig.axes]
    assert marked[0] == ["train (epoch mean)"] and all("validation" in m for m in marked[1:])


def test_metrics_figure_lines_per_run_and_baselines():
    table = [
        {"run": "photo", "checkpoint": "baseline", "epoch": None, "domain_score": 0.02},
        {"run": "anime", "checkpoint": "baseline", "epoch": None, "domain_score": 0.97},
        {"run": "seed", "checkpoint": "epoch_001.pt", "epoch": 1, "domain_score": 0.1},
        {"run": "seed", "checkpoint": "epoch_002.pt", "epoch": 2, "domain_score": 0.2},
        {"run": "anime_run", "checkpoint": "epoch_002.pt", "epoch": 2, "domain_score": 0.6},
        {"run": "old", "checkpoint": "seed.pth", "epoch": None, "domain_score": 0.3},
    ]
    fig = P.plot_metrics(
        table,
        {"fid": "because"},
        {"heldout_accuracy": 0.99},
        "SYNTHETIC x",
        metrics=("domain_score", "fid"),
    )
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["seed", "anime_run", "old (seed.pth)", "photo", "anime"]
    assert [len(line.get_xdata()) for line in ax.lines[:2]] == [2, 1]
    assert "held-out accuracy 0.99" in ax.get_title()
    suptitle = fig.get_suptitle()
    assert "SYNTHETIC" in suptitle and "not available: fid" in suptitle
