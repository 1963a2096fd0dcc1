"""The `heldout` synthetic family: faces drawn another way; reported on in the fourth and fifth
tuning rounds, a tuning family since the sixth (README, "The anime recipe"), when `heldout2`,
then `heldout3` and then `heldout4` took over reporting.

`sample_data`'s built-in family is what recipes and weights are tuned on. This family changes
everything a recipe could over-fit to: photos get textured, vignetted backgrounds, shoulders,
side lighting with a colour cast, long hair and sensor noise; anime faces get pastel or dark
palettes, thin coloured line art, round faces with shoulders, bob or twin-tail hair, tall
two-tone eyes with eyebrows and blush, cel shadows and patterned backgrounds.
"""

from __future__ import annotations

import colorsys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

Rgb = tuple[int, int, int]

_SKIN = np.array([(236, 188, 160), (210, 160, 125), (176, 120, 88), (120, 78, 52), (250, 214, 186)])
_HAIR = np.array([(25, 20, 20), (95, 60, 35), (160, 110, 60), (215, 185, 130), (130, 40, 30)])


def _hsv(h: float, s: float, v: float) -> Rgb:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return round(r * 255), round(g * 255), round(b * 255)


def _ellipse_alpha(shape: tuple[int, int], cx, cy, rx, ry, soft: float = 1.5) -> np.ndarray:
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2)
    return np.clip((1.0 - d) * min(rx, ry) / soft, 0.0, 1.0)[..., None]


def _paint(img: np.ndarray, alpha: np.ndarray, color) -> None:
    img[:] = img * (1.0 - alpha) + np.asarray(color, np.float32) * alpha


def _value_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Smooth random texture in [0, 1], (h, w): bilinear upsampling of a coarse random grid."""
    coarse = Image.fromarray((rng.uniform(0, 255, (cells, cells))).astype(np.uint8))
    return np.asarray(coarse.resize((w, h), Image.BICUBIC), np.float32) / 255.0


def draw_photo_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """A side-lit portrait with shoulders and long hair on a textured, vignetted background."""
    w, h = size, round(size * rng.choice([1.0, 1.2]))
    base = rng.uniform(40, 200, 3)
    tex = _value_noise(rng, h, w, int(rng.integers(3, 7)))[..., None]
    img = base * (0.6 + 0.8 * tex) + rng.normal(0, 12, 3)
    for _ in range(int(rng.integers(2, 6))):  # out-of-focus highlights
        bx, by, br = rng.uniform(0, w), rng.uniform(0, h * 0.6), rng.uniform(0.05, 0.12) * w
        _paint(img, 0.5 * _ellipse_alpha((h, w), bx, by, br, br, soft=br), rng.uniform(150, 255, 3))
    cx, cy = w * rng.uniform(0.4, 0.6), h * rng.uniform(0.42, 0.52)
    rx = w * rng.uniform(0.17, 0.24)
    ry = rx * rng.uniform(1.15, 1.5)
    skin = _SKIN[rng.integers(len(_SKIN))] + rng.normal(0, 10, 3)
    hair = _HAIR[rng.integers(len(_HAIR))] * rng.uniform(0.8, 1.2)
    shirt = rng.uniform(20, 230, 3)
    _paint(img, _ellipse_alpha((h, w), cx, cy + 2.3 * ry, 2.6 * rx, 1.3 * ry), shirt)  # shoulders
    _paint(img, _ellipse_alpha((h, w), cx, cy + 1.05 * ry, 0.45 * rx, 0.6 * ry), skin * 0.85)
    if rng.uniform() < 0.6:  # long hair falling behind the shoulders
        _paint(img, _ellipse_alpha((h, w), cx, cy + 0.3 * ry, 1.35 * rx, 1.45 * ry), hair * 0.8)
    _paint(img, _ellipse_alpha((h, w), cx, cy, rx, ry), skin)
    _paint(img, _ellipse_alpha((h, w), cx, cy - 0.75 * ry, 1.1 * rx, 0.5 * ry), hair)
    for side in (-1, 1):
        ex, ey = cx + side * 0.4 * rx, cy - 0.05 * ry
        _paint(img, _ellipse_alpha((h, w), ex, ey - 0.16 * ry, 0.2 * rx, 0.04 * ry), hair * 0.6)
        _paint(img, _ellipse_alpha((h, w), ex, ey, 0.14 * rx, 0.06 * ry), (235, 235, 230))
        _paint(img, _ellipse_alpha((h, w), ex, ey, 0.07 * rx, 0.06 * ry), rng.uniform(20, 90, 3))
    _paint(img, _ellipse_alpha((h, w), cx, cy + 0.25 * ry, 0.08 * rx, 0.12 * ry), skin * 0.8)
    lips = skin * np.array([0.8, 0.5, 0.5])
    _paint(img, _ellipse_alpha((h, w), cx, cy + 0.55 * ry, 0.3 * rx, 0.06 * ry), lips)
    # side light with a colour cast, and a vignette
    side = rng.choice([-1.0, 1.0])
    xs = np.linspace(-1, 1, w, dtype=np.float32)[None, :, None]
    img *= 1.0 + side * rng.uniform(0.15, 0.35) * xs
    img *= np.array([1.0, 1.0, 1.0]) + rng.normal(0, 0.06, 3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / (0.75 * w)) ** 2 + ((yy - h / 2) / (0.75 * h)) ** 2
    img *= np.clip(1.15 - 0.5 * r2, 0.4, 1.0)[..., None]
    img += rng.normal(0.0, 7.0, img.shape) + rng.normal(0.0, 3.0, (h, w, 1))
    out = Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    return out.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 0.9)))


def _background(rng: np.random.Generator, w: int, h: int) -> Image.Image:
    """Flat-colour backgrounds of drawn pictures: two-tone diagonal, stripes or polka dots."""
    a = _hsv(rng.uniform(), rng.uniform(0.2, 0.5), rng.uniform(0.75, 1.0))
    b = _hsv(rng.uniform(), rng.uniform(0.2, 0.5), rng.uniform(0.6, 0.95))
    im = Image.new("RGB", (w, h), a)
    d = ImageDraw.Draw(im)
    kind = int(rng.integers(3))
    if kind == 0:
        d.polygon([(0, h), (w, h * rng.uniform(0.2, 0.8)), (w, h)], fill=b)
    elif kind == 1:
        step = max(6, w // int(rng.integers(5, 9)))
        for x in range(-h, w, step):
            d.polygon([(x, 0), (x + step // 2, 0), (x + step // 2 + h, h), (x + h, h)], fill=b)
    else:
        r, step = max(2, w // 24), max(8, w // 7)
        for y in range(step // 2, h, step):
            for x in range((y // step % 2) * step // 2, w, step):
                d.ellipse([x - r, y - r, x + r, y + r], fill=b)
    return im


def draw_anime_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """A round-faced drawn portrait: thin coloured line art, cel shadows, tall two-tone eyes."""
    w, h = size, size + 8 * int(rng.integers(0, 3))
    im = _background(rng, w, h)
    d = ImageDraw.Draw(im)
    lw = max(1, size // 80)
    dark = rng.uniform() < 0.3  # a dark palette: deep hair, navy lines
    line = _hsv(rng.uniform(0.55, 0.75), 0.6, 0.25) if dark else _hsv(rng.uniform(0, 0.1), 0.6, 0.3)
    cx, cy = w * rng.uniform(0.44, 0.56), h * rng.uniform(0.45, 0.52)
    rx = w * rng.uniform(0.22, 0.27)
    ry = rx * rng.uniform(1.0, 1.12)
    hue = rng.uniform()
    hair = _hsv(hue, rng.uniform(0.25, 0.5), rng.uniform(0.35, 0.55) if dark else 0.95)
    hair_shadow = _hsv(hue, rng.uniform(0.35, 0.6), rng.uniform(0.25, 0.45) if dark else 0.75)
    skin = _hsv(rng.uniform(0.04, 0.08), rng.uniform(0.08, 0.2), 1.0)
    skin_shadow = _hsv(rng.uniform(0.02, 0.05), 0.3, 0.88)
    shirt = _hsv(rng.uniform(), rng.uniform(0.3, 0.7), rng.uniform(0.5, 0.95))

    # shoulders and a collar
    d.ellipse([cx - 2.3 * rx, cy + 1.5 * ry, cx + 2.3 * rx, cy + 3.6 * ry], shirt, line, lw)
    d.polygon(
        [(cx - 0.5 * rx, cy + 1.55 * ry), (cx, cy + 2.0 * ry), (cx + 0.5 * rx, cy + 1.55 * ry)],
        fill="white",
        outline=line,
    )
    d.rectangle([cx - 0.3 * rx, cy + 0.7 * ry, cx + 0.3 * rx, cy + 1.6 * ry], skin_shadow)
    # hair behind: a bob, or twin tails
    if rng.uniform() < 0.5:
        d.rounded_rectangle(
            [cx - 1.3 * rx, cy - 1.25 * ry, cx + 1.3 * rx, cy + 1.0 * ry],
            radius=int(rx),
            fill=hair,
            outline=line,
            width=lw,
        )
    else:
        for side in (-1, 1):
            tx = cx + side * 1.35 * rx
            d.ellipse([tx - 0.4 * rx, cy - 0.6 * ry, tx + 0.4 * rx, cy + 1.6 * ry], hair, line, lw)
        d.ellipse([cx - 1.15 * rx, cy - 1.3 * ry, cx + 1.15 * rx, cy + 0.5 * ry], hair, line, lw)
    # the face: round, a soft chin, a cel shadow on one side
    d.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], skin, line, lw)
    s = rng.choice([-1, 1])
    d.chord(
        [cx - rx + lw, cy - ry + lw, cx + rx - lw, cy + ry - lw],
        90 - 70 * s,
        90 + 10 * s,
        skin_shadow,
    )
    # bangs: a straight cut with a few notches, shadow beneath
    d.rectangle([cx - rx, cy - 0.45 * ry, cx + rx, cy - 0.32 * ry], skin_shadow)
    cut = cy - rng.uniform(0.3, 0.45) * ry
    notches = int(rng.integers(3, 6))
    xs = np.linspace(cx - 1.05 * rx, cx + 1.05 * rx, 2 * notches + 1)
    fringe = [(cx - 1.1 * rx, cy - 1.15 * ry)] + [
        (x, cut + (0.12 * ry if i % 2 else 0)) for i, x in enumerate(xs)
    ]
    fringe += [(cx + 1.1 * rx, cy - 1.15 * ry)]
    d.polygon(fringe, fill=hair, outline=line, width=lw)
    d.line([(cx - 0.5 * rx, cy - 0.95 * ry), (cx - 0.2 * rx, cut)], hair_shadow, max(1, lw))
    d.line([(cx + 0.4 * rx, cy - 0.95 * ry), (cx + 0.15 * rx, cut)], hair_shadow, max(1, lw))
    # tall two-tone eyes with two highlights, eyebrows, blush, a small mouth
    iris = _hsv(rng.uniform(), rng.uniform(0.5, 0.9), rng.uniform(0.5, 0.85))
    iris_dark = tuple(int(c * 0.55) for c in iris)
    ew, eh = 0.26 * rx, 0.46 * ry
    for side in (-1, 1):
        ex, ey = cx + side * 0.42 * rx, cy + 0.1 * ry
        d.ellipse([ex - ew / 2, ey - eh / 2, ex + ew / 2, ey + eh / 2], iris_dark, line, lw)
        d.ellipse([ex - ew / 2.6, ey - eh / 8, ex + ew / 2.6, ey + eh / 2.4], iris)
        d.ellipse([ex - ew / 5, ey - eh / 3, ex + ew / 10, ey - eh / 8], "white")
        d.ellipse([ex + ew / 8, ey + eh / 8, ex + ew / 3.5, ey + eh / 4], "white")
        d.arc([ex - ew, ey - eh * 0.9, ex + ew, ey - eh * 0.35], 200, 340, line, lw + 1)
        d.line([(ex - ew * 0.6, ey - eh * 0.95), (ex + ew * 0.6, ey - eh * 1.0)], line, lw)
        bx, by = cx + side * 0.62 * rx, cy + 0.5 * ry
        d.ellipse([bx - 0.15 * rx, by - 0.05 * ry, bx + 0.15 * rx, by + 0.05 * ry], (255, 175, 185))
    d.arc([cx - 0.12 * rx, cy + 0.55 * ry, cx + 0.12 * rx, cy + 0.72 * ry], 20, 160, line, lw)
    return im
