"""Recipes (what is trained, whatever the scale) and presets (a recipe at a scale): named
`TrainConfig`s, not code branches. `get_preset("demo", recipe="seed")` trains the other recipe
at the same scale."""

from __future__ import annotations

from typing import Any

from .config import TrainConfig

# --- recipes: what is trained, whatever the scale -----------------------------------------------
# The fields a recipe decides (architecture choices and losses); the rest is the preset's scale.
RECIPE_FIELDS = (
    "vit_layers",
    "decoder",
    "output_space",
    "cel_colors",
    "cel_ink",
    "cel_tau",
    "cel_line",
    "cel_simplify",
    "cel_clean",
    "cel_match",
    "cel_tone",
    "fusion",
    "freeze_encoder",
    "vgg_layers",
    "content_layer",
    "content_criterion",
    "content_norm",
    "style_loss",
    "style_norm",
    "lambda_content",
    "lambda_style",
    "lambda_gram_gray",
    "gram_layer",
    "lambda_identity_pixel",
    "lambda_identity_feature",
    "lambda_identity_edges",
    "lambda_tv",
    "tv_kind",
    "lambda_color",
    "lambda_luma",
    "luma_blur",
    "luma_close",
    "luma_norm",
    "lambda_palette",
    "lambda_edges",
    "lambda_adv",
    "adv_adaptive",
    "gan_loss",
    "d_blur_weight",
    "d_augment",
    "betas",
)

# The seed's: TrainConfig's defaults (the last ViT block, the transposed-convolution decoder
# read as a normalised image, MSE content at relu3_1, mean/std style over relu1_1-relu5_1,
# AdamW defaults, no other term).
SEED_RECIPE: dict[str, Any] = {f: getattr(TrainConfig(), f) for f in RECIPE_FIELDS}


def _recipe(**overrides: Any) -> dict[str, Any]:
    """A recipe as what it changes from the seed's; only RECIPE_FIELDS, so that swapping
    recipes (`get_preset(name, recipe=...)`) resets everything the other one set."""
    unknown = sorted(set(overrides) - set(RECIPE_FIELDS))
    if unknown:
        raise ValueError(f"{unknown} are not recipe fields: add them to presets.RECIPE_FIELDS")
    return overrides


# The anime recipe; README "The anime recipe" gives each choice's source. The encoder's blocks
# (`vit_layers`) and whether it is frozen depend on the backbone: the presets set them.
ANIME_RECIPE: dict[str, Any] = _recipe(
    decoder="upsample",
    output_space="cel",  # drawn by construction: the style's palette, inked (cel.py)
    vgg_layers=(1, 6, 11, 20),
    content_layer=3,  # the VGG content term is off (layout comes from `lambda_luma`); these
    content_norm=True,  # shape it for who turns it back on (StyTr2's normalised relu4_1)
    lambda_content=0.0,
    style_norm=True,
    lambda_identity_pixel=100.0,
    lambda_identity_edges=100.0,
    tv_kind="l1",  # TV is off (the palette term flattens fills); who turns it on gets L1
    lambda_luma=30.0,
    luma_close=3,
    luma_norm=True,
    lambda_palette=10.0,
    lambda_edges=50.0,
    lambda_adv=0.3,
    adv_adaptive=True,
    d_blur_weight=1.7,
    d_augment="color,translation,cutout",
    betas=(0.5, 0.999),
)

RECIPES: dict[str, dict[str, Any]] = {"seed": SEED_RECIPE, "anime": ANIME_RECIPE}

# --- presets: a recipe at a scale --------------------------------------------------------------
# Exactly the seed experiment (see ../shared/seed/SEED_SUMMARY.md): DataParallel, fp32.
# No speed lever either: the seed's way is what the benchmark compares the fast path against.
SEED = TrainConfig(
    preset="seed",
    expected_gpus=2,  # the seed ran on Kaggle's GPU T4 x2
    strategy="dp",
    amp=False,
    batched_passes=False,
    channels_last=False,
    fused_adam=False,
    cudnn_benchmark=False,
)

# The seed's pipeline shrunk to seconds on a 2-core CPU: tiny ViT, 64 px, random weights.
SMOKE = TrainConfig(
    preset="smoke",
    synthetic_data=True,
    image_size=64,
    train_limit=8,
    val_limit=4,
    batch_size=4,
    num_workers=0,
    vit_name="test_vit",
    pretrained=False,
    decoder_channels=(64, 32, 16, 16),
    epochs=2,
    save_every=1,
    strategy="single",
    amp=False,
    num_samples=2,
)

# Real training on Kaggle 2 x T4: DINO ViT-S/8 (frozen, three blocks), all training images,
# fp16 DDP, stopping itself before Kaggle's 12 h limit.
ANIME = TrainConfig(
    **ANIME_RECIPE,
    preset="anime",
    recipe="anime",
    vit_name="vit_small_patch8_224.dino",
    vit_layers=(3, 7, 11),
    freeze_encoder=True,
    decoder_channels=(256, 128, 64),
    train_limit=None,
    batch_size=16,
    num_workers=2,  # per loader and DDP rank: 2 ranks x 2 loaders x 2 on Kaggle's 4 cores
    lr=1e-4,
    d_lr=2e-4,
    lr_schedule="cosine",
    warmup_steps=500,
    min_lr_ratio=0.1,
    epochs=30,
    adv_start_epoch=4,
    save_every=1,
    time_budget_minutes=11 * 60,
    expected_gpus=2,  # Kaggle's GPU T4 x2
    cache_images="auto",  # Kaggle's 4 vCPUs decode ~32 img/s; two T4s ask for 60-90
)

# A dress rehearsal of `anime` on Kaggle in under 15 minutes (README, "Train on Kaggle"): the
# same model, weights, data, fp16 and both GPUs, on 640 images for 2 epochs with the adversary
# in the second. `python -m vitst_utils.kaggle build --rehearsal` runs it: epoch 1, a resume
# from its checkpoint for epoch 2, the final evaluation, and a verdict on the full run.
REHEARSAL = ANIME.replace(
    preset="rehearsal",
    train_limit=640,
    val_limit=64,
    epochs=2,
    adv_start_epoch=2,
    warmup_steps=20,
    prototype_images=128,
    time_budget_minutes=10,  # per training call: the plan takes about 1 min of it
)

# The anime recipe shrunk to a few minutes on a 2-core CPU, on the synthetic data: a tiny
# random-weight ViT with 4 px patches (a 16 x 16 grid at 64 px, as ViT-S/8's 28 x 28 at 224),
# frozen as in `anime` (a random ViT still keeps the layout; trained, the adversary warped its
# tokens into grid artefacts); its first three blocks fused (a random ViT's early blocks keep
# the most layout); random VGG19 (nothing is downloaded); a higher lr for tiny nets, D at 2 x G
# as in `anime`; 128 images, the adversary from epoch 3. README "The anime recipe" has the runs.
DEMO = TrainConfig(
    **ANIME_RECIPE,
    preset="demo",
    recipe="anime",
    synthetic_data=True,
    image_size=64,
    train_limit=128,
    val_limit=8,
    batch_size=4,
    num_workers=0,
    vit_name="test_vit",
    vit_kwargs={"patch_size": 4},
    vit_layers=(0, 1, 2),
    freeze_encoder=True,
    pretrained=False,
    decoder_channels=(64, 32),
    d_channels=32,
    lr=1e-3,
    d_lr=2e-3,
    lr_schedule="cosine",
    warmup_steps=20,
    min_lr_ratio=0.1,
    epochs=14,  # 448 steps: 4:15 from a fresh clone on idle 2 cores (README "Two commands")
    adv_start_epoch=3,
    save_every=5,
    strategy="single",
    amp=False,
    num_samples=4,
    prototype_images=64,
)

PRESETS: dict[str, TrainConfig] = {
    "seed": SEED,
    "anime": ANIME,
    "demo": DEMO,
    "smoke": SMOKE,
    "rehearsal": REHEARSAL,
}


def get_preset(name: str, recipe: str | None = None, **overrides: Any) -> TrainConfig:
    """A named preset, optionally with the other recipe at the same scale (`recipe="seed"`
    trains the seed's losses and decoder at demo size, for side-by-side comparisons), then
    field overrides: `get_preset("seed", pretrained=False)`."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}. Available: {', '.join(PRESETS)}")
    cfg = PRESETS[name]
    if recipe is not None and recipe != cfg.recipe:
        if recipe not in RECIPES:
            raise ValueError(f"Unknown recipe {recipe!r}. Available: {', '.join(RECIPES)}")
        cfg = cfg.replace(**RECIPES[recipe], recipe=recipe)
    return cfg.replace(**overrides)
