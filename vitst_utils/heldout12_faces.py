"""The twelfth held-out synthetic family (`heldout12`): a report family, never seen while tuning.

Written by a helper session that saw no recipe and no score, and judged once as a report family; no
choice of recipe, weight or setting is made from it. It is drawn unlike all thirteen families
before it (`builtin`, `transfer`, `heldout` to `heldout11`) in as many independent respects as
could be. Its drawings are drawn here, its photos in `heldout12_photos`.

Its photos are underwater portraits, taken by a diver or a swimmer with a housed camera in a
swimming pool, the open sea or a tank hung with black cloth (the underwater fashion shoot). Water,
not air, sits between lens and face: red is soaked up first, so skin goes grey-green and the whole
frame is cast teal, cyan or deep blue; a veil of scattered light lifts the distant parts into the
water's colour, tiles and lane lines fading behind. The sitter floats: the body rolled this way or
that, hair drifting up and out in a cloud of separate strands, bubbles rising from nose and mouth,
cheeks puffed on a held breath, eyes shut or open. The sun comes from above through the rippling
surface (bright crowns and shoulders, a net of caustic light over everything, rays in the water,
the silvery underside of the surface at the top) or a strobe lights the face warm before dark
water, catching suspended specks as backscatter. Children to elders, every skin; silicone swim
caps, goggles on the eyes or the brow, nose clips; swimsuit straps, wetsuits with a coloured panel,
rash guards, billowing chiffon, pearls and flower crowns. The housing's dome port softens and
darkens the corners; high ISO leaves grain.

Its drawings are anime characters sprayed as graffiti murals on a wall outdoors, photographed
straight on in daylight. The wall is the ground: red or painted brick, concrete block or a roll-down
shutter, its mortar courses and ribs running through the paint. Everything is aerosol: fills with a
vertical fade from one can to another, soft-edged with a speckled overspray fringe, drips hanging
from lower edges, a hard black or dark skinny-cap outline round every shape, a wide white or dark
second outline round the piece behind, white shine strokes and four-point sparkles on top.
Street-style figures: a big spiky, long, twin-tailed, bobbed or bunned head of hair in fluorescent
colours; snapbacks with the peak to the side, beanies, headphones or a bandana over the mouth;
hoodies with drawstrings, bombers, tank tops; huge eyes with a fading iris, round, heart or star
shines, a wink; fanged grins, tongues out, cat mouths, smirks; plasters and hatched blush. Behind
the figure: a splat, a burst, a disc or a cluster of bubbles over older tags; some walls lie partly
in a building's shadow.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .drawing import Head, blur, cover, curve, grid, hsv, oval, put, to_image

# aerosol cans: fluorescent pink, orange, yellow, lime, turquoise, blue, violet, red; white, chrome
_CANS = (
    (255, 45, 150), (255, 130, 25), (255, 226, 40), (150, 240, 50), (25, 205, 200),
    (40, 110, 255), (140, 65, 225), (230, 30, 45), (250, 250, 245), (190, 195, 205),
)  # fmt: skip
_FLUO = 8  # the first eight cans are the fluorescent ones
_SPRAY_SKINS = ((255, 218, 190), (245, 190, 150), (210, 150, 105), (150, 98, 66), (105, 70, 50))
_INKS = ((12, 12, 14), (12, 12, 14), (36, 22, 84), (20, 36, 90), (84, 16, 46))  # outline cans


class _Wall:
    """A wall being sprayed: its colours, its relief (mortar courses, ribs) and the outline can."""

    def __init__(self, rng: np.random.Generator, s: int) -> None:
        u, (yy, xx) = rng.uniform, grid(s, s)
        self.s, self.yy, self.xx, self.rng = s, yy, xx, rng
        self.kind = str(rng.choice(["brick", "brick", "painted", "block", "shutter"]))
        if self.kind == "shutter":  # a roll-down shutter's ribs
            p = s / u(9, 13)
            f = (yy + u(0, p)) % p / p
            self.relief = np.where(f < 0.14, -1.0, np.where(f < 0.28, 0.35, 0.0))
            self.img = np.broadcast_to(hsv(u(), u(0, 0.25), u(0.55, 0.8)), (s, s, 3)).copy()
        else:  # bricks or blocks in courses, the bed joints shadowed by the sun above
            block = self.kind == "block"
            ch = s / (u(7, 8.5) if block else u(10, 13))
            bw = ch * (u(1.9, 2.1) if block else u(2.6, 3.1))
            gy = yy + u(0, ch)
            row = np.floor(gy / ch)
            gx = xx + u(0, bw) + (row % 2) * bw / 2
            col, m, fy = np.floor(gx / bw), max(1.0, ch * 0.13), gy - row * ch
            bed, head = fy < m, (gx - col * bw) < m
            self.relief = np.where(bed, -1.0, np.where(head, -0.3, np.where(fy < m + 1, 0.3, 0.0)))
            tone = rng.uniform(0.82, 1.12, (64, 64))[row.astype(int) % 64, col.astype(int) % 64]
            face = {"brick": hsv(u(0.0, 0.06), u(0.5, 0.7), u(0.5, 0.7)),
                    "painted": hsv(u(), u(0, 0.3), u(0.8, 0.95)),
                    "block": hsv(u(0.05, 0.15), u(0, 0.1), u(0.6, 0.75))}[self.kind]  # fmt: skip
            face = face * (tone if self.kind == "brick" else np.ones_like(tone))[..., None]
            mortar = face * 0.7 if self.kind == "painted" else np.array([150.0, 145, 135])
            self.img = np.where((bed | head)[..., None], mortar, face)
        self.soft, self.speck = max(0.4, s / 200), rng.random((s, s)) < 0.3
        self.k, self.ink = 2 * max(1, round(s / 90)) + 1, _INKS[int(rng.integers(len(_INKS)))]

    def spray(self, m: np.ndarray, colour, halo: float = 0.35) -> None:
        """Spray `colour` (rgb or (s, s, 3)) over coverage `m`: a soft edge, speckled overspray
        `halo` strong (0: none)."""
        ys, xs = np.nonzero(m.max(axis=1) > 0)[0], np.nonzero(m.max(axis=0) > 0)[0]
        if len(ys):  # work in the shape's box, grown by the overspray's reach
            g = int(self.s / 12 * (halo > 0)) + 2
            box = np.s_[max(ys[0] - g, 0) : ys[-1] + g + 1, max(xs[0] - g, 0) : xs[-1] + g + 1]
            a = blur(m[box], self.soft)
            over = blur(m[box], self.s / 35) if halo else a
            a = np.maximum(a, np.clip(over - a, 0, 1) * halo * self.speck[box])
            put(self.img[box], a, colour[box] if np.ndim(colour) == 3 else colour)

    def edge(self, m: np.ndarray, k: int = 0) -> np.ndarray:
        """A line about `k` px wide round the shape of coverage `m`."""
        hi, lo = m, m
        for _ in range((k or self.k) // 2):  # grown less shrunk, a pixel each way k // 2 times
            p, q = np.pad(hi, 1, mode="edge"), np.pad(lo, 1, mode="edge")
            hi = np.maximum(np.maximum(p[:-2], p[1:-1]), p[2:])
            hi = np.maximum(np.maximum(hi[:, :-2], hi[:, 1:-1]), hi[:, 2:])
            lo = np.minimum(np.minimum(q[:-2], q[1:-1]), q[2:])
            lo = np.minimum(np.minimum(lo[:, :-2], lo[:, 1:-1]), lo[:, 2:])
        return hi - lo

    def piece(self, m: np.ndarray, top, bottom=None, drips: int = 0, line: bool = True) -> None:
        """A filled shape faded from `top` to `bottom` down its height, outlined in the ink (if
        `line`), with `drips` runs hanging from its lower edge."""
        col = np.asarray(top, np.float32)
        rows = np.nonzero(m.max(axis=1) > 0.5)[0]
        if bottom is not None and len(rows) > 1:
            t = np.clip((self.yy - rows[0]) / (rows[-1] - rows[0]), 0, 1)[..., None]
            col = col * (1 - t) + np.asarray(bottom, np.float32) * t
        self.spray(m, col)
        cols = np.nonzero(m.max(axis=0) > 0.5)[0]
        for _ in range(drips if len(cols) else 0):  # runs hanging from the lower edge
            x = int(self.rng.choice(cols))
            y = int(np.nonzero(m[:, x] > 0.5)[0][-1])
            ln, w = self.s * self.rng.uniform(0.03, 0.12), max(1.0, self.s / 110)
            run = cover(self.s, [(x + 0.5, y), (x + 0.5, y + ln)], w)
            run = np.maximum(run, oval(self.yy, self.xx, x + 0.5, y + ln, w * 1.1, w * 1.3))
            self.spray(run, col[y, x] if col.ndim == 3 else col, 0.0)
        if line:
            self.spray(self.edge(m), self.ink, 0.15)

    def shine(self, x: float, y: float, r: float) -> None:
        """A four-point white sparkle at (x, y), `r` px to its points."""
        a = np.arange(8) * np.pi / 4
        rad = np.where(np.arange(8) % 2 == 0, r, r * 0.22)
        pts = list(zip(x + rad * np.cos(a), y + rad * np.sin(a), strict=True))
        self.spray(cover(self.s, pts), (255, 255, 250), 0.1)


def _backdrop(rng: np.random.Generator, w: _Wall, h: Head) -> None:
    """Old tags on the wall, then the shape sprayed behind the figure."""
    s, u = w.s, rng.uniform
    for _ in range(int(rng.integers(2, 6))):  # tags
        x0, y0, dx = u(0, s), u(0, s), s * 0.025
        pts = [(x0 + i * dx + u(-2.4, 2.4) * dx, y0 + u(-1.6, 1.6) * dx) for i in range(8)]
        colour = [(15, 15, 18), (190, 195, 205), _CANS[int(rng.integers(_FLUO))]][rng.integers(3)]
        w.spray(cover(s, pts, max(1.0, s / 70)), colour, 0.2)
    kind = str(rng.choice(["splat", "burst", "disc", "bubbles", "none"]))
    if kind == "none":
        return
    c1, c2 = (np.array(_CANS[i], np.float32) for i in rng.choice(len(_CANS), 2, replace=False))
    (cx, cy), r = h.at(u(-0.3, 0.3), u(-0.2, 0.3)), h.frame[2] * u(1.9, 2.6)
    ang, rad = np.linspace(0, 2 * np.pi, 40, endpoint=False), np.full(40, r)
    if kind == "splat":
        rad *= 1 + 0.12 * np.sin(ang * 3 + u(0, 6)) + (rng.random(40) < 0.25) * u(0.2, 0.5)
    elif kind == "burst":
        rad *= np.where(np.arange(40) % 2 == 0, 1.15, 0.75)
    m = cover(s, list(zip(cx + rad * np.cos(ang), cy + rad * np.sin(ang), strict=True)))
    if kind == "bubbles":
        c = [(cx + r * u(-0.7, 0.7), cy + r * u(-0.7, 0.7), r * u(0.35, 0.65)) for _ in range(5)]
        m = np.max([oval(w.yy, w.xx, x, y, e, e) for x, y, e in c], axis=0)
    w.spray(w.edge(m, 3 * w.k), (250, 250, 245) if u() < 0.6 else c2 * 0.5, 0.2)  # second outline
    w.piece(m, c1, c2, int(rng.integers(1, 4)))
    for _ in range(int(rng.integers(3, 7)) if kind == "splat" else 0):  # flung droplets
        a, q = u(0, 2 * np.pi), r * u(1.25, 1.6)
        w.spray(oval(w.yy, w.xx, cx + q * np.cos(a), cy + q * np.sin(a), r * 0.07, r * 0.07), c1)


def _eyes(rng: np.random.Generator, w: _Wall, h: Head, hair: np.ndarray) -> None:
    """Huge eyes with a fading iris and big shines (or a wink), brows and hatched blush."""
    u, iris = rng.uniform, np.array(_CANS[int(rng.integers(_FLUO))], np.float32)
    ew, eh, ey = u(0.22, 0.28), u(0.28, 0.36), u(0.18, 0.26)
    wink, shine = rng.choice([-1, 1]) if u() < 0.2 else 0, rng.choice(["dots", "star", "heart"])
    for sx in (-1, 1):
        ex, bx, by, top = sx * u(0.4, 0.46), sx * 0.52, ey + eh, ey - eh
        w.spray(h.o(bx, by + 0.12, 0.2, 0.1), (255, 120, 150), 0.6)  # blush, hatched
        for x in (bx - 0.08, bx, bx + 0.08):
            w.spray(h.poly([x + 0.03, by + 0.06, x - 0.03, by + 0.18], 0.025), (200, 40, 80))
        brow = curve((ex - sx * 0.15, top - 0.2), (ex, top - 0.28), (ex + sx * 0.2, top - 0.18))
        w.spray(h.poly(brow, 0.05), hair * 0.5, 0.1)
        if sx == wink:  # a wink: a chevron
            chevron = [ex - 0.2, ey - 0.1, ex + sx * 0.18, ey, ex - 0.2, ey + 0.1]
            w.spray(h.poly(chevron, 0.06), w.ink)
            continue
        eye = h.o(ex, ey, ew, eh)
        w.piece(eye, (250, 250, 245), line=False)
        w.piece(h.o(ex, ey + 0.06, ew * 0.8, eh * 0.82), iris * 0.35, iris * 0.6 + 100, line=False)
        w.spray(h.o(ex, ey + 0.06, ew * 0.35, eh * 0.4), (15, 15, 20), 0.0)
        (px, py), r = h.at(ex - ew * 0.3, ey - eh * 0.3), ew * h.frame[2] * 0.35
        if shine == "star":
            w.shine(px, py, r * 1.6)
        elif shine == "heart":
            tip = cover(w.s, [(px - r, py + r * 0.15), (px + r, py + r * 0.15), (px, py + r * 1.2)])
            lobes = [oval(w.yy, w.xx, px + k * r * 0.45, py, r * 0.55, r * 0.55) for k in (-1, 1)]
            w.spray(np.max([*lobes, tip], axis=0), (255, 255, 255), 0.0)
        else:
            w.spray(oval(w.yy, w.xx, px, py, r, r), (255, 255, 255), 0.0)
        w.spray(h.o(ex + ew * 0.35, ey + eh * 0.4, ew * 0.14, ew * 0.14), (255, 255, 255), 0.0)
        w.spray(w.edge(eye), w.ink, 0.1)
        lash = curve((ex - sx * ew, ey - eh / 2), (ex, top - eh / 4), (ex + sx * ew * 1.5, top))
        w.spray(h.poly(lash, 0.1), w.ink, 0.1)


def _mouth(rng: np.random.Generator, w: _Wall, h: Head) -> None:
    """A fanged grin, a tongue out, a cat mouth or a smirk."""
    kind = str(rng.choice(["grin", "tongue", "cat", "smirk"]))
    if kind == "grin":
        m = h.poly(curve((-0.22, 0.62), (0, 0.98), (0.22, 0.62)))
        w.piece(m, (150, 30, 45))
        w.spray(h.poly("0.06 0.64 0.14 0.64 0.1 0.76"), (255, 255, 255), 0.0)  # a fang
        w.spray(h.o(0, 0.84, 0.1, 0.06) * m, (255, 120, 140), 0.0)
    elif kind == "tongue":
        w.spray(h.poly("-0.15 0.7 0.15 0.7", 0.04), w.ink, 0.0)
        w.piece(h.o(0.05, 0.78, 0.08, 0.1) * (h.uy > 0.7), (255, 110, 140))
    elif kind == "cat":
        for sx in (-1, 1):
            w.spray(h.poly(curve((0, 0.66), (0.07, 0.76), (0.14, 0.66), 5), 0.04, sx), w.ink, 0.0)
    else:
        w.spray(h.poly(curve((-0.14, 0.72), (0.02, 0.76), (0.16, 0.64), 5), 0.04), w.ink, 0.0)


def _hair(rng: np.random.Generator, w: _Wall, h: Head, hair: np.ndarray, style: str) -> None:
    """The fringe of big pointed locks (a crown of spikes for `spiky`), side locks and buns, and a
    white shine stroke."""
    n, u, spiky = int(rng.integers(3, 6)), rng.uniform, style == "spiky"
    ang, r = np.linspace(0, -np.pi, 15), 1.15 * (1 + 0.4 * spiky * (np.arange(15) % 2))
    crown = list(zip(r * np.cos(ang), r * np.sin(ang) - 0.05, strict=True))
    xs = np.linspace(-1.15, 1.15, 2 * n + 1) + rng.uniform(-0.06, 0.06, 2 * n + 1)
    locks = [(x, u(-0.2, 0.02) if i % 2 else u(-0.6, -0.45)) for i, x in enumerate(xs)]
    locks[0], locks[-1] = (-1.15, 0.0 if spiky else 0.4), (1.15, 0.0 if spiky else 0.4)
    m = h.poly(crown + locks)
    for sx in (-1, 1) if style in ("long", "bob", "twin") else ():
        m = np.maximum(m, h.poly("1.15 -0.2 0.8 -0.1 0.88 0.9 1.1 0.75", sx=sx))
    w.piece(m, hair, hair * 0.7, int(rng.integers(0, 3)))
    w.spray(h.poly(curve((-0.6, -0.72), (0, -1.0), (0.55, -0.74), 7), 0.07), (255,) * 3, 0.1)
    for sx in (-1, 1) if style == "buns" else ():
        w.piece(h.o(sx * 0.8, -1.0, 0.36, 0.36), hair)


def _headwear(rng: np.random.Generator, w: _Wall, h: Head, kind: str, c: int) -> None:
    """A snapback (its peak to a side or to the front), a beanie or headphones, in can `c`."""
    if kind == "cap":
        w.piece(h.o(0, -0.5, 1.2, 0.75) * (h.uy < -0.32), _CANS[c])
        sx = rng.choice([-1, 0, 1])
        w.piece(h.o(sx * 0.85, -0.36, 0.55 + 0.7 * (sx == 0), 0.13), _CANS[(c + 3) % _FLUO])
    elif kind == "beanie":
        w.piece(h.o(0, -0.5, 1.18, 0.85) * (h.uy < -0.4), _CANS[c])
        w.piece(h.o(0, -0.5, 1.22, 0.85) * (np.abs(h.uy + 0.52) < 0.14), _CANS[(c + 3) % _FLUO])
    elif kind == "phones":
        w.spray(h.poly(curve((-1.1, 0.0), (0, -1.9), (1.1, 0.0), 11), 0.12), (20, 20, 24), 0.1)
        for sx in (-1, 1):
            w.piece(h.o(sx * 1.1, 0.1, 0.22, 0.35), _CANS[c])


def draw_anime_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """An anime character sprayed as a graffiti mural on a wall, photographed in daylight."""
    s, u, w = size, rng.uniform, _Wall(rng, size)
    rx = s * u(0.14, 0.24)
    h = Head(s, s, s * u(0.36, 0.64), s * u(0.36, 0.48), rx, rx * u(1.0, 1.1))
    _backdrop(rng, w, h)
    hi, ci, xi = (int(i) for i in rng.choice(_FLUO, 3, replace=False))
    hair, cloth = np.array(_CANS[hi], np.float32), np.array(_CANS[ci], np.float32)
    skin = np.array(_SPRAY_SKINS[int(rng.integers(len(_SPRAY_SKINS)))], np.float32)
    style = str(rng.choice(["spiky", "long", "twin", "bob", "buns"]))
    wear = str(rng.choice(["hoodie", "bomber", "tank"]))
    hat = str(rng.choice(["none", "none", "cap", "beanie", "phones", "bandana"]))
    low = (s - h.frame[1]) / h.frame[3] + 0.2  # the bottom edge, in head radii
    if style == "long":
        w.piece(h.poly(f"-1.15 -0.5 -1.5 {low} 1.5 {low} 1.15 -0.5"), hair * 0.8, hair * 0.55, 2)
    for sx in (-1, 1) if style == "twin" else ():
        tail = h.poly(curve((0.9, -0.7), (2.3, 0.2), (1.6, low), 9), 0.5, sx)
        w.piece(tail, hair, hair * 0.6, 1)
    if wear == "hoodie":  # the hood behind the head
        w.piece(h.o(0, 0.75, 1.55, 1.35), cloth * 0.6)
    w.piece(h.poly("-0.32 0.5 0.32 0.5 0.36 1.7 -0.36 1.7"), skin * 0.8)
    body = h.poly(f"-0.4 1.25 0.4 1.25 1.5 1.5 2.2 2.1 2.5 {low} -2.5 {low} -2.2 2.1 -1.5 1.5")
    if wear == "tank":  # bare shoulders round a vest
        w.piece(body, skin * 0.85)
        body *= np.abs(h.ux) < 0.9 + 0.3 * (h.uy - 1.5)
    w.piece(body, cloth, cloth * 0.55, 2)
    for sx in (-1, 1):
        if wear == "hoodie":  # drawstrings
            w.spray(h.poly("0.25 1.5 0.3 2.2", 0.05, sx), (245, 245, 240), 0.0)
        elif wear == "bomber":  # the collar
            w.piece(h.poly("0.1 1.75 0.45 1.25 1.0 1.45", sx=sx), _CANS[xi])
    face = [(np.cos(a), 0.05 + np.sin(a)) for a in np.linspace(np.pi, 2 * np.pi, 12)]
    fm = h.poly(face + [(0.98, 0.4), (0.55, 0.92), (0, 1.12), (-0.55, 0.92), (-0.98, 0.4)])
    w.piece(fm, skin, skin * 0.9)
    w.spray(fm * h.o(0, -0.45, 1.1, 0.45, 3.0), skin * 0.78, 0.0)  # the fringe's soft shadow
    _eyes(rng, w, h, hair)
    w.spray(h.o(0, 0.47, 0.03, 0.03), skin * 0.55, 0.0)
    if hat == "bandana":  # over the mouth and nose
        band = fm * (h.uy > 0.42 + 0.1 * h.ux**2)
        w.piece(band, _CANS[xi])
        w.spray(band * ((h.xx + h.yy) % (s / 16) < s / 64), (250, 250, 245), 0.0)  # stripes
    else:
        _mouth(rng, w, h)
    if u() < 0.3:  # a plaster on the cheek
        plaster = h.poly("0.5 0.62 0.8 0.52 0.85 0.64 0.55 0.74", sx=rng.choice([-1, 1]))
        w.piece(plaster, (245, 225, 200))
    _hair(rng, w, h, hair, style)
    _headwear(rng, w, h, hat, xi)
    for _ in range(int(rng.integers(2, 5))):
        w.shine(u(0.05, 0.95) * s, u(0.05, 0.95) * s, s * u(0.025, 0.05))
    grain = 1 + rng.normal(0, 0.003, (s, s)) * (1.5 if w.kind == "block" else 1.0)
    img = w.img * ((1 + 0.45 * w.relief) * grain)[..., None]  # the wall's relief under the paint
    if u() < 0.35:  # a building's shadow across a corner
        shade = np.clip((w.xx * u(-1, 1) + w.yy - s * u(0.3, 0.9)) / 1.2, 0, 1)[..., None]
        img *= 1 - shade * (1 - np.array([0.55, 0.6, 0.75]))
    return to_image(img)
