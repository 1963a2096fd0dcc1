"""What a cel model paints with (`CelStyle`): a style image's colour statistics, palette, ink
colour, ink length and colour and luma quantiles, as `cel.cel_style` measures them, as
prototypes and exports save them, and as batches stack them. The rendering is `cel.py`'s."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import torch

from .colour_transfer import colour_luma


@dataclass
class CelStyle:
    """What a cel model paints with: the style's colour `mean` and `std` per channel
    ((B | 1, 3, 1, 1), pixels in [0, 1]), its `palette` ((B | 1, K, 3)), its `ink_colour`,
    the outlines' colour ((B | 1, 3); `TrainConfig.cel_ink` is where they are drawn), its
    `ink_length` ((B | 1,)): how much ink the style image holds, in picture sides (the mean ink
    amount times the square root of its pixel count: the same for a drawing at any size), the
    most ink a picture is simplified to (None or infinite: never simplified), its colour
    `quantiles` ((B | 1, 3, Q), `colour_quantiles`): with them a photo takes the style's
    colours by histogram matching, without (None) by its mean and std (`TrainConfig.cel_match`),
    and its luma quantiles, `tones` ((B | 1, 1, Q), `tone_quantiles`): what a picture's light
    and dark move towards when stylising (`TrainConfig.cel_tone`; None: not measured)."""

    mean: torch.Tensor
    std: torch.Tensor
    palette: torch.Tensor
    ink_colour: torch.Tensor
    ink_length: torch.Tensor | None = None
    quantiles: torch.Tensor | None = None
    tones: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.ink_length is None:  # one per palette, never simplified
            self.ink_length = torch.full((len(self.palette),), math.inf, device=self.palette.device)

    def to(self, device: torch.device | str) -> CelStyle:
        parts = (getattr(self, f.name) for f in fields(self))
        return CelStyle(*(None if t is None else t.to(device) for t in parts))

    @classmethod
    def cat(cls, styles: list[CelStyle]) -> CelStyle:
        """Several styles stacked on the batch dimension (one per photo; all with `quantiles`
        or none, all with `tones` or none)."""
        for name, what in (("quantiles", "colour quantiles"), ("tones", "tones")):
            if len({getattr(s, name) is None for s in styles}) > 1:
                raise ValueError(f"cannot stack styles with and without {what}")
        parts = [[getattr(s, f.name) for s in styles] for f in fields(cls)]
        return cls(*(None if p[0] is None else torch.cat(p) for p in parts))

    def item(self, i: int = 0) -> dict[str, torch.Tensor]:
        """Style `i` as saved in prototypes and exports: "mean", "std" (3,), "palette" (K, 3),
        "ink_colour" (3,), "ink_length" () unless it is never simplified (so JSON stays
        finite), "quantiles" (3, Q) and "tones" (1, Q) if it has them."""
        saved = {
            "mean": self.mean[i].flatten(),
            "std": self.std[i].flatten(),
            "palette": self.palette[i],
            "ink_colour": self.ink_colour[i],
        }
        if self.ink_length[i].isfinite():
            saved["ink_length"] = self.ink_length[i]
        for name in ("quantiles", "tones"):
            if getattr(self, name) is not None:
                saved[name] = getattr(self, name)[i]
        return saved

    @classmethod
    def from_saved(cls, saved: dict[str, Any]) -> CelStyle:
        """The style `item` saved (tensors, or lists from JSON; other keys ignored). One saved
        before the ink colour existed inks in its palette's darkest colour; one saved before the
        ink length is never simplified; one without quantiles matches colours by mean and std;
        one without tones has none (a model that tone-matches refuses it: `prototype.py`)."""

        def get(key: str) -> torch.Tensor:
            return torch.as_tensor(saved[key], dtype=torch.float32)

        palette = get("palette").reshape(1, -1, 3)
        ink = get("ink_colour").reshape(1, 3) if "ink_colour" in saved else darkest_colour(palette)
        length = get("ink_length").reshape(1) if "ink_length" in saved else None
        quantiles = get("quantiles").reshape(1, 3, -1) if "quantiles" in saved else None
        tones = get("tones").reshape(1, 1, -1) if "tones" in saved else None
        mean, std = get("mean").reshape(1, 3, 1, 1), get("std").reshape(1, 3, 1, 1)
        return cls(mean, std, palette, ink, length, quantiles, tones)


def darkest_colour(palette: torch.Tensor) -> torch.Tensor:
    """(B, 3): the darkest (Rec. 601 luma) colour of each palette (B, K, 3): the ink of styles
    without line art, and of prototypes and exports made before the line colour."""
    darkest = colour_luma(palette).argmin(1)
    return palette.gather(1, darkest[:, None, None].expand(-1, 1, 3))[:, 0]
