"""The `heldout2` family's photos (its drawings and the family's description are in
`heldout2_faces`): low-key three-quarter portraits, cropped close and placed off-centre, under a
key light and a rim light of the opposite temperature, in a dark room, with film grain."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from .drawing import grid
from .heldout2_faces import _hsv

_SKIN = np.array(
    [(250, 224, 208), (232, 190, 160), (204, 160, 112), (168, 116, 80), (120, 78, 52), (86, 56, 40)]
)
_HAIR = np.array(
    [(14, 12, 12), (62, 38, 24), (168, 78, 36), (232, 222, 196), (148, 146, 150), (96, 42, 28)]
)


def _ellipse(h: int, w: int, cx, cy, rx, ry, soft: float = 1.5) -> np.ndarray:
    """Soft-edged ellipse coverage in [0, 1], (h, w)."""
    yy, xx = grid(h, w)
    d = np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2)
    return np.clip((1.0 - d) * min(rx, ry) / soft, 0.0, 1.0)


def _over(img: np.ndarray, alpha: np.ndarray, color) -> None:
    """Blend `color` (rgb, or an (h, w, 3) array) into `img` in place with coverage `alpha`."""
    a = alpha[..., None]
    img[:] = img * (1.0 - a) + np.asarray(color, np.float32) * a


def _blur(a: np.ndarray, radius: float) -> np.ndarray:
    """Gaussian blur of a float (h, w) map in [0, 1]."""
    im = Image.fromarray(np.clip(a * 255, 0, 255).astype(np.uint8))
    return np.asarray(im.filter(ImageFilter.GaussianBlur(radius)), np.float32) / 255.0


def _room(rng: np.random.Generator, h: int, w: int, key: float, warm: np.ndarray) -> np.ndarray:
    """A dark room behind the sitter: a blurred window, blinds shadows or a split-tone wash."""
    yy, xx = grid(h, w)
    dark = rng.uniform(8, 45) * (0.7 + 0.6 * rng.uniform(size=3))
    img = np.broadcast_to(dark, (h, w, 3)).astype(np.float32).copy()
    kind = int(rng.integers(3))
    if kind == 0:  # an out-of-focus window on the key side, with its cross bars
        x0 = w * (0.5 + key * rng.uniform(0.05, 0.25)) - w * rng.uniform(0.15, 0.3)
        x1, y0 = x0 + w * rng.uniform(0.3, 0.5), h * rng.uniform(-0.1, 0.15)
        y1 = y0 + h * rng.uniform(0.4, 0.7)
        pane = ((xx > x0) & (xx < x1) & (yy > y0) & (yy < y1)).astype(np.float32)
        bar = (np.abs(xx - (x0 + x1) / 2) < w * 0.025) | (np.abs(yy - (y0 + y1) / 2) < h * 0.025)
        pane *= np.where(bar, 0.15, 1.0)
        light = rng.uniform(150, 235) * (0.75 + 0.25 * warm)
        _over(img, _blur(pane, w * rng.uniform(0.03, 0.06)) * 0.9, light)
    elif kind == 1:  # slanted stripes of light through blinds
        slope, period = rng.uniform(-0.6, 0.6), h * rng.uniform(0.1, 0.18)
        phase = (yy + slope * xx) / period + rng.uniform()
        stripes = (np.sin(2 * np.pi * phase) > 0.2).astype(np.float32)
        fade = np.clip(0.5 + key * (xx / w - 0.5) * 1.6, 0.0, 1.0)
        _over(img, _blur(stripes, w * 0.015) * fade * 0.6, rng.uniform(90, 170) * warm)
    else:  # a warm-to-cool wash across the wall
        t = np.clip(0.5 + key * (xx / w - 0.5) * 1.4, 0.0, 1.0)[..., None]
        cool = np.array([0.55, 0.75, 1.0]) * rng.uniform(20, 70)
        img += t * warm * rng.uniform(40, 110) + (1 - t) * cool
    return img


def draw_photo_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """A low-key three-quarter portrait: close crop, off-centre, key light and rim light."""
    w, h = size, round(size * rng.choice([1.0, 1.1]))
    turn = float(rng.choice([-1.0, 1.0]))  # +1: the face looks to the right of the picture
    yaw = rng.uniform(0.35, 0.7)
    key = float(rng.choice([-1.0, 1.0]))  # the side the key light comes from
    warm_key = rng.uniform() < 0.65
    warm, cool = np.array([1.0, 0.82, 0.62]), np.array([0.62, 0.8, 1.0])
    key_col, rim_col = (warm, cool) if warm_key else (cool, warm)
    bg = _room(rng, h, w, key, key_col)

    # close crop, placed off-centre so the face looks into the open side
    rx = w * rng.uniform(0.27, 0.33)
    ry = rx * rng.uniform(1.2, 1.35)
    cx = w * (0.5 - turn * rng.uniform(0.04, 0.12))
    cy = h * rng.uniform(0.42, 0.52)
    mx = cx + turn * yaw * 0.45 * rx  # the face's midline, moved by the turn
    skin = _SKIN[rng.integers(len(_SKIN))] * rng.uniform(0.9, 1.08) + rng.normal(0, 6, 3)
    if rng.uniform() < 0.15:  # dyed hair: teal, pink or violet
        hair = np.array(_hsv(rng.choice([0.5, 0.92, 0.75]), 0.55, 0.7), np.float32)
    else:
        hair = _HAIR[rng.integers(len(_HAIR))] * rng.uniform(0.85, 1.15)
    cloth = np.array(_hsv(rng.uniform(), rng.uniform(0.1, 0.5), rng.uniform(0.2, 0.6)), np.float32)

    alb = np.zeros((h, w, 3), np.float32)  # the sitter's own colours, before the light
    cover = np.zeros((h, w), np.float32)

    def put(a: np.ndarray, color) -> None:
        nonlocal cover
        _over(alb, a, color)
        cover = np.maximum(cover, a)

    E = _ellipse
    put(E(h, w, cx - turn * 0.5 * rx, cy + 2.3 * ry, 2.4 * rx, 1.3 * ry), cloth)  # shoulders
    put(E(h, w, cx - turn * 0.15 * rx, cy + 0.95 * ry, 0.5 * rx, 0.55 * ry), skin * 0.85)  # neck
    if rng.uniform() < 0.3:  # a turtleneck or scarf
        put(E(h, w, cx - turn * 0.1 * rx, cy + 1.3 * ry, 0.75 * rx, 0.35 * ry, 3), cloth * 0.8)
    long_hair = rng.uniform() < 0.45
    back = cx - turn * 0.35 * rx
    if long_hair:  # falls behind the far shoulder
        put(E(h, w, back - turn * 0.1 * rx, cy + 0.6 * ry, 1.05 * rx, 1.35 * ry, 3), hair * 0.85)
    put(E(h, w, back, cy - 0.22 * ry, 1.12 * rx, 1.0 * ry, 2), hair)  # back of the head
    ear_x = cx - turn * (0.78 - 0.2 * yaw) * rx
    put(E(h, w, ear_x, cy + 0.05 * ry, 0.13 * rx, 0.2 * ry), skin * 0.92)
    face = E(h, w, cx + turn * 0.08 * rx, cy, 0.92 * rx, ry)
    jaw = E(h, w, mx + turn * 0.1 * rx, cy + 0.45 * ry, 0.55 * rx, 0.52 * ry)
    head = np.maximum(face, jaw)
    put(head, skin)
    hat = rng.uniform() < 0.3
    if hat:  # a knitted beanie with a ribbed cuff, pulled down to the brow
        yy, xx = grid(h, w)
        bx = back + turn * 0.2 * rx
        beanie = E(h, w, bx, cy - 0.62 * ry, 1.16 * rx, 0.8 * ry, 2) * (yy < cy - 0.3 * ry)
        knit = np.array(_hsv(rng.uniform(), rng.uniform(0.3, 0.8), rng.uniform(0.3, 0.8)))
        cuff = (yy > cy - 0.55 * ry)[..., None]
        ribs = 0.8 + 0.2 * np.sin(xx / max(1.0, 0.05 * rx))[..., None]
        put(beanie, knit * np.where(cuff, ribs * 0.85, 1.0 + 0.05 * np.sin(yy / 1.5)[..., None]))
    else:  # a side-swept fringe over the forehead
        fringe = E(h, w, mx - turn * 0.25 * rx, cy - 0.78 * ry, 0.95 * rx, 0.42 * ry, 2)
        put(fringe, hair * 0.95)

    # features, placed on the turned face: the far eye is nearer the midline and narrower
    iris = rng.uniform(15, 90, 3) * np.array([1.0, 0.9, 0.8])
    for s in (-1.0, 1.0):
        scale = 1.0 - s * turn * yaw * 0.55
        ex, ey = mx + s * 0.36 * rx * scale, cy - 0.05 * ry
        _over(alb, E(h, w, ex, ey - 0.17 * ry, 0.2 * rx * scale, 0.045 * ry), hair * 0.55)
        _over(alb, E(h, w, ex, ey, 0.15 * rx * scale, 0.065 * ry), skin * 0.4 + 130)
        _over(alb, E(h, w, ex, ey, 0.075 * rx * max(scale, 0.6), 0.065 * ry), iris)
    nose_x = mx + turn * 0.12 * rx
    _over(
        alb, E(h, w, nose_x - key * 0.07 * rx, cy + 0.22 * ry, 0.07 * rx, 0.16 * ry, 3), skin * 0.7
    )
    _over(alb, E(h, w, nose_x, cy + 0.3 * ry, 0.1 * rx, 0.06 * ry), skin * 0.75)
    lips = skin * np.array([0.82, 0.55, 0.55]) * rng.uniform(0.85, 1.05)
    _over(alb, E(h, w, mx + turn * 0.04 * rx, cy + 0.55 * ry, 0.24 * rx, 0.055 * ry), lips)
    earring = rng.uniform() < 0.5
    ring = np.array([235, 200, 110]) if rng.uniform() < 0.6 else np.array([225, 228, 235])

    lit = _light(rng, alb, cover, head, (cx, cy, rx, ry), key, key_col, rim_col)
    img = bg * (1 - cover[..., None]) + lit * cover[..., None]
    if earring:  # a small bright stud under the visible ear, lit whatever the shade
        _over(img, E(h, w, ear_x, cy + 0.27 * ry, 0.045 * rx, 0.045 * rx, 0.8), ring)
        _over(img, E(h, w, ear_x - 0.01 * rx, cy + 0.26 * ry, 0.015 * rx, 0.015 * rx, 0.5), 255)
    return _develop(rng, img)


def _light(
    rng: np.random.Generator,
    alb: np.ndarray,
    cover: np.ndarray,
    head: np.ndarray,
    oval: tuple[float, float, float, float],
    key: float,
    key_col: np.ndarray,
    rim_col: np.ndarray,
) -> np.ndarray:
    """The sitter's colours `alb` under an ambient, a key light from side `key` and a rim
    light: normals from the head (`oval` cx, cy, rx, ry) as an ellipsoid, elsewhere from the
    blurred silhouette `cover`."""
    h, w = cover.shape
    cx, cy, rx, ry = oval
    yy, xx = grid(h, w)
    soft = _blur(cover, 0.06 * w)
    gy, gx = np.gradient(soft)
    nx, ny = -gx * 0.2 * w, -gy * 0.2 * w
    hx, hy = (xx - cx) / (1.05 * rx), (yy - cy) / (1.1 * ry)
    hz = np.sqrt(np.clip(1 - hx**2 - hy**2, 0.0, 1.0))
    wh = head
    nx, ny = nx * (1 - wh) + hx * wh, ny * (1 - wh) + hy * wh
    nz = (1 - wh) + hz * wh
    norm = np.sqrt(nx**2 + ny**2 + nz**2) + 1e-6
    nx, ny, nz = nx / norm, ny / norm, nz / norm
    lx, ly, lz = key * 0.75, -0.35, 0.55
    diffuse = np.clip(nx * lx + ny * ly + nz * lz, 0.0, 1.0)
    rim = np.clip(-key * nx, 0.0, 1.0) ** 3 * (1 - nz) ** 0.5
    amb = rng.uniform(0.12, 0.25)
    lit = alb * (amb + rng.uniform(1.0, 1.3) * diffuse[..., None] * key_col)
    lit += rim[..., None] * rim_col * rng.uniform(120, 200)
    return lit


def _develop(rng: np.random.Generator, img: np.ndarray) -> Image.Image:
    """Grade (toward teal in the shadows), film grain and a little softness."""
    lum = img.mean(axis=2, keepdims=True) / 255.0
    img += (1 - lum) * np.array([-6.0, 3.0, 8.0]) + lum * np.array([6.0, 1.0, -6.0])
    grain = rng.normal(0.0, rng.uniform(5, 10), img.shape[:2] + (1,))
    img += grain + rng.normal(0.0, 2.5, img.shape)
    out = Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    return out.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 0.8)))
