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
# # 02 · Training
#
# Trains the vitst style-transfer model (ViT encoder → AdaIN → CNN decoder, VGG19 perceptual
# losses) through `vitst_utils.train`, then shows the loss curves and the per-epoch sample grids.
#
# The same notebook runs unchanged
# - **on Kaggle** (GPU T4 ×2): the AvatarAnime dataset is found under `/kaggle/input`, both GPUs
#   train with DDP in fp16, outputs go to `/kaggle/working/vitst/<preset>`;
# - **locally on real data**: set `VITST_DATA_ROOT=/path/to/AvatarAnime`;
# - **in smoke mode**: `VITST_PRESET=smoke` trains a tiny model on a few images on the CPU, on
#   built-in *synthetic* data unless `VITST_DATA_ROOT` is set.
#
# Run it again after a stop (Kaggle's 12 h limit, a lost session): it resumes from the newest
# checkpoint in the run folder. On Kaggle, a new session starts with an empty
# `/kaggle/working`: attach the previous version's output as an input and the run continues
# from its newest checkpoint.

# %%
import logging
import os

from IPython.display import Image, display

from vitst_utils.config import get_preset
from vitst_utils.data import resolve_data_root
from vitst_utils.env import (
    adapt_to_hardware,
    default_run_dir,
    describe_hardware,
    on_kaggle,
    restore_previous_run,
)
from vitst_utils.explore import data_label
from vitst_utils.plots import plot_history
from vitst_utils.train import train

logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)

# %% [markdown]
# ## 1. Configuration
#
# A preset is a named `TrainConfig`: `seed` is exactly the original experiment, `smoke` the same
# pipeline shrunk to seconds. Set `EXACT_SEED = True` to keep the seed's own DataParallel + fp32
# on GPUs; by default the GPUs run DDP with fp16 mixed precision (same model, same losses).

# %%
PRESET = os.environ.get("VITST_PRESET", "seed")
EXACT_SEED = False

cfg = get_preset(PRESET)
RUN_DIR = default_run_dir(cfg.preset)
print(f"preset: {cfg.preset} | on Kaggle: {on_kaggle()} | run dir: {RUN_DIR}")
if previous := restore_previous_run(RUN_DIR):
    print(f"continuing the earlier run found in {previous}")

# %% [markdown]
# ## 2. Hardware
#
# 2 × T4 → DDP across both with fp16; one GPU → single device; no GPU → only the smoke preset
# runs (anything else stops here with a message, never a silent switch to smoke).

# %%
print(describe_hardware())
cfg = adapt_to_hardware(cfg, exact=EXACT_SEED)
print(cfg.to_json())

# %% [markdown]
# ## 3. Train
#
# One line per epoch with the mean losses, seconds and images/s; `history.csv`, sample grids
# and checkpoints land in the run folder as training goes.

# %%
result = train(cfg, RUN_DIR, resume=True)
print(f"{result.epochs_completed}/{cfg.epochs} epochs ({result.stopped})")

# %% [markdown]
# ## 4. Loss curves

# %%
LABEL = data_label(resolve_data_root(cfg, RUN_DIR)[0])  # says so when the data is synthetic
plot_history(result.history, title=f"{cfg.preset}: mean training losses per epoch | {LABEL}")

# %% [markdown]
# ## 5. Samples: content | style | generated
#
# The same validation pairs after every epoch (the first, the middle and the last epoch here).

# %%
samples = sorted((RUN_DIR / "samples").glob("epoch_*.png"))
for path in sorted({samples[0], samples[len(samples) // 2], samples[-1]}):
    print(path.name)
    display(Image(filename=str(path), width=420))

# %% [markdown]
# ## 6. Where the results are
#
# Checkpoints hold the weights, the config and the training state: `03_inference` stylises new
# photos with one, `04_checkpoint_comparison` compares them all. On Kaggle, fetch them with
# `kaggle kernels output <user>/<slug> -p out/`.

# %%
for path in result.checkpoints:
    print(f"{path}  ({path.stat().st_size / 2**20:.0f} MiB)")
print(f"history: {RUN_DIR / 'history.csv'}\nlog:     {RUN_DIR / 'train.log'}")
