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
# How the model changes over training, and how runs compare: the same validation pairs through
# every saved checkpoint side by side, and numbers next to the pictures: **domain_score** (does
# it look like anime?), **crispness** (drawn lines, not blur), **structure**, **identity_top1**
# and **lpips** (is it still this person?), **fid** / **kid** / **art_fid** (how close the
# outputs are to the anime images as a set), and the training losses (each term and `rec_loss`,
# their weighted sum, as in history.csv). Three baseline rows need no model: `photo` (the photos
# as they are), `anime` (the anime images) and `filter` (each photo in its anime image's colours,
# palette and outlines: a cartoon filter, what an untrained cel model paints; a trained model
# should beat it). The work is done by `vitst_utils.evaluate` (also
# a command line: `python -m vitst_utils.evaluate --run runs/seed runs/anime`); what the metrics
# mean is in the README.
#
# The same notebook runs unchanged
# - **on Kaggle**: it compares the checkpoints in `/kaggle/working/vitst/<preset>`, or in the
#   02_training notebook's output when that is added as an input; FID/KID/LPIPS weights download
#   (internet on); a GPU is used if there is one;
# - **locally on real data**: the checkpoints in `runs/<preset>` (or `VITST_RUN_DIR`), the
#   images from `VITST_DATA_ROOT`;
# - **in smoke mode**: `VITST_PRESET=smoke` compares the smoke run's checkpoints, training them
#   first (seconds, on the CPU) if there are none, on the *synthetic* images unless
#   `VITST_DATA_ROOT` is set. Its pictures and numbers check the pipeline only.
#
# More runs side by side (e.g. `seed` and `anime`): list their folders in `COMPARE_RUNS`, or
# set `VITST_COMPARE_RUNS` (folders joined by `:`). Outside smoke mode, no checkpoint means a
# clear stop: run 02_training first.

# %%
import logging
import os
from pathlib import Path

import torch
from IPython.display import display

from vitst_utils.dataroot import resolve_data_root
from vitst_utils.env import describe_hardware
from vitst_utils.evaluate import evaluate_runs
from vitst_utils.plots import plot_balance, plot_history, plot_val_losses, save_figure
from vitst_utils.presets import get_preset
from vitst_utils.rundir import default_run_dir, ensure_checkpoints, read_history

logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)

# %% [markdown]
# ## 1. Configuration

# %%
PRESET = os.environ.get("VITST_PRESET", "anime")
COMPARE_RUNS = []  # other run folders scored on the same pairs, e.g. ["runs/anime"]
COMPARE_RUNS += [p for p in os.environ.get("VITST_COMPARE_RUNS", "").split(os.pathsep) if p]
MAX_CHECKPOINTS = 8  # per run; more are thinned out evenly (first and last always kept)
N_PAIRS = 4  # pairs shown in the picture grid
SPLIT = "val"
LIMIT = 200  # pairs scored per checkpoint (FID wants many; lower it on a CPU)
WEIGHTS_DIR = None  # a folder with the FID/KID/LPIPS weight files, for offline use (README)
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"

cfg = get_preset(PRESET)
RUN_DIR = default_run_dir(cfg.run_name)
OUT_DIR = RUN_DIR / "comparison"
print(f"preset: {cfg.preset} | run dir: {RUN_DIR} | {describe_hardware()}")

# %% [markdown]
# ## 2. The checkpoints
#
# Every numbered checkpoint of the run (training keeps the last few; `keep_last=0` keeps all),
# and of each run in `COMPARE_RUNS`. In smoke mode the other recipe at the same size is added
# (trained in seconds if missing), so the seed and anime recipes sit side by side.

# %%
run = ensure_checkpoints(cfg, RUN_DIR)
print(run.summary())
if cfg.preset == "smoke":
    other = get_preset(PRESET, recipe="anime" if cfg.recipe == "seed" else "seed")
    COMPARE_RUNS.append(ensure_checkpoints(other, RUN_DIR.parent / other.run_name).run_dir)
ROOT, _ = resolve_data_root(cfg, RUN_DIR)
RUNS = [run.run_dir, *COMPARE_RUNS]
print(f"runs: {[str(r) for r in RUNS]} | data root: {ROOT}")

# %% [markdown]
# ## 3. Scoring every checkpoint on the same pairs
#
# The first `LIMIT` photo/anime pairs of the split go through every checkpoint; the
# photo-vs-anime classifier behind `domain_score` trains first (seconds; cached afterwards).
# Tables and the figure are also written to `OUT_DIR` (metrics.csv, metrics.json, metrics.png).

# %%
result = evaluate_runs(
    RUNS,
    data_root=ROOT,
    split=SPLIT,
    limit=LIMIT,
    out=OUT_DIR,
    device=DEVICE,
    weights_dir=WEIGHTS_DIR,
    max_checkpoints=MAX_CHECKPOINTS,
    keep_samples=N_PAIRS,
)
for problem in result.problems:
    print(f"problem: {problem}")

# %% [markdown]
# ## 4. The same pairs through every checkpoint
#
# Rows are pairs; after the content and style columns, one column per checkpoint (run · epoch),
# oldest first. The first pairs are the fixed ones that training drew after every epoch.

# %%
fig = result.pairs_figure()
save_figure(fig, OUT_DIR / "pairs_by_checkpoint.png")
display(fig)

# %% [markdown]
# ## 5. The metrics
#
# One row per baseline and checkpoint. `n/a`: the metric could not run (the reason is below);
# empty: it does not apply (a baseline has no VGG losses). Read `domain_score` only if the
# classifier's held-out accuracy is high, and compare FID/KID between runs on the same pairs
# only, never with published numbers.

# %%
print(result.text())

# %% [markdown]
# ## 6. Metric curves
#
# One panel per metric: a line per run across epochs, the `photo`, `anime` and `filter` baselines
# dashed. A good anime model moves `domain_score` and `crispness` towards the anime line while
# `structure` and `identity_top1` stay well above it (the anime row is an unrelated pairing), and
# ends above the `filter` line: what a model learnt over a cartoon filter.

# %%
display(result.figure())

# %% [markdown]
# ## 7. Training loss curves
#
# Mean losses over each epoch's training steps, from each run's `history.csv`, and the loss
# balance: each term's share of the generator's gradient (one band filling the panel means
# one term drowns the others) and the adversary's adaptive weight.

# %%
for run_dir in RUNS:
    history = read_history(run_dir)  # [] when there is none
    if not history:
        print(f"No history.csv in {run_dir}: the run folder holds checkpoints only.")
        continue
    display(plot_history(history, title=f"{Path(run_dir).name}: mean training losses"))
    if any(k.endswith("_share") for k in history[-1]):
        display(plot_balance(history, title=f"{Path(run_dir).name}: loss balance"))
history = read_history(run.run_dir)

# %% [markdown]
# ## 8. Validation losses per checkpoint
#
# `rec_loss` (the weighted sum of every loss term but the adversarial one: the same number as
# history.csv's `rec_loss`), content and style loss of each checkpoint over the scored pairs,
# with the training curves for comparison: validation that stops falling while training still
# falls means later checkpoints learn the training images, not the task. (`total_loss` adds
# the adversarial term, which needs the discriminator: training's curve only.)

# %%
fig = plot_val_losses(
    result.rows_of(run.run_dir), history, title=f"validation vs training loss | {result.label}"
)
save_figure(fig, OUT_DIR / "val_losses.png")
display(fig)
