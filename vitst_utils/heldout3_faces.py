"""The `heldout3` synthetic family: written for the sixth round as its report family, judged
once (README, "A sixth round"), a tuning family since the seventh, when `heldout4` took over.

`builtin`, `transfer`, `heldout` and `heldout2` had all been used to tune recipes, so none of
them could say any longer whether a recipe generalises; this family is drawn yet another way. It
differs from all four in as many independent respects as could be managed. Its photos are
high-key outdoor phone snapshots: a bright, blurred park, beach or street behind; golden-hour
backlight (a warm rim round the silhouette, haze, a lens flare, lifted blacks) or flat overcast
daylight; a big head tilted to one side in a mostly 4:5 frame, cropped close at the top; smiles
with teeth, freckles, sunglasses; curly hair, a top bun, long hair over the shoulders or a
headscarf; striped or bright tops; blotchy colour noise and sharpening halos instead of grain
and blur. Its drawings are lineless, soft-painted pastel illustrations: no outlines anywhere,
airbrushed gradient shading, ombre hair with a soft ring of light, chibi-like proportions (a big
round head tilted to one side on a small body, low wide-set eyes with no whites, gradient irises
with a glow, no nose), rounded scalloped fringes, wavy long hair, buns, bobs or a braid, berets,
bows and flowers, on watercolour washes, dreamy bokeh or falling petals; nothing in them is
darker than a deep pastel.

This module draws the drawings (its layers, ellipses, blur and blending serve the photos too;
helpers other families share are in `drawing`); the photos are drawn in `heldout3_photos`.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .drawing import grid, hsv

_SS = 4  # supersampling of drawn polygons, for anti-aliased edges


def _ellipse(h: int, w: int, cx, cy, rx, ry, soft: float = 1.0) -> np.ndarray:
    """Ellipse coverage in [0, 1], (h, w), with an edge `soft` pixels wide."""
    yy, xx = grid(h, w)
    d = np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2)
    return np.clip((1.0 - d) * min(rx, ry) / soft + 0.5, 0.0, 1.0)


def _poly(h: int, w: int, pts) -> np.ndarray:
    """Anti-aliased polygon coverage in [0, 1], (h, w)."""
    im = Image.new("L", (w * _SS, h * _SS), 0)
    ImageDraw.Draw(im).polygon([(float(x) * _SS, float(y) * _SS) for x, y in pts], fill=255)
    return np.asarray(im.reduce(_SS), np.float32) / 255.0


def _blur(a: np.ndarray, radius: float) -> np.ndarray:
    """Gaussian blur of a (h, w) map in [0, 1] or an (h, w, 3) image in [0, 255]."""
    rgb = a.ndim == 3
    im = Image.fromarray(np.clip(np.rint(a if rgb else a * 255), 0, 255).astype(np.uint8))
    out = np.asarray(im.filter(ImageFilter.GaussianBlur(radius)), np.float32)
    return out if rgb else out / 255.0


def _rotate(a: np.ndarray, degrees: float, px: float, py: float) -> np.ndarray:
    """`a` ((h, w) or (h, w, 3) float) turned by `degrees` anticlockwise about (px, py)."""
    if a.ndim == 3:
        return np.stack([_rotate(a[..., c], degrees, px, py) for c in range(a.shape[2])], -1)
    im = Image.fromarray(a.astype(np.float32))
    return np.asarray(im.rotate(degrees, Image.BILINEAR, center=(px, py)), np.float32)


def _over(img: np.ndarray, alpha: np.ndarray, color) -> None:
    """Blend `color` (rgb, or an (h, w, 3) array) into `img` in place with coverage `alpha`."""
    a = alpha[..., None]
    img[:] = img * (1.0 - a) + np.asarray(color, np.float32) * a


class _Layer:
    """A premultiplied RGBA layer that shapes are painted onto, then turned and composited."""

    def __init__(self, h: int, w: int) -> None:
        self.rgb = np.zeros((h, w, 3), np.float32)
        self.cover = np.zeros((h, w), np.float32)

    def put(self, a: np.ndarray, color) -> None:
        _over(self.rgb, a, color)
        self.cover = self.cover * (1.0 - a) + a

    def turned(self, degrees: float, px: float, py: float) -> _Layer:
        self.rgb = _rotate(self.rgb, degrees, px, py)
        self.cover = _rotate(self.cover, degrees, px, py)
        return self

    def onto(self, img: np.ndarray, margin: int) -> None:
        """Composite over `img`, which this layer overhangs by `margin` pixels on every side."""
        h, w = img.shape[:2]
        cover = self.cover[margin : margin + h, margin : margin + w, None]
        img[:] = img * (1.0 - cover) + self.rgb[margin : margin + h, margin : margin + w]


# --- anime -------------------------------------------------------------------------------------
def _dreamy(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Soft painted backgrounds: watercolour washes on paper, bokeh, or falling petals."""
    yy, xx = grid(h, w)
    kind = int(rng.integers(3))
    a = hsv(rng.uniform(), rng.uniform(0.04, 0.18), rng.uniform(0.93, 1.0))
    b = hsv(rng.uniform(), rng.uniform(0.12, 0.3), rng.uniform(0.88, 1.0))
    t = np.clip((xx / w + yy / h) / 2 + rng.uniform(-0.2, 0.2), 0, 1)[..., None]
    img = a * (1 - t) + b * t if kind else np.broadcast_to(a, (h, w, 3)).copy()
    if kind == 0:  # watercolour washes, each a few overlapping soft blobs
        for _ in range(int(rng.integers(3, 6))):
            x, y, r = rng.uniform(0, w), rng.uniform(0, h), w * rng.uniform(0.15, 0.3)
            blob = np.zeros((h, w), np.float32)
            for _ in range(3):
                ox, oy = rng.normal(0, 0.4 * r, 2)
                blob = np.maximum(blob, _ellipse(h, w, x + ox, y + oy, r, r * rng.uniform(0.6, 1)))
            wash = hsv(rng.uniform(), rng.uniform(0.2, 0.4), rng.uniform(0.85, 1.0))
            _over(img, _blur(blob, 0.15 * r) * rng.uniform(0.3, 0.6), wash)
    elif kind == 1:  # bokeh: soft light discs
        for _ in range(int(rng.integers(6, 12))):
            x, y, r = rng.uniform(0, w), rng.uniform(0, h), w * rng.uniform(0.04, 0.1)
            disc = _ellipse(h, w, x, y, r, r, 0.4 * r) * rng.uniform(0.3, 0.6)
            _over(img, disc, hsv(rng.uniform(), 0.15, 1.0))
    else:  # falling petals, pale at the tip
        hue = rng.choice([0.95, 0.0, 0.15, 0.55])
        for _ in range(int(rng.integers(8, 16))):
            x, y, r = rng.uniform(0, w), rng.uniform(0, h), w * rng.uniform(0.025, 0.045)
            petal = _ellipse(h, w, x, y, r * rng.uniform(1.2, 1.8), r)
            fade = np.clip((xx - x) / (3 * r) + 0.5, 0, 1)[..., None]
            _over(img, petal, hsv(hue, 0.35, 1.0) * (1 - fade) + 255.0 * fade)
    return img


def _hair_behind(
    rng: np.random.Generator, style: int, oval: tuple[float, float, float, float], H: int, W: int
) -> np.ndarray:
    """The coverage (H, W) of the hair behind the head `oval` (cx, cy, rx, ry): long and wavy
    (`style` 0), a bob with flicked ends (1), twin buns (2), or for a side braid (3) the crown."""
    cx, cy, rx, ry = oval
    yy = grid(H, W)[0]
    E = lambda *a: _ellipse(H, W, *a)  # noqa: E731
    if style == 0:
        n = 12
        ys = np.linspace(cy - 0.4 * ry, cy + rng.uniform(1.8, 2.6) * ry, n)
        wave = np.sin(np.linspace(0, rng.uniform(3, 5) * np.pi, n)) * 0.12 * rx
        left = [(cx - 1.15 * rx - 0.2 * rx * i / n + wave[i], y) for i, y in enumerate(ys)]
        right = [(cx + 1.15 * rx + 0.2 * rx * i / n - wave[i], y) for i, y in enumerate(ys)]
        m = _poly(H, W, left + right[::-1])
    elif style == 1:
        m = E(cx, cy + 0.05 * ry, 1.3 * rx, 1.05 * ry) * (yy < cy + 0.8 * ry)
        for s in (-1, 1):
            m = np.maximum(m, E(cx + s * 1.1 * rx, cy + 0.72 * ry, 0.35 * rx, 0.18 * ry))
    else:
        m = E(cx, cy + 0.1 * ry, 1.22 * rx, 1.08 * ry)
        if style == 2:
            for s in (-1, 1):
                m = np.maximum(m, E(cx + s * 0.95 * rx, cy - 0.95 * ry, 0.42 * rx, 0.42 * rx))
    return m


def _eyes_and_mouth(
    rng: np.random.Generator, head: _Layer, oval: tuple[float, float, float, float], lx: int, hue
) -> None:
    """Low, wide-set eyes with no whites (a gradient iris, a glow, a soft pupil, two highlights
    on the light's side `lx`, lashes in the hair's `hue` or the eyes'), and a small open mouth
    or a tiny smile, on the face `oval` (cx, cy, rx, ry)."""
    cx, cy, rx, ry = oval
    H, W = head.cover.shape
    yy = grid(H, W)[0]
    E = lambda *a: _ellipse(H, W, *a)  # noqa: E731
    eye_hue = rng.uniform()
    deep = hsv(eye_hue, rng.uniform(0.45, 0.7), rng.uniform(0.42, 0.52))
    light = hsv(eye_hue + 0.05, rng.uniform(0.3, 0.5), 1.0)
    lash = hsv(rng.choice([hue, eye_hue]), 0.5, 0.45)
    ew, eh = rx * rng.uniform(0.19, 0.23), ry * rng.uniform(0.26, 0.32)
    ey = cy + rng.uniform(0.2, 0.28) * ry
    for s in (-1, 1):
        ex = cx + s * rng.uniform(0.44, 0.5) * rx
        eye = E(ex, ey, ew, eh) * np.clip((yy - (ey - 0.82 * eh)) / 1.5, 0, 1)
        t = np.clip((yy - (ey - eh)) / (2 * eh), 0, 1)[..., None]
        head.put(eye, deep * (1 - t) + light * t)
        head.put(E(ex, ey + 0.45 * eh, 0.65 * ew, 0.35 * eh, 0.3 * ew) * eye * 0.7, light)
        head.put(E(ex, ey + 0.05 * eh, 0.45 * ew, 0.5 * eh, 0.2 * ew) * 0.8, deep * 0.95)
        head.put(E(ex - lx * 0.3 * ew, ey - 0.35 * eh, 0.34 * ew, 0.26 * eh), (255, 255, 255))
        head.put(E(ex + lx * 0.35 * ew, ey + 0.4 * eh, 0.14 * ew, 0.14 * ew), (255, 255, 255))
        lid, under = E(ex, ey - 0.06 * eh, 1.15 * ew, eh), E(ex, ey + 0.14 * eh, ew, eh)
        head.put(np.clip(lid - under, 0, 1) * (yy < ey - 0.3 * eh), lash)  # a soft crescent
        flick = [(ex + s * 0.85 * ew, ey - 0.7 * eh), (ex + s * 1.35 * ew, ey - 0.75 * eh)]
        head.put(_poly(H, W, flick + [(ex + s * 1.05 * ew, ey - 0.45 * eh)]), lash)
    my = cy + rng.uniform(0.6, 0.68) * ry
    if rng.uniform() < 0.5:  # a small open mouth, or a tiny smile
        head.put(E(cx, my, 0.1 * rx, 0.07 * ry) * (yy > my - 0.01 * ry), hsv(0.98, 0.45, 0.82))
        head.put(E(cx, my + 0.05 * ry, 0.06 * rx, 0.03 * ry), hsv(0.97, 0.3, 0.97))
    else:
        lo, hi = (E(cx, my - d * ry, 0.1 * rx, 0.08 * ry) for d in (0.05, 0.09))
        head.put(np.clip(lo - hi, 0, 1), hsv(0.99, 0.45, 0.75))


def _fringe(
    rng: np.random.Generator, oval: tuple[float, float, float, float], H: int, W: int
) -> np.ndarray:
    """The fringe's coverage (H, W) over the head `oval` (cx, cy, rx, ry): a crown ending in
    rounded scallops, and side locks."""
    cx, cy, rx, ry = oval
    yy = grid(H, W)[0]
    E = lambda *a: _ellipse(H, W, *a)  # noqa: E731
    fringe = E(cx, cy - 0.3 * ry, 1.1 * rx, 0.92 * ry) * np.clip(cy - 0.28 * ry - yy + 0.5, 0, 1)
    n = int(rng.integers(4, 7))
    r = 1.05 * rx / n
    for x in np.linspace(cx - rx + r, cx + rx - r, n):
        fringe = np.maximum(fringe, E(x, cy - 0.3 * ry + rng.uniform(0.0, 0.12) * ry, r, 1.1 * r))
    for s in (-1, 1):
        fringe = np.maximum(fringe, E(cx + s * 1.0 * rx, cy + 0.25 * ry, 0.2 * rx, 0.62 * ry))
    return fringe


def _flower(head: _Layer, fx: float, fy: float, r: float, petals) -> None:
    """A five-petalled flower of radius `r` at (fx, fy), a yellow heart."""
    H, W = head.cover.shape
    for a in np.linspace(0, 2 * np.pi, 5, endpoint=False):
        head.put(_ellipse(H, W, fx + r * np.cos(a), fy + r * np.sin(a), r, r), petals)
    head.put(_ellipse(H, W, fx, fy, 0.6 * r, 0.6 * r), hsv(0.14, 0.5, 1.0))


def draw_anime_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """A lineless soft-painted chibi-like portrait: pastel, airbrushed, head tilted, no lines."""
    w, h = size, round(size * rng.choice([1.0, 1.125, 1.25]))
    img = _dreamy(rng, h, w)
    o = w // 3  # drawn with a margin all round, so the tilt cuts nothing off
    H, W = h + 2 * o, w + 2 * o
    yy, xx = grid(H, W)
    E = lambda *a: _ellipse(H, W, *a)  # noqa: E731
    rx = w * rng.uniform(0.29, 0.34)
    ry = rx * rng.uniform(0.9, 1.0)
    cx, cy = o + w * rng.uniform(0.44, 0.56), o + h * rng.uniform(0.37, 0.43)
    lx = int(rng.choice([-1, 1]))  # the light's side
    k = max(2, round(0.12 * rx))  # how far soft shadows reach
    soft = 0.8 * k

    hue = rng.uniform()
    if rng.uniform() < 0.2:  # dark hair, still a pastel: a greyed navy or plum
        hair = hsv(rng.uniform(0.62, 0.85), rng.uniform(0.25, 0.4), rng.uniform(0.5, 0.6))
    else:
        hair = hsv(hue, rng.uniform(0.15, 0.45), rng.uniform(0.82, 0.98))
    tips = hsv(hue + rng.uniform(-0.15, 0.15), rng.uniform(0.25, 0.5), rng.uniform(0.8, 1.0))
    ombre = np.clip((yy - cy) / (2.2 * ry) + 0.3, 0, 1)[..., None]
    hair_col = hair * (1 - ombre) + tips * ombre
    hair_sh = hair_col * np.array([0.8, 0.8, 0.9])
    skin = hsv(rng.uniform(0.03, 0.07), rng.uniform(0.08, 0.16), 1.0)
    skin_sh = hsv(rng.uniform(0.0, 0.03), rng.uniform(0.22, 0.3), 0.94)
    cloth = hsv(rng.uniform(), rng.uniform(0.12, 0.35), rng.uniform(0.85, 0.98))
    accent = hsv(rng.uniform(), rng.uniform(0.35, 0.55), rng.uniform(0.85, 0.98))

    def shaded(m: np.ndarray, base, dark) -> np.ndarray:
        """`base` turning softly to `dark` away from the light (np.roll's wrap: in the margin)."""
        s = (m * (1 - _blur(np.roll(m, (-k, lx * k), (0, 1)), soft)))[..., None]
        return np.asarray(base, np.float32) * (1 - s) + np.asarray(dark, np.float32) * s

    def bow(layer: _Layer, bx: float, by: float, r: float, tall: float) -> None:
        for t in (-1, 1):
            m = _poly(H, W, [(bx, by), (bx + t * r, by - tall * r), (bx + t * r, by + tall * r)])
            layer.put(m, shaded(m, accent, accent * 0.8))
        layer.put(E(bx, by, 0.17 * r, 0.18 * r), accent * 0.9)

    back, body, head = _Layer(H, W), _Layer(H, W), _Layer(H, W)

    # hair behind: long and wavy, a bob with flicked ends, twin buns, or a side braid
    style = int(rng.integers(4))
    m = _hair_behind(rng, style, (cx, cy, rx, ry), H, W)
    back.put(m, shaded(m, hair_col, hair_sh))

    # a small body: narrow shoulders, a neck, a big bow or a round white collar
    m = E(cx, cy + 2.05 * ry, 1.35 * rx, 1.05 * ry) * np.clip(yy - (cy + 0.95 * ry), 0, 1)
    body.put(m, shaded(m, cloth, cloth * 0.85))
    body.put(E(cx, cy + 0.95 * ry, 0.24 * rx, 0.35 * ry), skin_sh)
    if rng.uniform() < 0.5:
        bow(body, cx, cy + 1.18 * ry, 0.42 * rx, 0.45)
    else:
        for s in (-1, 1):
            m = E(cx + s * 0.3 * rx, cy + 1.1 * ry, 0.34 * rx, 0.16 * ry)
            body.put(m, shaded(m, (252, 252, 250), (225, 225, 240)))

    if style == 3:  # the braid falls over one shoulder, a ribbon at its end
        s = float(rng.choice([-1.0, 1.0]))
        for i in range(5):
            bx, by = cx + s * (0.95 - 0.05 * i) * rx, cy + (0.45 + 0.33 * i) * ry
            m = E(bx, by, (0.24 - 0.02 * i) * rx, 0.2 * ry)
            head.put(m, shaded(m, hair_col, hair_sh))
        head.put(E(bx, by + 0.25 * ry, 0.14 * rx, 0.08 * ry), accent)
    # the face: a wide round head with a soft small chin, airbrushed shadow and big blush
    face = np.maximum(E(cx, cy, rx, 0.92 * ry), E(cx, cy + 0.3 * ry, 0.8 * rx, 0.7 * ry))
    head.put(face, shaded(face, skin, skin_sh))
    for s in (-1, 1):
        blush = E(cx + s * 0.58 * rx, cy + 0.42 * ry, 0.24 * rx, 0.12 * ry, 0.2 * rx)
        head.put(blush * 0.5, hsv(0.97, 0.35, 1.0))

    _eyes_and_mouth(rng, head, (cx, cy, rx, ry), lx, hue)

    # the fringe: a crown ending in rounded scallops that cast a soft shadow; side locks
    fringe = _fringe(rng, (cx, cy, rx, ry), H, W)
    cast = _blur(np.roll(fringe, k, 0), soft) * face * (1 - fringe)
    head.put(cast * 0.7, skin_sh)
    head.put(fringe, shaded(fringe, hair_col, hair_sh))
    ring = np.sqrt(((xx - cx) / (0.85 * rx)) ** 2 + ((yy - cy + 0.25 * ry) / (0.75 * ry)) ** 2)
    ring = np.clip(1 - np.abs(ring - 1) / 0.12, 0, 1) * (yy < cy - 0.6 * ry) * fringe
    head.put(_blur(ring, 0.6) * 0.6, (255, 255, 255))  # the soft ring of light

    # an accessory: a beret, a bow, a flower, or nothing
    acc = int(rng.integers(4))
    s = float(rng.choice([-1.0, 1.0]))
    if acc == 0:
        m = E(cx + s * 0.25 * rx, cy - 0.98 * ry, 0.95 * rx, 0.36 * ry)
        head.put(m, shaded(m, accent, accent * 0.8))
        head.put(E(cx + s * 0.3 * rx, cy - 1.36 * ry, 0.07 * rx, 0.07 * rx), accent * 0.85)
    elif acc == 1:
        bow(head, cx + s * 0.75 * rx, cy - 0.85 * ry, 0.38 * rx, 0.55)
    elif acc == 2:
        _flower(head, cx + s * 0.8 * rx, cy - 0.7 * ry, 0.13 * rx, accent)

    tilt, pivot = rng.uniform(-16, 16), (cx, cy + 0.95 * ry)
    back.turned(tilt, *pivot).onto(img, o)
    body.onto(img, o)
    head.turned(tilt, *pivot).onto(img, o)
    return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8))
