"""The twelfth held-out synthetic family (`heldout12`): a report family, never seen while tuning.

Written by a helper session that saw no recipe and no score, and judged once as a report family; no
choice of recipe, weight or setting is made from it. It is drawn unlike all thirteen families before
it (`builtin`, `transfer`, `heldout` to `heldout11`) in as many independent respects as could be.

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
from PIL import Image, ImageDraw, ImageFilter

from .drawing import Head, blur, cover, curve, grid, hsv, oval, put, to_image

_SKINS = ((255, 222, 196), (238, 190, 152), (212, 158, 116), (172, 112, 74), (122, 78, 50),
          (86, 56, 38))  # fmt: skip
_HAIRS = ((22, 18, 16), (60, 40, 28), (112, 74, 42), (205, 165, 105), (150, 64, 32))
_CAPS = ((240, 240, 240), (215, 40, 45), (250, 210, 40), (35, 90, 200), (240, 110, 170),
         (25, 25, 30))  # fmt: skip
# aerosol cans: fluorescent pink, orange, yellow, lime, turquoise, blue, violet, red; white, chrome
_CANS = (
    (255, 45, 150), (255, 130, 25), (255, 226, 40), (150, 240, 50), (25, 205, 200),
    (40, 110, 255), (140, 65, 225), (230, 30, 45), (250, 250, 245), (190, 195, 205),
)  # fmt: skip
_FLUO = 8  # the first eight cans are the fluorescent ones
_SPRAY_SKINS = ((255, 218, 190), (245, 190, 150), (210, 150, 105), (150, 98, 66), (105, 70, 50))
_INKS = ((12, 12, 14), (12, 12, 14), (36, 22, 84), (20, 36, 90), (84, 16, 46))  # outline cans


def _poly(h: Head, spec, width: float = 0.0, sx: float = 1.0) -> np.ndarray:
    """Coverage of a polygon (or a line `width` head radii thick) through "u v u v ..." or points
    in head radii, mirrored for sx = -1, on the head's square grid."""
    q = np.array(spec.split() if isinstance(spec, str) else spec, float).reshape(-1, 2)
    return cover(h.yy.shape[0], [h.at(sx * a, b) for a, b in q], width * h.frame[3])


# --- photos: underwater portraits --------------------------------------------------------------
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
        L.put(_poly(h, brow, 0.05), sit["hair"] * 0.5 + 10)
        lid = curve((ex - 0.21, 0.03), (ex, -0.09 if eyes == "open" else 0.1), (ex + 0.21, 0.03), 5)
        if eyes == "open":
            L.put(h.o(ex, 0.02, 0.2, 0.085), (205, 210, 205))
            L.put(h.o(ex + sx * u(-0.03, 0.03), 0.02, 0.085, 0.085), sit["iris"])
            L.put(h.o(ex, 0.02, 0.04, 0.04), (15, 15, 18))
            L.put(h.o(ex - 0.03, -0.01, 0.022, 0.02), (240, 240, 240))
        L.put(_poly(h, lid, 0.035), (30, 24, 22))
        if sit["age"] == "elder":
            L.put(_poly(h, f"{ex + sx * 0.2} 0.12 {ex + sx * 0.32} 0.2", 0.02) * 0.6, skin * 0.6)
    if eyes == "goggles":
        _goggles(h, L, 0.02, sit["lens"])
    L.put(_poly(h, "0.1 -0.05 0.14 0.3", 0.05) * 0.4, skin * 0.7)  # the nose's shadow side
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
        L.put(_poly(h, f"{-mw} 0.55 0 0.56 {mw} 0.55", 0.02), skin * 0.35)
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
    body = _poly(h, side + [(-x, y) for x, y in side[::-1]])
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
            L.put(_poly(h, "0.8 1.25 0.6 2.4", 0.1, sx), c1)
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


# --- drawings: graffiti murals -----------------------------------------------------------------
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
            w.spray(_poly(h, [x + 0.03, by + 0.06, x - 0.03, by + 0.18], 0.025), (200, 40, 80))
        brow = curve((ex - sx * 0.15, top - 0.2), (ex, top - 0.28), (ex + sx * 0.2, top - 0.18))
        w.spray(_poly(h, brow, 0.05), hair * 0.5, 0.1)
        if sx == wink:  # a wink: a chevron
            chevron = [ex - 0.2, ey - 0.1, ex + sx * 0.18, ey, ex - 0.2, ey + 0.1]
            w.spray(_poly(h, chevron, 0.06), w.ink)
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
        w.spray(_poly(h, lash, 0.1), w.ink, 0.1)


def _mouth(rng: np.random.Generator, w: _Wall, h: Head) -> None:
    """A fanged grin, a tongue out, a cat mouth or a smirk."""
    kind = str(rng.choice(["grin", "tongue", "cat", "smirk"]))
    if kind == "grin":
        m = _poly(h, curve((-0.22, 0.62), (0, 0.98), (0.22, 0.62)))
        w.piece(m, (150, 30, 45))
        w.spray(_poly(h, "0.06 0.64 0.14 0.64 0.1 0.76"), (255, 255, 255), 0.0)  # a fang
        w.spray(h.o(0, 0.84, 0.1, 0.06) * m, (255, 120, 140), 0.0)
    elif kind == "tongue":
        w.spray(_poly(h, "-0.15 0.7 0.15 0.7", 0.04), w.ink, 0.0)
        w.piece(h.o(0.05, 0.78, 0.08, 0.1) * (h.uy > 0.7), (255, 110, 140))
    elif kind == "cat":
        for sx in (-1, 1):
            w.spray(_poly(h, curve((0, 0.66), (0.07, 0.76), (0.14, 0.66), 5), 0.04, sx), w.ink, 0.0)
    else:
        w.spray(_poly(h, curve((-0.14, 0.72), (0.02, 0.76), (0.16, 0.64), 5), 0.04), w.ink, 0.0)


def _hair(rng: np.random.Generator, w: _Wall, h: Head, hair: np.ndarray, style: str) -> None:
    """The fringe of big pointed locks (a crown of spikes for `spiky`), side locks and buns, and a
    white shine stroke."""
    n, u, spiky = int(rng.integers(3, 6)), rng.uniform, style == "spiky"
    ang, r = np.linspace(0, -np.pi, 15), 1.15 * (1 + 0.4 * spiky * (np.arange(15) % 2))
    crown = list(zip(r * np.cos(ang), r * np.sin(ang) - 0.05, strict=True))
    xs = np.linspace(-1.15, 1.15, 2 * n + 1) + rng.uniform(-0.06, 0.06, 2 * n + 1)
    locks = [(x, u(-0.2, 0.02) if i % 2 else u(-0.6, -0.45)) for i, x in enumerate(xs)]
    locks[0], locks[-1] = (-1.15, 0.0 if spiky else 0.4), (1.15, 0.0 if spiky else 0.4)
    m = _poly(h, crown + locks)
    for sx in (-1, 1) if style in ("long", "bob", "twin") else ():
        m = np.maximum(m, _poly(h, "1.15 -0.2 0.8 -0.1 0.88 0.9 1.1 0.75", sx=sx))
    w.piece(m, hair, hair * 0.7, int(rng.integers(0, 3)))
    w.spray(_poly(h, curve((-0.6, -0.72), (0, -1.0), (0.55, -0.74), 7), 0.07), (255,) * 3, 0.1)
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
        w.spray(_poly(h, curve((-1.1, 0.0), (0, -1.9), (1.1, 0.0), 11), 0.12), (20, 20, 24), 0.1)
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
        w.piece(_poly(h, f"-1.15 -0.5 -1.5 {low} 1.5 {low} 1.15 -0.5"), hair * 0.8, hair * 0.55, 2)
    for sx in (-1, 1) if style == "twin" else ():
        tail = _poly(h, curve((0.9, -0.7), (2.3, 0.2), (1.6, low), 9), 0.5, sx)
        w.piece(tail, hair, hair * 0.6, 1)
    if wear == "hoodie":  # the hood behind the head
        w.piece(h.o(0, 0.75, 1.55, 1.35), cloth * 0.6)
    w.piece(_poly(h, "-0.32 0.5 0.32 0.5 0.36 1.7 -0.36 1.7"), skin * 0.8)
    body = _poly(h, f"-0.4 1.25 0.4 1.25 1.5 1.5 2.2 2.1 2.5 {low} -2.5 {low} -2.2 2.1 -1.5 1.5")
    if wear == "tank":  # bare shoulders round a vest
        w.piece(body, skin * 0.85)
        body *= np.abs(h.ux) < 0.9 + 0.3 * (h.uy - 1.5)
    w.piece(body, cloth, cloth * 0.55, 2)
    for sx in (-1, 1):
        if wear == "hoodie":  # drawstrings
            w.spray(_poly(h, "0.25 1.5 0.3 2.2", 0.05, sx), (245, 245, 240), 0.0)
        elif wear == "bomber":  # the collar
            w.piece(_poly(h, "0.1 1.75 0.45 1.25 1.0 1.45", sx=sx), _CANS[xi])
    face = [(np.cos(a), 0.05 + np.sin(a)) for a in np.linspace(np.pi, 2 * np.pi, 12)]
    fm = _poly(h, face + [(0.98, 0.4), (0.55, 0.92), (0, 1.12), (-0.55, 0.92), (-0.98, 0.4)])
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
        plaster = _poly(h, "0.5 0.62 0.8 0.52 0.85 0.64 0.55 0.74", sx=rng.choice([-1, 1]))
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
