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
# Stylises photos with a trained checkpoint through `vitst_utils` (`stylize`, `prototype`,
# `photos`; `python -m vitst_utils.inference` is the command line): test pairs, every
# test photo in every test style, the anime domain's **prototype** (a photo becomes anime with
# no style image to choose), a **whole photo** at its own aspect ratio and size, the
# **controls** (style strength `alpha`, preserving the photo's colours, blending two styles)
# and your own photos in a batch. Every picture is saved to `<run folder>/inference`; each
# section names the command line that does the same.
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

from vitst_utils.data import (
    domain_folder,
    format_skip_report,
    gather_images,
    image_tensor,
    load_image,
    scan_folder,
)
from vitst_utils.dataroot import resolve_data_root
from vitst_utils.env import describe_hardware
from vitst_utils.explore import data_label
from vitst_utils.plots import image_grid, plot_style_matrix, sample_grid, save_figure
from vitst_utils.presets import get_preset
from vitst_utils.rundir import default_run_dir, ensure_checkpoints

logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)

# %%
from vitst_utils.photos import stylize_files, stylize_matrix, stylize_pairs
from vitst_utils.prototype import build_prototype, load_prototype, save_prototype
from vitst_utils.stylize import (
    load_for_inference,
    style_target,
    stylize_image,
    target_from_prototype,
)

# %% [markdown]
# ## 1. Configuration
#
# `MY_IMAGES` takes your photos (files or folders); `VITST_MY_IMAGES` does the same from the
# environment (paths joined by `:`). `VITST_CHECKPOINT` picks a checkpoint file (a training
# checkpoint, a slim export or a seed state dict) instead of the run's newest one.

# %%
PRESET = os.environ.get("VITST_PRESET", "anime")
CHECKPOINT = os.environ.get("VITST_CHECKPOINT")  # a file; None = the newest one of the run
SPLIT = "test"  # held-out images for the pairs
N_PAIRS = 4
MY_IMAGES = []  # your photos: image files and/or folders of them
MY_STYLE = None  # an anime image for your photos; None = the prototype
PROTOTYPE = None  # a prototype file (--save-prototype); None = the checkpoint's own or built
SIZE = None  # output short side in px; None = the training size; "original" = the photo's own
FACE_CROP = False  # crop the largest face (OpenCV Haar cascade) before stylising your photos
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"

cfg = get_preset(PRESET)
RUN_DIR = default_run_dir(cfg.run_name)
OUT_DIR = RUN_DIR / "inference"
ROOT, _ = resolve_data_root(cfg, RUN_DIR)
LABEL = data_label(ROOT)
print(f"preset: {cfg.preset} | run dir: {RUN_DIR} | {describe_hardware()}")
print(f"data root: {ROOT} | {LABEL}")

# %% [markdown]
# ## 2. The checkpoint
#
# A checkpoint holds its config, so the model is rebuilt from the file alone (no download),
# here without the VGG19 loss net, which stylising does not need. The seed notebook's own files
# load the same way: it saved `nn.DataParallel(model).state_dict()` (bare weights, every key
# prefixed `module.`, no config), which is read as the seed architecture (ViT-B/16 at 224 px):
# `VITST_CHECKPOINT=/path/to/its_epoch_50.pth`.

# %%
if CHECKPOINT:
    ckpt_path = Path(CHECKPOINT)
else:
    run = ensure_checkpoints(cfg, RUN_DIR)
    print(run.summary())
    ckpt_path = run.latest
model, model_cfg, own_prototype = load_for_inference(ckpt_path, DEVICE)
n_params = sum(p.numel() for p in model.parameters()) / 1e6
print(
    f"{ckpt_path.name}: preset {model_cfg.preset} | {model_cfg.vit_name} at "
    f"{model_cfg.image_size} px | {n_params:.1f} M parameters (without the VGG19) | "
    f"prototype: {'stored' if own_prototype else 'none stored'}"
)

# %% [markdown]
# ## 3. Test pairs: content | style | generated
#
# The first test photos, each with one test anime face, scaled and centre-cropped to the
# model's size as in validation.

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
# ## 5. The anime prototype: no style image to choose
#
# The prototype is the anime domain's mean AdaIN statistics (per-channel mean and std of the
# encoder's features, averaged over many style images). Training stores one in every newer
# checkpoint; for an older one (or a seed state dict) it is built here from the training style
# images and saved. Command line: `--checkpoint C --style DIR --save-prototype proto.pt`, then
# `--prototype proto.pt` (or nothing, with a checkpoint that stores one).

# %%
if PROTOTYPE:
    prototype, proto_note = load_prototype(PROTOTYPE, model), f"from {PROTOTYPE}"
elif own_prototype is not None:
    prototype, proto_note = own_prototype, "stored in the checkpoint"
else:
    style_dir = domain_folder(ROOT, model_cfg.style_domain, model_cfg.train_split)
    prototype = build_prototype(model, style_dir, limit=200)
    proto_path = save_prototype(prototype, OUT_DIR / "prototype.pt")
    proto_note = f"built from {style_dir} and saved to {proto_path}"
print(f"prototype of {prototype['count']} style images, {proto_note}")
anime = target_from_prototype(prototype, "anime")
shown = [stylize_image(model, p, anime) for p in contents[:N_PAIRS]]
images = [t for pair in shown for t in pair]
titles = [t for p in contents[:N_PAIRS] for t in (p.name, "prototype")]
fig = image_grid(images, titles, cols=4, title=f"photo -> prototype | {LABEL}")
save_figure(fig, OUT_DIR / "prototype.png")
display(fig)

# %% [markdown]
# ## 6. A whole photo, at its own aspect ratio
#
# The photo is not cropped: its short side goes to the training size (`--size N` picks another,
# `--size original` keeps its pixels), and inside the model it is padded to the ViT's patch
# multiple and cropped back; the ViT's position embedding is resampled to the grid. Shown: the
# training size, the photo's own size and twice the training size, for a test photo, or your
# first photo when `MY_IMAGES` is set.

# %%
my_images, my_skipped = gather_images(MY_IMAGES or os.environ.get("VITST_MY_IMAGES", ""))
photo_path = my_images[0] if my_images else contents[0]
photo = load_image(photo_path)
sizes = (None, "original", 2 * model_cfg.image_size)
results = {s: stylize_image(model, photo, anime, size=s)[1] for s in sizes}
captions = [
    f"--size {s or model_cfg.image_size}: {t.shape[2]} x {t.shape[1]}" for s, t in results.items()
]
fig = image_grid(
    [photo, *results.values()],
    [f"{photo_path.name}: {photo.width} x {photo.height}", *captions],
    cols=4,
    title=f"whole frame | {LABEL}",
)
save_figure(fig, OUT_DIR / "whole_frame.png")
display(fig)

# %% [markdown]
# ## 7. The controls
#
# As in pytorch-AdaIN: **alpha** blends the AdaIN features with the photo's own (0: the photo
# decoded, 1: full style; `--alpha 0.5`); **preserve colour** keeps the photo's colours, by
# colour-matching the style image to the photo first (`coral`, the default with style images)
# or by keeping the photo's chroma under the output's brightness (`luminance`, the default with
# a prototype; `--preserve-color [coral|luminance]`); **interpolation** blends the statistics
# of several style images (`--style a.png b.png --style-weights 3 1`).

# %%
one_style = style_target(model, styles[:1])
row = [stylize_image(model, photo, one_style, alpha=a)[1] for a in (0.0, 0.5, 1.0)]
row += [stylize_image(model, photo, anime, preserve_color="luminance")[1]]
row += [stylize_image(model, photo, one_style, preserve_color="coral")[1]]
captions = ["alpha 0", "alpha 0.5", "alpha 1", "prototype, luminance", "style, coral"]
fig = image_grid(
    [photo, image_tensor(styles[0], model_cfg.image_size)[0], *row],
    ["photo", f"style {styles[0].name}", *captions],
    cols=7,
    title=f"alpha and preserved colour | {LABEL}",
)
save_figure(fig, OUT_DIR / "controls.png")
display(fig)

# %%
weights = [(1, 0), (0.75, 0.25), (0.5, 0.5), (0.25, 0.75), (0, 1)]
blends = [stylize_image(model, photo, style_target(model, styles[:2], w))[1] for w in weights]
ends = [image_tensor(s, model_cfg.image_size)[0] for s in styles[:2]]
fig = image_grid(
    [ends[0], *blends, ends[1]],
    [styles[0].name, *[f"weights {a:g} / {b:g}" for a, b in weights], styles[1].name],
    cols=7,
    title=f"interpolating two styles | {LABEL}",
)
save_figure(fig, OUT_DIR / "interpolation.png")
display(fig)

# %% [markdown]
# ## 8. Your own photos
#
# Put image files or folders in `MY_IMAGES` (or set `VITST_MY_IMAGES`); they are stylised whole
# (or their largest face, with `FACE_CROP`) towards `MY_STYLE`, or the prototype, and saved one
# file each to `<run folder>/inference/my_images`, exactly as
# `python -m vitst_utils.inference --checkpoint C --content FILES_OR_DIRS --out DIR` does.
# Unreadable files are listed and left out.

# %%
if my_skipped:
    print(format_skip_report(my_skipped, "your images"))
if not my_images:
    print("No images of your own: set MY_IMAGES (or VITST_MY_IMAGES) and run this cell again.")
else:
    target = style_target(model, [MY_STYLE]) if MY_STYLE else anime
    report = stylize_files(
        model, my_images, target, OUT_DIR / "my_images", size=SIZE, face_crop=FACE_CROP
    )
    for path in report.no_face:
        print(f"no face found in {path.name}: stylised the whole photo")
    print(f"{len(report.outputs)} pictures saved to {OUT_DIR / 'my_images'}")
    shown = [im for pair in report.outputs[:6] for im in map(load_image, pair)]
    display(image_grid(shown, [p.name for pair in report.outputs[:6] for p in pair], cols=4))

# %% [markdown]
# ## 9. Where the results are

# %%
for folder in sorted({p.parent for p in OUT_DIR.rglob("*.png")}):
    print(f"{folder}: {len(list(folder.glob('*.png')))} pictures")

# %% [markdown]
# ## 10. Video: a clip, steady, with its sound
#
# `vitst_utils.video` stylises a clip frame by frame and writes H.264 MP4 at the source's frame
# rate with the **audio copied**; the command line is
# `python -m vitst_utils.video --checkpoint C --input clip.mp4 --out clip_anime.mp4`.
# Frames stylised on their own **flicker**; `--temporal` steadies them: `stats` averages over
# time what AdaIN normalises (the content statistics, and each token where it did not change),
# `flow` (the default) also blends in the previous output moved along the optical flow where the
# flow is reliable. The **flicker** is the warping error (Lai et al. 2018): how much each output
# frame differs from the previous one moved by the *input's* flow; the input's own error is
# beside it, so *added* is what stylising added. *Structure* (SSIM of luminance against the
# input frame) checks that steadier does not mean smeared. `VIDEO` (or `VITST_VIDEO`) takes your
# clip; by default the synthetic sample clip is written first (a drawn face that moves, turns a
# little and blinks, with a tone), as `python -m vitst_utils.sample_clip` does.

# %%
from IPython.display import Markdown, Video

from vitst_utils.sample_clip import make_sample_clip
from vitst_utils.video import compare_temporal, format_table
from vitst_utils.videoio import frames_at, probe

VIDEO = os.environ.get("VITST_VIDEO")  # a clip of your own; None = the synthetic sample clip
VIDEO_SECONDS = 1.0  # stylise the first second only (the sample clip lasts 2 s)
video_dir = OUT_DIR / "video"
clip = Path(VIDEO) if VIDEO else make_sample_clip(video_dir / "sample_clip.mp4")
print(probe(clip).summary())
reports = compare_temporal(model, clip, anime, video_dir, duration=VIDEO_SECONDS)
display(Markdown(format_table(reports)))

# %%
picks = [0, 8, 16, 23]
rows = [frames_at(clip, picks)] + [frames_at(r.path, picks) for r in reports]
labels = ["input"] + [f"--temporal {r.temporal}" for r in reports]
fig = image_grid(
    [im for row in rows for im in row],
    [f"{label}, frame {i}" for label in labels for i in picks],
    cols=len(picks),
    title=f"video frames | {LABEL}",
)
save_figure(fig, OUT_DIR / "video_frames.png")
display(fig)
for r in reports:
    print("\n".join(r.lines()))
display(Video(str(reports[-1].path), embed=True, width=320))
