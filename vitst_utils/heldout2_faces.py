"""The `heldout2` synthetic family: written for the sixth tuning round as its report family,
judged once (README, "The anime recipe"), a tuning family since, when `heldout3` took over.

`builtin`, `transfer` and `heldout` had all been used to tune recipes, so none of them could say
any longer whether a recipe generalises; this family is drawn yet another way. Its photos are
low-key three-quarter portraits, cropped close and placed off-centre: a warm or cool key light
from one side and a rim light of the opposite temperature on the other, a dark room with a
blurred window, blinds shadows or a split-tone wash behind, film grain, beanies and earrings,
ginger, platinum, grey or dyed hair. Its drawings are modern key-visual anime, also turned
three-quarters: brown lines, thick round the silhouette and thicker on the shadow side, thin and
colour-matched inside; hard two-tone cel shadows and cast hair shadows; pointed fringe locks,
sidelocks, ponytails and an ahoge; almond eyes with a heavy upper lid, gradient irises and two
highlights; hatched blush; cat ears or hair clips; hoodies; sky, sunset or framed-card
backgrounds; vivid or muted sepia palettes.
"""

from __future__ import annotations

import colorsys
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

Rgb = tuple[int, int, int]

_SKIN = np.array(
    [(250, 224, 208), (232, 190, 160), (204, 160, 112), (168, 116, 80), (120, 78, 52), (86, 56, 40)]
)
_HAIR = np.array(
    [(14, 12, 12), (62, 38, 24), (168, 78, 36), (232, 222, 196), (148, 146, 150), (96, 42, 28)]
)


def _hsv(h: float, s: float, v: float) -> Rgb:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return round(r * 255), round(g * 255), round(b * 255)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return yy, xx


def _ellipse(h: int, w: int, cx, cy, rx, ry, soft: float = 1.5) -> np.ndarray:
    """Soft-edged ellipse coverage in [0, 1], (h, w)."""
    yy, xx = _grid(h, w)
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


# --- photos ------------------------------------------------------------------------------------
def _room(rng: np.random.Generator, h: int, w: int, key: float, warm: np.ndarray) -> np.ndarray:
    """A dark room behind the sitter: a blurred window, blinds shadows or a split-tone wash."""
    yy, xx = _grid(h, w)
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
        yy, xx = _grid(h, w)
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
    yy, xx = _grid(h, w)
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


# --- anime -------------------------------------------------------------------------------------
Mask = np.ndarray  # bool (h, w)


def _mask(w: int, h: int, paint: Callable[[ImageDraw.ImageDraw], None]) -> Mask:
    im = Image.new("L", (w, h), 0)
    paint(ImageDraw.Draw(im))
    return np.asarray(im) > 127


def _shift(m: Mask, dx: int, dy: int) -> Mask:
    """`m` moved by (dx, dy) pixels, empty where it moved in from outside."""
    out = np.zeros_like(m)
    h, w = m.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = m[ys, xs]
    return out


def _grow(m: Mask, r: int) -> Mask:
    if r <= 0:
        return m
    im = Image.fromarray(m.astype(np.uint8) * 255)
    return np.asarray(im.filter(ImageFilter.MaxFilter(2 * r + 1))) > 127


def _backdrop(rng: np.random.Generator, w: int, h: int, vivid: bool) -> np.ndarray:
    """Drawn backdrops: a sky with flat clouds, a sunset with its sun, or a framed card."""
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    kind = int(rng.integers(3))
    s = 1.0 if vivid else 0.45
    if kind == 0:
        top = np.array(_hsv(rng.uniform(0.55, 0.62), 0.75 * s, 0.9), np.float32)
        bot = np.array(_hsv(rng.uniform(0.5, 0.58), 0.25 * s, 1.0), np.float32)
    elif kind == 1:
        top = np.array(_hsv(rng.uniform(0.72, 0.85), 0.6 * s, 0.55), np.float32)
        bot = np.array(_hsv(rng.uniform(0.04, 0.1), 0.8 * s, 1.0), np.float32)
    else:
        top = bot = np.array(_hsv(rng.uniform(), rng.uniform(0.4, 0.7) * s, 0.95), np.float32)
    # banded, not smooth: drawn skies are posterised into a few flat steps
    steps = int(rng.integers(4, 8))
    t = np.floor(t * steps) / (steps - 1)
    img = np.broadcast_to(top * (1 - t) + bot * t, (h, w, 3)).astype(np.float32).copy()
    im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    if kind == 0:
        shade = tuple(int(c) for c in (top * 0.35 + 255 * 0.65))
        for _ in range(int(rng.integers(2, 4))):
            x, y, r = rng.uniform(0, w), rng.uniform(0.1, 0.7) * h, rng.uniform(0.06, 0.11) * w
            for k in range(-2, 3):
                rr = r * (1.0 - 0.2 * abs(k))
                d.ellipse([x + k * r * 0.9 - rr, y - rr, x + k * r * 0.9 + rr, y + rr], "white")
            d.rectangle([x - 2.6 * r, y + 0.3 * r, x + 2.6 * r, y + 0.8 * r], shade)
    elif kind == 1:
        x, y, r = rng.uniform(0.1, 0.9) * w, rng.uniform(0.55, 0.8) * h, rng.uniform(0.1, 0.2) * w
        d.ellipse([x - r, y - r, x + r, y + r], _hsv(rng.uniform(0.08, 0.14), 0.5 * s, 1.0))
    else:
        frame = max(3, w // 14)
        ink = _hsv(rng.uniform(), 0.6 * s, 0.35)
        d.rectangle([frame, frame, w - 1 - frame, h - 1 - frame], outline="white", width=2)
        d.rectangle([0, 0, w - 1, h - 1], outline=ink, width=max(2, frame // 2))
        for _ in range(int(rng.integers(3, 7))):  # four-point sparkles
            x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.03, 0.06) * w
            pts = [(x, y - r), (x + r / 4, y), (x + r, y), (x + r / 4, y + r / 4), (x, y + r)]
            pts += [(x - r / 4, y), (x - r, y), (x - r / 4, y - r / 4)]
            d.polygon(pts, fill="white")
    return np.asarray(im, np.float32).copy()


def _curve(p0, p1, p2, n: int = 8) -> list[tuple[float, float]]:
    """Points along a quadratic Bezier from p0 to p2, bent toward p1."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    p = (1 - t) ** 2 * np.array(p0) + 2 * t * (1 - t) * np.array(p1) + t**2 * np.array(p2)
    return [(float(x), float(y)) for x, y in p]


class _Sheet:
    """One anime drawing being painted: the picture, the figure drawn so far, the pen, the
    light's cel-shadow offset, the palette rule (vivid, or muted sepia), and the head's place."""

    def __init__(self, rng: np.random.Generator, size: int):
        self.w = self.h = w = h = size
        self.vivid = rng.uniform() < 0.65
        self.img = _backdrop(rng, w, h, self.vivid)
        self.line = self.col(
            rng.uniform(0.0, 0.07), rng.uniform(0.6, 0.85), rng.uniform(0.22, 0.34)
        )
        self.thin, self.thick = max(1, round(size / 96)), max(2, round(size / 32))
        self.turn = float(rng.choice([-1.0, 1.0])) * rng.uniform(0.0, 0.5)  # +: looks right
        self.lx = float(rng.choice([-1.0, 1.0]))  # light from the upper left (-1) or right (+1)
        self.cx, self.cy = w * rng.uniform(0.44, 0.56), h * rng.uniform(0.42, 0.5)
        self.rx = w * rng.uniform(0.24, 0.28)
        self.ry = self.rx * rng.uniform(1.05, 1.2)
        self.k = max(2, round(0.14 * self.rx))  # cel shadow depth in pixels
        self.sdx, self.sdy = int(-self.lx * self.k), int(0.6 * self.k)  # away from the light
        self.hue = rng.uniform()
        self.hair = self.col(self.hue, rng.uniform(0.55, 0.9), rng.uniform(0.7, 0.98))
        self.skin = self.col(rng.uniform(0.03, 0.08), rng.uniform(0.1, 0.2), 1.0)
        self.cloth = self.col(rng.uniform(), rng.uniform(0.4, 0.8), rng.uniform(0.55, 0.95))
        self.tint = np.array([0.78, 0.72, 0.85])  # cel shadows go cool and darker, on skin warm
        self.warm = np.array([0.93, 0.76, 0.76])
        self.hcx = self.cx - self.turn * 0.2 * self.rx  # the hair's centre
        self.figure = np.zeros((h, w), bool)

    def col(self, hue: float, s: float, v: float) -> np.ndarray:
        if not self.vivid:  # muted sepia: every hue pulled toward warm brown, saturation halved
            hue, s = hue + 0.6 * (((0.08 - hue) + 0.5) % 1.0 - 0.5), 0.45 * s
        return np.array(_hsv(hue, s, v), np.float32)

    def poly(self, pts) -> Mask:
        pts = [(float(x), float(y)) for x, y in pts]
        return _mask(self.w, self.h, lambda d: d.polygon(pts, fill=255))

    def oval(self, x0, y0, x1, y1) -> Mask:
        return _mask(self.w, self.h, lambda d: d.ellipse([x0, y0, x1, y1], fill=255))

    def stroke(self, pts, color, width: int) -> None:
        pts = [(float(x), float(y)) for x, y in pts]
        self.img[_mask(self.w, self.h, lambda d: d.line(pts, fill=255, width=width))] = color

    def part(self, m: Mask, fill: np.ndarray, edge: np.ndarray | None = None, shade=None) -> Mask:
        """Paint a region: a thin colour-matched edge, the fill, a hard cel shadow inside."""
        shade = self.tint if shade is None else shade
        self.img[_grow(m, self.thin) & ~m] = fill * 0.45 if edge is None else edge
        self.img[m] = fill
        self.img[m & ~_shift(m, -self.sdx, -self.sdy)] = fill * shade
        self.figure |= m
        return m


def _hair_behind_and_body(rng: np.random.Generator, sh: _Sheet) -> None:
    """Hair behind (long with pointed ends, a ponytail, or short), a hoodie with its hood's rim
    and drawstrings, the neck, maybe cat ears, and the crown."""
    cx, cy, rx, ry = sh.cx, sh.cy, sh.rx, sh.ry
    turn, hcx, hair, skin = sh.turn, sh.hcx, sh.hair, sh.skin
    style = int(rng.integers(3))
    if style == 0:
        n = int(rng.integers(4, 7))
        xs = np.linspace(hcx + 1.35 * rx, hcx - 1.35 * rx, 2 * n + 1)
        tips = [(x, cy + (1.5 if i % 2 == 0 else 1.15) * ry) for i, x in enumerate(xs)]
        sh.part(
            sh.poly([(hcx - 1.2 * rx, cy - 0.6 * ry), (hcx + 1.2 * rx, cy - 0.6 * ry)] + tips), hair
        )
    elif style == 1:
        side = -1.0 if turn > 0 else 1.0  # tied at the back of the head
        bx, by = hcx + side * 1.0 * rx, cy - 0.7 * ry
        tail = _curve((bx, by), (bx + side * 1.0 * rx, cy), (bx + side * 0.5 * rx, cy + 1.4 * ry))
        tail += _curve((bx + side * 0.3 * rx, cy + 1.2 * ry), (bx + side * 0.2 * rx, cy), (bx, by))
        sh.part(sh.poly(tail), hair)
    bcx = cx - turn * 0.3 * rx
    sh.part(sh.oval(bcx - 2.3 * rx, cy + 1.3 * ry, bcx + 2.3 * rx, cy + 3.8 * ry), sh.cloth)
    sh.part(sh.oval(bcx - 0.95 * rx, cy + 1.0 * ry, bcx + 0.95 * rx, cy + 1.7 * ry), sh.cloth * 0.8)
    neck = sh.poly(
        [(cx - 0.28 * rx, cy + 0.5 * ry), (cx + 0.28 * rx, cy + 0.5 * ry)]
        + [(cx + 0.3 * rx, cy + 1.45 * ry), (cx, cy + 1.6 * ry), (cx - 0.3 * rx, cy + 1.45 * ry)]
    )
    sh.part(neck, skin, shade=sh.warm)
    sh.img[neck & (np.arange(sh.h)[:, None] < cy + 1.05 * ry)] = skin * sh.warm  # under the chin
    for s in (-1, 1):
        x = bcx + s * 0.4 * rx
        sh.part(
            sh.oval(x - 0.05 * rx, cy + 1.5 * ry, x + 0.05 * rx, cy + 2.1 * ry), sh.col(0, 0, 0.97)
        )
    if rng.uniform() < 0.2:  # cat ears, pink inside
        for s in (-1, 1):
            ex, base = hcx + s * 0.7 * rx, cy - 0.8 * ry
            outer = [(ex - 0.35 * rx, base), (ex + s * 0.15 * rx, cy - 1.45 * ry)]
            sh.part(sh.poly(outer + [(ex + 0.35 * rx, base)]), hair)
            inner = [(ex - 0.18 * rx, base), (ex + s * 0.12 * rx, cy - 1.25 * ry)]
            sh.part(sh.poly(inner + [(ex + 0.18 * rx, base)]), sh.col(0.95, 0.35, 1.0))
    sh.part(sh.oval(hcx - 1.15 * rx, cy - 1.25 * ry, hcx + 1.15 * rx, cy + 0.55 * ry), hair)


def _face(sh: _Sheet) -> Mask:
    """The face, turned: the chin moves toward the facing side, the far cheek is drawn in; the
    ear on the back of the head when turned enough."""
    cx, cy, rx, ry, turn = sh.cx, sh.cy, sh.rx, sh.ry, sh.turn
    top = [
        (cx + rx * np.cos(a), cy + 0.9 * ry * np.sin(a)) for a in np.linspace(np.pi, 2 * np.pi, 11)
    ]
    chin_x = cx + turn * 0.45 * rx
    chin = [
        (cx + rx * (0.95 - 0.25 * max(turn, 0.0)), cy + 0.35 * ry),
        (chin_x + 0.1 * rx, cy + 0.92 * ry),
        (chin_x, cy + ry),
        (chin_x - 0.1 * rx, cy + 0.92 * ry),
        (cx - rx * (0.95 - 0.25 * max(-turn, 0.0)), cy + 0.35 * ry),
    ]
    if abs(turn) > 0.15:
        ex = cx - np.sign(turn) * 0.97 * rx
        ear = sh.oval(ex - 0.14 * rx, cy - 0.05 * ry, ex + 0.14 * rx, cy + 0.35 * ry)
        sh.part(ear, sh.skin, sh.line, sh.warm)
    return sh.part(sh.poly(top + chin), sh.skin, sh.line, sh.warm)


def _front_hair(rng: np.random.Generator, sh: _Sheet, face: Mask) -> None:
    """Pointed locks swept to one side casting a shadow on the forehead, sidelocks, a zigzag
    sheen, maybe an ahoge and a hair clip."""
    cy, rx, ry, hcx, hair = sh.cy, sh.rx, sh.ry, sh.hcx, sh.hair
    sweep = float(rng.choice([-1.0, 1.0])) * rng.uniform(0.1, 0.3)
    n = int(rng.integers(4, 7))
    cap = [
        (hcx + 1.17 * rx * np.cos(a), cy - 0.35 * ry + 0.92 * ry * np.sin(a))
        for a in np.linspace(np.pi, 2 * np.pi, 11)
    ]
    for i, x in enumerate(np.linspace(hcx + 1.1 * rx, hcx - 1.1 * rx, 2 * n + 1)):
        tip = i % 2 == 1
        y = cy + (rng.uniform(-0.2, 0.02) if tip else -0.55) * ry
        cap.append((x + sweep * rx * tip, y))
    fringe = sh.poly(cap)
    sh.img[_shift(fringe, sh.sdx // 2, sh.k) & face & ~fringe] = sh.skin * sh.warm  # its shadow
    sh.part(fringe, hair)
    for s in (-1, 1):
        sx = hcx + s * 0.95 * rx
        lock = [(sx - 0.18 * rx, cy - 0.5 * ry), (sx + 0.2 * rx, cy - 0.5 * ry)]
        sh.part(sh.poly(lock + [(sx + s * 0.12 * rx, cy + rng.uniform(0.5, 0.9) * ry)]), hair)
    zig = [(hcx + (i / 5 - 0.5) * 1.1 * rx, cy - (0.85 if i % 2 else 0.75) * ry) for i in range(6)]
    sh.stroke(zig, sh.col(sh.hue, 0.3, 1.0), max(1, sh.thick - 1))
    if rng.uniform() < 0.6:  # an ahoge: one curved strand sticking up
        ax, ay = hcx + rng.uniform(-0.3, 0.3) * rx, cy - 1.2 * ry
        tip = (ax + float(rng.choice([-1.0, 1.0])) * 0.5 * rx, ay - 0.45 * ry)
        strand = _curve((ax - 0.08 * rx, ay + 0.1 * ry), (ax, ay - 0.6 * ry), tip, 6)
        strand += _curve(tip, (ax + 0.1 * rx, ay - 0.35 * ry), (ax + 0.08 * rx, ay + 0.1 * ry), 6)
        sh.part(sh.poly(strand), hair)
    if rng.uniform() < 0.4:  # a hair clip: two crossed bars on the fringe
        clip = sh.col(sh.hue + 0.5, 0.8, 0.95)
        px, py, r = hcx + float(rng.choice([-1.0, 1.0])) * 0.6 * rx, cy - 0.55 * ry, 0.18 * rx
        for t in (-1, 1):
            bar = [(px - r, py + t * r * 0.6), (px - r * 0.8, py + t * r * 0.95)]
            bar += [(px + r, py - t * r * 0.6), (px + r * 0.8, py - t * r * 0.95)]
            sh.part(sh.poly(bar), clip)


def _eyes_and_mouth(rng: np.random.Generator, sh: _Sheet) -> None:
    """Almond eyes (a heavy tapered upper lid, a gradient iris, two highlights), brows, hatched
    blush, a nose tick and a small mouth."""
    cx, cy, rx, ry = sh.cx, sh.cy, sh.rx, sh.ry
    turn, lx, line, thin = sh.turn, sh.lx, sh.line, sh.thin
    img, poly, oval = sh.img, sh.poly, sh.oval
    iris = sh.col(rng.uniform(), rng.uniform(0.6, 0.95), rng.uniform(0.6, 0.9))
    mx = cx + turn * 0.35 * rx  # the face's midline
    ys = np.arange(sh.h, dtype=np.float32)[:, None, None]
    eh = rng.uniform(0.3, 0.4) * ry
    for s in (-1.0, 1.0):
        sc = 1.0 - s * turn * 0.6  # the far eye is narrower
        ex, ey, ew = mx + s * 0.42 * rx * (1 - s * turn * 0.5), cy + 0.15 * ry, 0.36 * rx * sc
        outer, inner = ex + s * ew / 2, ex - s * ew / 2
        upper = _curve((inner, ey - 0.1 * eh), (ex, ey - 0.75 * eh), (outer, ey - 0.45 * eh))
        lower = _curve((outer, ey - 0.45 * eh), (ex + s * 0.1 * ew, ey + 0.6 * eh), (inner, ey))
        eye = poly(upper + lower)
        img[eye] = sh.col(0.6, 0.05, 1.0)
        ring = oval(ex - 0.32 * ew, ey - 0.5 * eh, ex + 0.32 * ew, ey + 0.45 * eh) & eye
        shade = iris * (0.35 + 0.85 * np.clip((ys - (ey - 0.5 * eh)) / eh, 0.0, 1.0))
        img[ring] = np.broadcast_to(shade, (sh.h, sh.w, 3))[ring]
        img[oval(ex - 0.12 * ew, ey - 0.2 * eh, ex + 0.12 * ew, ey + 0.15 * eh) & eye] = line * 0.6
        hx = -lx * 0.12 * ew
        img[oval(ex + hx - 0.13 * ew, ey - 0.35 * eh, ex + hx + 0.07 * ew, ey - 0.1 * eh)] = 255
        img[oval(ex - hx, ey + 0.15 * eh, ex - hx + 0.08 * ew, ey + 0.26 * eh)] = 255
        lid = upper + [(outer + s * 0.12 * ew, ey - 0.62 * eh)]
        lid += [(x, y - max(1.5, 0.14 * eh)) for x, y in reversed(upper)]
        img[poly(lid)] = line
        sh.stroke([(outer, ey - 0.2 * eh), (outer - s * 0.25 * ew, ey + 0.2 * eh)], line, thin)
        brow = _curve((inner, ey - 0.95 * eh), (ex, ey - 1.2 * eh), (outer, ey - 1.0 * eh), 5)
        sh.stroke(brow, sh.hair * 0.45, thin)
        bx, by = ex + s * 0.1 * ew, ey + 0.75 * eh
        for j in (-1, 0, 1):
            x0 = bx + j * 0.16 * ew
            sh.stroke([(x0, by), (x0 - 0.08 * ew, by + 0.18 * eh)], (235, 110, 120), thin)
    nx, ny = mx + turn * 0.15 * rx, cy + 0.45 * ry  # a nose tick, a small mouth
    sh.stroke([(nx, ny - 0.08 * ry), (nx - lx * 0.06 * rx, ny)], line, thin)
    my = cy + 0.68 * ry
    if rng.uniform() < 0.5:
        box = [mx - 0.12 * rx, my - 0.08 * ry, mx + 0.12 * rx, my + 0.1 * ry]
        mouth = _mask(sh.w, sh.h, lambda d: d.chord(box, 0, 180, fill=255))
        img[_grow(mouth, thin) & ~mouth] = line
        img[mouth] = (150, 50, 60)
    else:
        sh.stroke([(mx - 0.1 * rx, my), (mx + 0.1 * rx, my + 0.01 * ry)], line, thin)


def draw_anime_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """A three-quarter key-visual anime face: weighted brown lines, hard two-tone cel shading."""
    sh = _Sheet(rng, size)
    _hair_behind_and_body(rng, sh)
    face = _face(sh)
    _front_hair(rng, sh, face)
    _eyes_and_mouth(rng, sh)
    # the silhouette's line: thick, and thicker again on the shadow side
    grown = _grow(sh.figure, sh.thick)
    sh.img[(grown | _shift(grown, sh.sdx // 2, sh.sdy // 2)) & ~sh.figure] = sh.line
    return Image.fromarray(np.clip(np.rint(sh.img), 0, 255).astype(np.uint8))
