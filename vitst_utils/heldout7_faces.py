"""The seventh held-out synthetic family (`heldout7`): the ninth round's report family.

Written by a helper session that saw no recipe and no score, and judged once as the ninth
round's report family (README, "A ninth round"), no choice made from it; a tuning family since
the tenth round. It is drawn unlike all eight families before it (`builtin` to `heldout6`) in
as many independent respects as could be managed.

Its photos are clean, retouched beauty and fashion-editorial headshots from a digital studio: sharp
and noiseless, the sitter square to the camera before seamless paper in one bold colour (often
matched by the clothes) or a backdrop washed by two coloured gels. The light is a ring light
(shadowless, a donut catchlight in each eye, a thin dark shadow outlining the figure on the
backdrop) or a clamshell (from above the lens, a fill below: a butterfly shadow under the nose, a
dark neck, oblong catchlights, a soft shadow dropped behind). Skin is smoothed to porcelain, with
highlighter on cheekbones, nose and brow, contour under the cheekbones, winged liner, coloured
eyeshadow, groomed arched brows and bold glossy lipstick. Hair is slicked back, a bleached buzz
cut, big blow-out waves or under a printed headwrap; gold hoops; bare shoulders with thin straps,
blazers or ribbed knits. Some are graded to contrasty black and white.

Its drawings are 3D cel-shaded renders of anime characters (game or VTuber-avatar screenshots), not
hand drawing: every surface is shaded from its 3D normals through a toon ramp with one crisp
terminator; the hair falls in rounded clumps each shaded as a tube, with a zig-zag "angel ring"
highlight on the crown; the fringe casts a hard shadow on the brow and a fresnel rim light catches
the silhouette. Outlines are inverted-hull lines of even width in a darker tone of each material
(or none). Heads are big and soft with a small chin; eyes are glossy textures: tall, heavy-lidded,
with a pale lid shadow, a ringed and radially streaked iris, a bright crescent below and sharp
highlights; brows show through the fringe. Floating glowing halos or headphones with LED rings.
Behind are 3D scenes blurred by depth of field (a toon sky with flat clouds, or a dark stage with a
neon perspective grid and light beams); bright parts bloom.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .drawing import at, blur, cover, curve, grid, hsv, oval, pil_colour, put, to_image


def _put(img: np.ndarray, a: np.ndarray, color) -> None:
    """`drawing.put` with the coverage `a` clipped to [0, 1]."""
    put(img, np.clip(a, 0, 1), color)


def _smooth(a: float, b: float, x) -> np.ndarray:
    """Smoothstep of x from a to b (a > b allowed)."""
    t = np.clip((x - a) / (b - a), 0, 1)
    return t * t * (3 - 2 * t)


# --- photos ------------------------------------------------------------------------------------
def _clothes(rng: np.random.Generator, img, yy, xx, f: dict, u: float) -> None:
    """Shoulders and neck: bare with straps, a blazer or a ribbed knit."""
    o, h, n, skin, cloth = partial(oval, yy, xx), f["h"], img.shape[0], f["skin"], f["cloth"]
    cx, cy, rx, ry = h
    body = o(cx, cy + 2.45 * ry, 2.45 * rx, 1.45 * ry)
    round_ = np.clip(1 - 0.35 * ((xx - cx) / (2.45 * rx)) ** 2, 0, 1)[..., None]
    neck = np.clip(0.45 * rx - np.abs(xx - cx) + 0.5, 0, 1) * (yy > cy) * (yy < cy + 1.6 * ry)
    _put(img, neck, skin * 0.92)
    if f["wear"] == "bare":  # thin straps, collarbones
        _put(img, body, skin * round_)
        for k in (-1, 1):
            x0 = cx + k * 1.25 * rx
            _put(img, cover(n, [(x0, cy + ry), (x0 + k * 0.1 * rx, n)], 1.2 * u), cloth)
        return
    tex = 1.0
    if f["wear"] == "knit":  # fine vertical ribs
        tex = 0.88 + 0.12 * np.sin((xx - cx) * rng.uniform(1.2, 2.0) / u)[..., None]
    _put(img, body, cloth * round_ * tex)
    if f["wear"] == "knit":  # a crew neck
        _put(img, o(cx, cy + 1.2 * ry, 0.62 * rx, 0.35 * ry) * (yy > cy + 1.25 * ry), skin * 0.9)
    if f["wear"] == "blazer":  # lapels open on a shirt or bare chest
        inner = hsv(rng.uniform(), rng.uniform(0, 0.3), 0.95)
        _put(img, cover(n, [at(h, -0.55, 1.2), at(h, 0.55, 1.2), (cx, n * 1.1)]), inner)
        for k in (-1, 1):
            lap = [at(h, k * 0.55, 1.15), at(h, k * 1.2, 1.9), (cx + k * 0.15 * rx, n * 1.05)]
            _put(img, cover(n, lap, 1.0 * u) * 0.6, cloth * 0.45)


def _face(rng: np.random.Generator, img, yy, xx, f: dict, light: str) -> None:
    """The face under a ring light or clamshell, retouched smooth, contoured and made up."""
    o, skin, (cx, cy, rx, ry) = partial(oval, yy, xx), f["skin"], f["h"]
    for k in (-1, 1):
        _put(img, o(cx + k * 0.97 * rx, cy + 0.05 * ry, 0.15 * rx, 0.24 * ry), skin * 0.85)
    hx, hy = (xx - cx) / rx, (yy - cy) / ry
    hx = hx * (1 + rng.uniform(0.1, 0.4) * np.clip(hy, 0, None) ** 2)
    r2 = hx**2 + hy**2
    face = np.clip((1 - np.sqrt(r2)) * rx + 0.5, 0, 1)
    chin = np.clip(1 - np.abs(xx - cx) / (0.5 * rx), 0, 1) * _smooth(0.85, 1.15, hy)
    neck = (np.abs(xx - cx) < 0.5 * rx) * (yy > cy + 0.8 * ry) * (1 - face)
    dark, fall = (0.15, 4) if light == "ring" else (0.45, 2)  # clamshell: the chin's shadow
    img *= (1 - neck * dark * np.exp(-np.clip(hy - 1, 0, 9) * fall))[..., None]
    nz = np.sqrt(np.clip(1 - r2, 0.02, 1))
    clam = 0.62 + 0.42 * np.clip(-0.55 * hy + 0.83 * nz, 0, 1) + 0.1 * np.clip(hy, 0, 1)
    shade = 0.8 + 0.24 * nz if light == "ring" else clam
    _put(img, face, skin * (shade * (1 - 0.15 * chin))[..., None])
    spots = [(-0.45, 0.12, 0.22, 0.09), (0.45, 0.12, 0.22, 0.09), (0, 0.05, 0.05, 0.25)]
    spots += [(0, -0.55, 0.3, 0.12), (0, 0.82, 0.12, 0.05)]  # cheekbones, nose, brow, chin
    spec = sum(o(cx + a * rx, cy + b * ry, c * rx, d * ry, 0.25 * rx) for a, b, c, d in spots)
    _put(img, np.clip(spec, 0, 1) * face * rng.uniform(0.3, 0.8), skin * 1.25 + 40)
    for k in (-1, 1):  # contour under the cheekbones, blush on the apples
        cheek = o(cx + k * 0.8 * rx, cy + 0.38 * ry, 0.16 * rx, 0.2 * ry, 0.2 * rx)
        _put(img, cheek * 0.35, skin * 0.6)
        blush = o(cx + k * 0.5 * rx, cy + 0.3 * ry, 0.2 * rx, 0.1 * ry, 0.2 * rx)
        _put(img, blush * 0.25, f["lips"])
    n, u = img.shape[0], img.shape[0] / 96  # the made-up eyes, with the light's catchlights
    ey, liner = cy - 0.06 * ry, rng.uniform() < 0.65
    iris = hsv(rng.uniform(0.05, 0.6), rng.uniform(0.3, 0.8), rng.uniform(0.12, 0.5))
    brow = f["hair"] * 0.5 if f["style"] != "buzz" else skin * 0.35
    for k in (-1, 1):
        ex = cx + k * 0.4 * rx
        e = (ex, ey, k * rx, ry)  # eye-relative points, mirrored
        _put(img, o(ex, ey - 0.07 * ry, 0.25 * rx, 0.1 * ry, 0.12 * rx) * 0.55, f["shadow"])
        arch = [at(e, -0.24, -0.15), at(e, 0.08, -0.25), at(e, 0.3, -0.17)]
        _put(img, cover(n, arch, 0.09 * rx) * 0.85, brow)
        _put(img, white := o(ex, ey, 0.2 * rx, 0.065 * ry), (224, 220, 217))
        _put(img, o(ex, ey, 0.085 * rx, 0.085 * ry) * white, iris)
        _put(img, o(ex, ey, 0.04 * rx, 0.04 * ry) * white, (12, 10, 10))
        if light == "ring":  # a donut catchlight
            rr = 0.06 * rx
            ring = np.clip(o(ex, ey, rr, rr, 0.5) - o(ex, ey, 0.55 * rr, 0.55 * rr, 0.5), 0, 1)
            _put(img, ring * white * 0.9, (255, 255, 255))
        else:  # a softbox's oblong
            box = o(ex + k * 0.02 * rx, ey - 0.035 * ry, 0.04 * rx, 0.016 * ry, 0.5)
            _put(img, box * white, (255, 255, 250))
        lid = curve(at(e, -0.2, 0.005), at(e, 0, -0.13), at(e, 0.21, -0.01))
        lid += [at(e, 0.32, -0.08)] if liner else []  # a winged flick
        _put(img, cover(n, lid, (0.05 if liner else 0.03) * rx + 0.5 * u), (20, 14, 14))
        low = curve(at(e, -0.18, 0.02), at(e, 0, 0.08), at(e, 0.2, 0))
        _put(img, cover(n, low, 0.6 * u) * 0.4, skin * 0.4)
        _put(img, o(cx + k * 0.09 * rx, cy + 0.33 * ry, 0.045 * rx, 0.025 * ry) * 0.7, skin * 0.3)
    if light == "clam":  # the butterfly shadow under the nose
        _put(img, o(cx, cy + 0.42 * ry, 0.12 * rx, 0.05 * ry, 0.08 * rx) * 0.5, skin * 0.5)
    _put(img, o(cx, cy + 0.26 * ry, 0.07 * rx, 0.05 * ry, 0.06 * rx) * 0.5, skin * 1.3 + 30)
    my, lips = cy + 0.58 * ry, f["lips"]
    _put(img, o(cx, my - 0.035 * ry, 0.26 * rx, 0.045 * ry), lips * 0.85)
    _put(img, o(cx, my + 0.04 * ry, 0.23 * rx, 0.06 * ry), lips)
    seam = curve((cx - 0.25 * rx, my), (cx, my + 0.025 * ry), (cx + 0.25 * rx, my))
    _put(img, cover(n, seam, 0.7 * u) * 0.7, lips * 0.35)
    _put(img, o(cx + 0.05 * rx, my + 0.05 * ry, 0.08 * rx, 0.018 * ry, 0.6) * 0.6, (255, 250, 250))


def _hair(rng: np.random.Generator, img, yy, xx, f: dict, u: float) -> None:
    """Hair on top: slicked back, a buzz cut, blow-out waves or a printed headwrap."""
    o, hair, style, (cx, cy, rx, ry) = partial(oval, yy, xx), f["hair"], f["style"], f["h"]
    ux, uy = (xx - cx) / rx, (yy - cy) / ry
    cap = o(cx, cy - 0.3 * ry, 1.12 * rx, 1.0 * ry, 1.2)
    line = cy - rng.uniform(0.42, 0.58) * ry + 0.45 * ry * np.clip(np.abs(ux) - 0.45, 0, 1) ** 1.2
    top = cap * np.clip((line - yy) / 1.2 + 0.5, 0, 1)
    lit = (0.75 + 0.35 * np.clip(1 - np.abs(ux), 0, 1) * np.clip(-uy, 0, 1))[..., None]
    if style == "wrap":  # a printed headwrap with folds and a knot in front
        cloth = hsv(rng.uniform(), rng.uniform(0.5, 0.9), rng.uniform(0.4, 0.9))
        wrap = np.maximum(o(cx, cy - 0.85 * ry, 1.2 * rx, 0.8 * ry), top)
        wrap = wrap * (yy < cy - 0.45 * ry + 0.3 * ry * np.abs(ux))
        fold = 0.8 + 0.3 * np.sin((xx - cx) / (0.15 * rx) + (yy - cy) / (0.25 * ry) * np.sign(ux))
        dots = (np.sin(xx / (2.2 * u)) * np.sin(yy / (2.2 * u)) > 0.55)[..., None]
        cloth = np.where(dots, hsv(rng.uniform(), 0.6, 0.95), cloth)
        _put(img, wrap, cloth * fold[..., None] * lit)
        _put(img, o(cx, cy - 1.05 * ry, 0.35 * rx, 0.3 * ry), cloth[0, 0] * 1.1)
        return
    if style == "waves":  # big glossy S-waves round the face
        vol = o(cx, cy + 0.2 * ry, 1.6 * rx, 1.45 * ry, 2.0) * (yy < cy + 1.5 * ry)
        vol = vol * (1 - o(cx, cy + 0.1 * ry, 0.97 * rx, 1.05 * ry, 1.0))
        wave = 0.7 + 0.5 * _smooth(0.3, 1, np.sin(yy / (0.3 * ry) + 2 * np.sin(xx / (0.5 * rx))))
        _put(img, np.maximum(vol, top), hair * wave[..., None] * lit)
        return
    if style == "slick":  # combed back, a wet shine across the crown
        shine = o(cx, cy - 0.75 * ry, 0.6 * rx, 0.1 * ry, 0.2 * rx)
        tex = (0.85 + 0.2 * np.sin(ux * 9) + 0.8 * shine)[..., None]
    else:  # a buzz cut
        top = top * 0.9
        tex = (0.85 + 0.3 * rng.uniform(size=img.shape[:2]))[..., None]
    _put(img, top, hair * tex * lit)


def draw_photo_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """A retouched studio beauty headshot: bold paper or gels, ring light or clamshell."""
    (yy, xx), n, u = grid(size, size), size, size / 96
    o = partial(oval, yy, xx)
    hue, kind = rng.uniform(), rng.choice(["paper", "gel"], p=[0.65, 0.35])
    pool = oval(yy, xx, n * rng.uniform(0.35, 0.65), n * 0.38, 0.75 * n, 0.75 * n, 0.75 * n)
    pool = pool[..., None]
    if kind == "paper":
        img = hsv(hue, rng.uniform(0.35, 0.85), rng.uniform(0.55, 0.95)) * (0.7 + 0.4 * pool)
    else:
        c1, c2 = hsv(hue, 0.75, 0.95), hsv(hue + rng.uniform(0.3, 0.6), 0.75, 0.85)
        a = rng.uniform(0, np.pi)
        t = 0.5 + ((xx - n / 2) * np.cos(a) + (yy - n / 2) * np.sin(a)) / (0.7 * n)
        t = _smooth(0, 1, t)[..., None]
        img = (c1 * (1 - t) + c2 * t) * (0.55 + 0.55 * pool)
    img = np.asarray(img * (1 - 0.12 * (yy / n) ** 2)[..., None], np.float32)
    rx = n * rng.uniform(0.16, 0.21)
    natural = hsv(rng.uniform(0.03, 0.1), rng.uniform(0.3, 0.75), rng.uniform(0.06, 0.7))
    dyed = hsv(rng.choice([0.95, 0.1, 0.6, 0.8, 0.12]), rng.uniform(0.05, 0.6), 0.92)
    lips = [(0.98, 0.12, 0.75), (0.93, 0.55, 0.45), (0.03, 0.35, 0.75), (0.9, 0.6, 0.4)]
    lh, ls, lv = np.array(lips[int(rng.integers(4))]) + rng.uniform(-0.1, 0.15, 3) * (0.2, 1, 1)
    cloth_h = hue if rng.uniform() < 0.4 else rng.uniform()  # often styled to match the paper
    f = {
        "h": (
            n * rng.uniform(0.45, 0.55),
            n * rng.uniform(0.4, 0.47),
            rx,
            rx * rng.uniform(1.25, 1.4),
        ),
        "skin": hsv(rng.uniform(0.03, 0.085), rng.uniform(0.22, 0.6), rng.uniform(0.3, 0.97)),
        "hair": dyed if rng.uniform() < 0.3 else natural,
        "style": str(rng.choice(["slick", "buzz", "waves", "wrap"])),
        "cloth": hsv(cloth_h, rng.uniform(0.1, 0.8), rng.uniform(0.15, 0.9)),
        "wear": str(rng.choice(["bare", "blazer", "knit"])),
        "lips": hsv(lh, ls, lv),
        "shadow": hsv(rng.uniform(), rng.uniform(0.2, 0.6), rng.uniform(0.25, 0.7)),
    }
    light, (cx, cy, rx, ry) = str(rng.choice(["ring", "clam"])), f["h"]
    sil = np.maximum(o(cx, cy + 2.45 * ry, 2.45 * rx, 1.45 * ry), o(cx, cy, 1.1 * rx, 1.2 * ry))
    if f["style"] == "waves":
        sil = np.maximum(sil, o(cx, cy + 0.2 * ry, 1.6 * rx, 1.45 * ry))
    if light == "ring":  # a thin shadow outlining the figure on the backdrop
        halo = np.clip(blur(sil, 2.0 * u) * 2.0, 0, 1)
    else:  # a soft shadow dropped behind and below
        halo = blur(np.roll(sil, round(0.05 * n), axis=0), 5 * u) * 0.6
    img *= (1 - 0.45 * halo)[..., None]
    _clothes(rng, img, yy, xx, f, u)
    _face(rng, img, yy, xx, f, light)
    _hair(rng, img, yy, xx, f, u)
    if f["style"] not in ("waves", "wrap") and rng.uniform() < 0.6:  # hoops in the ears
        gold = hsv(0.11, 0.55, rng.uniform(0.75, 1.0))
        r, t = rng.uniform(0.12, 0.25) * rx, 1.3 * u
        for k in (-1, 1):
            ex, ey = cx + k * 1.0 * rx, cy + 0.4 * ry + 0.2 * rx + r
            ring = np.clip(o(ex, ey, r, r, 0.6) - o(ex, ey, r - t, r - t, 0.6), 0, 1)
            _put(img, ring, gold * (0.8 + 0.4 * (yy < ey - 0.4 * r))[..., None])
    x = np.clip(img / 255.0, 0, 1)  # the grade: clean, warm, or contrasty black and white
    kind = rng.choice(["clean", "warm", "bw"], p=[0.5, 0.28, 0.22])
    if kind == "bw":
        x = np.repeat((x @ np.array([0.5, 0.38, 0.12], np.float32))[..., None], 3, axis=2)
    elif kind == "warm":
        x = x * np.array([1.05, 1.0, 0.9])
    curve = 0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0, 1))  # an S-curve, mixed in
    x = x + (curve - x) * (rng.uniform(0.5, 0.9) if kind == "bw" else rng.uniform(0.1, 0.4))
    return to_image(x * 255 + rng.normal(0, 0.8, x.shape))


# --- drawings ----------------------------------------------------------------------------------
_BG, _BACK, _BODY, _NECK, _TRIM, _FACE, _FRONT = range(7)  # layers, back to front


def _ellipsoid(yy, xx, cx, cy, rx, ry) -> np.ndarray:
    """Unit normals (3, h, w) of an ellipsoid seen from the front."""
    hx, hy = (xx - cx) / rx, (yy - cy) / ry
    v = np.stack([hx, hy, np.sqrt(np.clip(1 - hx**2 - hy**2, 0.02, 1))])
    return v / np.linalg.norm(v, axis=0)


def _scene3d(rng: np.random.Generator, n: int, yy, xx, glow) -> np.ndarray:
    """A 3D backdrop, out of focus: a toon sky with flat clouds, or a stage with a neon grid."""
    o, kind, t = partial(oval, yy, xx), int(rng.integers(2)), (yy / n)[..., None]
    if kind == 0:  # a toon sky with flat clouds, shaded below
        img = hsv(rng.uniform(0.53, 0.62), 0.6, 0.88) * (1 - t) + hsv(0.56, 0.15, 1.0) * t
        for _ in range(int(rng.integers(2, 5))):
            x0, y0, r = rng.uniform(0, n), rng.uniform(0.3, 0.9) * n, rng.uniform(0.06, 0.12) * n
            puffs = [(-1, 0.2), (0, -0.3), (1, 0.1), (0.5, 0.4)]
            blob = np.clip(sum(o(x0 + a * r, y0 + b * r, r, 0.8 * r) for a, b in puffs), 0, 1)
            _put(img, blob, np.array([250, 250, 255.0]))
            _put(img, blob * (yy > y0 + 0.2 * r), hsv(0.62, 0.18, 0.88))
        return np.asarray(to_image(img).filter(ImageFilter.GaussianBlur(n / 90)), np.float32)
    d = np.clip(yy - 0.6 * n, 1e-3, None)  # depth below the horizon
    grid_ = (np.abs(((xx - n / 2) / d * 1.5) % 1 - 0.5) < 0.06 * (1 + 0.02 * d)) | (
        np.abs((n * 0.6 / d) % 1 - 0.5) < 0.05 * (1 + 0.04 * d)
    )
    top, low = hsv(rng.uniform(0.6, 0.85), 0.7, 0.12), hsv(rng.uniform(0.6, 0.9), 0.7, 0.35)
    img = top * (1 - t) + low * t
    _put(img, grid_ * (yy > 0.6 * n) * 0.9, glow)
    for _ in range(int(rng.integers(2, 5))):
        x0, x1, w = rng.uniform(0, n), rng.uniform(-0.3, 1.3) * n, 0.15 * n
        beam = cover(n, [(x0 - 0.02 * n, 0), (x0 + 0.02 * n, 0), (x1 + w, n), (x1 - w, n)])
        _put(img, beam * 0.25, hsv(rng.uniform(), 0.4, 1.0))
    return np.asarray(to_image(img).filter(ImageFilter.GaussianBlur(n / 140)), np.float32)


def _model(rng: np.random.Generator, n: int, yy, xx, head: tuple, pal: dict) -> dict:
    """Layers of the 3D model: ids, albedo and normals, with rounded hair clumps on a shell."""
    (cx, cy, rx, ry), o = head, partial(oval, yy, xx)
    ids = np.zeros((n, n), np.int8)
    alb, nrm = np.zeros((n, n, 3), np.float32), np.zeros((3, n, n), np.float32)

    def lay(cov, lid: int, colour, normal) -> None:
        m = cov > 0.5
        ids[m], alb[m], nrm[:, m] = lid, np.broadcast_to(colour, alb.shape)[m], normal[:, m]

    shell = _ellipsoid(yy, xx, cx, cy - 0.1 * ry, 1.25 * rx, 1.3 * ry)
    fall = (np.abs(xx - cx) < 1.2 * rx * (1 - 0.15 * (yy - cy) / ry)) * (yy > cy)
    fall = fall * (yy < cy + rng.uniform(0.3, 2.5) * ry)  # how far below the chin it falls
    back = np.maximum(o(cx, cy - 0.1 * ry, 1.22 * rx, 1.15 * ry), fall)
    lay(back, _BACK, pal["hair"] * 0.8, shell)
    w = rng.uniform(1.6, 2.0)  # sloping shoulders
    body = [(-0.3, 1.1), (0.3, 1.1), (w, 1.6), (w + 0.3, 2.3), (w + 0.4, 9), (-w - 0.4, 9)]
    body = [at(head, a, b) for a, b in body + [(-w - 0.3, 2.3), (-w, 1.6)]]
    torso = _ellipsoid(yy, xx, cx, cy + 2.7 * ry, (w + 0.5) * rx, 1.8 * ry)
    lay(cover(n, body, ss=1), _BODY, pal["cloth"], torso)
    neck = _ellipsoid(yy, xx, cx, cy + ry, 0.3 * rx, 9 * ry)
    lay((np.abs(xx - cx) < 0.27 * rx) * (yy > cy) * (yy < cy + 1.3 * ry), _NECK, pal["skin"], neck)
    pts = [at(head, a, b) for a, b in [(-0.55, 1.5), (-0.45, 0.95), (0.45, 0.95), (0.55, 1.5)]]
    tube = _ellipsoid(yy, xx, cx, cy + 1.2 * ry, 0.6 * rx, 3 * ry)  # a high collar
    lay(cover(n, pts) * (rng.uniform() < 0.5), _TRIM, pal["cloth"] * 0.85, tube)
    hx, hy = (xx - cx) / rx, (yy - cy) / ry
    hx = hx * (1 + rng.uniform(0.25, 0.5) * np.clip(hy - 0.1, 0, None) ** 1.6)
    face = np.clip((1 - np.sqrt(hx**2 + hy**2)) * rx + 0.5, 0, 1)
    lay(face, _FACE, pal["skin"], _ellipsoid(yy, xx, cx, cy - 0.1 * ry, 1.1 * rx, 1.25 * ry))
    # the fringe: clumps fanning down from a crown point, each rounded like a tube
    px, py = cx + rng.uniform(-0.2, 0.2) * rx, cy - 1.3 * ry
    ang, r = np.arctan2(xx - px, yy - py), np.hypot(xx - px, yy - py) / ry
    k, amax = int(rng.integers(4, 8)), rng.uniform(0.64, 0.74)
    inner = np.sort(rng.uniform(-0.48, 0.48, k - 1))  # the fringe's clumps, then the side locks
    edges = np.concatenate([[-amax, -0.5], inner, [0.5, amax]])
    idx = np.clip(np.searchsorted(edges, ang) - 1, 0, k + 1)
    phase = np.clip((ang - edges[idx]) / np.maximum(edges[idx + 1] - edges[idx], 1e-3), 0, 1)
    mid = (edges[:-1] + edges[1:]) / 2
    reach = np.where(np.abs(mid) > 0.5, rng.uniform(1.8, 2.6), rng.uniform(0.95, 1.2, k + 2))
    tip = 1 - 0.3 * (rng.uniform() > 0.25) * np.abs(2 * phase - 1) ** 1.3  # or a blunt hime cut
    fr = (r < reach[idx] * rng.uniform(0.93, 1.07, k + 2)[idx] * tip) & (np.abs(ang) < amax)
    fr |= o(cx, cy - 0.15 * ry, 1.16 * rx, 1.12 * ry) * (yy < cy - 0.5 * ry) > 0.5
    tube = shell.copy()
    tube[0] += 0.9 * (2 * phase - 1) * (np.abs(ang) < amax)
    lay(fr * 1.0, _FRONT, pal["hair"], tube / np.linalg.norm(tube, axis=0))
    return {"ids": ids, "alb": alb, "nrm": nrm, "shell": shell, "ang": ang}


def _toon(rng: np.random.Generator, m: dict, head: tuple, pal: dict) -> np.ndarray:
    """Shade through a one-step toon ramp: cast shadows, angel ring, fresnel rim, outlines."""
    (_, _, rx, ry), ids, (nx, ny, nz) = head, m["ids"], m["nrm"]
    lx, ly, lz = pal["light"]
    th = rng.uniform(-0.05, 0.25)
    lit = _smooth(th - 0.035, th + 0.035, nx * lx + ny * ly + nz * lz)
    s = np.sign(lx)
    off = (max(1, round(0.07 * ry)), -int(s * max(1, round(0.05 * rx))))
    lit = np.where((ids == _FACE) & np.roll(ids == _FRONT, off, (0, 1)), 0, lit)  # the fringe's
    lit = np.where((ids == _NECK) & np.roll(ids >= _FACE, round(0.12 * ry), 0), 0, lit)
    skin = (ids == _FACE) | (ids == _NECK)
    tint = np.where(skin[..., None], pal["skin_dark"], pal["ambient"])
    img = m["alb"] * (lit[..., None] + (1 - lit[..., None]) * tint)
    zig = 0.05 + 0.03 * np.sign(np.sin(m["ang"] * rng.uniform(16, 26)))
    ring = (np.abs(m["shell"][1] + rng.uniform(0.68, 0.8)) < zig) * (ids % 5 == 1)  # hair
    _put(img, ring * 0.6, np.minimum(pal["hair"] * 0.6 + 150, 255))
    rim = _smooth(0.35, 0.2, nz) * (nx * s < 0) * (ids > _BG) * pal["rim_on"]
    _put(img, rim * 0.55, pal["glow"])
    edge = np.zeros(ids.shape, bool)  # inverted-hull lines: darker on the nearer side
    for w in range(1, max(1, round(ids.shape[0] / 110)) * (rng.uniform() < 0.8) + 1):
        for sh in ((w, 0), (-w, 0), (0, w), (0, -w)):
            edge |= ids > np.roll(ids, sh, (0, 1))
    img[edge] = img[edge] * 0.38 + np.array([10, 4, 12], np.float32)
    return img


def _box(x: float, y: float, a: float, b: float) -> list[float]:
    """The bounding box of an ellipse centred (x, y) with radii (a, b), for PIL."""
    return [x - a, y - b, x + a, y + b]


def _decals(rng: np.random.Generator, im: Image.Image, head: tuple, pal: dict) -> None:
    """The face's textures on top: glossy eyes, brows through the fringe, nose, mouth, blush."""
    cx, cy, rx, ry = head
    d, s = ImageDraw.Draw(im, "RGBA"), np.sign(pal["light"][0])
    line, iris = pil_colour(pal["hair"] * 0.25 + np.array([25, 10, 20])), pal["iris"]
    ew, eh, ey, lw = 0.25 * rx, 0.3 * ry, cy + 0.18 * ry, max(1, round(rx / 20))
    yaw = rng.uniform(-0.08, 0.08) * rx
    for k in (-1, 1):
        ex = cx + yaw + k * 0.43 * rx
        e = (ex, ey, k * ew, eh)  # eye-relative points, mirrored
        upper = curve(at(e, -1, 0.1), at(e, -0.1, -1.45), at(e, 1, -0.35))
        lower = curve(at(e, 1, -0.35), at(e, 0.15, 1.5), at(e, -1, 0.1))
        eye = Image.new("RGBA", im.size, (0, 0, 0, 0))
        g = ImageDraw.Draw(eye)
        g.polygon(upper + lower[1:], fill=(250, 248, 252, 255))
        ix, iy, a, b = ex, ey + 0.12 * eh, 0.66 * ew, 0.95 * eh  # the iris: ringed, streaked
        g.ellipse(_box(ix, iy, a, b), pil_colour(iris * 0.75), pil_colour(iris * 0.3), lw)
        for t in np.linspace(0, 2 * np.pi, 14, endpoint=False):  # radial streaks
            c, sn = np.cos(t) * a, np.sin(t) * b
            g.line([(ix + c / 3, iy + sn / 3), (ix + c, iy + sn)], pil_colour(iris * 1.2 + 30), 1)
        g.chord(_box(ix, iy + 0.33 * b, 0.8 * a, 0.53 * b), 20, 160, pil_colour(iris * 1.3 + 70))
        g.ellipse(_box(ix, iy, 0.38 * a, 0.42 * b), pil_colour(iris * 0.2))
        lid_shadow = upper + [at(e, 1, 0.15), at(e, -1, -0.1)]
        g.polygon(lid_shadow, fill=pil_colour(pal["skin_dark"] * 200, 110))
        g.ellipse(_box(ix + s * 0.35 * a, iy - 0.4 * b, 0.3 * a, 0.39 * a), (255, 255, 255, 250))
        g.ellipse(_box(ix - s * 0.4 * a, iy + 0.3 * b, 0.15 * a, 0.15 * a), (255, 255, 255, 220))
        im.paste(eye, (0, 0), eye.getchannel("A"))
        d.polygon(upper + [(x, y - 0.22 * eh) for x, y in upper[::-1]], fill=line + (255,))
        x, y = upper[-1]  # a lash tip at the outer corner
        d.line([(x, y), (x + k * 0.35 * ew, y - 0.45 * eh)], line + (255,), lw)
        d.line(lower[1:3], line + (200,), lw)
        brow = curve(at(e, -0.75, -1.4), at(e, 0, -1.8), at(e, 0.9, -1.5))
        d.line(brow, line + (190,), lw)  # drawn through the fringe
        blush = _box(ex + k * 0.1 * ew, ey + 1.4 * eh, 0.8 * ew, 0.2 * eh)
        d.ellipse(blush, pil_colour(pal["blush"], 70))
    nx, ny = cx + yaw * 1.2, cy + 0.52 * ry
    d.line(
        [(nx, ny), (nx - s * 0.04 * rx, ny + 0.04 * ry)], pil_colour(pal["skin"] * 0.65, 200), lw
    )
    my, mw, mx = cy + 0.75 * ry, rng.uniform(0.08, 0.16) * rx, cx + yaw
    mouth = pil_colour(pal["skin"] * np.array([0.5, 0.3, 0.32]), 240)
    if rng.uniform() < 0.5:  # open
        d.chord([mx - mw, my - 0.06 * ry, mx + mw, my + 0.1 * ry], 0, 180, mouth)
    else:
        d.line(curve((mx - mw, my), (mx, my + 0.05 * ry), (mx + mw, my)), mouth, lw)


def draw_anime_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """A 3D cel-shaded anime character render: toon ramp, hull outlines, glossy eyes, bloom."""
    n = 2 * size  # rendered at twice the size, then reduced (anti-aliasing)
    (yy, xx), rx = grid(n, n), n * rng.uniform(0.19, 0.23)
    head = (n * rng.uniform(0.46, 0.54), n * rng.uniform(0.4, 0.47), rx, rx * rng.uniform(1.0, 1.1))
    light = np.array([rng.choice([-1, 1]) * rng.uniform(0.3, 0.7), -rng.uniform(0.2, 0.6), 0.75])
    pal = {
        "light": light / np.linalg.norm(light),
        "hair": hsv(rng.uniform(), rng.uniform(0.05, 0.85), rng.uniform(0.3, 1.0)),
        "cloth": hsv(rng.uniform(), rng.uniform(0.0, 0.75), rng.uniform(0.15, 0.95)),
        "skin": hsv(rng.uniform(0.03, 0.08), rng.uniform(0.08, 0.25), rng.uniform(0.9, 1.0)),
        "skin_dark": np.array([0.95, 0.72, 0.74]) * rng.uniform(0.9, 1.0, 3),
        "ambient": hsv(rng.uniform(0.55, 0.85), rng.uniform(0.15, 0.4), 0.7) / 255,
        "iris": hsv(rng.uniform(), rng.uniform(0.5, 0.9), rng.uniform(0.6, 1.0)),
        "glow": hsv(rng.uniform(), rng.uniform(0.3, 0.8), 1.0),
        "blush": hsv(0.98, 0.45, 1.0),
        "rim_on": float(rng.uniform() < 0.7),
    }
    bg = _scene3d(rng, n, yy, xx, pal["glow"])
    m = _model(rng, n, yy, xx, head, pal)
    img = _toon(rng, m, head, pal)
    im = to_image(np.where((m["ids"] == _BG)[..., None], bg, img))
    _decals(rng, im, head, pal)
    cx, cy, rx, ry = head  # game-like props: a glowing halo or LED headphones
    d, lw, glow = ImageDraw.Draw(im, "RGBA"), max(1, round(rx / 20)), pil_colour(pal["glow"])
    emit = Image.new("L", im.size, 0)
    draws, kind = ((ImageDraw.Draw(emit), 255), (d, glow)), int(rng.integers(3))
    if kind == 0:  # a floating halo
        for dd, c in draws:
            dd.ellipse(_box(cx, cy - 1.42 * ry, 0.65 * rx, 0.13 * ry), None, c, 2 * lw)
    elif kind == 1:  # headphones with LED rings
        band = pil_colour(hsv(rng.uniform(), rng.uniform(0, 0.4), rng.uniform(0.15, 0.95)))
        d.arc(_box(cx, cy - 0.22 * ry, 1.25 * rx, 1.12 * ry), 190, 350, band, 3 * lw)
        for k in (-1, 1):
            x, y, r = cx + k * 1.12 * rx, cy + 0.05 * ry, 0.32 * rx
            d.ellipse(_box(x, y, 0.7 * r, r), band, pil_colour(np.array(band) * 0.4), lw)
            for dd, c in draws:
                dd.ellipse(_box(x, y, 0.45 * r, 0.65 * r), None, c, lw)
    x = np.asarray(im, np.float32)
    hot = np.maximum(np.clip((x.mean(axis=2) - 200) / 55, 0, 1), np.asarray(emit) / 255.0)
    x = x + blur(hot, n / 30)[..., None] * pal["glow"] * rng.uniform(0.3, 0.6)
    return to_image(x).reduce(2)
