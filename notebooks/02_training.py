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
#   built-in *synthetic* data unless `VITST_DATA_ROOT` is set (`VITST_PRESET=demo`: the anime
#   recipe in a few CPU minutes).
#
# Run it again after a stop (Kaggle's 12 h limit, a lost session): it resumes from the newest
# checkpoint in the run folder. On Kaggle, a new session starts with an empty
# `/kaggle/working`: attach the previous version's output as an input and the run continues
# from its newest checkpoint (`kaggle build --resume-from USER/SLUG` does that and makes the
# notebook stop, before training, if nothing of that run is found).
#
# On Kaggle the built notebook's first cell records the session's start: training and the final
# evaluation share one deadline (12 h less a margin for saving the outputs). A build with
# `--rehearsal` runs a dress rehearsal instead (under 15 minutes) and ends with a verdict.

# %%
import logging
import os
import time

from IPython.display import Image, display

from vitst_utils.dataroot import resolve_data_root
from vitst_utils.env import adapt_to_hardware, describe_environment, on_kaggle, session_deadline
from vitst_utils.explore import data_label
from vitst_utils.plots import plot_history
from vitst_utils.presets import get_preset
from vitst_utils.rundir import default_run_dir, restore_previous_run
from vitst_utils.session import count_training_pairs, final_evaluation, rehearsal_verdict
from vitst_utils.train import train

logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)

# %% [markdown]
# ## 1. Configuration
#
# A preset is a named `TrainConfig`: `anime` (the default) is the recipe that makes portraits
# look drawn (DINO ViT-S/8, upsampling decoder, a cel output stage, identity and adversarial
# losses: README, "The anime recipe"); `seed` is exactly the original experiment, kept for
# side-by-side comparison; `demo` and `smoke` are shrunk to CPU minutes and seconds.
# `RECIPE = "seed"` trains the seed's losses and decoder at the preset's scale. Set
# `EXACT_SEED = True` to keep the seed's own DataParallel + fp32 on GPUs; by default the GPUs
# run DDP with fp16 mixed precision.
# `REHEARSAL` and `RESUME_FROM` come from the Kaggle build (`--rehearsal`, `--resume-from`):
# the rehearsal preset is `anime` on 640 images for 2 epochs.

# %%
REHEARSAL = os.environ.get("VITST_REHEARSAL") == "1"
RESUME_FROM = os.environ.get("VITST_RESUME_FROM") or None  # "user/slug": continue that run
PRESET = os.environ.get("VITST_PRESET") or ("rehearsal" if REHEARSAL else "anime")
RECIPE = None  # None: the preset's own; "seed" or "anime" to swap
EXACT_SEED = False

cfg = get_preset(PRESET, RECIPE)
RUN_DIR = default_run_dir(cfg.run_name)
print(f"preset: {cfg.preset} ({cfg.recipe} recipe) | on Kaggle: {on_kaggle()} | run dir: {RUN_DIR}")
if previous := restore_previous_run(RUN_DIR, source=RESUME_FROM):  # raises if none is found
    print(f"continuing the earlier run found in {previous}")

# %% [markdown]
# ## 2. Hardware
#
# 2 × T4 → DDP across both with fp16; one GPU → single device; no GPU → only the CPU presets
# (smoke, demo) run (anything else stops here with a message, never a silent switch). A card
# this torch has no kernels for (a P100 on Kaggle) stops here too; on Kaggle, fewer GPUs than
# the preset expects give a loud warning. The block below (versions, driver, cards) also opens
# `train.log`: paste it into a bug report.

# %%
print(describe_environment())
cfg = adapt_to_hardware(cfg, exact=EXACT_SEED)
DEADLINE = session_deadline()  # None off Kaggle
if DEADLINE is not None:
    hm = [time.strftime("%H:%M", time.localtime(t)) for t in (DEADLINE, cfg.deadline)]
    print(f"session deadline {hm[0]}; training stops by {hm[1]}, the evaluation by {hm[0]}")
print(cfg.to_json())

# %% [markdown]
# ## 3. Train
#
# One line per epoch with the mean losses, seconds and images/s; `history.csv`, sample grids
# and checkpoints land in the run folder as training goes. The rehearsal trains epoch 1, then
# resumes from its checkpoint for epoch 2, as a second session would.

# %%
if REHEARSAL:
    train(cfg.replace(epochs=1), RUN_DIR, resume=True)
result = train(cfg, RUN_DIR, resume=True)
print(f"{result.epochs_completed}/{cfg.epochs} epochs ({result.stopped})")

# %% [markdown]
# ## 4. Loss curves

# %%
LABEL = data_label(resolve_data_root(cfg, RUN_DIR)[0])  # says so when the data is synthetic
plot_history(result.history, title=f"{cfg.run_name}: mean training losses per epoch | {LABEL}")

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

# %% [markdown]
# ## 7. Scores of the last checkpoint
#
# `vitst_utils.evaluate` on the newest checkpoint, beside the `photo`, `anime` and `filter`
# (a cartoon filter: what an untrained cel model paints) baselines:
# `domain_score` (does it look like anime?), `structure` and `lpips` (is it still this person?),
# FID/KID against the anime images (README: what each metric means). `04_checkpoint_comparison`
# scores every checkpoint and compares runs. It runs in a child process stopped at the session
# deadline, and only with time left; a failure is reported here, the checkpoints stay.

# %%
EVALUATION = final_evaluation(
    RUN_DIR,
    resolve_data_root(cfg, RUN_DIR)[0],
    split=cfg.val_split,
    limit=cfg.val_limit,
    deadline=DEADLINE,
)
print(EVALUATION)

# %% [markdown]
# ## 8. The rehearsal's verdict
#
# Only after a `--rehearsal` build: the cards and versions, the speed, each GPU's peak memory,
# the non-finite steps, how long a full `anime` epoch takes on all of this data and whether its
# 30 epochs fit one session.

# %%
if REHEARSAL:
    full = get_preset("anime", RECIPE)
    pairs = count_training_pairs(resolve_data_root(cfg, RUN_DIR)[0], full)
    env_text = describe_environment()
    verdict = rehearsal_verdict(
        result.history, result.summary, env_text, full, pairs, cfg.epochs, EVALUATION
    )
    print(verdict.text())
