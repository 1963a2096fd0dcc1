"""The eleventh held-out synthetic family (`heldout11`): the twelfth look's report family.

Written by a helper session that saw no recipe and no score, and judged once as the twelfth look's
report family (README, "A twelfth look"); a tuning family since, for the probes of the thirteenth.
It is drawn unlike all twelve families before it (`builtin`, `transfer`, `heldout` to `heldout10`)
in as many independent respects as could be.

Its photos are frames of 1980s-90s home video, grabbed off a worn VHS tape: a camcorder held on
someone at a birthday party, a family Christmas, a back garden or a local TV interview. Analogue
video, not film or a sensor: luma smeared sideways with a ringing edge to the right, colour of far
lower resolution bleeding right of its place (reds worst), noise in horizontal streaks, the two
fields of the interlaced frame apart (every other line dimmer and shifted, combing on edges), white
dropout dashes, lifted blacks, clipped whites, the head-switching tear across the bottom lines, a
tracking band sometimes, and the camcorder's date and time burnt in. The light is the camera's own
hot lamp (a glaring, flat face before a room that falls away to dark), uncorrected household
tungsten (everything orange) or a dull overcast sky; behind are patterned wallpaper, balloons, a
tinsel-hung tree, a fence and sky or a studio's blue curtain. Babies' round faces to grandparents'
lined ones, every skin; perms, mullets, flat-tops, bobs, afros, bald crowns and grey buns; paper
party hats, caps and headscarves; big plastic glasses; colour-blocked windbreakers, patterned
knits, shirts and ties, shoulder-padded blazers.

Its drawings are anime characters made as layered papercut shadow boxes (kirigami fan art,
photographed from the front). There are no lines and no painted shading: every shape is a piece of
flat, matte coloured card, cut with crisp edges that catch the light, and every piece throws a soft
drop shadow down and to the right onto the layer behind, so depth is the only modelling. Hair is
a back piece and a front piece of pointed fringe locks with a paler shine piece laid on; eyes are
built up from a white piece, a coloured iris, a pupil, white dots and a black lash strip with a
flick (or cut as closed arcs); pink blush discs; small cut mouths. Round child-like faces with a
pointed chin; long, bobbed, twin-tailed, bunned or short hair; bows, flowers, stars and cat ears;
sailor and round collars. Behind: layered clouds and hills, scalloped rings like a paper flower or a
night card pricked with stars and a moon, all seen through the window of the box's front mat.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from .drawing import Head, blur, curve, hsv, oval, put, to_image

_SKINS = [(255, 224, 200), (236, 188, 150), (205, 150, 110), (160, 105, 70), (110, 70, 45)]
_GLYPHS = dict(  # 3 x 5 pixel characters of the camcorder's date stamp, rows top to bottom
    zip(
        "0123456789:.APM ",
        "111101101101111 010110010010111 111001111100111 111001111001111 101101111001001 "
        "111100111001111 111100111101111 111001010010010 111101111101111 111101111001111 "
        "000010000010000 000000000000010 010101111101101 110101110100100 101111111101101 "
        "000000000000000".split(),
        strict=True,
    )
)


def _hsmear(a: np.ndarray, cells: int) -> np.ndarray:
    """Blur a float (h, w) map sideways only, keeping `cells` samples across (as tape bandwidth)."""
    h, w = a.shape
    im = Image.fromarray(a.astype(np.float32), "F").resize((max(2, cells), h), Image.BOX)
    return np.asarray(im.resize((w, h), Image.BILINEAR), np.float32)


def _shift(a: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """`a` moved down `dy` and right `dx` pixels (both >= 0), zeros coming in."""
    out = np.zeros_like(a)
    h, w = a.shape[:2]
    out[dy:, dx:] = a[: h - dy, : w - dx]
    return out


class _Frame(Head):
    """A head's `Head` frame on an (s, s) picture, its size kept (`s`): shapes in head radii."""

    def __init__(self, s: int, cx: float, cy: float, rx: float, ry: float) -> None:
        super().__init__(s, s, cx, cy, rx, ry)
        self.s = s


# --- photos: VHS home-video frames -------------------------------------------------------------
def _room(rng: np.random.Generator, f: _Frame) -> tuple[np.ndarray, str]:
    """The scene behind the sitter, and its kind."""
    s, yy, xx = f.s, f.yy, f.xx
    kind = str(rng.choice(["wallpaper", "party", "tree", "garden", "studio"]))
    img = np.empty((s, s, 3), np.float32)
    if kind == "wallpaper":
        img[:] = hsv(rng.uniform(0.05, 0.35), rng.uniform(0.25, 0.5), rng.uniform(0.55, 0.8))
        p = s / rng.uniform(5, 9)
        motif = (np.sin(xx / p * np.pi) ** 2) * (0.6 + 0.4 * np.sin(yy / p * 2 * np.pi) ** 2)
        img *= (1 - 0.25 * motif)[..., None]
        put(img, np.clip((yy - 0.8 * s) / 2, 0, 1), hsv(rng.uniform(0.0, 0.1), 0.5, 0.4))
    elif kind == "party":
        img[:] = hsv(rng.uniform(0.1, 0.2), 0.2, 0.75)
        for _ in range(int(rng.integers(4, 8))):
            bx, by, r = rng.uniform(0, s), rng.uniform(0, 0.6 * s), s * rng.uniform(0.07, 0.12)
            col = hsv(rng.choice([0.0, 0.15, 0.35, 0.6, 0.8]), 0.85, 0.9)
            put(img, oval(yy, xx, bx, by, r * 0.85, r, 2.0), col)
            put(
                img,
                oval(yy, xx, bx - r * 0.3, by - r * 0.4, r * 0.2, r * 0.25, 2.0),
                col * 0.4 + 150,
            )
    elif kind == "tree":
        img[:] = (70, 50, 40)
        tree = np.clip((yy - 0.1 * s) * 1.2 - np.abs(xx - 0.2 * s), 0, 1) * (yy < 0.9 * s)
        put(img, tree, (25, 70, 35))
        for _ in range(14):
            lx, ly = rng.uniform(0, 0.45 * s), rng.uniform(0.1 * s, 0.9 * s)
            put(
                img, oval(yy, xx, lx, ly, s * 0.02, s * 0.02, 1.5) * tree, hsv(rng.random(), 0.7, 1)
            )
    elif kind == "garden":
        img[:] = hsv(0.58, 0.12, 0.85) * np.clip(1.05 - yy[..., None] / s * 0.3, 0, 1)
        fence = (yy > s * rng.uniform(0.35, 0.55)) * (0.8 + 0.2 * (np.sin(xx / s * 40) > 0.8))
        wood = np.array((150, 120, 90)) * (0.8 + 0.2 * (xx % 6 > 1))[..., None]
        put(img, fence.astype(np.float32), wood)
    else:
        img[:] = hsv(0.62, 0.6, 0.55)
        img *= (0.8 + 0.2 * np.sin(xx / s * 30 + np.sin(yy / s * 3)) ** 2)[..., None]
    return img, kind


def _dress(rng: np.random.Generator, img: np.ndarray, f: _Frame, skin: np.ndarray) -> None:
    """Neck, shoulders and clothes."""
    (cx, cy, rx, ry), yy, xx = f.frame, f.yy, f.xx
    put(img, np.clip(0.5 * rx - np.abs(xx - cx), 0, 1) * (yy > cy), skin * 0.8)
    body = f.o(0, 2.35, 2.7, 1.3, 2.0)
    kind = str(rng.choice(["block", "knit", "shirt", "blazer"]))
    c1, c2 = hsv(rng.random(), rng.uniform(0.3, 0.7), 0.75), hsv(rng.random(), 0.5, 0.6)
    if kind == "block":
        put(img, body, np.where(((xx - cx) + (yy - cy - ry * 1.5) > 0)[..., None], c1, c2))
    elif kind == "knit":
        zig = np.sin(xx / f.s * 50 + 3 * np.abs(((yy / f.s * 12) % 2) - 1))
        put(img, body, np.where((zig > 0.3)[..., None], c1, c1 * 0.6 + 60))
    else:
        put(img, body, c2 * 0.5 if kind == "blazer" else c1)
        v = np.clip(rx * 0.45 - np.abs(xx - cx) + (yy - cy - ry * 1.25) * 0.45, 0, 1)
        put(img, v * body, (235, 235, 225))
        put(img, np.clip(rx * 0.1 - np.abs(xx - cx), 0, 1) * v * body * (yy > cy + ry * 1.3), c1)


def _hair(img: np.ndarray, f: _Frame, sit: dict, back: bool) -> None:
    """The hair behind the head (`back`) or on it, or a headscarf."""
    (cx, cy, rx, ry), yy, xx = f.frame, f.yy, f.xx
    style, col = sit["style"], sit["hair"]
    if back:
        if style in ("long", "perm", "afro"):
            k, ky = (1.2, 1.35) if style == "long" else (1.55, 1.2 if style == "afro" else 1.35)
            bump = 1 + 0.06 * np.sin(np.arctan2(yy - cy, xx - cx) * 14) * (style != "long")
            d = (
                np.hypot(
                    (xx - cx) / (rx * k),
                    (yy - cy - ry * (0.1 if style == "afro" else 0.45)) / (ry * ky),
                )
                / bump
            )
            put(img, np.clip((1 - d) * rx * 0.6 + 0.5, 0, 1), col)
        return
    if style == "scarf":
        put(img, f.o(0, 0.1, 1.35, 1.3, 2.0) * (1 - f.o(0, 0.15, 0.85, 0.95, 1.5)), sit["cloth"])
        return
    line = cy - ry * (0.55 - 0.5 * ((xx - cx) / rx) ** 2)
    cap = f.o(0, -0.12, 1.08, 1.0, 1.5) * np.clip((line - yy) / 2, 0, 1)
    if style == "bald":
        cap *= np.clip((np.abs(xx - cx) - rx * 0.75) / 2, 0, 1)
    if style == "flattop":
        cap = np.maximum(cap, f.o(0, -0.9, 0.95, 0.35, 1.5))
    shine = np.clip(1 - np.hypot(xx - cx, yy - cy + ry) / rx, 0, 1)
    put(img, cap, col * (0.9 + 0.25 * shine)[..., None])
    if style == "bun":
        put(img, f.o(0, -1.1, 0.4, 0.3, 1.5), col * 0.9)


def _face(rng: np.random.Generator, img: np.ndarray, f: _Frame, sit: dict) -> None:
    """The face with its features, modelled softly."""
    (cx, cy, rx, ry), yy, xx, skin = f.frame, f.yy, f.xx, sit["skin"]
    for sx in (-1, 1):
        put(img, f.o(sx, 0.05, 0.18, 0.25, 1.5), skin * 0.85)
    light = np.clip(1.1 - 0.35 * ((xx - cx) / rx) ** 2 - 0.2 * ((yy - cy) / ry) ** 2, 0.6, 1.1)
    put(img, f.o(0, 0, 1, 1, 1.5), skin * light[..., None])
    put(img, f.o(0, 0.1, 0.08, 0.3, rx * 0.1) * 0.3, skin * 1.15)
    ew, mouth = 0.2, rng.uniform(0.02, 0.09)
    for sx in (-1, 1):
        put(img, f.o(sx * 0.8, 0.35, 0.35, 0.45, rx) * 0.5, skin * 0.7)  # cheek and socket
        put(img, f.o(sx * 0.4, -0.02, 0.3, 0.16, rx * 0.3) * 0.35, skin * 0.65)
        put(img, f.o(sx * 0.42, -0.08, ew * 1.3, 0.12, 2.0) * 0.25, skin * 0.5)
        put(img, f.o(sx * 0.42, 0.02, ew, 0.06), (225, 220, 215))
        put(img, f.o(sx * 0.42 + rng.normal(0, 0.02), 0.02, ew * 0.45, 0.06), (50, 35, 30))
        put(img, f.o(sx * 0.42, -0.18, ew * 1.2, 0.04) * 0.8, sit["hair"] * 0.5 + 10)
        if sit["glasses"] is not None:  # big plastic 80s frames
            ring = f.o(sx * 0.42, 0.02, ew * 1.7, 0.2) - f.o(sx * 0.42, 0.02, ew * 1.55, 0.15)
            put(img, np.clip(ring, 0, 1), sit["glasses"])
        if sit["age"] == "elder":
            put(img, f.o(sx * 0.4, 0.45, 0.8 / rx, 0.18, 0.7) * 0.5, skin * 0.6)
    put(img, f.o(0.06, 0.32, 0.1, 0.06, 1.5) * 0.5, skin * 0.6)
    mw = rng.uniform(0.28, 0.42)
    put(img, f.o(0, 0.58, mw, mouth + 0.8 / ry), (120, 40, 40))
    if mouth > 0.05:
        put(img, f.o(0, 0.56, mw * 0.7, mouth * 0.4), (230, 225, 215))
    if sit["hat"]:  # a paper party hat
        stripes = np.where(
            (np.sin((yy + xx) / rx * 6) > 0)[..., None], sit["cloth"], (240, 240, 90)
        )
        put(img, f.poly("-0.5 -0.8 0.15 -1.9 0.6 -0.75"), stripes)


def _tape(rng: np.random.Generator, img: np.ndarray, s: int) -> np.ndarray:
    """Record the scene to a worn VHS tape and play it back."""
    h, w = img.shape[:2]
    y = img @ np.array([0.299, 0.587, 0.114], np.float32)
    u, v = (img[..., 2] - y) * 0.56, (img[..., 0] - y) * 0.71
    yb = _hsmear(y, int(w * rng.uniform(0.45, 0.6)))
    ring = _shift(yb - _hsmear(yb, w // 5), 0, max(1, s // 96))
    y = yb + rng.uniform(0.6, 1.1) * ring
    y += _hsmear(rng.normal(0, 1, (h, w)).astype(np.float32), w // 3) * rng.uniform(3, 7)
    y = 16 + np.clip(y, 0, 300) * 0.86
    y = np.where(y > 225, 225 + (y - 225) * 0.15, y)
    cells, dx = int(rng.integers(22, 34)), max(1, round(s * rng.uniform(0.015, 0.03)))
    u, v = (_shift(_hsmear(c, cells), 0, dx) * rng.uniform(1.1, 1.35) for c in (u, v))
    u += _hsmear(rng.normal(0, 1, (h, w)).astype(np.float32), w // 6) * 5
    v += _hsmear(rng.normal(0, 1, (h, w)).astype(np.float32), w // 6) * 5
    out = np.stack([y + v / 0.71, y - 0.194 * u / 0.56 - 0.509 * v / 0.71, y + u / 0.56], -1)
    comb = int(rng.integers(0, 2 + s // 64))  # the fields apart
    out[1::2] = np.roll(out[1::2], comb, axis=1) * rng.uniform(0.86, 0.93)
    for _ in range(int(rng.integers(0, 5))):  # dropouts
        r, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
        out[r, x0 : x0 + int(rng.integers(2, max(3, s // 10)))] = 235
    band = max(2, s // 28)  # head-switching noise
    for i in range(band):
        out[h - band + i] = np.roll(out[h - band + i], int((i + 1) * s * 0.012), axis=0)
        out[h - band + i, : int((i + 1) * s * 0.012)] = 20
    if rng.random() < 0.35:  # a tracking band
        r0 = int(rng.integers(0, h - 2 * band))
        out[r0 : r0 + band] += (rng.random((band, w, 1)) > 0.93) * 120
    return out


def _stamp(rng: np.random.Generator, img: np.ndarray, s: int) -> None:
    """Burn the camcorder's date or time into the lower right corner."""
    m, d, yr = int(rng.integers(1, 13)), int(rng.integers(1, 29)), int(rng.integers(84, 100))
    hh, mm = int(rng.integers(1, 13)), int(rng.integers(0, 60))
    text = f"{m}.{d}.{yr}" if rng.random() < 0.5 else f"{hh}:{mm:02d} {'AP'[rng.random() < 0.6]}M"
    px = max(1, round(s / 100))
    x0, y0 = s - (len(text) * 4 + 3) * px, s - max(3, s // 28) - 8 * px
    for i, ch in enumerate(text):
        g = np.array([int(c) for c in _GLYPHS[ch]], np.float32).reshape(5, 3)
        g = np.kron(g, np.ones((px, px), np.float32))
        sl = img[y0 : y0 + 5 * px, x0 + i * 4 * px : x0 + (i * 4 + 3) * px]
        sl[:] = np.where(g[: sl.shape[0], : sl.shape[1], None] > 0, 240.0, sl)


def draw_photo_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """A frame of 1980s-90s home video, grabbed off a worn VHS tape: a head and shoulders."""
    s, age = size, str(rng.choice(["child", "adult", "adult", "elder"]))
    k, u = (1.12 if age == "child" else 1.0), rng.uniform
    f = _Frame(s, s * u(0.44, 0.56), s * u(0.4, 0.47), s * u(0.15, 0.18) * k, s * u(0.2, 0.23) * k)
    img, kind = _room(rng, f)
    style = str(rng.choice(["long", "perm", "afro", "short", "flattop", "bald", "bun", "scarf"]))
    if age == "child":
        style = str(rng.choice(["short", "long", "perm"]))
    hair = np.array([20, 15, 12]) + u(0, 1) * np.array([120, 80, 40])
    if age == "elder":
        style, hair = ("bald" if style == "afro" else style), np.full(3, u(150, 215))
    sit = dict(age=age, style=style, hair=hair, hat=kind == "party" and u(0, 1) < 0.6)
    sit["skin"] = np.array(_SKINS[int(rng.integers(len(_SKINS)))], np.float32) * u(0.92, 1.05)
    sit["cloth"] = hsv(rng.random(), 0.5, 0.7)
    sit["glasses"] = None if u(0, 1) < 0.6 else np.array((60, 40, 30)) * u(0.5, 1.5)
    _hair(img, f, sit, back=True)
    _dress(rng, img, f, sit["skin"])
    _face(rng, img, f, sit)
    _hair(img, f, sit, back=False)
    light, (cx, cy) = str(rng.choice(["lamp", "tungsten", "overcast"])), f.frame[:2]
    if light == "lamp":  # the camcorder's own lamp: a hot face, the room falling away to dark
        img *= np.clip(1.45 - np.hypot(f.xx - cx, f.yy - cy * 1.2) / s * 1.6, 0.35, 1.45)[..., None]
    elif light == "tungsten":
        img *= np.array([1.1, 0.85, 0.55], np.float32)
    else:
        img = img * np.array([0.88, 0.95, 1.05], np.float32) * 0.92 + 12
    img = np.asarray(to_image(img).filter(ImageFilter.GaussianBlur(s / 180)), np.float32)
    out = _tape(rng, img, s)
    if u(0, 1) < 0.8:
        _stamp(rng, out, s)
    return to_image(out)


# --- drawings: layered papercut shadow boxes ---------------------------------------------------
class _Box(_Frame):
    """A papercut shadow box being assembled: pieces of card laid back to front."""

    def __init__(self, rng: np.random.Generator, s: int, c: tuple) -> None:
        super().__init__(s, *c)
        self.img = np.zeros((s, s, 3), np.float32)
        self.off, self.rad, self.rim = (
            max(1, round(s * 0.025)),
            max(0.8, s * 0.02),
            max(1, s // 110),
        )
        self.tooth = 1 + 0.025 * (blur(rng.random((s, s)).astype(np.float32), s / 60) - 0.5)

    def lay(self, mask: np.ndarray, colour, depth: float = 1.0) -> None:
        """Glue a piece of card (coverage `mask`) on top, throwing its shadow on what is below."""
        d = max(1, round(self.off * depth))
        self.img *= (1 - 0.6 * blur(_shift(mask, d, d), self.rad * depth))[..., None]
        lit = np.clip(mask - _shift(mask, self.rim, self.rim), 0, 1)  # cut edges facing the light
        put(self.img, mask, np.asarray(colour, np.float32) * self.tooth[..., None])
        self.img += (lit * mask * 28)[..., None]


def _card(rng: np.random.Generator) -> list:
    """A harmonised set of craft-card colours: three hues, each light, mid and deep."""
    h0 = rng.random()
    hues = [h0, h0 + rng.choice([0.08, 0.5, 0.33]), h0 + rng.choice([-0.08, 0.58, 0.66])]
    return [hsv(h, rng.uniform(0.3, 0.7), v) for h in hues for v in (0.95, 0.78, 0.55)]


def _scene(rng: np.random.Generator, b: _Box, pal: list) -> None:
    """The layers behind the figure: hills and clouds, a paper flower's rings or a night card."""
    s, yy, xx = b.s, b.yy, b.xx
    kind = str(rng.choice(["hills", "flower", "night"]))
    b.img[:] = pal[0] * b.tooth[..., None]
    if kind == "night":
        b.img[:] = hsv(rng.uniform(0.6, 0.75), 0.6, 0.3) * b.tooth[..., None]
        sky = np.ones((s, s), np.float32)
        for _ in range(int(rng.integers(8, 16))):  # pricked stars
            x, y, r = rng.uniform(0, s), rng.uniform(0, s), s * rng.uniform(0.006, 0.015)
            sky -= oval(yy, xx, x, y, r, r)
        mx, my, mr = s * rng.choice([0.2, 0.8]), s * 0.2, s * 0.11
        sky -= oval(yy, xx, mx, my, mr, mr) * (
            1 - oval(yy, xx, mx + mr * 0.5, my - mr * 0.3, mr, mr)
        )
        b.lay(np.clip(sky, 0, 1), hsv(rng.uniform(0.6, 0.7), 0.55, 0.45), 0.6)
    elif kind == "flower":
        ang, n = np.arctan2(yy - s * 0.45, xx - s * 0.5), int(rng.integers(8, 14))
        for i, r in enumerate(np.linspace(0.75, 0.4, 3)):
            d = np.hypot(xx - s * 0.5, yy - s * 0.45) / (s * r * (1 + 0.08 * np.cos(ang * n + i)))
            b.lay(np.clip((1 - d) * s * 0.3 + 0.5, 0, 1), pal[3 + i * 2 % 6], 0.7)
    else:
        for i, base in enumerate((0.5, 0.62, 0.74)):
            ph, amp = rng.uniform(0, 6), s * rng.uniform(0.04, 0.08)
            top = s * base + amp * np.sin(xx / s * rng.uniform(4, 8) + ph)
            b.lay(np.clip(yy - top, 0, 1), pal[[4, 7, 5][i]], 0.7)
        for _ in range(int(rng.integers(2, 4))):
            x, y, r = (
                rng.uniform(0.05, 0.95) * s,
                rng.uniform(0.08, 0.3) * s,
                s * rng.uniform(0.05, 0.08),
            )
            cloud = [
                oval(yy, xx, x + a * r, y + c * r, e * r, g * r)
                for a, c, e, g in ((0, 0, 1.6, 0.6), (-0.4, -0.4, 0.7, 0.7), (0.5, -0.3, 0.6, 0.6))
            ]
            b.lay(np.max(cloud, axis=0), (250, 250, 245), 0.6)


def _eyes(rng: np.random.Generator, b: _Box, skin: np.ndarray, brow: np.ndarray) -> None:
    """Two eyes built up from pieces (or cut as closed arcs), brows, blush and a mouth."""
    iris = hsv(rng.random(), rng.uniform(0.5, 0.9), rng.uniform(0.5, 0.85))
    kind, lash, ew, eh, ey = (
        rng.random(),
        (35, 25, 30),
        rng.uniform(0.2, 0.26),
        rng.uniform(0.22, 0.3),
        0.22,
    )
    for sx in (-1, 1):
        ex = sx * 0.42
        b.lay(b.o(ex + sx * 0.12, 0.55, 0.16, 0.09), (250, 160, 170), 0.25)  # blush
        arc = curve((ex - ew, ey - eh * 2.3), (ex, ey - eh * 2.8), (ex + ew, ey - eh * 2.3), 5)
        b.lay(b.poly(arc, 0.03), brow, 0.3)
        if kind < 0.2:  # happy closed eyes, cut as arcs
            b.lay(b.poly(curve((ex - ew, ey), (ex, ey - eh), (ex + ew, ey), 7), 0.07), lash, 0.3)
            continue
        b.lay(b.o(ex, ey, ew, eh), (252, 250, 245), 0.3)
        b.lay(b.o(ex, ey + eh * 0.1, ew * 0.8, eh * 0.85), iris, 0.3)
        b.lay(b.o(ex, ey + eh * 0.2, ew * 0.4, eh * 0.45), iris * 0.35, 0.25)
        b.lay(b.o(ex - sx * ew * 0.3, ey - eh * 0.3, ew * 0.25, ew * 0.25), (255, 255, 255), 0.2)
        if kind > 0.88:  # sleepy: a lid of skin over the top
            b.lay(b.o(ex, ey, ew * 1.1, eh * 1.1) * (b.yy < b.at(0, ey - eh * 0.1)[1]), skin, 0.3)
        lid = [
            (ex - sx * ew * 1.05, ey - eh * 0.75),
            (ex, ey - eh * (0.4 if kind > 0.88 else 1.2)),
            (ex + sx * ew * 1.45, ey - eh * 1.05),
        ]
        b.lay(b.poly(curve(*lid, 7), 0.08), lash, 0.35)
    if rng.random() < 0.5:  # an open smile or a small closed mouth
        b.lay(b.poly(curve((-0.14, 0.72), (0, 1.0), (0.14, 0.72), 7)), (170, 50, 60), 0.25)
    else:
        b.lay(b.poly(curve((-0.12, 0.72), (0, 0.8), (0.12, 0.72), 5), 0.05), (150, 60, 60), 0.25)


def _figure(rng: np.random.Generator, b: _Box, pal: list) -> None:
    """The character, piece by piece: hair behind, clothes, face, eyes, fringe and trimmings."""
    skin = hsv(rng.uniform(0.04, 0.09), rng.uniform(0.12, 0.4), 0.98)
    hair = hsv(rng.random(), rng.uniform(0.3, 0.8), rng.uniform(0.35, 0.9))
    style, cloth = (
        str(rng.choice(["long", "bob", "twin", "buns", "short"])),
        pal[int(rng.integers(3, 9))],
    )
    low = (b.s - b.frame[1]) / b.frame[3]  # the bottom edge in head radii
    if style == "long":
        b.lay(b.poly(f"-1.2 -0.4 -1.45 {low} 1.45 {low} 1.2 -0.4"), hair * 0.8)
    for sx in (-1, 1) if style == "twin" else ():
        b.lay(b.poly(curve((sx, -0.6), (sx * 2.4, 0), (sx * 1.6, low), 9), 0.55), hair * 0.85)
    b.lay(b.poly("-0.3 0 0.3 0 0.3 1.6 -0.3 1.6"), skin * 0.85)  # neck
    b.lay(b.o(0, 3.0, 2.3, 1.85), cloth)
    sailor = rng.random() < 0.5
    for sx in (-1, 1):
        spec = f"0 1.85 0.35 1.25 1.3 1.35 0.9 {2.15 if sailor else 1.75}"
        b.lay(b.poly(spec, sx=sx), pal[6] if sailor else (248, 246, 238), 0.5)
    if sailor:
        b.lay(b.o(0, 1.95, 0.22, 0.16), (210, 50, 60), 0.5)
    if style in ("bob", "short"):
        k = 1.4 if style == "bob" else 1.0
        b.lay(b.o(0, 0.1 * k, 1.25, 0.9 + 0.25 * k), hair * 0.8)
    if rng.random() < 0.3:  # cat ears
        for sx in (-1, 1):
            b.lay(b.poly("0.3 -0.9 1.0 -1.6 1.05 -0.5", sx=sx), hair * 0.9)
    ang = np.linspace(np.pi, 2 * np.pi, 12)
    face = [(np.cos(a), np.sin(a)) for a in ang] + [(0.97, 0.35), (0.55, 0.9), (0, 1.12)]
    b.lay(b.poly(face + [(-0.55, 0.9), (-0.97, 0.35)]), skin)
    _eyes(rng, b, skin, hair * 0.6)
    n = int(rng.integers(4, 7))
    fringe = [(1.12 * np.cos(a), -0.05 + 1.12 * np.sin(a)) for a in ang]
    for i, x in enumerate(np.linspace(1.12, -1.12, 2 * n + 1)):  # pointed locks
        fringe.append(
            (x + rng.normal(0, 0.04), (0.15 if i % 2 else -0.35) - 0.25 * (i in (0, 2 * n)))
        )
    b.lay(b.poly(fringe), hair, 0.7)
    b.lay(b.poly(curve((-0.7, -0.6), (0, -0.95), (0.7, -0.6), 9), 0.09), hair * 0.55 + 115, 0.3)
    for sx in (-1, 1) if style == "buns" else ():
        b.lay(b.o(sx * 0.85, -0.95, 0.38, 0.38 * b.frame[2] / b.frame[3]), hair, 0.8)
    trim, tx = rng.random(), rng.choice([-1, 1]) * 0.75
    if trim < 0.35:  # a bow
        for sx in (-1, 1):
            b.lay(b.poly([(tx, -0.75), (tx + sx * 0.4, -1.0), (tx + sx * 0.4, -0.5)]), pal[7], 0.8)
        b.lay(b.o(tx, -0.75, 0.1, 0.1), pal[8], 0.8)
    elif trim < 0.7:  # a star or a flower
        r = np.where(np.arange(10) % 2 == 0, 0.28, 0.12 if trim < 0.5 else 0.22)
        a = np.arange(10) * np.pi / 5 - np.pi / 2
        b.lay(
            b.poly(np.stack([tx + r * np.cos(a), -0.75 + r * np.sin(a)], 1)),
            (250, 215, 80) if trim < 0.5 else pal[1],
            0.8,
        )


def draw_anime_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """An anime character made as a layered papercut shadow box, photographed from the front."""
    s, u = size, rng.uniform
    b = _Box(rng, s, (s * u(0.46, 0.54), s * u(0.43, 0.49), s * u(0.19, 0.23), s * u(0.19, 0.22)))
    pal = _card(rng)
    _scene(rng, b, pal)
    _figure(rng, b, pal)
    yy, xx, c, r = b.yy, b.xx, s * 0.5, s * u(0.44, 0.5)
    shape = str(rng.choice(["circle", "arch", "scallop"]))
    if shape == "circle":
        window = oval(yy, xx, c, c, r, r)
    elif shape == "arch":
        top, r = s * 0.42, r * 0.85
        window = np.maximum(
            oval(yy, xx, c, top, r, r) * (yy < top),
            (np.abs(xx - c) < r) * (yy >= top) * (yy < s * 0.96),
        )
    else:
        d = np.hypot(xx - c, yy - c) / (r * (0.94 + 0.06 * np.cos(np.arctan2(yy - c, xx - c) * 16)))
        window = np.clip((1 - d) * r * 0.5 + 0.5, 0, 1)
    mat = (250, 248, 240) if u(0, 1) < 0.4 else pal[int(rng.integers(0, 9))] * 0.8
    b.lay(1 - window.astype(np.float32), mat, 1.3)
    return to_image(b.img)
