"""Small drawing helpers the synthetic family drawers share (`heldout3_faces`, `heldout4_faces`,
`heldout4_photos`, `heldout5_faces`, `heldout6_faces`, `heldout7_faces`, `heldout8_faces`): colours,
pixel grids, soft ovals, blur, blending, and float arrays and colours for PIL. Families with helpers
of their own (`transfer_faces`, `heldout_faces`, `heldout2_faces`, the built-in drawer in
`sample_data`) keep them: theirs differ in small ways, and sharing would change pictures."""

from __future__ import annotations

import colorsys

import numpy as np
from PIL import Image, ImageFilter


def hsv(h: float, s: float, v: float) -> np.ndarray:
    """An RGB colour (3,) in 0..255 floats from hue (wrapping), saturation and value (clipped)."""
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return np.array([r, g, b], np.float32) * 255.0


def grid(h: int, w: int) -> np.ndarray:
    """(2, h, w) float32 pixel coordinates: yy, xx."""
    return np.mgrid[0:h, 0:w].astype(np.float32)


def oval(yy, xx, cx, cy, rx, ry, soft: float = 1.0) -> np.ndarray:
    """Coverage in [0, 1] of an ellipse centred (cx, cy) with radii (rx, ry), its edge `soft` px."""
    d = np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2)
    return np.clip((1.0 - d) * min(rx, ry) / soft + 0.5, 0.0, 1.0)


def blur(a: np.ndarray, radius: float) -> np.ndarray:
    """Gaussian blur of a (h, w) map in [0, 1] (through 8-bit PIL)."""
    im = Image.fromarray(np.clip(np.rint(a * 255), 0, 255).astype(np.uint8))
    return np.asarray(im.filter(ImageFilter.GaussianBlur(radius)), np.float32) / 255.0


def put(img: np.ndarray, a: np.ndarray, color) -> None:
    """Blend `color` (rgb or (h, w, 3)) into `img` in place with coverage `a` (h, w)."""
    img += (np.asarray(color, np.float32) - img) * a[..., None]


def to_image(x: np.ndarray) -> Image.Image:
    """An RGB picture from a float (h, w, 3) array in 0..255."""
    return Image.fromarray(np.clip(np.rint(x), 0, 255).astype(np.uint8))


def pil_colour(c, a: int | None = None) -> tuple[int, ...]:
    """An int colour tuple for PIL, with alpha `a` if given."""
    return tuple(int(v) for v in np.clip(c, 0, 255)) + (() if a is None else (a,))
