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
# # 03 · Inference
#
# Stylises photos with a trained checkpoint through `vitst_utils.inference`: content/style pairs
# from the held-out test split, every test photo in every test style, and your own photos. The
# pictures are shown here and saved to `<run folder>/inference`.
#
# The same notebook runs unchanged
# - **on Kaggle**: it takes the newest checkpoint in `/kaggle/working/vitst/<preset>`, or in the
#   02_training notebook's output when that is added as an input; a GPU is used if there is one;
# - **locally on real data**: the newest checkpoint in `runs/<preset>` (or `VITST_RUN_DIR`), the
#   test images from `VITST_DATA_ROOT`;
# - **in smoke mode**: `VITST_PRESET=smoke` uses the smoke run's newest checkpoint, training one
#   first (seconds, on the CPU) if there is none, and the *synthetic* test images unless
#   `VITST_DATA_ROOT` is set. Its pictures are noise (a tiny model, two epochs): smoke mode
#   checks that the pipeline runs, not how well it stylises.
#
# Outside smoke mode, no checkpoint means a clear stop: run 02_training first.

# %%
import logging
import os
from pathlib import Path

import torch
from IPython.display import display

from vitst_utils.checkpoint import load_model
from vitst_utils.config import get_preset
from vitst_utils.data import domain_folder, format_skip_report, resolve_data_root, scan_folder
from vitst_utils.env import default_run_dir, describe_hardware
from vitst_utils.explore import data_label
from vitst_utils.inference import ensure_checkpoints, gather_images, stylize_matrix, stylize_pairs
from vitst_utils.plots import plot_style_matrix, sample_grid, save_figure

logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)

# %% [markdown]
# ## 1. Configuration
#
# `MY_IMAGES` takes your photos (files or folders); `VITST_MY_IMAGES` does the same from the
# environment (paths joined by `:`). `VITST_CHECKPOINT` picks a checkpoint file instead of the
# run's newest one.

# %%
PRESET = os.environ.get("VITST_PRESET", "seed")
CHECKPOINT = os.environ.get("VITST_CHECKPOINT")  # a file; None = the newest one of the run
SPLIT = "test"  # held-out images for the pairs
N_PAIRS = 4
MY_IMAGES = []  # your photos: image files and/or folders of them
MY_STYLE = None  # the anime image for your photos; None = the first test style image
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"

cfg = get_preset(PRESET)
RUN_DIR = default_run_dir(cfg.preset)
OUT_DIR = RUN_DIR / "inference"
ROOT, _ = resolve_data_root(cfg, RUN_DIR)
LABEL = data_label(ROOT)
print(f"preset: {cfg.preset} | run dir: {RUN_DIR} | {describe_hardware()}")
print(f"data root: {ROOT} | {LABEL}")

# %% [markdown]
# ## 2. The checkpoint
#
# A checkpoint holds its config, so the model is rebuilt from the file alone (no download).
# The seed notebook's own files load the same way: it saved `nn.DataParallel(model).state_dict()`
# (bare weights, every key prefixed `module.`, no config), which `load_model` reads as the seed
# architecture (ViT-B/16 at 224 px): `VITST_CHECKPOINT=/path/to/its_epoch_50.pth`.

# %%
if CHECKPOINT:
    ckpt_path = Path(CHECKPOINT)
else:
    run = ensure_checkpoints(cfg, RUN_DIR)
    print(run.summary())
    ckpt_path = run.latest
model, model_cfg = load_model(ckpt_path, map_location=DEVICE)
n_params = sum(p.numel() for p in model.parameters()) / 1e6
print(
    f"{ckpt_path.name}: preset {model_cfg.preset} | {model_cfg.vit_name} at "
    f"{model_cfg.image_size} px | {n_params:.1f} M parameters"
)

# %% [markdown]
# ## 3. Test pairs: content | style | generated
#
# The first test photos, each with one test anime face. The photos are scaled and centre-cropped
# to the model's size, as in validation.

# %%
contents, _ = scan_folder(domain_folder(ROOT, model_cfg.content_domain, SPLIT), limit=N_PAIRS)
styles, _ = scan_folder(domain_folder(ROOT, model_cfg.style_domain, SPLIT), limit=N_PAIRS)
pairs = stylize_pairs(model, list(zip(contents, styles, strict=False)), OUT_DIR / SPLIT)
fig = sample_grid(
    pairs.content, pairs.style, pairs.generated, f"{SPLIT} pairs | {ckpt_path.name} | {LABEL}"
)
save_figure(fig, OUT_DIR / f"{SPLIT}_pairs.png")
display(fig)

# %% [markdown]
# ## 4. Every photo in every style
#
# Rows: test photos; columns: test anime faces. A good model keeps each row's person and takes
# each column's look.

# %%
grid = stylize_matrix(model, pairs.content[:3], pairs.style)
fig = plot_style_matrix(
    pairs.content[:3], pairs.style, grid, f"photos x styles | {ckpt_path.name} | {LABEL}"
)
save_figure(fig, OUT_DIR / f"{SPLIT}_matrix.png")
display(fig)

# %% [markdown]
# ## 5. Your own photos
#
# Put image files or folders in `MY_IMAGES` (or set `VITST_MY_IMAGES`) and choose a `MY_STYLE`;
# the results are saved one file each to `<run folder>/inference/my_images`. Unreadable files
# are listed and left out.

# %%
my_images, my_skipped = gather_images(MY_IMAGES or os.environ.get("VITST_MY_IMAGES", ""))
if my_skipped:
    print(format_skip_report(my_skipped, "your images"))
if not my_images:
    print("No images of your own: set MY_IMAGES (or VITST_MY_IMAGES) and run this cell again.")
else:
    my_style = Path(MY_STYLE) if MY_STYLE else styles[0]
    mine = stylize_pairs(model, [(p, my_style) for p in my_images], OUT_DIR / "my_images")
    print(f"{len(mine.paths)} pictures saved to {OUT_DIR / 'my_images'}")
    style_note = "your style image" if MY_STYLE else LABEL
    title = f"your photos | style {my_style.name} ({style_note})"
    display(sample_grid(mine.content[:6], mine.style[:6], mine.generated[:6], title))

# %% [markdown]
# ## 6. Where the results are

# %%
for folder in sorted({p.parent for p in OUT_DIR.rglob("*.png")}):
    print(f"{folder}: {len(list(folder.glob('*.png')))} pictures")
