"""One `TrainConfig` holds every knob (`presets.py`: the named configs, not code branches)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The dataset's layout (Kaggle `tuantai229/avataranime`): <root>/<domain>/<split>/*.jpg
CONTENT_DOMAIN = "CelebA"
STYLE_DOMAIN = "AnimeFace"

# The cel output stage's settings (cel.py; chosen in the fifth tuning round, README "The anime
# recipe"): palette colours, the RGB distances between fills for no ink .. full ink, the
# softness of the palette snap (softmax of -distance^2 / tau); the share of the style's pixels
# its line colour is read from (the sixth round); the most simplifying passes that bring a
# picture's ink down to its style image's (the seventh round); the edge-aware passes that clean
# speckle out of the fills first, when stylising only (the eighth round); how the photo takes
# the style's colours: its mean and std per channel ("histogram": per-channel histogram
# matching, an option the tenth round did not adopt); the share of the way its luma then moves
# to the style's luma histogram, when stylising only (the eleventh round: of the shares 0.4 / 0.5
# / 0.6 / 0.75 / 1, the filter's best that passed that round's rule on its ten tuning families)
CEL_COLORS, CEL_INK, CEL_TAU, CEL_LINE, CEL_SIMPLIFY = 10, (0.08, 0.2), 0.002, 0.02, 3
CEL_CLEAN, CEL_MATCH, CEL_TONE = 3, "adain", 0.6

# Fields that decide the network's shape (model.MODEL_ARGS) and the loss net's layers: a run
# only resumes from a checkpoint whose config agrees on all of them (not `cel_clean` and
# `cel_tone`: they never run in training, so a run saved before them resumes with them).
MODEL_FIELDS = (
    "vit_name",
    "vit_kwargs",
    "vit_layers",
    "image_size",
    "decoder",
    "decoder_channels",
    "output_space",
    "cel_colors",
    "cel_ink",
    "cel_tau",
    "cel_line",
    "cel_simplify",
    "cel_match",
    "fusion",
    "vgg_layers",
)


@dataclass
class TrainConfig:
    """Every knob of a vitst run: data, model, losses, optimisation and runtime."""

    preset: str = "custom"
    recipe: str = "seed"  # what is trained: seed | anime (presets.RECIPES); the preset: the scale

    # --- data -------------------------------------------------------------------------------
    data_root: str | None = None  # None: explicit > $VITST_DATA_ROOT > /kaggle/input discovery
    synthetic_data: bool = False  # no data root found: generate the built-in synthetic set
    content_domain: str = CONTENT_DOMAIN
    style_domain: str = STYLE_DOMAIN
    train_split: str = "train"
    val_split: str = "val"
    image_size: int = 224
    train_limit: int | None = 800  # images per domain; None = all
    val_limit: int | None = 100
    batch_size: int = 8  # global batch: split over GPUs by DP and DDP
    num_workers: int = 2
    hflip: bool = True
    exclude_file: str | None = None  # paths (relative to the data root) left out of every split
    exclude_sha256: str | None = None  # written by training: which exclude list the run used

    # --- model ------------------------------------------------------------------------------
    vit_name: str = "vit_base_patch16_224"
    vit_kwargs: dict[str, Any] = field(default_factory=dict)  # timm overrides: {"patch_size": 8}
    vit_layers: tuple[int, ...] = ()  # blocks fused (timm forward_intermediates); () = last+norm
    pretrained: bool = True  # real weights: from the hub, or from the files below
    vit_weights_file: str | None = None  # local timm weights (.safetensors / .pth)
    vgg_weights_file: str | None = None  # local torchvision vgg19 state dict
    decoder: str = "convtranspose"  # convtranspose (the seed's) | upsample (nearest x2 + conv)
    decoder_channels: tuple[int, ...] = (512, 256, 128, 64)  # one width per x2 stage
    output_space: str = "normalized"  # the seed's: Tanh read as a normalised image | pixels | cel
    # cel (cel.py): a change to the colour-matched photo, filled with the style's palette, inked
    cel_colors: int = CEL_COLORS  # palette colours (k-means of the style image)
    cel_ink: tuple[float, ...] = CEL_INK  # RGB distances between fills: no ink .. full ink
    cel_tau: float = CEL_TAU  # softness of the palette snap (softmax of -distance^2 / tau)
    cel_line: float = CEL_LINE  # share of the style's pixels its ink is read from; 0: darkest
    cel_simplify: int = CEL_SIMPLIFY  # most passes simplifying to the style's ink length; 0: none
    cel_clean: int = CEL_CLEAN  # edge-aware passes cleaning speckle when stylising; 0: none
    cel_match: str = CEL_MATCH  # the photo takes the style's colours: adain | histogram
    cel_tone: float = CEL_TONE  # share of the way to the style's luma histogram when stylising
    freeze_encoder: bool = False
    fusion: str = "adain"  # how the style enters: adain (global statistics) | attention (AdaAttN)
    encoder_lr_scale: float = 1.0  # the ViT's lr = lr x this (a pretrained encoder: lower)

    # --- losses -----------------------------------------------------------------------------
    vgg_layers: tuple[int, ...] = (1, 6, 11, 20, 29)  # ReLU indices in vgg19().features
    content_layer: int = 2  # index into vgg_layers (2 -> relu3_1)
    content_criterion: str = "mse"  # mse | l1
    content_norm: bool = False  # compare mean-variance-normalised features (StyTr2)
    style_loss: str = "mean_std"  # mean_std | gram
    style_norm: bool = False  # style terms relative to the style's own magnitude (scale-free)
    lambda_content: float = 3.0
    lambda_style: float = 1.0
    lambda_gram_gray: float = 0.0  # AnimeGANv2: L1 of Gram matrices vs the *grayscale* anime
    gram_layer: int = 3  # index into vgg_layers for lambda_gram_gray (3 -> relu4_1)
    lambda_identity_pixel: float = 0.0  # StyTr2: decode(AdaIN(c, c)) = c, decode(s, s) = s
    lambda_identity_feature: float = 0.0  # ... the same in VGG features (all vgg_layers)
    lambda_identity_edges: float = 0.0  # L1 of neighbour differences, decode(s, s) vs s
    lambda_tv: float = 0.0  # total variation of the output
    tv_kind: str = "l2"  # l2 (AnimeGANv2: squared differences, blurs lines) | l1 (keeps edges)
    lambda_color: float = 0.0  # AnimeGANv2: YUV colour of the output vs the photo
    lambda_luma: float = 0.0  # L1 of blurred luminance, output vs photo: layout, not lines
    luma_blur: float = 0.03  # that blur's sigma, as a fraction of image_size
    luma_close: int = 0  # odd px: the output's thin dark lines are closed away first (0: off)
    luma_norm: bool = False  # layout up to the output's own brightness and contrast
    lambda_palette: float = 0.0  # sliced Wasserstein of pixel colours, output vs style image
    lambda_edges: float = 0.0  # sliced Wasserstein of local gradients, output vs style image

    # --- adversary (lambda_adv > 0 adds a PatchGAN discriminator on the anime domain) ------
    lambda_adv: float = 0.0
    adv_adaptive: bool = False  # VQGAN's adaptive weight: lambda_adv x |grad rec| / |grad adv|
    adv_weight_max: float = 1e4  # the adaptive weight's clamp (VQGAN: 1e4)
    gan_loss: str = "lsgan"  # lsgan | hinge
    adv_start_epoch: int = 1  # epochs before this train reconstruction only (AnimeGAN init)
    d_channels: int = 64  # AnimeGANv2 D: ch 64, n_dis 3, spectral norm, LayerNorm
    d_layers: int = 3
    d_lr: float = 4e-5
    d_betas: tuple[float, ...] = (0.5, 0.999)
    # D loss weights: AnimeGANv2 `tools/ops.py` discriminator_loss (Shinkai: 1.7, 1.7, 1.7, 1.0)
    d_real_weight: float = 1.7
    d_fake_weight: float = 1.7
    d_gray_weight: float = 1.7  # grayscale anime as negatives: its colours are part of the style
    d_smooth_weight: float = 1.0  # edge-smoothed anime as negatives (CartoonGAN, AnimeGANv2)
    d_blur_weight: float = 0.0  # Gaussian-blurred anime as negatives: smooth is not drawn
    d_augment: str = ""  # DiffAugment policy for every D input: "color,translation,cutout"

    # --- optimisation -----------------------------------------------------------------------
    lr: float = 1e-4
    weight_decay: float = 0.01  # torch AdamW default, as in the seed
    betas: tuple[float, ...] = (0.9, 0.999)  # AdamW default, as in the seed
    lr_schedule: str = "constant"  # constant | cosine (after warmup_steps of linear warm-up)
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0  # cosine ends at lr x this
    epochs: int = 50

    # --- runtime ----------------------------------------------------------------------------
    seed: int = 0
    strategy: str = "auto"  # auto | single | dp | ddp
    amp: bool = True  # fp16 autocast + GradScaler on CUDA; always off on CPU
    save_every: int = 5
    keep_last: int = 3  # numbered checkpoints kept (the newest always survives); 0 = keep all
    time_budget_minutes: float | None = None  # stop cleanly with a checkpoint before this
    deadline: float | None = None  # wall clock (Unix s) to stop by, e.g. a Kaggle session's end
    ddp_timeout_minutes: float = 30.0  # per collective (NCCL's default 10 min is too short)
    expected_gpus: int = 0  # on Kaggle: warn when fewer GPUs are visible (0 = no expectation)
    max_nonfinite_steps: int = 10  # consecutive non-finite losses before giving up
    num_samples: int = 4  # pairs in the fixed validation grid drawn after every epoch
    prototype_images: int | None = 1000  # style images behind each checkpoint's prototype
    balance_every: int = 50  # steps between loss-balance measurements (gradient shares); 0: off

    # --- speed (same losses, faster; see benchmark.py) -------------------------------------
    batched_passes: bool = True  # content+style in one encoder pass, VGG targets in one pass
    channels_last: bool = True  # decoder, VGG and discriminator in channels_last on CUDA
    fused_adam: bool = True  # fused AdamW/Adam kernels on CUDA
    cudnn_benchmark: bool = True
    compile: bool = False  # torch.compile the decoder; falls back with a warning
    # decode the training images once into a uint8 file shared by all ranks and workers
    # (imagecache.py), crops sliced from it, flips and normalisation on the device:
    # true | false | "auto" (on when the caches fit in half the available RAM)
    cache_images: bool | str = False
    cache_dir: str | None = None  # None: /kaggle/temp on Kaggle, else the system temp folder

    def __post_init__(self) -> None:
        self.decoder_channels = tuple(int(c) for c in self.decoder_channels)
        self.vgg_layers = tuple(int(i) for i in self.vgg_layers)
        self.vit_layers = tuple(int(i) for i in self.vit_layers)
        self.cel_ink = tuple(float(d) for d in self.cel_ink)
        self.betas = tuple(float(b) for b in self.betas)
        self.d_betas = tuple(float(b) for b in self.d_betas)
        self.vit_kwargs = dict(self.vit_kwargs)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the field and a valid choice."""
        checks = [
            (self.strategy in ("auto", "single", "dp", "ddp"), "strategy", "auto|single|dp|ddp"),
            (self.recipe in ("seed", "anime"), "recipe", "seed|anime"),
            (self.decoder in DECODERS, "decoder", "|".join(DECODERS)),
            (self.output_space in OUTPUT_SPACES, "output_space", "|".join(OUTPUT_SPACES)),
            (self.cel_colors >= 2, "cel_colors", "at least 2 palette colours"),
            (
                len(self.cel_ink) == 2 and 0 <= self.cel_ink[0] < self.cel_ink[1],
                "cel_ink",
                "two RGB distances 0 <= no ink < full ink, e.g. [0.08, 0.2]",
            ),
            (self.cel_tau > 0, "cel_tau", "> 0"),
            (0 <= self.cel_line < 1, "cel_line", "a share of pixels in [0, 1), e.g. 0.02"),
            *(
                (type(n) is int and n >= 0, name, "a number of passes >= 0, e.g. 3")
                for name, n in (("cel_simplify", self.cel_simplify), ("cel_clean", self.cel_clean))
            ),
            (self.cel_match in ("adain", "histogram"), "cel_match", "adain|histogram"),
            (0 <= self.cel_tone <= 1, "cel_tone", "a share in [0, 1], e.g. 0.6 (0: off)"),
            (self.style_loss in ("mean_std", "gram"), "style_loss", "mean_std|gram"),
            (self.content_criterion in ("mse", "l1"), "content_criterion", "mse|l1"),
            (self.tv_kind in ("l2", "l1"), "tv_kind", "l2|l1"),
            (0 < self.luma_blur < 0.5, "luma_blur", "a fraction of image_size in (0, 0.5)"),
            (
                self.luma_close == 0 or self.luma_close % 2 == 1,
                "luma_close",
                "an odd width in px (0: off)",
            ),
            (self.adv_weight_max > 0, "adv_weight_max", "> 0"),
            (self.balance_every >= 0, "balance_every", ">= 0"),
            (self.gan_loss in ("lsgan", "hinge"), "gan_loss", "lsgan|hinge"),
            (self.fusion in ("adain", "attention"), "fusion", "adain|attention"),
            (self.lr_schedule in ("constant", "cosine"), "lr_schedule", "constant|cosine"),
            (self.image_size % 16 == 0 and self.image_size >= 16, "image_size", "a multiple of 16"),
            (len(self.decoder_channels) >= 1, "decoder_channels", "one width per x2 stage"),
            (
                0 <= self.content_layer < len(self.vgg_layers),
                "content_layer",
                "an index into vgg_layers",
            ),
            (0 <= self.gram_layer < len(self.vgg_layers), "gram_layer", "an index into vgg_layers"),
            (len(self.betas) == 2 and len(self.d_betas) == 2, "betas", "two numbers"),
            (0 < self.encoder_lr_scale <= 10, "encoder_lr_scale", "a factor in (0, 10]"),
            (self.adv_start_epoch >= 1, "adv_start_epoch", ">= 1"),
            (self.d_layers >= 1, "d_layers", ">= 1"),
            (self.warmup_steps >= 0, "warmup_steps", ">= 0"),
            (self.batch_size >= 1, "batch_size", ">= 1"),
            (self.epochs >= 1, "epochs", ">= 1"),
            (self.save_every >= 1, "save_every", ">= 1"),
            (self.keep_last >= 0, "keep_last", ">= 0"),
            (self.max_nonfinite_steps >= 1, "max_nonfinite_steps", ">= 1"),
            (self.ddp_timeout_minutes > 0, "ddp_timeout_minutes", "> 0"),
            (self.expected_gpus >= 0, "expected_gpus", ">= 0"),
            (self.cache_images in (True, False, "auto"), "cache_images", 'true|false|"auto"'),
        ]
        for ok, name, hint in checks:
            if not ok:
                raise ValueError(
                    f"TrainConfig.{name}={getattr(self, name)!r} is invalid: use {hint}"
                )

    # --- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Build from a dict; unknown keys are an error (a typo must not pass silently). A cel
        config without `cel_line`, `cel_simplify`, `cel_clean` or `cel_tone` (saved before they
        existed; so too a hand-written dict that leaves them out) keeps the picture of its time:
        ink in the palette's darkest colour (`cel_line` 0), never simplified (`cel_simplify` 0),
        never cleaned (`cel_clean` 0), no tone matching (`cel_tone` 0); one without `cel_match`
        matches colours by mean and std."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"Unknown TrainConfig fields: {unknown}. Known: {sorted(names)}")
        if d.get("output_space") == "cel":
            d = {"cel_line": 0.0, "cel_simplify": 0, "cel_clean": 0, "cel_tone": 0.0, **d}
        return cls(**d)

    def to_json(self, path: str | Path | None = None) -> str:
        """JSON, one field per line (lists kept on their line), written to `path` if given."""
        fields = (f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in self.to_dict().items())
        text = "{\n" + ",\n".join(fields) + "\n}\n"
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> TrainConfig:
        p = Path(text_or_path)
        text = p.read_text() if p.suffix == ".json" and p.is_file() else str(text_or_path)
        return cls.from_dict(json.loads(text))

    def replace(self, **overrides: Any) -> TrainConfig:
        """A copy with some fields changed (validated, unknown names refused)."""
        return TrainConfig.from_dict({**self.to_dict(), **overrides})

    @property
    def run_name(self) -> str:
        """The run folder's name: the preset, plus the recipe when not the preset's own."""
        from .presets import PRESETS  # presets are TrainConfigs: imported here, not at the top

        own = PRESETS[self.preset].recipe if self.preset in PRESETS else self.recipe
        return self.preset if self.recipe == own else f"{self.preset}-{self.recipe}"

    def model_signature(self) -> dict[str, Any]:
        return {k: self.to_dict()[k] for k in MODEL_FIELDS}


DECODERS = ("convtranspose", "upsample")
OUTPUT_SPACES = ("normalized", "pixels", "cel")  # model.render_output


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """Parse CLI `key=value` strings; values are JSON when they parse, else plain strings."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ValueError(f"--set expects key=value, got {item!r}")
        if key not in names:
            raise ValueError(f"--set {key}: unknown TrainConfig field. Known: {sorted(names)}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        out[key] = value
    return out


def __getattr__(name: str) -> Any:
    """`from vitst_utils.config import get_preset` (or any preset or recipe), as before they
    moved to `presets.py`: code and notebooks written then keep working."""
    from . import presets

    if not name.startswith("_") and hasattr(presets, name):
        return getattr(presets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
