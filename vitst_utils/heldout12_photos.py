"""The `heldout12` family's photos (its drawings and the family's description are in
`heldout12_faces`): underwater portraits in a pool, the sea or a black-draped tank."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .drawing import Head, curve, grid, hsv, oval, put, to_image

_SKINS = ((255, 222, 196), (238, 190, 152), (212, 158, 116), (172, 112, 74), (122, 78, 50),
          (86, 56, 38))  # fmt: skip
_HAIRS = ((22, 18, 16), (60, 40, 28), (112, 74, 42), (205, 165, 105), (150, 64, 32))
_CAPS = ((240, 240, 240), (215, 40, 45), (250, 210, 40), (35, 90, 200), (240, 110, 170),
         (25, 25, 30))  # fmt: skip


class _Layer:
    """A premultiplied colour layer and its coverage, painted back to front."""

    def __init__(self, n: int) -> None:
        self.rgb, self.a = np.zeros((n, n, 3), np.float32), np.zeros((n, n), np.float32)

    def put(self, m: np.ndarray, colour) -> None:
        """Lay `colour` (rgb or (n, n, 3)) with coverage `m` over what is there."""
        put(self.rgb, m, colour)
        self.a += (1 - self.a) * m


def _strands(rng: np.random.Generator, h: Head, k: int, length: float, width: float,
             drift: float, span: float) -> np.ndarray:  # fmt: skip
    """Coverage of `k` hair strands floating out from the scalp, about `length` head radii long,
    rooted within `span` radians of the crown and bending toward `drift` radians from up."""
    n, ss, (rx, ry) = h.yy.shape[0], 2, h.frame[2:]
    im = Image.new("L", (n * ss, n * ss), 0)
    d = ImageDraw.Draw(im)
    for _ in range(k):
        a = -np.pi / 2 + rng.uniform(-span, span)
        x, y = h.at(0.9 * np.cos(a), 0.9 * np.sin(a))
        ang, wob, w = a, rng.uniform(-0.25, 0.25), width * rng.uniform(0.5, 1.5) * ss
        step = length * rng.uniform(0.6, 1.2) / 8
        for i in range(8):
            ang += 0.3 * (-np.pi / 2 + drift - ang) + wob * np.sin(i * 0.9 + wob * 9)
            nx, ny = x + step * rx * np.cos(ang), y + step * ry * np.sin(ang)
            d.line([(x * ss, y * ss), (nx * ss, ny * ss)], 255, max(1, round(w * (1 - 0.08 * i))))
            x, y = nx, ny
    return np.asarray(im.reduce(ss), np.float32) / 255.0


def _goggles(h: Head, L: _Layer, v: float, lens: np.ndarray) -> None:
    """Swim goggles at height `v` head radii: a strap round the head, two tinted lenses."""
    L.put(np.clip(1 - np.abs(h.uy - v) / 0.07, 0, 1) * h.o(0, 0, 1.12, 1.1), (40, 40, 48))
    for sx in (-1, 1):
        L.put(h.o(sx * 0.4, v, 0.3, 0.19, 1.2), (30, 32, 38))
        shine = 1 + 0.8 * np.clip(v - 0.03 - h.uy, 0, 1) / 0.1
        L.put(h.o(sx * 0.4, v, 0.24, 0.14, 1.2), lens * shine[..., None])


def _features(rng: np.random.Generator, h: Head, L: _Layer, sit: dict) -> None:
    """Eyes (open, shut or behind goggles), brows, nose, mouth and trinkets."""
    skin, u, eyes = sit["skin"], rng.uniform, sit["eyes"]
    for sx in (-1, 1):
        ex = sx * 0.4
        L.put(h.o(ex, 0.0, 0.3, 0.2, 3.0) * 0.5, skin * 0.6)  # the socket
        brow = curve((ex - 0.22, -0.17), (ex, -0.27), (ex + 0.24, -0.19), 5)
        L.put(h.poly(brow, 0.05), sit["hair"] * 0.5 + 10)
        lid = curve((ex - 0.21, 0.03), (ex, -0.09 if eyes == "open" else 0.1), (ex + 0.21, 0.03), 5)
        if eyes == "open":
            L.put(h.o(ex, 0.02, 0.2, 0.085), (205, 210, 205))
            L.put(h.o(ex + sx * u(-0.03, 0.03), 0.02, 0.085, 0.085), sit["iris"])
            L.put(h.o(ex, 0.02, 0.04, 0.04), (15, 15, 18))
            L.put(h.o(ex - 0.03, -0.01, 0.022, 0.02), (240, 240, 240))
        L.put(h.poly(lid, 0.035), (30, 24, 22))
        if sit["age"] == "elder":
            L.put(h.poly(f"{ex + sx * 0.2} 0.12 {ex + sx * 0.32} 0.2", 0.02) * 0.6, skin * 0.6)
    if eyes == "goggles":
        _goggles(h, L, 0.02, sit["lens"])
    L.put(h.poly("0.1 -0.05 0.14 0.3", 0.05) * 0.4, skin * 0.7)  # the nose's shadow side
    L.put(h.o(0, 0.31, 0.13, 0.07, 2.0) * 0.6, skin * 0.55)  # under the nose
    for sx in (-1, 1):
        L.put(h.o(sx * 0.07, 0.3, 0.035, 0.025), skin * 0.35)
    L.put(h.o(0, 0.12, 0.05, 0.16, 2.0) * 0.35, skin * 1.25)  # the bridge
    if sit["clip"]:  # a nose clip
        L.put(h.o(0, 0.27, 0.15, 0.05), (70, 70, 80))
    lips = np.array([0.85, 0.5, 0.52]) * skin if sit["lipstick"] is None else sit["lipstick"]
    if sit["puff"]:
        L.put(h.o(0, 0.58, 0.12, 0.07), lips)
    else:
        mw = u(0.24, 0.34)
        L.put(h.o(0, 0.55, mw, u(0.06, 0.1)), lips)
        L.put(h.o(0, 0.6, mw * 0.7, 0.04) * 0.5, lips * 1.3)
        L.put(h.poly(f"{-mw} 0.55 0 0.56 {mw} 0.55", 0.02), skin * 0.35)
    for t in np.linspace(-0.7, 0.7, 11) if sit["pearls"] else ():
        L.put(h.o(t, 1.35 + 0.35 * (1 - t * t / 0.5), 0.055, 0.045), (235, 232, 220))
    for t in np.linspace(-0.9, 0.9, 7) if sit["flowers"] else ():
        L.put(h.o(t, -0.62 - 0.35 * np.cos(t * 1.5), 0.16, 0.13, 1.5), hsv(u(0.85, 1.1), 0.7, 1))


def _swimmer(rng: np.random.Generator, s: int, cx: float, cy: float, sit: dict) -> tuple:
    """The floating sitter drawn upright, then rolled `sit['roll']` degrees about the head's
    centre: its colour (premultiplied) and coverage, and where its mouth ends up."""
    u, rx, ry, o = rng.uniform, sit["rx"], sit["ry"], round(0.3 * s)
    h, L = Head(s + 2 * o, s + 2 * o, cx + o, cy + o, rx, ry), _Layer(s + 2 * o)
    skin, hair, style, drift = sit["skin"], sit["hair"], sit["style"], u(-0.6, 0.6)
    if style in ("long", "loose", "bun"):  # the cloud of hair drifting behind the head
        k, ln = {"long": (70, 2.3), "loose": (60, 1.5), "bun": (30, 0.9)}[style]
        L.put(_strands(rng, h, k, ln, s / 55, drift, 1.9), hair * 0.55)
        L.put(_strands(rng, h, k // 2, ln, s / 90, drift, 1.6) * 0.8, hair * 1.1 + 15)
    side = [(0.45, 0.5), *curve((0.55, 1.15), (2.0, 1.2), (2.55, 2.5), 7), (2.7, 5)]
    body = h.poly(side + [(-x, y) for x, y in side[::-1]])
    fall = 0.2 if sit["key"][1] < -0.5 else 0.05  # shoulders darker down from a light above
    L.put(body, skin * np.clip(1.05 - fall * (h.uy - 1.3), 0.55, 1.05)[..., None])
    L.put(h.o(0, 1.0, 0.5, 0.3, 3.0) * body * 0.6, skin * 0.45)  # the chin's shadow on the neck
    wear, c1 = sit["wear"], hsv(u(), u(0.4, 0.9), u(0.5, 0.95))
    if wear == "wetsuit":
        L.put(body * (h.uy > 0.95), (28, 30, 34))
        L.put(body * (np.abs(h.uy - 1.65 - 0.2 * np.abs(h.ux)) < 0.12), c1)
    elif wear == "rash":
        L.put(body * (h.uy > 1.15), c1 * 0.9)
        L.put(body * (np.abs(h.ux) - 0.3 * h.uy > 1.0), (235, 235, 235))
    else:
        for sx in (-1, 1):
            L.put(h.poly("0.8 1.25 0.6 2.4", 0.1, sx), c1)
        L.put(body * (h.uy > 2.1 - 0.12 * h.ux**2), c1)
        for sx in (-1, 1) if wear == "dress" else ():  # chiffon billowing round the shoulders
            lobe = h.o(sx * u(1.3, 1.9), u(1.0, 1.5), u(0.5, 0.8), u(0.6, 1.0), 3.0)
            L.put(lobe * 0.6, c1 * 0.8 + 50)
    for sx in (-1, 1):
        L.put(h.o(sx * 1.0, 0.05, 0.16, 0.24, 1.5), skin * 0.8)
    jaw = h.ux * (1 + 0.3 * np.clip(h.uy, 0, 1))  # the face narrows to the chin
    face = np.clip((1 - np.hypot(jaw, h.uy)) * rx / 1.5 + 0.5, 0, 1)
    if sit["puff"]:  # cheeks blown out on a held breath
        face = np.max([face, h.o(-0.45, 0.4, 0.55, 0.45), h.o(0.45, 0.4, 0.55, 0.45)], axis=0)
    nx, ny, nz = h.dome(0, 0.05, 1.05, 1.05)
    lx, ly, lz = sit["key"]
    L.put(face, skin * (0.35 + 0.8 * np.clip(nx * lx + ny * ly + nz * lz, 0, 1))[..., None])
    _features(rng, h, L, sit)
    if style == "cap":
        dome = h.o(0, -0.12, 1.1, 1.02, 1.5) * np.clip((0.3 * h.ux**2 - 0.2 - h.uy) * ry / 2, 0, 1)
        sheen = np.clip(1 - np.hypot(h.ux + 0.3, h.uy + 0.75) / 0.5, 0, 1)
        L.put(dome, sit["cap"] * (0.75 + 0.5 * sheen)[..., None])
        if sit["brow_goggles"]:
            _goggles(h, L, -0.55, sit["lens"])
    else:
        line = 0.5 * h.ux**2 - (0.8 if style == "bald" else 0.5)
        cap = h.o(0, -0.15, 1.07, 0.98, 1.5) * np.clip((line - h.uy) * ry / 2, 0, 1)
        L.put(cap, hair * (0.7 + 0.4 * np.clip(-h.uy - 0.4, 0, 1))[..., None])
        if style == "bun":
            L.put(h.o(0, -1.05, 0.42, 0.32, 1.5), hair * 0.85)
        if style in ("long", "loose"):  # a few strands adrift over the face
            L.put(_strands(rng, h, 6, 1.4, s / 100, drift + 1.5, 1.0) * 0.8, hair * 0.8)
    out = []
    for c in (*L.rgb.transpose(2, 0, 1), L.a):
        im = Image.fromarray(np.ascontiguousarray(c), "F")
        im = im.rotate(sit["roll"], Image.BILINEAR, center=(cx + o, cy + o))
        out.append(np.asarray(im)[o : o + s, o : o + s])
    t = np.deg2rad(sit["roll"])
    mouth = (cx + 0.55 * ry * np.sin(t), cy + 0.55 * ry * np.cos(t))
    return np.stack(out[:3], -1), np.clip(out[3], 0, 1), mouth


def _caustics(rng: np.random.Generator, s: int, cells: int) -> np.ndarray:
    """A net of bright caustic light thrown by the rippling surface, in [0, 1]."""
    out = np.zeros((s, s), np.float32)
    for k in range(2):
        g = rng.normal(0, 1, (cells + 3 * k, cells + 3 * k)).astype(np.float32)
        n, (x, y) = round(s * 1.3), rng.integers(0, round(s * 0.3) + 1, 2)  # knots off any grid
        f = np.asarray(Image.fromarray(g, "F").resize((n, n), Image.BICUBIC))[y : y + s, x : x + s]
        out = np.maximum(out, np.exp(-((f / 0.07) ** 2)) * (1 - 0.35 * k))
    return out


def _sitter(rng: np.random.Generator, s: int, scene: str, light: str) -> dict:
    """Who floats before the lens, and how they are dressed and lit."""
    u, age = rng.uniform, str(rng.choice(["child", "adult", "adult", "adult", "elder"]))
    style = str(rng.choice(["long", "loose", "bun", "cap", "short", "long"]))
    hair = np.array(_HAIRS[int(rng.integers(len(_HAIRS)))], np.float32)
    if age == "elder":
        style, hair = str(rng.choice(["cap", "short", "bald"])), np.full(3, u(150, 215))
    elif u() < 0.15:  # dyed
        hair = hsv(u(0.5, 1.0), 0.6, 0.7)
    rx = s * u(0.1, 0.16) * (1.1 if age == "child" else 1.0)
    key = [0, -0.85, 0.55] if light == "sun" else [rng.choice([-1, 1]) * 0.45, -0.2, 0.87]
    sit = dict(age=age, style=style, hair=hair, rx=rx, ry=rx * u(1.2, 1.32))
    sit["roll"], sit["key"] = rng.normal(0, 18), np.array(key) / np.linalg.norm(key)
    sit["skin"] = np.array(_SKINS[int(rng.integers(len(_SKINS)))], np.float32) * u(0.92, 1.05)
    sit["cap"] = np.array(_CAPS[int(rng.integers(len(_CAPS)))], np.float32)
    sit["iris"], sit["lens"] = hsv(u(0.05, 0.6), u(0.3, 0.7), u(0.3, 0.6)), hsv(u(), 0.6, 0.6)
    sit["wear"] = str(rng.choice(["straps", "wetsuit", "rash", "dress"]))
    sit["eyes"] = str(rng.choice(["open", "shut", "goggles"], p=[0.45, 0.35, 0.2]))
    sit["brow_goggles"] = sit["eyes"] != "goggles" and u() < 0.5
    sit["puff"], sit["clip"] = u() < 0.3, u() < 0.12
    sit["lipstick"] = hsv(u(0.95, 1.02), 0.75, 0.7) if u() < 0.25 else None
    fashion = sit["wear"] == "dress" or scene == "drape"
    sit["pearls"], sit["flowers"] = fashion and u() < 0.5, fashion and style != "cap" and u() < 0.4
    return sit


def draw_photo_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """An underwater portrait: a floating head and shoulders seen through the water."""
    s, u, (yy, xx) = size, rng.uniform, grid(size, size)
    scene = str(rng.choice(["pool", "sea", "drape"], p=[0.45, 0.35, 0.2]))
    light = str(rng.choice(["sun", "strobe"], p=[0.7, 0.3]))
    sit = _sitter(rng, s, scene, light)
    cx, cy = s * u(0.36, 0.64), s * u(0.36, 0.52)
    rgb, a, (mx, my) = _swimmer(rng, s, cx, cy, sit)
    water = hsv(u(0.46, 0.6), u(0.45, 0.7), u(0.5, 0.75))
    if scene == "pool":  # tiles and a lane line, a metre or two behind
        p = s / u(4, 6)
        grout = np.minimum((xx + u(0, p)) % p, (yy + u(0, p)) % p) < max(1, p * 0.08)
        back = np.where(grout[..., None], np.array([230.0, 235, 235]), np.array([150.0, 205, 215]))
        back[np.abs(xx - s * u(0.1, 0.9)) < s * 0.045] = (20, 25, 40)
        dist = u(1.2, 1.9)
    elif scene == "sea":
        back, dist = np.broadcast_to(water, (s, s, 3)), 6.0
    else:  # black cloth hung in the water close behind
        folds = 0.6 + 0.4 * np.sin(xx / s * u(8, 14) + 2 * np.sin(yy / s * 3)) ** 2
        back, dist = np.array([18.0, 20, 24]) * folds[..., None], 0.5
    near = u(0.6, 1.0) * (0.45 if light == "strobe" else 1.0)
    depth = (a * near + (1 - a) * dist)[..., None] * u(0.8, 1.2)
    t = np.exp(-np.array([1.1, 0.33, 0.22], np.float32) * depth)  # red is soaked up first
    caustic = _caustics(rng, s, int(rng.integers(10, 15)))
    if light == "sun":  # down from the surface, thrown into a net of caustics
        lit = (1.3 - 0.75 * yy / s) * (1 + (0.5 + 0.4 * (1 - a)) * caustic)
    else:  # a strobe beside the lens
        glow = np.exp(-((np.hypot(xx - cx, yy - cy) / s / 0.45) ** 2))
        lit = 0.8 - 0.25 * yy / s + 1.25 * a * glow
    veil = water * (1.2 - 0.75 * yy / s)[..., None] * (0.35 if scene == "drape" else 1.0)
    if scene == "sea" and light == "sun":  # rays down through the water
        ang = np.arctan2(xx - s * u(0.2, 0.8), yy + s * 0.6)
        rays = np.clip(np.sin(ang * u(14, 22) + u(0, 6)) * np.sin(ang * 7 + 1), 0, 1) ** 2
        veil *= 1 + 0.35 * (rays * np.clip(1.2 - yy / s, 0, 1))[..., None]
    img = (rgb + back * (1 - a[..., None])) * lit[..., None] * t + veil * (1 - t)
    if light == "sun" and scene != "drape" and u() < 0.5:  # the silvery underside of the surface
        edge = s * u(0.04, 0.14) + s * 0.02 * np.sin(xx / s * u(10, 20))
        silver = (water * 0.6 + 110) * (0.8 + 0.2 * caustic[..., None])
        put(img, np.clip((edge - yy) / 1.5, 0, 1), silver)
    for i in range(int(rng.integers(4, 12))):  # bubbles rising from mouth and nose
        r = s * (0.006 + 0.003 * i) * u(0.7, 1.4)
        my, bx = my - 2.2 * r - s * u(0, 0.03), mx + s * 0.02 * np.sin(i * 1.7 + mx)
        ball, core = oval(yy, xx, bx, my, r, r), oval(yy, xx, bx, my, r * 0.7, r * 0.7)
        put(img, ball * 0.3 + np.clip(ball - core, 0, 1) * 0.5, water * 0.5 + 130)
        put(img, oval(yy, xx, bx - r * 0.35, my - r * 0.4, r * 0.25, r * 0.25) * 0.9, (245,) * 3)
    motes = Image.new("L", (s, s), 0)
    dm = ImageDraw.Draw(motes)
    for _ in range(int(u(10, 30) * (2.5 if light == "strobe" else 1))):  # backscatter
        x, y, r = u(0, s), u(0, s), max(0.6, s * u(0.002, 0.01))
        dm.ellipse([x - r, y - r, x + r, y + r], fill=int(u(40, 160)))
    speck = np.asarray(motes.filter(ImageFilter.GaussianBlur(s / 250)), np.float32) / 255.0
    im = to_image(img + speck[..., None] * (water * 0.3 + 120))
    img = np.asarray(im.filter(ImageFilter.GaussianBlur(s / 180)), np.float32)
    soft = np.asarray(im.filter(ImageFilter.GaussianBlur(s / 70)), np.float32)
    r2 = (((xx - s / 2) ** 2 + (yy - s / 2) ** 2) / (s / 2) ** 2)[..., None]
    img = img + (soft - img) * np.clip(r2 - 0.5, 0, 1)  # the dome port: soft, dark corners
    img *= 1 - 0.3 * np.clip(r2 - 0.3, 0, 1)
    return to_image(img + rng.normal(0, u(3, 6), (s, s, 1)) + rng.normal(0, 1.5, (s, s, 3)))
