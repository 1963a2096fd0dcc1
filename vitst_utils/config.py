"""One `TrainConfig` holds every knob; presets are named configs, not code branches."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Fields that decide the network's shape: a checkpoint only resumes or loads into a model
# whose config agrees on all of them.
MODEL_FIELDS = ("vit_name", "image_size", "decoder", "decoder_channels", "vgg_layers")


@dataclass
class TrainConfig:
    """Every knob of a vitst run: data, model, losses, optimisation and runtime."""

    preset: str = "custom"

    # --- data -------------------------------------------------------------------------------
    data_root: str | None = None  # None: explicit > $VITST_DATA_ROOT > /kaggle/input discovery
    synthetic_data: bool = False  # no data root found: generate the built-in synthetic set
    content_domain: str = "CelebA"
    style_domain: str = "AnimeFace"
    train_split: str = "train"
    val_split: str = "val"
    image_size: int = 224
    train_limit: int | None = 800  # images per domain; None = all
    val_limit: int | None = 100
    batch_size: int = 8  # global batch: split over GPUs by DP and DDP
    num_workers: int = 2
    hflip: bool = True

    # --- model ------------------------------------------------------------------------------
    vit_name: str = "vit_base_patch16_224"
    pretrained: bool = True  # real weights: from the hub, or from the files below
    vit_weights_file: str | None = None  # local timm weights (.safetensors / .pth)
    vgg_weights_file: str | None = None  # local torchvision vgg19 state dict
    decoder: str = "convtranspose"  # the seed's decoder; room for others
    decoder_channels: tuple[int, ...] = (512, 256, 128, 64)
    freeze_encoder: bool = False

    # --- losses -----------------------------------------------------------------------------
    vgg_layers: tuple[int, ...] = (1, 6, 11, 20, 29)  # ReLU indices in vgg19().features
    content_layer: int = 2  # index into vgg_layers (2 -> relu3_1)
    style_loss: str = "mean_std"  # room for "gram"
    lambda_content: float = 3.0
    lambda_style: float = 1.0

    # --- optimisation -----------------------------------------------------------------------
    lr: float = 1e-4
    weight_decay: float = 0.01  # torch AdamW default, as in the seed
    epochs: int = 50

    # --- runtime ----------------------------------------------------------------------------
    seed: int = 0
    strategy: str = "auto"  # auto | single | dp | ddp
    amp: bool = True  # fp16 autocast + GradScaler on CUDA; always off on CPU
    save_every: int = 5
    keep_last: int = 3  # numbered checkpoints kept (the newest always survives); 0 = keep all
    time_budget_minutes: float | None = None  # stop cleanly with a checkpoint before this
    max_nonfinite_steps: int = 10  # consecutive non-finite losses before giving up
    num_samples: int = 4  # pairs in the fixed validation grid drawn after every epoch

    def __post_init__(self) -> None:
        self.decoder_channels = tuple(int(c) for c in self.decoder_channels)
        self.vgg_layers = tuple(int(i) for i in self.vgg_layers)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the field and a valid choice."""
        checks = [
            (self.strategy in ("auto", "single", "dp", "ddp"), "strategy", "auto|single|dp|ddp"),
            (self.decoder in ("convtranspose",), "decoder", "convtranspose"),
            (self.style_loss in ("mean_std", "gram"), "style_loss", "mean_std|gram"),
            (self.image_size % 16 == 0 and self.image_size >= 16, "image_size", "a multiple of 16"),
            (len(self.decoder_channels) == 4, "decoder_channels", "4 widths (14 -> 224 is x16)"),
            (
                0 <= self.content_layer < len(self.vgg_layers),
                "content_layer",
                "an index into vgg_layers",
            ),
            (self.batch_size >= 1, "batch_size", ">= 1"),
            (self.epochs >= 1, "epochs", ">= 1"),
            (self.save_every >= 1, "save_every", ">= 1"),
            (self.keep_last >= 0, "keep_last", ">= 0"),
            (self.max_nonfinite_steps >= 1, "max_nonfinite_steps", ">= 1"),
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
        """Build from a dict; unknown keys are an error (a typo must not pass silently)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"Unknown TrainConfig fields: {unknown}. Known: {sorted(names)}")
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

    def model_signature(self) -> dict[str, Any]:
        return {k: self.to_dict()[k] for k in MODEL_FIELDS}


# Exactly the seed experiment (see ../shared/seed/SEED_SUMMARY.md): DataParallel, fp32.
SEED = TrainConfig(preset="seed", strategy="dp", amp=False)

# The same pipeline shrunk to seconds on a 2-core CPU: tiny ViT, 64 px, random weights.
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

PRESETS: dict[str, TrainConfig] = {"seed": SEED, "smoke": SMOKE}


def get_preset(name: str, **overrides: Any) -> TrainConfig:
    """A named preset, with field overrides: `get_preset("seed", pretrained=False)`."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}. Available: {', '.join(sorted(PRESETS))}")
    return PRESETS[name].replace(**overrides)


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
