"""The transfer family: the second tuning family, for tuning what carries across families
(with `heldout` and `heldout2` since the sixth round, `heldout3` since the seventh; `heldout4`
is only reported on).

A recipe tuned only on `sample_data`'s built-in family can fit that family's particulars (its
thick black outlines, plain backgrounds) and nothing tells, since the held-out family must never
be looked at while tuning. This family is the tuning stand-in for "another family": train on the
built-in family, judge on this one, keep what helps here, and report on the held-out family
only. It differs from both: photos are top-lit studio portraits with radial backdrops, wide
faces, short hair, beards or glasses and a dark jacket; drawn faces are manga-like: dark ink
lines of medium weight, screentone dots or speed lines behind, long straight hair with a centre
parting and a highlight band, a V chin, round eyes with star highlights and a sailor collar.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .heldout_faces import Rgb, _ellipse_alpha, _hsv, _paint

_SKIN = np.array([(232, 196, 170), (205, 150, 115), (160, 110, 80), (105, 70, 50), (245, 205, 175)])
_HAIR = np.array([(20, 18, 16), (80, 50, 30), (150, 100, 55), (190, 170, 140), (60, 60, 65)])


def _blob(img: np.ndarray, cx, cy, rx, ry, color, soft: float = 2.0) -> None:
    """Blend a soft-edged ellipse into `img` (h, w, 3 float) in place."""
    _paint(img, _ellipse_alpha(img.shape[:2], cx, cy, rx, ry, soft), color)


def draw_photo_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """A top-lit studio portrait: radial backdrop, wide face, short hair, beard or glasses."""
    w, h = round(size * rng.choice([1.0, 1.15])), size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.sqrt(((xx - w * rng.uniform(0.3, 0.7)) / w) ** 2 + ((yy - h * 0.35) / h) ** 2)
    inner, outer = rng.uniform(120, 240, 3), rng.uniform(10, 90, 3)
    t = np.clip(r / 0.8, 0, 1)[..., None]
    img = inner * (1 - t) + outer * t
    cx, cy = w * rng.uniform(0.42, 0.58), h * rng.uniform(0.4, 0.48)
    rx = w * rng.uniform(0.2, 0.26)
    ry = rx * rng.uniform(1.0, 1.2)
    skin = _SKIN[rng.integers(len(_SKIN))] + rng.normal(0, 8, 3)
    hair = _HAIR[rng.integers(len(_HAIR))] * rng.uniform(0.85, 1.15)
    _blob(img, cx, cy + 2.1 * ry, 2.2 * rx, 1.2 * ry, rng.uniform(15, 70, 3))  # dark jacket
    _blob(img, cx, cy + 1.0 * ry, 0.5 * rx, 0.5 * ry, skin * 0.8)  # neck
    _blob(img, cx, cy - 0.3 * ry, 1.05 * rx, 0.85 * ry, hair)  # short hair
    _blob(img, cx, cy + 0.05 * ry, rx, 0.95 * ry, skin)
    if rng.uniform() < 0.4:  # a beard
        _blob(img, cx, cy + 0.6 * ry, 0.8 * rx, 0.4 * ry, hair * 0.9, soft=4.0)
    for side in (-1, 1):
        ex, ey = cx + side * 0.38 * rx, cy - 0.05 * ry
        _blob(img, ex, ey, 0.11 * rx, 0.07 * ry, rng.uniform(15, 60, 3))
    if rng.uniform() < 0.4:  # glasses: dark rims, lighter lenses
        for side in (-1, 1):
            ex, ey = cx + side * 0.38 * rx, cy - 0.05 * ry
            _blob(img, ex, ey, 0.25 * rx, 0.17 * ry, (30, 30, 30))
            _blob(img, ex, ey, 0.2 * rx, 0.12 * ry, skin * 1.05)
            _blob(img, ex, ey, 0.1 * rx, 0.06 * ry, rng.uniform(15, 60, 3))
    _blob(img, cx, cy + 0.25 * ry, 0.1 * rx, 0.1 * ry, skin * 0.85)  # nose shadow
    _blob(img, cx, cy + 0.5 * ry, 0.28 * rx, 0.05 * ry, skin * np.array([0.75, 0.5, 0.5]))
    img *= np.linspace(1.25, 0.75, h, dtype=np.float32)[:, None, None]  # light from the top
    img += rng.normal(0.0, 5.0, img.shape)
    out = Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    return out.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.0)))


def _backdrop(rng: np.random.Generator, w: int, h: int, ink: Rgb) -> Image.Image:
    """Manga backdrops: screentone dots on a pale ground, or speed lines from the centre."""
    paper = _hsv(rng.uniform(), rng.uniform(0.0, 0.15), rng.uniform(0.85, 1.0))
    im = Image.new("RGB", (w, h), paper)
    d = ImageDraw.Draw(im)
    tone = tuple(int(0.55 * p + 0.45 * i) for p, i in zip(paper, ink, strict=True))
    if rng.uniform() < 0.5:
        step = max(3, w // 20)
        for y in range(0, h, step):
            for x in range((y // step % 2) * step // 2, w, step):
                d.point((x, y), tone)
                d.point((x + 1, y), tone)
    else:
        for a in np.linspace(0, 2 * np.pi, int(rng.integers(24, 40)), endpoint=False):
            d.line([(w / 2, h / 2), (w / 2 + w * np.cos(a), h / 2 + h * np.sin(a))], tone, 1)
    return im


def draw_anime_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """A manga-like face: long straight hair with a highlight band, V chin, star-lit eyes."""
    w, h = size, size
    ink = _hsv(rng.uniform(0.0, 0.1), 0.5, rng.uniform(0.1, 0.2))
    im = _backdrop(rng, w, h, ink)
    d = ImageDraw.Draw(im)
    lw = max(1, size // 48)
    cx, cy = w * rng.uniform(0.45, 0.55), h * rng.uniform(0.42, 0.5)
    rx = w * rng.uniform(0.2, 0.25)
    ry = rx * rng.uniform(1.1, 1.25)
    hue = rng.uniform()
    hair = _hsv(hue, rng.uniform(0.5, 0.85), rng.uniform(0.55, 0.9))
    shine = _hsv(hue, 0.25, 1.0)
    skin = _hsv(rng.uniform(0.05, 0.08), rng.uniform(0.05, 0.15), 1.0)
    uniform = _hsv(rng.choice([0.6, 0.0, 0.33]) + rng.uniform(-0.05, 0.05), 0.6, 0.45)

    # a sailor collar over the shoulders
    d.polygon(
        [(cx - 2.0 * rx, h), (cx - 0.9 * rx, cy + 1.2 * ry), (cx + 0.9 * rx, cy + 1.2 * ry)]
        + [(cx + 2.0 * rx, h)],
        fill="white",
        outline=ink,
    )
    d.polygon(
        [(cx - 0.9 * rx, cy + 1.2 * ry), (cx, cy + 2.1 * ry), (cx + 0.9 * rx, cy + 1.2 * ry)],
        fill=uniform,
        outline=ink,
    )
    # long straight hair behind the face, to the shoulders
    d.rectangle([cx - 1.25 * rx, cy - 0.6 * ry, cx + 1.25 * rx, cy + 1.6 * ry], hair, ink, lw)
    # the face: straight sides and a V chin
    face = [(cx - rx, cy - 0.7 * ry), (cx + rx, cy - 0.7 * ry), (cx + rx, cy + 0.3 * ry)]
    face += [(cx + 0.25 * rx, cy + ry), (cx - 0.25 * rx, cy + ry), (cx - rx, cy + 0.3 * ry)]
    d.polygon(face, fill=skin, outline=ink, width=lw)
    # the crown with a centre parting, curtains down both temples, a highlight band
    d.pieslice(
        [cx - 1.3 * rx, cy - 1.5 * ry, cx + 1.3 * rx, cy + 0.3 * ry], 180, 360, hair, ink, lw
    )
    for side in (-1, 1):
        d.polygon(
            [(cx, cy - 1.0 * ry), (cx + side * 1.3 * rx, cy - 0.6 * ry)]
            + [(cx + side * 1.25 * rx, cy + 0.4 * ry), (cx + side * 0.85 * rx, cy - 0.2 * ry)]
            + [(cx + side * 0.15 * rx, cy - 0.6 * ry)],
            fill=hair,
            outline=ink,
        )
    d.arc([cx - 0.95 * rx, cy - 1.2 * ry, cx + 0.95 * rx, cy - 0.2 * ry], 200, 340, shine, 2 * lw)
    # round eyes with a star highlight and lower lashes, a nose dot, a small open mouth
    iris = _hsv(rng.uniform(), rng.uniform(0.6, 1.0), rng.uniform(0.45, 0.8))
    er = 0.2 * rx
    for side in (-1, 1):
        ex, ey = cx + side * 0.45 * rx, cy + 0.05 * ry
        d.ellipse([ex - er, ey - er, ex + er, ey + er], iris, ink, lw)
        d.ellipse([ex - er / 2.5, ey - er / 2.5, ex + er / 2.5, ey + er / 2.5], ink)
        sx, sy, sr = ex - er / 3, ey - er / 3, er / 2.2
        d.polygon([(sx, sy - sr), (sx + sr / 3, sy), (sx, sy + sr), (sx - sr / 3, sy)], "white")
        d.polygon([(sx - sr, sy), (sx, sy - sr / 3), (sx + sr, sy), (sx, sy + sr / 3)], "white")
        d.line([(ex - er * 1.2, ey - er * 1.1), (ex + er * 1.2, ey - er * 1.3)], ink, lw + 1)
        d.line([(ex - er * 0.6, ey + er * 1.2), (ex + er * 0.6, ey + er * 1.2)], ink, lw)
    d.point((cx, cy + 0.35 * ry), ink)
    d.polygon(
        [(cx - 0.12 * rx, cy + 0.6 * ry), (cx + 0.12 * rx, cy + 0.6 * ry), (cx, cy + 0.72 * ry)],
        fill=(200, 80, 90),
        outline=ink,
    )
    return im
