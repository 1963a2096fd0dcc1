"""The `heldout3` family's photos (its drawings and the family's description are in
`heldout3_faces`): high-key outdoor phone snapshots, backlit at golden hour or under flat
overcast light, the head tilted, with blotchy colour noise and sharpening halos."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from .drawing import grid, hsv
from .heldout3_faces import _blur, _ellipse, _Layer, _over

_SKIN = np.array(
    [(246, 214, 190), (228, 184, 150), (200, 148, 110), (158, 106, 74), (112, 72, 50)], np.float32
)
_HAIR = np.array(
    [(22, 18, 16), (70, 44, 28), (122, 66, 34), (196, 150, 90), (222, 200, 150), (110, 106, 104)],
    np.float32,
)


def _outdoors(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A bright, out-of-focus outdoor scene: a park, a beach or a street under a pale sky."""
    yy, xx = grid(h, w)
    horizon = h * rng.uniform(0.3, 0.55)
    t = np.clip(yy / horizon, 0.0, 1.0)[..., None]
    sky, low = hsv(rng.uniform(0.54, 0.62), rng.uniform(0.2, 0.45), 0.95), hsv(0.58, 0.06, 1)
    img = sky * (1 - t) + low * t
    below = yy > horizon
    kind = int(rng.integers(3))
    if kind == 0:  # a park: a line of trees on the horizon, grass below
        img[below] = hsv(rng.uniform(0.2, 0.3), rng.uniform(0.35, 0.6), rng.uniform(0.5, 0.75))
        for _ in range(int(rng.integers(4, 8))):
            r = w * rng.uniform(0.1, 0.22)
            tree = hsv(rng.uniform(0.22, 0.33), rng.uniform(0.4, 0.7), rng.uniform(0.3, 0.65))
            _over(img, _ellipse(h, w, rng.uniform(0, w), horizon - 0.4 * r, r, 1.2 * r), tree)
    elif kind == 1:  # a beach: the sea, then sand, sun glints on the water
        sea_end = horizon + h * rng.uniform(0.08, 0.16)
        img[below] = hsv(rng.uniform(0.5, 0.58), rng.uniform(0.4, 0.7), rng.uniform(0.6, 0.85))
        img[yy > sea_end] = hsv(rng.uniform(0.09, 0.12), rng.uniform(0.2, 0.35), 0.95)
        img[(np.sin(xx * 1.7 + yy * 5.3) > 0.85) & below & (yy < sea_end)] = 250.0
    else:  # a street: pale house fronts with rows of windows, a pavement
        x = -w * rng.uniform(0, 0.2)
        while x < w:
            bw, top = w * rng.uniform(0.18, 0.4), h * rng.uniform(-0.1, 0.3)
            front = (xx >= x) & (xx < x + bw) & (yy > top) & ~below
            img[front] = hsv(rng.uniform(), rng.uniform(0.05, 0.3), rng.uniform(0.7, 0.95))
            px, py = w * rng.uniform(0.06, 0.1), h * rng.uniform(0.08, 0.12)
            img[front & ((xx - x) % px < 0.5 * px) & ((yy - top) % py < 0.55 * py)] *= 0.7
            x += bw
        img[below] = hsv(0.08, 0.05, rng.uniform(0.6, 0.8))
    return _blur(img, w * rng.uniform(0.035, 0.06))


def draw_photo_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """A high-key outdoor snapshot: backlit or overcast, head tilted, phone noise, sharpened."""
    w, h = size, round(size * (1.25 if rng.uniform() < 0.7 else 1.0))
    golden = rng.uniform() < 0.55  # golden-hour backlight, else flat overcast light
    tint = np.array([1.07, 0.97, 0.82] if golden else [0.95, 0.99, 1.05], np.float32)
    img = _outdoors(rng, h, w) * tint
    o = w // 3  # the sitter is drawn with a margin all round, so the tilt cuts nothing off
    H, W = h + 2 * o, w + 2 * o
    yy, xx = grid(H, W)

    rx = w * rng.uniform(0.24, 0.29)
    ry = rx * rng.uniform(1.22, 1.36)
    cx, cy = o + w * rng.uniform(0.4, 0.6), o + h * rng.uniform(-0.02, 0.08) + 1.15 * ry
    skin = _SKIN[rng.integers(len(_SKIN))] * rng.uniform(0.92, 1.06) + rng.normal(0, 5, 3)
    hair = _HAIR[rng.integers(len(_HAIR))] * rng.uniform(0.85, 1.15)
    style = int(rng.integers(5))  # long, top bun, curly, short, headscarf
    scarf = hsv(rng.uniform(), rng.uniform(0.3, 0.7), rng.uniform(0.45, 0.9))
    E = lambda *a: _ellipse(H, W, *a)  # noqa: E731
    body, fig = _Layer(H, W), _Layer(H, W)  # the shoulders stay put, the head tilts

    # a bright top, plain or striped, with a scoop neckline
    top = hsv(rng.uniform(), rng.uniform(0.2, 0.85), rng.uniform(0.55, 1.0))
    if rng.uniform() < 0.4:
        period = h * rng.uniform(0.04, 0.07)
        dark = 0.35 + 0.3 * rng.uniform()
        top = top * np.where(np.sin(2 * np.pi * yy / period) > 0, 1.0, dark)[..., None]
    body.put(E(cx, cy + 2.25 * ry, 2.6 * rx, 1.3 * ry, 2), top)
    body.put(E(cx, cy + 1.25 * ry, 0.6 * rx, 0.3 * ry, 2) * (yy > cy + 0.9 * ry), skin * 0.95)
    fig.put(E(cx, cy + 0.95 * ry, 0.45 * rx, 0.6 * ry, 2), skin * 0.88)  # neck
    curls = hair * (0.7 + 0.6 * _blur(rng.uniform(size=(H, W)), 0.6))[..., None]
    if style == 0:  # long hair, behind the head
        fig.put(E(cx, cy + 0.45 * ry, 1.25 * rx, 1.45 * ry, 2), hair * 0.8)
    elif style == 2:  # a big curly volume
        fig.put(E(cx, cy - 0.1 * ry, 1.55 * rx, 1.22 * ry, 2), curls)
    elif style == 4:  # a headscarf round the face and over the neck
        fig.put(np.maximum(E(cx, cy, 1.32 * rx, 1.2 * ry, 2), E(cx, cy + ry, rx, 0.6 * ry)), scarf)
    else:
        for s in (-1, 1):  # ears
            fig.put(E(cx + s * 0.98 * rx, cy + 0.05 * ry, 0.15 * rx, 0.22 * ry), skin * 0.9)
    face = np.maximum(E(cx, cy, rx, 0.95 * ry), E(cx, cy + 0.35 * ry, 0.76 * rx, 0.65 * ry))
    fig.put(face, skin)

    _features(rng, fig, (cx, cy, rx, ry), hair, skin, tint)

    # the front of the hair: a crown less a rounded forehead, parted a little to one side
    part = rng.uniform(-0.15, 0.15) * rx
    forehead = E(cx + part, cy + 0.3 * ry, 0.9 * rx, 0.9 * ry, 2)
    cap = np.clip(E(cx, cy - 0.25 * ry, 1.07 * rx, 0.92 * ry, 2) - forehead, 0, 1)
    if style == 0:  # a side parting; strands falling down the front of both shoulders
        fig.put(cap, hair)
        for s in (-1, 1):
            fig.put(E(cx + s * 1.02 * rx, cy + 0.85 * ry, 0.28 * rx, 1.05 * ry, 2), hair * 0.9)
    elif style == 1:  # hair pulled back into a bun on top
        fig.put(E(cx, cy - 1.1 * ry, 0.45 * rx, 0.32 * ry, 2), hair * 0.95)
        fig.put(cap, hair)
    elif style == 2:
        fig.put(E(cx, cy - 0.62 * ry, 1.2 * rx, 0.52 * ry, 2), curls)
    elif style == 3:
        crop = E(cx, cy - 0.3 * ry, 1.04 * rx, 0.85 * ry, 2) - E(cx, cy + 0.2 * ry, 0.92 * rx, ry)
        fig.put(np.clip(crop, 0, 1), hair)
    else:
        fig.put(E(cx, cy - 0.72 * ry, 1.12 * rx, 0.55 * ry, 2), scarf)

    # light: soft daylight from the front (backlit) or from above (overcast)
    hx, hy = (xx - cx) / (1.1 * rx), (yy - cy) / (1.15 * ry)
    hz = np.sqrt(np.clip(1 - hx**2 - hy**2, 0.0, 1.0))
    lx = rng.uniform(-0.3, 0.3)
    lit = hx * lx - hy * (0.15 if golden else 0.7) + hz * (0.95 if golden else 0.7)
    head = E(cx, cy, 1.1 * rx, 1.15 * ry, 3)
    falloff = 0.72 + 0.28 * _blur(fig.cover, 0.05 * w)
    shade = head * (0.55 + 0.45 * np.clip(lit, 0, 1)) + (1 - head) * falloff
    fig.rgb *= shade[..., None] * tint
    body.rgb *= (0.72 + 0.28 * _blur(body.cover, 0.05 * w))[..., None] * tint
    tilt = rng.uniform(5, 15) * rng.choice([-1, 1])
    body.onto(img, o)
    fig.turned(tilt, cx, cy + 0.95 * ry).onto(img, o)
    cover = (1 - (1 - body.cover) * (1 - fig.cover))[o : o + h, o : o + w]
    return _phone(rng, _daylight(rng, img, cover, golden))


def _features(
    rng: np.random.Generator,
    fig: _Layer,
    oval: tuple[float, float, float, float],
    hair: np.ndarray,
    skin: np.ndarray,
    tint: np.ndarray,
) -> None:
    """Squinting eyes or sunglasses (the sky mirrored in them), a nose, a smile with or
    without teeth, perhaps freckles, on the face `oval` (cx, cy, rx, ry)."""
    cx, cy, rx, ry = oval
    H, W = fig.cover.shape
    yy = grid(H, W)[0]
    E = lambda *a: _ellipse(H, W, *a)  # noqa: E731
    ey = cy + 0.02 * ry
    for s in (-1, 1):
        ex = cx + s * 0.38 * rx
        fig.put(E(ex, ey - 0.17 * ry, 0.2 * rx, 0.04 * ry), hair * 0.6 + 20)  # brows
        fig.put(E(ex, ey, 0.14 * rx, 0.045 * ry), (225, 222, 215))
        fig.put(E(ex, ey, 0.065 * rx, 0.045 * ry), rng.uniform(25, 90, 3))
        fig.put(E(ex, ey - 0.045 * ry, 0.15 * rx, 0.02 * ry), skin * 0.7)  # the upper lid
    if rng.uniform() < 0.2:  # sunglasses, the sky mirrored in them
        sky = 35 + 150 * np.clip((cy - yy) / (0.3 * ry) + 0.5, 0, 1)[..., None] * tint
        for s in (-1, 1):
            fig.put(E(cx + s * 0.4 * rx, ey + 0.02 * ry, 0.3 * rx, 0.17 * ry, 1.5), sky)
        fig.put(E(cx, ey - 0.06 * ry, 0.16 * rx, 0.025 * ry), (40, 35, 30))
    fig.put(E(cx + 0.03 * rx, cy + 0.24 * ry, 0.08 * rx, 0.13 * ry, 2.5), skin * 0.82)  # nose
    lips = skin * np.array([0.85, 0.56, 0.56]) * rng.uniform(0.85, 1.05)
    my = cy + 0.55 * ry
    if rng.uniform() < 0.55:  # a smile with teeth
        fig.put(E(cx, my, 0.3 * rx, 0.1 * ry) * (yy > my - 0.06 * ry), lips)
        fig.put(E(cx, my, 0.24 * rx, 0.055 * ry) * (yy > my - 0.03 * ry), (236, 232, 222))
    else:
        fig.put(E(cx, my, 0.26 * rx, 0.05 * ry), lips)
    if rng.uniform() < 0.3:
        for _ in range(int(rng.integers(8, 16))):
            fx = cx + rng.choice([-1, 1]) * rng.uniform(0.2, 0.6) * rx
            dot = E(fx, cy + rng.uniform(0.1, 0.35) * ry, 0.035 * rx, 0.035 * rx, 0.8)
            fig.put(dot * 0.6, skin * 0.72)


def _daylight(
    rng: np.random.Generator, img: np.ndarray, cover: np.ndarray, golden: bool
) -> np.ndarray:
    """Light over the whole picture, sitter `cover` included: golden hour (a warm rim round
    the silhouette, haze and a flare from the low sun, milky blacks) or flat overcast."""
    h, w = cover.shape
    yy, xx = grid(h, w)
    if golden:
        sx, sy = w * rng.uniform(0.0, 1.0), h * rng.uniform(-0.2, 0.1)
        near = np.clip(1.2 - np.sqrt((xx - sx) ** 2 + (yy - sy) ** 2) / h, 0, 1)
        rim = _blur(np.clip(cover - _blur(cover, 0.04 * w), 0, 1), 0.01 * w) * near
        img += (rim * rng.uniform(250, 400))[..., None] * np.array([1.0, 0.82, 0.55])
        haze = np.exp(-(((xx - sx) ** 2 + (yy - sy) ** 2) / (0.5 * w) ** 2)) * rng.uniform(0.4, 0.8)
        _over(img, haze, (255, 236, 200))
        for f in rng.uniform(0.6, 1.6, 3):
            fx, fy, fr = sx + f * (w / 2 - sx), sy + f * (h / 2 - sy), w * rng.uniform(0.04, 0.1)
            ghost = _ellipse(h, w, fx, fy, fr, fr, fr * 0.6) * 0.14
            _over(img, ghost, hsv(rng.uniform(0.02, 0.12), 0.45, 1.0))
        img = img * 0.86 + np.array([255.0, 232.0, 200.0]) * 0.14  # lifted, milky blacks
    else:  # overcast: flat, a little washed out
        lum = img.mean(axis=2, keepdims=True)
        img = (lum + 0.8 * (img - lum)) * 0.9 + 30.0
    return img


def _phone(rng: np.random.Generator, img: np.ndarray) -> Image.Image:
    """A phone's processing: blotchy colour noise, a little luma noise, over-sharpened."""
    h, w = img.shape[:2]
    blotch = rng.normal(128, rng.uniform(3, 6), (max(4, h // 3), max(4, w // 3), 3))
    blotch = Image.fromarray(np.clip(np.rint(blotch), 0, 255).astype(np.uint8))
    img += np.asarray(blotch.resize((w, h), Image.BILINEAR), np.float32) - 128.0
    img += rng.normal(0.0, 2.5, (h, w, 1))
    out = Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    sharpen = ImageFilter.UnsharpMask(rng.uniform(1.0, 2.0), int(rng.uniform(70, 140)), 1)
    return out.filter(sharpen)
