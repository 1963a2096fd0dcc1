"""Small drawing helpers the synthetic family drawers share (`heldout2_photos`, `heldout3_faces`,
`heldout3_photos`, `heldout4_faces`, `heldout4_photos`, `heldout5_faces`, `heldout6_faces`,
`heldout7_faces`, `heldout8_faces`, `heldout9_faces`, `heldout10_faces`, `heldout11_faces`,
`heldout12_faces`, `heldout12_photos`): colours, pixel grids, soft ovals, blur, blending, float
arrays and colours for PIL, anti-aliased polygon coverage, Bezier curves, points in a head's
radii and a head's frame (`Head`). Families with helpers of their own (`transfer_faces`,
`heldout_faces`, `heldout2_faces` and `heldout2_photos` but for `grid`, the built-in drawer in
`sample_data`) keep them: theirs differ in small ways, and sharing would change pictures."""

from __future__ import annotations

import colorsys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


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


def cover(n: int, pts, width: float = 0.0, ss: int = 3) -> np.ndarray:
    """Anti-aliased coverage (n, n) of a filled polygon, or of a polyline `width` px wide,
    drawn `ss` times larger and reduced."""
    im = Image.new("L", (n * ss, n * ss), 0)
    q = [(x * ss, y * ss) for x, y in pts]
    d = ImageDraw.Draw(im)
    if width > 0:
        d.line(q, fill=255, width=max(1, round(width * ss)), joint="curve")
    else:
        d.polygon(q, fill=255)
    return np.asarray(im.reduce(ss), np.float32) / 255.0


def curve(p0, p1, p2, k: int = 9) -> list[tuple[float, float]]:
    """`k` points along a quadratic Bezier from p0 to p2, bent toward p1."""
    t = np.linspace(0, 1, k)[:, None]
    q = (1 - t) ** 2 * np.array(p0) + 2 * t * (1 - t) * np.array(p1) + t**2 * np.array(p2)
    return [(float(x), float(y)) for x, y in q]


def at(h: tuple, u: float, v: float) -> tuple[float, float]:
    """The point (u, v) in units of a head's radii (cx, cy, rx, ry) from its centre."""
    return h[0] + u * h[2], h[1] + v * h[3]


class Head:
    """A head's frame on an (h, w) pixel grid: its centre and radii `frame` (cx, cy, rx, ry), the
    grid (`yy`, `xx`) and each pixel in head radii from the centre (`ux`, `uy`); shapes in head
    units (`heldout9_faces` to `heldout12_faces`, `heldout12_photos`)."""

    def __init__(self, h: int, w: int, cx: float, cy: float, rx: float, ry: float) -> None:
        self.frame, (self.yy, self.xx) = (cx, cy, rx, ry), grid(h, w)
        self.ux, self.uy = (self.xx - cx) / rx, (self.yy - cy) / ry

    def at(self, u: float, v: float) -> tuple[float, float]:
        """The pixel at (u, v) head radii from the centre."""
        return at(self.frame, u, v)

    def poly(self, spec, width: float = 0.0, sx: float = 1.0) -> np.ndarray:
        """Coverage of a polygon (or a line `width` head radii thick) through "u v u v ..." or
        points in head radii, mirrored for sx = -1, on a square grid (`heldout11`, `heldout12`)."""
        q = np.array(spec.split() if isinstance(spec, str) else spec, float).reshape(-1, 2)
        return cover(self.yy.shape[0], [self.at(sx * a, b) for a, b in q], width * self.frame[3])

    def o(self, a: float, b: float, c: float, d: float, soft: float = 1.0) -> np.ndarray:
        """Coverage of an ellipse centred (a, b) with radii (c, d), in head radii."""
        rx, ry = self.frame[2:]
        return oval(self.yy, self.xx, *self.at(a, b), c * rx, d * ry, soft)

    def dome(self, a: float, b: float, c: float, d: float) -> np.ndarray:
        """Unit normals (3, h, w) of an ellipsoid standing on that ellipse, seen from the front."""
        x, y = (self.ux - a) / c, (self.uy - b) / d
        v = np.stack([x, y, np.sqrt(np.clip(1 - x * x - y * y, 0.04, 1))])
        return v / np.linalg.norm(v, axis=0)
