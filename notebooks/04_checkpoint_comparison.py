# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Checkpoint comparison
#
# How the model changes over training: the same validation pairs through every saved checkpoint
# side by side, the training loss curves from `history.csv`, and each checkpoint's content and
# style loss on the validation set. The work is done by `vitst_utils.inference`; the pictures
# are saved to `<run folder>/comparison`.
#
# The same notebook runs unchanged
# - **on Kaggle**: it compares the checkpoints in `/kaggle/working/vitst/<preset>`, or in the
#   02_training notebook's output when that is added as an input; a GPU is used if there is one;
# - **locally on real data**: the checkpoints in `runs/<preset>` (or `VITST_RUN_DIR`), the
#   validation images from `VITST_DATA_ROOT`;
# - **in smoke mode**: `VITST_PRESET=smoke` compares the smoke run's checkpoints, training them
#   first (seconds, on the CPU) if there are none, on the *synthetic* validation images unless
#   `VITST_DATA_ROOT` is set. Its pictures are noise: smoke mode checks the pipeline only.
#
# Outside smoke mode, no checkpoint means a clear stop: run 02_training first.

# %%
import logging
import os

import torch
from IPython.display import display

from vitst_utils.config import get_preset
from vitst_utils.data import build_datasets, first_images, resolve_data_root
from vitst_utils.env import default_run_dir, describe_hardware
from vitst_utils.explore import data_label, format_table
from vitst_utils.inference import (
    compare_checkpoints,
    ensure_checkpoints,
    select_checkpoints,
)
from vitst_utils.plots import plot_checkpoint_grid, plot_history, plot_val_losses, save_figure
from vitst_utils.train import read_history_csv

logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)

# %% [markdown]
# ## 1. Configuration

# %%
PRESET = os.environ.get("VITST_PRESET", "seed")
MAX_CHECKPOINTS = 8  # columns in the comparison; more are thinned out evenly
N_PAIRS = 4  # validation pairs shown
EVAL_LIMIT = None  # pairs for the losses; None = the run's own val_limit (lower it on a CPU)
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"

cfg = get_preset(PRESET)
RUN_DIR = default_run_dir(cfg.preset)
OUT_DIR = RUN_DIR / "comparison"
print(f"preset: {cfg.preset} | run dir: {RUN_DIR} | {describe_hardware()}")

# %% [markdown]
# ## 2. The checkpoints
#
# Every numbered checkpoint of the run (training keeps the last few; `keep_last=0` keeps all).

# %%
run = ensure_checkpoints(cfg, RUN_DIR)
print(run.summary())
checkpoints = select_checkpoints(run.checkpoints, MAX_CHECKPOINTS)
model_cfg = run.config()
print(f"comparing epochs {[e for e, _ in checkpoints]}")

# %% [markdown]
# ## 3. Validation data
#
# The run's own validation split and image limit, with the evaluation transform (centre crop).
# The first pairs are the fixed ones that training drew after every epoch.

# %%
ROOT, _ = resolve_data_root(cfg, RUN_DIR)
LABEL = data_label(ROOT)
data = build_datasets(model_cfg.replace(val_limit=EVAL_LIMIT or model_cfg.val_limit), ROOT)
val_content, val_style = data["content_val"], data["style_val"]
n = min(N_PAIRS, len(val_content), len(val_style))
content, style = first_images(val_content, n), first_images(val_style, n)
print(f"data root: {ROOT} | {LABEL}")
print(f"'{model_cfg.val_split}': {len(val_content)} photos, {len(val_style)} anime faces")

# %% [markdown]
# ## 4. The same pairs through every checkpoint
#
# Rows are pairs; after the content and style columns, one column per checkpoint, oldest first.

# %%
rows = compare_checkpoints(checkpoints, content, style, val_content, val_style, DEVICE)
fig = plot_checkpoint_grid(
    content,
    style,
    [(f"epoch {r['epoch']}", r["generated"]) for r in rows],
    title=f"validation pairs by checkpoint | {LABEL}",
)
save_figure(fig, OUT_DIR / "pairs_by_checkpoint.png")
display(fig)

# %% [markdown]
# ## 5. Training loss curves
#
# Mean losses over each epoch's training steps, from the run's `history.csv`.

# %%
history = read_history_csv(run.run_dir / "history.csv")  # [] when there is none
if history:
    display(plot_history(history, title=f"{model_cfg.preset}: mean training losses per epoch"))
else:
    print(f"No history.csv in {run.run_dir}: the run folder holds checkpoints only.")

# %% [markdown]
# ## 6. Validation losses per checkpoint
#
# Content and style loss (and their weighted total, as in training) of each checkpoint over the
# whole validation set, with the training curve for comparison: validation that stops falling
# while training still falls means later checkpoints learn the training images, not the task.

# %%
columns = ["epoch", "checkpoint", "content_loss", "style_loss", "total_loss", "pairs"]
print(format_table(rows, columns, floatfmt=".4f"))

# %%
fig = plot_val_losses(rows, history, title=f"validation vs training loss | {LABEL}")
save_figure(fig, OUT_DIR / "val_losses.png")
display(fig)
