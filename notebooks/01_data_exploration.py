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
# # 01 · Data exploration
#
# A look at the AvatarAnime data before training: how many images each domain (CelebA = real
# photos, the *content*; AnimeFace = anime faces, the *style*) holds per split, which files the
# loader skips and why, image sizes and aspect ratios, colour statistics, sample images, what
# the training transform makes of an image, and the data's quality: near-duplicates, copies
# leaked across splits and outliers, with the exclude list that leaves them out of training. The
# numbers come from `vitst_utils.explore` and `vitst_utils.dataquality`, the figures from
# `vitst_utils.plots`.
#
# The same notebook runs unchanged
# - **on Kaggle**: the AvatarAnime dataset is found under `/kaggle/input` (no GPU needed);
# - **locally on real data**: set `VITST_DATA_ROOT=/path/to/AvatarAnime`;
# - **in smoke mode**: `VITST_PRESET=smoke` explores the built-in *synthetic* sample set
#   (generated in the run folder) unless `VITST_DATA_ROOT` is set.
#
# On the real data each folder is checked up to `CHECK_LIMIT` images and the statistics use a
# fixed sample of `STATS_PER_SPLIT` images per split, so the notebook takes seconds, not minutes.

# %%
import os

import torch
from IPython.display import display

from vitst_utils import dataquality, explore, quality_report
from vitst_utils.data import format_skip_report
from vitst_utils.dataroot import resolve_data_root
from vitst_utils.env import on_kaggle
from vitst_utils.plots import (
    image_grid,
    plot_colour_stats,
    plot_counts,
    plot_image_sizes,
    plot_transform_examples,
)
from vitst_utils.presets import get_preset
from vitst_utils.rundir import default_run_dir

# %% [markdown]
# ## 1. Configuration and data
#
# The preset gives the image size and how many images training takes; the data root is found as
# in training (`VITST_DATA_ROOT`, else a search of `/kaggle/input`; the smoke preset without one
# generates the synthetic set). Every figure of synthetic images says so in its title.

# %%
PRESET = os.environ.get("VITST_PRESET", "anime")
CHECK_LIMIT = 1000  # images decoded per folder to find what the loader skips (None = all)
STATS_PER_SPLIT = 200  # images per split for the size and colour statistics
N_SAMPLES = 12  # images per domain in the sample grids

cfg = get_preset(PRESET)
RUN_DIR = default_run_dir(cfg.run_name)
ROOT, _ = resolve_data_root(cfg, RUN_DIR)
LABEL = explore.data_label(ROOT)
print(f"preset: {cfg.preset} | on Kaggle: {on_kaggle()} | image size: {cfg.image_size}")
print(f"data root: {ROOT}\n{LABEL}")

# %% [markdown]
# ## 2. Images per domain and split
#
# `entries` is everything in a folder, `image files` those with an image extension; `checked`
# files were fully decoded, as the training loader does, and split into `usable` and `skipped`.

# %%
overview = explore.dataset_overview(ROOT, limit_per_split=CHECK_LIMIT)
print(explore.format_table(explore.overview_table(overview)))
print(
    f"\nTraining ({cfg.preset}) takes the first {cfg.train_limit or 'all'} usable images per "
    f"domain of '{cfg.train_split}' and {cfg.val_limit or 'all'} of '{cfg.val_split}'."
)

# %%
plot_counts(overview, title=f"images per domain and split | {LABEL}")

# %% [markdown]
# ## 3. Skipped files and why
#
# Skipped files are left out of training, with a report; they never stop it. The table groups
# them by kind of reason, the lists below name each file.

# %%
skipped = explore.skipped_table(overview)
print(explore.format_table(skipped) if skipped else "No file skipped: every checked one is usable.")
for row in overview:
    if row["skipped"]:
        print("\n" + format_skip_report(row["skipped"], row["folder"], max_items=5))
    if row["error"]:
        print(f"\n{row['domain']}/{row['split']}: {row['error']}")

# %% [markdown]
# ## 4. Image sizes and aspect ratios
#
# The transforms scale the shorter side to the model's image size, then crop a square: a wide or
# tall image loses its edges, and an image smaller than the model's size is scaled up (blurred).

# %%
stats = explore.stats_by_domain(overview, max_per_split=STATS_PER_SPLIT)
print(explore.format_table(explore.size_table(stats, cfg.image_size)))

# %%
plot_image_sizes(stats, cfg.image_size, title=f"image sizes | {LABEL}")

# %% [markdown]
# ## 5. Colour statistics
#
# Per-channel mean and standard deviation of all pixels (values 0-1), with the ImageNet numbers
# that both domains are normalised with. AdaIN moves exactly such channel statistics (of ViT
# features), so the gap between the domains hints at how much of the style is plain colour.

# %%
print(explore.format_table(explore.colour_table(stats)))

# %%
plot_colour_stats(stats, title=f"colour statistics | {LABEL}")

# %% [markdown]
# ## 6. Sample images
#
# A fixed random sample of each domain's training images, as the loader decodes them (RGB,
# EXIF-rotated, transparency on white), captioned with the original size.

# %%
for domain in (cfg.content_domain, cfg.style_domain):
    usable = explore.usable_paths(overview, domain, cfg.train_split)
    images, captions = explore.load_samples(explore.sample_paths(usable, N_SAMPLES))
    display(image_grid(images, captions, cols=6, title=f"{domain} / {cfg.train_split} | {LABEL}"))

# %% [markdown]
# ## 7. What the training transform does
#
# The model sees `image_size`² squares: the evaluation transform (validation, inference) scales
# and crops the centre; the training transform crops at random and flips half the time. Each row
# is one image: the original, the centre crop, then three training draws.

# %%
paths = []
for domain in (cfg.content_domain, cfg.style_domain):
    usable = explore.usable_paths(overview, domain, cfg.train_split)
    paths += explore.sample_paths(usable, 2, seed=1)
examples = explore.transform_examples(paths, cfg.image_size, draws=3, hflip=cfg.hflip)
plot_transform_examples(
    examples, title=f"Resize({cfg.image_size}) + crop (+ flip), denormalised | {LABEL}"
)

# %% [markdown]
# ## 8. Data quality: near-duplicates, leaks and outliers
#
# Scraped face sets hold the same picture twice (resized, re-encoded, cropped a little) and
# pictures that are no face at all. A copy of a training image in `val` or `test` (a *leak*)
# makes every validation number look better than it is. `vitst_utils.dataquality` hashes every
# image (perceptual hash, pHash) and calls two images copies when their hashes differ in at most
# `threshold` bits *and* their 8x8 thumbnails agree; it flags outliers by size, shape and pixel
# spread. Kinds marked `excluded` go into `exclude.txt`, which training reads with
# `--set exclude_file=...` (for a pair only the copy: the val/test one of a leak, the later name
# of a duplicate); `reported` kinds are only listed in `data_quality.csv`. The `other_domain`
# check trains a small photo-vs-anime classifier: it runs here only with a GPU (minutes on a
# CPU); the command at the end runs it and checks every image, not just the first `CHECK_LIMIT`.

# %%
DQ_OUT = RUN_DIR / "data_quality"  # hash cache, data_quality.csv, exclude.txt
DQ_CLASSIFIER = torch.cuda.is_available()
quality = dataquality.check_data(
    ROOT, limit=CHECK_LIMIT, cache_dir=DQ_OUT, classifier=DQ_CLASSIFIER
)
csv_path, exclude_path = quality_report.write_outputs(quality, DQ_OUT)
print(explore.format_table(quality.kind_table()))
print(f"\n{quality.summary()}\nwrote {csv_path} and {exclude_path}")

# %% [markdown]
# Copies: each copy (left: the file the exclude list names) beside its original, with the
# Hamming distance `d` of their hashes. Then the outliers, "(kept)" for those only reported.

# %%
images, captions = explore.pair_examples(quality, n=6)
if images:
    display(image_grid(images, captions, cols=4, title=f"copy | original | {LABEL}"))
else:
    print("No near-duplicates and no leaks found.")

# %%
images, captions = explore.outlier_examples(quality, n=12)
if images:
    display(image_grid(images, captions, cols=6, title=f"outliers | {LABEL}"))
else:
    print("No outliers found.")

# %% [markdown]
# The whole dataset, then training without the excluded files (the run's log says how many it
# left out; its `config.json` records the list's hash):

# %%
print(f"python -m vitst_utils.dataquality --data-root {ROOT} --out {DQ_OUT}")
print(f"python -m vitst_utils.train --preset {cfg.preset} --set exclude_file={exclude_path}")
