"""The fifth held-out synthetic family (`heldout5`): a report family of the seventh round.

Written by a helper session that saw no recipe and no score, after the seventh round's recipe
was fixed, and judged once beside `heldout4` (README, "A seventh round"); no choice of recipe,
weight or setting was made from it. A next round tunes on it and reports on a new family. It is
drawn unlike `builtin`, `transfer`, `heldout`, `heldout2`, `heldout3` and `heldout4` in as many
independent respects as could be managed.

Its photos are frames grabbed from an indoor video call on a cheap webcam. The head sits smaller
in the frame than in the other families, with shoulders and a sharp, cluttered room in focus
behind: bookshelves full of coloured spines, a bright window, a door or a framed picture, a pot
plant. The light is flat greenish office fluorescent from above (dark eye sockets, a shadow under
nose and chin, faint flicker bands rolling across the frame), a warm desk lamp, or a window
behind the sitter that blows out and leaves the face dim and murky, glare blooming over its
edge. Faces are modelled with square or long jaws and ears; buzz cuts, bald heads, side partings,
afros, buns and long hair; stubble or moustaches; headsets with a microphone boom, hoodies, shirt
collars. The camera is a webcam's: a low-resolution sensor upscaled (soft), colour bleeding from
subsampled chroma, noise smeared into blotches by denoising, and banded steps in smooth tones.

Its drawings are pixel art: retro Japanese computer-game portraits in the manner of 1990s PC-98
visual novels and RPG dialogue boxes. Each is drawn on a coarse grid (32 to 64 cells across) of
hard, unsmoothed pixels, enlarged to the picture size, from a palette of 4-bit-per-channel
colours; shading is ordered (Bayer) dithering between a few tones per material, outlines are one
cell wide (dark on the silhouette, a darker tone of the inside colour within: "sel-out"). The
figures have 80s and 90s anime proportions: a long face with a narrow pointed chin, tall eyes
with a heavy lash line, irises dark at the top and light below and one or two white glints; big,
voluminous hair with pointed locks over the forehead, a ring of shine and long side locks;
circlets with a gem or ribbons; armour shoulders, high collars, uniforms with a tie. Backgrounds
are dithered night or dusk skies with pixel stars, a glow behind the head, or a tiled pattern,
sometimes in a framed dialogue-box border.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .drawing import blur, hsv, oval, put

_SKIN = np.array(
    [(236, 198, 172), (214, 168, 134), (184, 132, 98), (140, 94, 66), (94, 62, 44)], np.float32
)
_HAIR = np.array(
    [(16, 14, 13), (52, 36, 26), (104, 72, 44), (164, 128, 84), (128, 124, 120), (196, 190, 180)],
    np.float32,
)
_BAYER = np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]]) / 16.0 + 1 / 32


def _streaks(rng: np.random.Generator, h: int, w: int, cy: int, cx: int) -> np.ndarray:
    """Smooth random texture in [0, 1], (h, w), from a coarse (cy, cx) grid (streaky if uneven)."""
    coarse = Image.fromarray(rng.uniform(0, 255, (cy, cx)).astype(np.uint8))
    return np.asarray(coarse.resize((w, h), Image.BICUBIC), np.float32) / 255.0


# --- photos ------------------------------------------------------------------------------------
def _room(rng: np.random.Generator, n: int, yy, xx) -> tuple[np.ndarray, np.ndarray]:
    """A lived-in room in focus (books, window, door or picture, plant), and the window's mask."""
    wall = hsv(rng.uniform(0.05, 0.65), rng.uniform(0.04, 0.3), rng.uniform(0.55, 0.9))
    img = wall * (1.0 + 0.15 * (xx / n - 0.5) * rng.choice([-1, 1]))[..., None]
    window = np.zeros((n, n), np.float32)
    spots = list(rng.permutation(4))
    for kind in spots[: int(rng.integers(2, 4))]:
        x0 = n * rng.uniform(-0.1, 0.6)
        x1 = x0 + n * rng.uniform(0.3, 0.55)
        box = (xx >= x0) & (xx < x1)
        if kind == 0:  # a bookshelf: boards, then rows of coloured spines
            wood = hsv(rng.uniform(0.05, 0.1), rng.uniform(0.2, 0.6), rng.uniform(0.2, 0.75))
            img[box] = wood
            step = n * rng.uniform(0.16, 0.24)
            for top in np.arange(n * rng.uniform(-0.1, 0.05), n, step):
                x = x0 + 0.03 * n
                while x < x1 - 0.05 * n:
                    bw = n * rng.uniform(0.015, 0.045)
                    bh = step * rng.uniform(0.6, 0.88)
                    col = hsv(rng.uniform(), rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.9))
                    spine = (xx >= x) & (xx < x + bw) & (yy > top + step - bh)
                    img[spine & (yy < top + step)] = col
                    x += bw + n * rng.uniform(0.0, 0.01)
        elif kind == 1:  # a window, blown out, with bars
            y0, y1 = n * rng.uniform(-0.1, 0.15), n * rng.uniform(0.45, 0.8)
            pane = box & (yy >= y0) & (yy < y1)
            window[pane] = 1.0
            img[pane] = rng.uniform(235, 255, 3)
            bar = (np.abs(xx - (x0 + x1) / 2) < 0.012 * n) | (
                np.abs(yy - (y0 + y1) / 2) < 0.012 * n
            )
            img[pane & bar] = wall * 0.95
        elif kind == 2:  # a door or a framed picture
            y0, y1 = n * rng.uniform(0.02, 0.2), n * rng.uniform(0.5, 1.1)
            frame = box & (yy >= y0) & (yy < y1)
            img[frame] = hsv(rng.uniform(), rng.uniform(0.0, 0.4), rng.uniform(0.1, 0.95))
            inner = (xx >= x0 + 0.03 * n) & (xx < x1 - 0.03 * n) & (yy >= y0 + 0.03 * n)
            img[frame & inner & (yy < y1 - 0.03 * n)] = hsv(rng.uniform(), 0.4, rng.uniform())
        else:  # a pot plant: leaves as dark green ovals over a pot
            px, py = n * rng.uniform(0.0, 1.0), n * rng.uniform(0.35, 0.6)
            for _ in range(int(rng.integers(6, 12))):
                lx, ly = px + rng.normal(0, 0.06 * n), py - abs(rng.normal(0, 0.08 * n))
                leaf = hsv(rng.uniform(0.25, 0.4), rng.uniform(0.4, 0.8), rng.uniform(0.2, 0.55))
                put(img, oval(yy, xx, lx, ly, 0.025 * n, 0.06 * n), leaf)
            pot = (np.abs(xx - px) < 0.06 * n) & (yy > py) & (yy < py + 0.12 * n)
            img[pot] = hsv(rng.uniform(0.0, 0.1), 0.5, rng.uniform(0.3, 0.8))
    if rng.uniform() < 0.5:  # the ceiling corner
        img[yy < n * rng.uniform(0.03, 0.12)] *= 1.12
    return img, window


def _head(rng: np.random.Generator, img: np.ndarray, yy, xx, n: int) -> tuple:
    """Shoulders, neck, ears, face and hair; returns the head's place, skin and hair colours."""
    cx, cy = n * rng.uniform(0.42, 0.58), n * rng.uniform(0.42, 0.52)
    rx = n * rng.uniform(0.15, 0.2)
    ry = rx * rng.uniform(1.2, 1.45)
    skin = _SKIN[rng.integers(len(_SKIN))] * rng.uniform(0.92, 1.06, 3)
    hair = _HAIR[rng.integers(len(_HAIR))] * rng.uniform(0.85, 1.15)
    style = rng.choice(["buzz", "bald", "part", "afro", "bun", "long"])
    if style == "long":
        put(img, oval(yy, xx, cx, cy + 0.5 * ry, 1.3 * rx, 1.6 * ry) * (yy < cy + 1.6 * ry), hair)
    if style == "afro":
        tex = 0.75 + 0.5 * _streaks(rng, n, n, n // 3, n // 3)[..., None]
        put(img, oval(yy, xx, cx, cy - 0.3 * ry, 1.7 * rx, 1.2 * ry, 3.0), hair * tex)
    cloth = hsv(rng.uniform(), rng.uniform(0.0, 0.7), rng.uniform(0.12, 0.85))
    put(img, oval(yy, xx, cx, cy + 2.4 * ry, 2.6 * rx, 1.45 * ry), cloth)
    neck = (np.abs(xx - cx) < 0.45 * rx) & (yy > cy) & (yy < cy + 1.2 * ry)
    put(img, neck.astype(np.float32), skin * 0.8)
    collar = rng.integers(3)
    if collar == 1:  # a hoodie's hood bunched round the neck
        put(img, oval(yy, xx, cx, cy + 1.25 * ry, 1.0 * rx, 0.3 * ry, 2.0), cloth * 0.75)
    elif collar == 2:  # shirt collar points
        for s in (-1, 1):
            put(
                img,
                oval(yy, xx, cx + s * 0.4 * rx, cy + 1.15 * ry, 0.3 * rx, 0.12 * ry),
                (236, 234, 228),
            )
    for s in (-1, 1):  # ears
        put(img, oval(yy, xx, cx + s * 0.98 * rx, cy, 0.16 * rx, 0.24 * ry), skin * 0.9)
    # the face: rounded on top, a square or tapered jaw below
    nx, ny = (xx - cx) / rx, (yy - cy) / ry
    below = np.clip(ny, 0, None)
    jaw = rng.uniform(2.0, 3.4)
    nx = np.abs(nx) * (1 + rng.uniform(0.05, 0.4) * below**2)
    d = np.where(ny > 0, (nx**jaw + below**2) ** (1 / 2), np.sqrt(nx**2 + ny**2))
    face = np.clip((1.0 - d) * rx + 0.5, 0, 1)
    put(img, face, skin)
    nz = np.sqrt(np.clip(1 - ((xx - cx) / rx) ** 2 - ((yy - cy) / (1.1 * ry)) ** 2, 0, 1))
    img *= (1 - face * (0.4 - 0.4 * nz))[..., None]  # turning away from the camera: darker
    cap = oval(yy, xx, cx, cy - 0.28 * ry, 1.1 * rx, 0.84 * ry, 1.5)
    ux = (xx - cx) / rx
    line = cy - rng.uniform(0.5, 0.65) * ry + 0.35 * ry * np.clip(np.abs(ux) - 0.3, 0, 1) ** 1.5
    if style == "part":  # swept to one side from a parting
        line = line + 0.15 * ry * np.clip(rng.choice([-1, 1]) * ux + 0.2, 0, 1.5)
    top = cap * np.clip((line - yy) / 1.5 + 0.5, 0, 1)
    if style == "buzz":
        grain = rng.uniform(0, 1, (n, n)) < 0.6
        put(img, top * np.where(grain, 0.8, 0.55), hair)
    elif style != "bald":
        tex = 0.75 + 0.5 * _streaks(rng, n, n, n // 2, max(2, n // 12))[..., None]
        shine = 1 + 0.25 * np.clip(1 - np.abs((yy - cy + 0.8 * ry) / (0.15 * ry)), 0, 1)[..., None]
        put(img, top, hair * tex * shine)
        if style == "bun":
            put(img, oval(yy, xx, cx, cy - 1.12 * ry, 0.45 * rx, 0.3 * ry), hair * tex)
    else:  # a shine on the bald crown
        glint = oval(yy, xx, cx - 0.2 * rx, cy - 0.7 * ry, 0.3 * rx, 0.15 * ry, 3.0)
        put(img, glint * 0.5, skin * 1.3)
    return (cx, cy, rx, ry), skin, hair, style


def _features(rng: np.random.Generator, img: np.ndarray, yy, xx, head, skin, hair) -> None:
    """Brows, eyes with sockets, a nose, lips, perhaps stubble or a moustache, perhaps a headset."""
    cx, cy, rx, ry = head
    o = lambda x, y, a, b, s=1.0: oval(yy, xx, x, y, a, b, s)  # noqa: E731
    ey = cy - rng.uniform(0.05, 0.15) * ry
    iris = rng.uniform(20, 90) * np.array([1.0, 0.85, 0.7])
    for s in (-1, 1):
        ex = cx + s * rng.uniform(0.36, 0.44) * rx
        put(img, o(ex, ey - 0.04 * ry, 0.3 * rx, 0.13 * ry, 2.0) * 0.45, skin * 0.55)
        put(img, o(ex, ey - 0.19 * ry, 0.27 * rx, 0.045 * ry), hair * 0.5 + 12)
        put(img, o(ex, ey, 0.2 * rx, 0.065 * ry), skin * 0.4 + 110)
        put(img, o(ex + rng.normal(0, 0.02) * rx, ey, 0.09 * rx, 0.065 * ry), iris)
        put(img, o(ex, ey - 0.05 * ry, 0.21 * rx, 0.022 * ry) * 0.8, skin * 0.3)
    put(img, o(cx, cy + 0.08 * ry, 0.08 * rx, 0.22 * ry, 1.5) * 0.25, skin * 1.15)  # bridge
    put(img, o(cx, cy + 0.3 * ry, 0.2 * rx, 0.06 * ry, 1.5) * 0.6, skin * 0.6)  # under the nose
    my = cy + rng.uniform(0.5, 0.58) * ry
    mw = rng.uniform(0.22, 0.34) * rx
    lips = skin * np.array([0.85, 0.6, 0.6])
    put(img, o(cx, my, mw, 0.06 * ry), lips)
    put(img, o(cx, my, mw * 0.95, 0.012 * ry, 0.6) * 0.8, skin * 0.35)
    extra = rng.uniform()
    if extra < 0.25:  # stubble
        grain = (rng.uniform(0, 1, yy.shape) < 0.5) * 0.35
        jaw = o(cx, cy + 0.55 * ry, 0.95 * rx, 0.5 * ry, 3.0) * (yy > cy + 0.25 * ry)
        put(img, jaw * grain, hair * 0.7)
    elif extra < 0.4:  # a moustache
        put(img, o(cx, my - 0.08 * ry, mw * 1.1, 0.05 * ry), hair * 0.8)
    if rng.uniform() < 0.35:  # a headset: band, ear cups, microphone boom
        band = np.abs(np.sqrt(((xx - cx) / (1.1 * rx)) ** 2 + ((yy - cy) / (1.05 * ry)) ** 2) - 1)
        put(img, np.clip(1.5 - band * rx * 1.0, 0, 1) * (yy < cy), (30, 30, 34))
        s = rng.choice([-1, 1])
        for side in (-1, 1):
            put(img, o(cx + side * 1.05 * rx, cy, 0.22 * rx, 0.28 * ry), (26, 26, 30))
        m = Image.new("L", (img.shape[1], img.shape[0]), 0)
        boom = [(cx + s * 1.05 * rx, cy + 0.1 * ry), (cx + s * 0.45 * mw, my - 0.02 * ry)]
        ImageDraw.Draw(m).line(boom, 255, max(1, round(0.06 * rx)))
        put(img, np.asarray(m, np.float32) / 255, (40, 40, 44))


def _lighting(rng: np.random.Generator, img: np.ndarray, yy, xx, head, window, cover) -> None:
    """Fluorescent from above, a warm desk lamp from one side, or a bright window behind."""
    cx, cy, rx, ry = head
    n = img.shape[0]
    near = oval(yy, xx, cx, cy + 0.6 * ry, 2.2 * rx, 2.4 * ry, 0.6 * n)
    kind = int(rng.integers(3)) if window.max() > 0 else int(rng.integers(2))
    if kind == 0:  # overhead tubes: greenish, light falls off down the frame, flicker bands
        img *= (1.1 - 0.25 * yy / n)[..., None] * np.array([0.9, 1.0, 0.88], np.float32)
        bands = 1 + rng.uniform(0.02, 0.06) * np.sin(yy / n * rng.uniform(4, 9) + rng.uniform(0, 9))
        img *= bands[..., None]
    elif kind == 1:  # a desk lamp: warm, from one side, the far side of the room dim
        s = rng.choice([-1, 1])
        fall = np.clip(0.75 + 0.45 * s * (xx - cx) / n, 0.45, 1.2)
        img *= fall[..., None] * np.array([1.1, 0.95, 0.7], np.float32)
        img *= (0.65 + 0.35 * near)[..., None]
    else:  # backlit: the person dim and murky, glare blooming round the window's edges
        img *= (1 - cover * rng.uniform(0.2, 0.45) - (1 - window) * 0.15)[..., None]
        glare = blur(window, n * 0.05) * (1 - window) * (1 - 0.6 * cover)
        img += (glare * rng.uniform(90, 160))[..., None]


def _webcam(rng: np.random.Generator, img: np.ndarray, size: int) -> Image.Image:
    """Low-res sensor upscaled, noise smeared by denoising, subsampled chroma, banded tones."""
    n = img.shape[0]
    img = img * rng.uniform(105, 135) / max(20.0, float(np.clip(img, 0, 255).mean()))  # auto
    img = img + rng.normal(0, rng.uniform(4, 10), img.shape) + rng.normal(0, 6, (n, n, 1))
    im = Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    low = max(16, round(size * rng.uniform(0.55, 0.8)))
    im = im.resize((low, low), Image.BILINEAR)
    if rng.uniform() < 0.6:  # denoising smears the grain into blotches
        im = im.filter(ImageFilter.MedianFilter(3))
    im = im.resize((size, size), Image.BILINEAR)
    y, cb, cr = im.convert("YCbCr").split()
    c = max(4, size // int(rng.choice([3, 4])))
    cb = cb.resize((c, c), Image.BILINEAR).resize((size, size), Image.BICUBIC)
    cr = cr.resize((c, c), Image.BILINEAR).resize((size, size), Image.BICUBIC)
    step = int(rng.integers(5, 10))
    y = y.point(lambda v: min(255, (v // step) * step + step // 2))
    return Image.merge("YCbCr", (y, cb, cr)).convert("RGB")


def draw_photo_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """A webcam video-call frame: a small head in a sharp, cluttered room, indoor light."""
    n = size
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    img, window = _room(rng, n, yy, xx)
    room = img.copy()
    head, skin, hair, _style = _head(rng, img, yy, xx, n)
    _features(rng, img, yy, xx, head, skin, hair)
    cover = np.clip(np.abs(img - room).sum(axis=2) / 20.0, 0, 1)
    window = window * (1 - cover)
    _lighting(rng, img, yy, xx, head, window, cover)
    return _webcam(rng, img, size)


# --- drawings ----------------------------------------------------------------------------------
_BG, _BACK, _CLOTH, _METAL, _NECK, _SKINM, _FRONT = range(7)  # materials, back to front


def _q4(c) -> tuple[int, int, int]:
    """Snap a colour to the 4096-colour (4 bits a channel) palette of old computers."""
    r, g, b = (int(np.clip(np.rint(v / 17.0), 0, 15)) * 17 for v in c)
    return r, g, b


def _ramp(hue: float, sat: float, n: int, lo: float, hi: float) -> np.ndarray:
    """`n` colours dark to light; darker tones drift towards violet, lighter towards yellow."""
    out = []
    for t in np.linspace(0, 1, n):
        h = hue + (((0.75 - hue + 0.5) % 1.0) - 0.5) * 0.15 * (1 - t)
        out.append(_q4(hsv(h + 0.03 * t, sat * (1.15 - 0.35 * t), lo + (hi - lo) * t)))
    return np.array(out, np.uint8)


def _dither(level: np.ndarray, ramp: np.ndarray) -> np.ndarray:
    """Ordered (Bayer 4x4) dithering of `level` in [0, 1] onto the colours of `ramp`."""
    h, w = level.shape
    b = np.tile(_BAYER, (h // 4 + 1, w // 4 + 1))[:h, :w]
    idx = np.clip(np.floor(level * (len(ramp) - 1) + b), 0, len(ramp) - 1).astype(int)
    return ramp[idx]


def _pix_backdrop(rng: np.random.Generator, g: int) -> np.ndarray:
    """A dithered night or dusk sky with stars, a glow behind the head, or tiles."""
    yy, xx = np.mgrid[0:g, 0:g].astype(np.float32) / g
    kind = int(rng.integers(3))
    if kind == 0:
        hue = rng.choice([0.62, 0.7, 0.78, 0.95])
        ramp = _ramp(hue, rng.uniform(0.5, 0.8), 5, rng.uniform(0.1, 0.25), rng.uniform(0.5, 0.9))
        img = _dither(np.clip(yy * rng.uniform(0.8, 1.3) + rng.uniform(-0.2, 0.1), 0, 1), ramp)
        for _ in range(int(rng.integers(4, 12))):
            x, y = rng.integers(0, g, 2)
            img[y, x] = _q4(hsv(0.15, rng.uniform(0, 0.4), 1.0))
            if rng.uniform() < 0.25 and 0 < x < g - 1 and 0 < y < g - 1:
                img[y, x - 1 : x + 2] = img[y - 1 : y + 2, x] = img[y, x]
        return img
    lo, hi = rng.uniform(0.1, 0.3), rng.uniform(0.6, 1.0)
    ramp = _ramp(rng.uniform(), rng.uniform(0.3, 0.8), 4, lo, hi)
    if kind == 1:
        r = np.sqrt((xx - rng.uniform(0.35, 0.65)) ** 2 + (yy - rng.uniform(0.3, 0.5)) ** 2)
        return _dither(np.clip(1.1 - r * rng.uniform(1.4, 2.4), 0, 1), ramp)
    p = int(rng.integers(4, 9))
    ii, jj = np.mgrid[0:g, 0:g]
    diamond = ((ii + jj) // p + (ii - jj + g) // p) % 2
    return ramp[np.where(diamond == 1, 1, 2)]


def _pix_shapes(rng: np.random.Generator, g: int, head: tuple) -> np.ndarray:
    """The material map: back hair, clothes (perhaps armour), neck and face, front hair."""
    cx, cy, rx, ry = head
    im = Image.new("L", (g, g), _BG)
    d = ImageDraw.Draw(im)

    def pts(*uv: float) -> list[tuple[float, float]]:  # head-relative points, in cells
        return [(cx + u * rx, cy + v * ry) for u, v in zip(uv[::2], uv[1::2], strict=True)]

    style = rng.choice(["long", "big", "short", "tail"])
    wide = {"long": 1.35, "big": 1.75, "short": 1.15, "tail": 1.2}[style]
    d.ellipse(pts(-wide, -1.25, wide, 0.6), _BACK)
    if style in ("long", "big"):
        drop = rng.uniform(1.4, 2.4)
        us = np.linspace(-wide, wide, 7)
        zig = [v for i, u in enumerate(us) for v in (u, drop - (i % 2) * 0.4)]
        d.polygon(pts(-wide, 0, *zig, wide, 0), _BACK)
    elif style == "tail":
        s = rng.choice([-1, 1])
        d.polygon(pts(s, -1, 2 * s, 0.6, 1.5 * s, 1.8, 1.1 * s, 0), _BACK)
    low = (g - cy) / ry
    d.polygon(pts(-2.3, low, -2, 1.6, -0.6, 1.3, 0.6, 1.3, 2, 1.6, 2.3, low), _CLOTH)
    if rng.uniform() < 0.25:  # armour on the shoulders
        for s in (-1, 1):
            d.ellipse(pts(1.9 * s - 0.8, 1.35, 1.9 * s + 0.8, 2.1), _METAL)
    d.rectangle(pts(-0.3, 0.5, 0.3, 1.4), _NECK)
    if rng.uniform() < 0.3:  # a high collar
        d.polygon(pts(-0.7, 1.4, -0.45, 0.85, 0.45, 0.85, 0.7, 1.4), _CLOTH)
    arc = [v for a in np.linspace(np.pi, 2 * np.pi, 9) for v in (np.cos(a), 0.9 * np.sin(a))]
    c = rng.uniform(0.45, 0.6)
    d.polygon(pts(*arc, 0.95, 0.3, c, 0.78, 0, 1, -c, 0.78, -0.95, 0.3), _SKINM)
    # the front hair: a crown, pointed locks over the forehead, side locks past the cheeks
    d.chord(pts(-1.12, -1.05, 1.12, 0.2), 180, 360, _FRONT)
    k = int(rng.integers(3, 6))
    us = np.linspace(-1.05, 1.05, k + 1)
    part = rng.uniform(-0.4, 0.4)
    for i in range(k):
        lean = (part - (i + 0.5) / k + 0.5) * 0.6
        tip = -rng.uniform(0.12, 0.4)
        d.polygon(pts(us[i], -0.5, us[i + 1], -0.5, (us[i] + us[i + 1]) / 2 - lean, tip), _FRONT)
    side = rng.uniform(0.4, 1.3) if style != "short" else 0.3
    for s in (-1, 1):
        d.polygon(pts(1.12 * s, -0.5, 0.75 * s, -0.3, 0.85 * s, side, 1.15 * s, 0.2), _FRONT)
    return np.asarray(im, np.uint8).copy()


def _pix_shade(rng: np.random.Generator, m: np.ndarray, head: tuple, pal: dict) -> np.ndarray:
    """Dithered light from one upper side per material, hair shine, cast shadows, sel-out lines."""
    g = m.shape[0]
    cx, cy, rx, ry = head
    yy, xx = np.mgrid[0:g, 0:g].astype(np.float32)
    lx = rng.choice([-1.0, 1.0])
    nx, ny = (xx - cx) / (1.6 * rx), (yy - cy) / (1.6 * ry)
    lit = np.clip(0.62 + 0.45 * (lx * nx - 0.6 * ny), 0, 1)
    hair = np.clip(lit - 0.2 + 0.25 * np.sin((xx - cx) / rx * rng.uniform(5, 9)), 0, 1)
    ring = np.abs(np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy + 0.35 * ry) / ry) ** 2) - 0.62)
    hair = np.where((ring < 0.09) & (yy < cy - 0.3 * ry), 1.0, hair)
    skin = np.clip(0.5 + 1.1 * (lit - 0.62), 0, 1)
    under = np.zeros_like(m, bool)  # the fringe and hair cast a shadow on the skin below
    for dy in (1, 2):
        under[dy:] |= m[:-dy] == _FRONT
    skin = np.where(under | (yy > cy + 0.55 * ry) & (m == _SKINM) & (xx * lx < cx * lx), 0.1, skin)
    levels = {_BACK: hair * 0.7, _CLOTH: lit * 0.9, _METAL: lit, _NECK: skin * 0.5}
    levels.update({_SKINM: skin, _FRONT: hair})
    out = np.zeros((g, g, 3), np.uint8)
    for mat, level in levels.items():
        sel = m == mat
        out[sel] = _dither(level, pal[mat])[sel]
    pad = np.pad(m, 1, mode="edge")
    for dy, dx in ((0, 1), (2, 1), (1, 0), (1, 2)):
        q = pad[dy : dy + g, dx : dx + g]
        edge = (m > _BG) & (q < m)
        for mat in range(1, 7):
            out[edge & (m == mat) & (q > _BG)] = pal[mat][0]
        out[edge & (q == _BG)] = pal["line"]
    return out


def _pix_face(rng: np.random.Generator, im: Image.Image, m: np.ndarray, head, pal: dict) -> None:
    """Tall eyes with a heavy lash line and glints, a nose pixel, mouth, blush, accessories."""
    cx, cy, rx, ry = head
    d = ImageDraw.Draw(im)
    line, iris = tuple(pal["line"]), pal["iris"]
    ew, eh = max(2, round(0.42 * rx)), max(3, round(0.5 * ry))
    ey = round(cy + 0.08 * ry)
    for s in (-1, 1):
        ex = round(cx + s * 0.45 * rx)
        x0, x1, y0 = ex - ew // 2, ex - ew // 2 + ew - 1, ey - eh // 2
        d.rectangle([x0, y0, x1, y0 + eh - 1], (238, 238, 255))
        for r in range(eh):
            tone = tuple(iris[min(len(iris) - 1, r * len(iris) // eh)])
            d.line([(x0 + (s < 0), y0 + r), (x1 - (s > 0), y0 + r)], tone)
        d.line([(x0 - 1, y0 - 1), (x1 + 1, y0 - 1)], line)
        if eh > 4:
            d.line([(x0, y0), (x1, y0)], line)
        d.point([(x1 + 1 if s > 0 else x0 - 1, y0), (x0 + (s < 0) * (ew - 1), y0 + eh)], line)
        d.point((x0 + (ew > 2), y0 + 1), (255, 255, 255))
        if eh > 4:
            d.point((x1 - 1 if ew > 2 else x1, y0 + eh - 2), (255, 255, 255))
        by = y0 - max(2, round(0.18 * ry))
        if 0 <= by < m.shape[0] and m[by, ex] == _SKINM:
            d.line([(x0, by), (x1, by - 1 if s > 0 else by)], tuple(pal[_FRONT][0]))
        if rng.uniform() < 0.5:  # blush: a dithered pink patch under the eye
            for bx in range(x0, x1 + 1):
                if (bx + ey) % 2 == 0:
                    d.point((bx, y0 + eh + 1), tuple(pal["blush"]))
    nose = (round(cx + rng.choice([-0.1, 0.1]) * rx), round(cy + 0.45 * ry))
    d.point(nose, tuple(pal[_SKINM][0]))
    my = round(cy + 0.7 * ry)
    if rng.uniform() < 0.35:
        d.rectangle([round(cx - 0.15 * rx), my, round(cx + 0.15 * rx), my + 1], (170, 51, 68))
        d.line([(round(cx - 0.15 * rx), my), (round(cx + 0.15 * rx), my)], line)
    else:
        d.line([(round(cx - 0.12 * rx), my), (round(cx + 0.12 * rx), my)], line)
    acc = tuple(pal["accent"])
    pick = rng.uniform()
    if pick < 0.3:  # a circlet with a gem
        y = round(cy - 0.55 * ry)
        d.line([(round(cx - 1.05 * rx), y), (round(cx + 1.05 * rx), y)], (238, 204, 68))
        d.rectangle([round(cx) - 1, y - 1, round(cx), y], acc)
    elif pick < 0.55:  # a ribbon at one side of the head
        bx, by, r = cx + rng.choice([-1, 1]) * 0.9 * rx, cy - 0.9 * ry, 0.4 * rx
        d.polygon([(bx, by), (bx - r, by - r * 0.7), (bx - r, by + r * 0.7)], acc)
        d.polygon([(bx, by), (bx + r, by - r * 0.7), (bx + r, by + r * 0.7)], acc)
    if rng.uniform() < 0.35:  # a uniform collar and tie
        for ab, col in ((((-0.7, 1.3), (0, 1.8), (0.7, 1.3)), (238, 238, 238)),
                        (((-0.15, 1.7), (0.15, 1.7), (0, 2.3)), acc)):  # fmt: skip
            d.polygon([(cx + a * rx, cy + b * ry) for a, b in ab], col)


def draw_anime_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """A retro pixel-art anime portrait (PC-98 / RPG dialogue style), enlarged to `size`."""
    k = max(1, round(size / rng.uniform(36, 52)))
    g = max(16, round(size / k))
    rx = g * rng.uniform(0.17, 0.21)
    cx, cy = g * rng.uniform(0.45, 0.55), g * rng.uniform(0.4, 0.47)
    head = (cx, cy, rx, rx * rng.uniform(1.2, 1.35))
    pal = {
        _BACK: _ramp(rng.uniform(), rng.uniform(0.4, 0.9), 4, 0.2, rng.uniform(0.7, 1.0)),
        _CLOTH: _ramp(rng.uniform(), rng.uniform(0.3, 0.8), 3, 0.2, rng.uniform(0.6, 0.95)),
        _METAL: _ramp(rng.uniform(0.55, 0.65), 0.15, 3, 0.35, 0.95),
        _SKINM: _ramp(rng.uniform(0.03, 0.07), rng.uniform(0.18, 0.32), 3, 0.8, 1.0),
        "line": _q4(hsv(rng.uniform(0.7, 0.95), 0.6, 0.15)),
        "iris": _ramp(rng.uniform(), rng.uniform(0.5, 0.9), 3, 0.2, 0.85),
        "blush": _q4(hsv(0.97, 0.35, 1.0)),
        "accent": _q4(hsv(rng.uniform(), 0.75, 0.9)),
    }
    pal[_FRONT], pal[_NECK] = pal[_BACK], pal[_SKINM]
    canvas = _pix_backdrop(rng, g)
    m = _pix_shapes(rng, g, head)
    fig = _pix_shade(rng, m, head, pal)
    canvas[m > _BG] = fig[m > _BG]
    im = Image.fromarray(canvas)
    _pix_face(rng, im, m, head, pal)
    if rng.uniform() < 0.45:  # a dialogue-box frame
        d = ImageDraw.Draw(im)
        d.rectangle([0, 0, g - 1, g - 1], outline=pal["line"])
        d.rectangle([1, 1, g - 2, g - 2], outline=(238, 238, 255))
    return im.resize((size, size), Image.NEAREST)
