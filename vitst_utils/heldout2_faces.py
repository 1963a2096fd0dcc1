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

This module draws the drawings (its `_hsv` serves the photos too); the photos are drawn in
`heldout2_photos`.
"""

from __future__ import annotations

import colorsys
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

Rgb = tuple[int, int, int]


def _hsv(h: float, s: float, v: float) -> Rgb:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return round(r * 255), round(g * 255), round(b * 255)


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
