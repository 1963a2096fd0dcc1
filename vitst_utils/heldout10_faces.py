"""The tenth held-out synthetic family (`heldout10`): the twelfth look's report family.

Written by a helper session that saw no recipe and no score, and judged once as the twelfth
look's report family (README, "A twelfth look"); a tuning family since, for the probes of that
stop. It is drawn unlike all eleven families before it (`builtin`, `transfer`, `heldout` to
`heldout9`) in as many independent respects as could be.

Its photos are press portraits of the 1950s-90s as printed, clipped and scanned: a newspaper's
column head shot (black ink screened into 45-degree halftone dots on yellowed newsprint, highlights
blown to paper, dot gain) or a magazine's (cyan, magenta, yellow and black dots in rosettes, a
little out of register, on white stock). No tone is continuous: every grey and colour is a screen
of dots, caught with moire. Public people of every age and origin, lit by a press flash (flat, a
hard shadow thrown on the wall), a studio key from one side before a dark graded backdrop, or
daylight before a blurred crowd or sky; suits and ties, uniforms, jerseys, knits, embroidered robes,
blouses; bald crowns, partings, afros, buns, braids, grey hair; hijabs, turbans, kufis, geles, hard
hats, peaked caps; glasses, beards, an elder's lines. The paper shows fibre and yellowing, the
reverse page's type showing through, a fold, a keyline round the picture, sometimes the caption.

Its drawings are anime characters as stained-glass windows (church-window fan art). Every colour is
a piece of glass held in dark lead came of one heavy width, so each lock of hair, fold of the
mantle and ray behind the head is its own pane; lit from behind, the glass glows in jewel colours
(ruby, cobalt, emerald, amber, violet, rose), brightest up the middle, uneven from pane to pane,
streaked, darkened toward the lead by painted matting. The face is one pale pane painted in
grisaille and enamel: big almond eyes under a heavy lash line, enamel irises, a nose tick, a small
mouth, blush. Frontal, iconic figures under a segmented gold halo; pointed fringe locks, long,
bobbed, twin-tailed or short hair; mantles with gold trim, sailor collars or armour; ribbons,
tiaras or flower crowns. Behind: pale diamond quarries, a sunburst, a mosaic of irregular panes or
a rose window's rings, in a pointed or round arch or an oculus with a jewelled border, in stone.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .drawing import Head, blur, cover, curve, grid, hsv, oval, put, to_image


def _field(rng: np.random.Generator, h: int, w: int, cy: int, cx: int) -> np.ndarray:
    """A smooth random field in [0, 1], (h, w), bilinear from a coarse (cy, cx) grid."""
    g = Image.fromarray(rng.random((cy, cx), np.float32), "F")
    return np.asarray(g.resize((w, h), Image.Resampling.BILINEAR), np.float32)


class _Frame(Head):
    """A head's `Head` frame on an (h, w) grid, its size kept (`h`, `w`), and polygons in it."""

    def __init__(self, h: int, w: int, cx: float, cy: float, rx: float, ry: float) -> None:
        super().__init__(h, w, cx, cy, rx, ry)
        self.h, self.w = h, w

    def pts(self, spec, s: float = 1.0) -> list:
        """A polygon's pixels from "u v u v ..." (or a list) in head radii, mirrored for s = -1."""
        q = np.array(spec.split() if isinstance(spec, str) else spec, float).reshape(-1, 2)
        return [self.at(s * u, v) for u, v in q]


# --- photos ------------------------------------------------------------------------------------
_WHO = {  # each kind of sitter: clothes, hair, headwear
    "man": (
        "suit suit uniform jersey robe knit",
        "short short part bald afro",
        "- - - cap turban helmet",
    ),
    "woman": ("blouse suit robe knit jersey", "long bun afro braids part", "- - - hijab gele"),
    "child": ("knit jersey blouse", "short part afro braids long", "- - - -"),
    "elder": ("suit robe knit", "bald grey grey short", "- - kufi hijab turban"),
}


def _backdrop(rng: np.random.Generator, f: _Frame) -> tuple[np.ndarray, str]:
    """Behind the sitter: a wall lit by the flash, a graded studio backdrop, or daylight."""
    U, h, w, yy, F = rng.uniform, f.h, f.w, f.yy, lambda cy, cx: _field(rng, f.h, f.w, cy, cx)
    light = str(rng.choice(["flash", "studio", "day"], p=[0.4, 0.3, 0.3]))
    if light == "flash":  # a plain wall, the flash's falloff
        bg = hsv(U(), U(0, 0.25), U(0.55, 0.9)) * (0.8 + 0.2 * F(3, 3))[..., None]
    elif light == "studio":  # a mottled backdrop, graded dark, a light spot behind the head
        spot = oval(yy, f.xx, w * U(0.3, 0.7), h * 0.4, w * 0.45, h * 0.4, w * 0.4)
        k = 0.6 + 0.4 * F(5, 5) + U(0.6, 1.5) * spot
        bg = hsv(U(), U(0, 0.4), U(0.1, 0.35)) * k[..., None]
    else:  # an out-of-focus crowd, office or sky and trees
        bg = hsv(U(0.5, 0.62), U(0.1, 0.5), U(0.6, 0.95)) * np.ones((h, w, 1), np.float32)
        low = np.clip((F(4, 9) + F(9, 18)) * 1.5 - 1.05, 0, 1) * (yy > h * U(0.2, 0.7))
        tone = hsv(U(), U(0.1, 0.6), U(0.15, 0.5)) * (0.6 + 0.8 * F(7, 14))[..., None]
        put(bg, low, tone)
    im = to_image(bg).filter(ImageFilter.GaussianBlur(w / 60))
    return np.asarray(im, np.float32) / 255, light


def _sitter(rng: np.random.Generator, f: _Frame) -> tuple:
    """Albedo, normals and coverage of a sitter, back to front; the face; who it is."""
    U, o, ux, uy, ch = rng.uniform, f.o, f.ux, f.uy, lambda s: str(rng.choice(s.split()))
    who = ch("man man woman woman child elder")
    wear, style, hat = (ch(s) for s in _WHO[who])
    alb, fig = np.zeros((f.h, f.w, 3), np.float32), np.zeros((f.h, f.w), np.float32)
    nrm = np.array([0, 0, 1.0], np.float32)[:, None, None] * np.ones((f.h, f.w), np.float32)

    def lay(cov, colour, normal=None) -> None:
        a = np.clip(cov, 0, 1)
        put(alb, a, colour)
        nrm[:] += 0 if normal is None else (normal - nrm) * a
        fig[:] = np.maximum(fig, a)

    skin = hsv(U(0.03, 0.09), U(0.25, 0.6), U(0.35, 0.97))
    hair = hsv(U(0.04, 0.1), U(0.2, 0.7), U(0.06, 0.25) if U() < 0.75 else U(0.3, 0.75))
    hair = hsv(0, 0, U(0.55, 0.9)) if style == "grey" else hair
    hd = f.dome(0, -0.1, 1.15, 1.1)
    if style in ("long", "braids", "afro") and hat == "-":  # hair behind
        back = o(0, -0.2, 1.6, 1.3) if style == "afro" else o(0, 0.5, 1.25, 1.6) * (uy < 1.9)
        plait = 0.8 + 0.3 * (np.sin(f.xx * 6 / f.frame[2]) > 0) * (style == "braids")
        lay(back, hair * plait[..., None], hd)
    cloth = hsv(U(), U(0, 0.7), U(0.12, 0.85))
    sx = np.clip((np.abs(ux) - 0.3) / 2.1, 0, None)
    body = np.clip((uy - 1.1 - 0.6 * sx**1.5) * f.frame[3] + 0.5, 0, 1) * (sx < 1)
    lay(body, cloth, f.dome(0, 3.3, 2.6, 2.4))
    lay(np.clip((0.42 - np.abs(ux)) * f.frame[2], 0, 1) * (uy > 0) * (uy < 1.5), skin * 0.9)
    vee = cover(f.h, f.pts([-0.5, 1.1, 0.5, 1.1, 0, U(1.8, 2.6)]), ss=2)[:, : f.w] * body
    if wear in ("suit", "uniform"):  # a white shirt in the V, a tie; epaulettes, buttons
        lay(vee, (235, 235, 230))
        lay(vee * (np.abs(ux) < 0.12 + 0.05 * (uy - 1.2)), hsv(U(), U(0.2, 0.8), U(0.1, 0.6)))
        if wear == "uniform":
            lay(o(-1.7, 1.75, 0.45, 0.12) + o(1.7, 1.75, 0.45, 0.12), cloth * 1.4)
            lay(sum(o(0.55, 1.9 + 0.35 * i, 0.06, 0.05) for i in range(3)) * body, (230, 204, 102))
    elif wear == "jersey":  # a contrasting V collar
        inner = cover(f.h, f.pts("-.35 1.1 .35 1.1 0 1.9"), ss=2)[:, : f.w]
        lay(vee * (1 - inner), hsv(U(), 0.6, 0.9))
    elif wear == "robe":  # an embroidered band round the neckline
        band = (np.abs(np.hypot(ux * 0.8, uy - 0.9) - 0.6) < 0.15) * body
        lay(band * (0.7 + 0.3 * np.sin(f.xx * 5 / f.frame[2])), hsv(U(), U(0.5, 0.9), U(0.5, 0.9)))
    elif wear == "blouse":  # a pale blouse with pointed collar tips
        lay(o(-0.35, 1.3, 0.35, 0.18) + o(0.35, 1.3, 0.35, 0.18), (242, 240, 235))
    lay(o(-0.97, 0.05, 0.15, 0.25) + o(0.97, 0.05, 0.15, 0.25), skin * 0.95)  # ears
    lay(face := o(0, 0, 1, 1), skin, f.dome(0, 0, 1.05, 1.05))
    _features(rng, f, alb, face, (lay, skin, hair, hd, style, hat, who))
    return alb, nrm, fig, face


def _features(rng: np.random.Generator, f: _Frame, alb, face, k: tuple) -> None:
    """Eyes, brows, nose, mouth, lines; the hair over the head, beards, glasses and headwear."""
    U, o, ux, uy, (lay, skin, hair, hd, style, hat, who) = rng.uniform, f.o, f.ux, f.uy, k
    sockets = o(-0.38, -0.1, 0.3, 0.18, 0.2) + o(0.38, -0.1, 0.3, 0.18, 0.2)
    alb *= np.clip(1 - 0.35 * sockets, 0, 1)[..., None]
    for s in (-1, 1):  # eyes in their sockets, brows
        put(alb, o(s * 0.37, -0.02, 0.17, 0.065, 0.6), (217, 212, 204))
        put(alb, o(s * 0.37, -0.02, 0.075, 0.065, 0.6), (20, 15, 13))
        put(alb, o(s * 0.4, -0.23, 0.22, 0.05, 0.6) * (uy < -0.21), hair * 0.7)
    put(alb, o(0.06, 0.28, 0.12, 0.14, 0.8) * 0.25, (0, 0, 0))  # the nose's shadow side
    put(alb, o(-0.09, 0.36, 0.05, 0.03) + o(0.09, 0.36, 0.05, 0.03), skin * 0.4)
    put(alb, o(0, 0.56, 0.28, 0.075 + 0.03 * (smile := U() < 0.5)), skin * (0.55, 0.42, 0.42))
    put(alb, o(0, 0.56, 0.26, 0.02 + 0.025 * smile), (230, 224, 214) if smile else skin * 0.3)
    if who == "elder":  # forehead lines and nasolabial folds
        lines = (np.abs(np.sin(uy * 28)) > 0.9) * (uy < -0.4) * (np.abs(ux) < 0.5)
        fold = np.abs(np.abs(ux) - 0.32 - 0.25 * (uy - 0.35)) < 0.03
        alb *= 1 - 0.25 * (np.clip(lines + fold * (uy > 0.35) * (uy < 0.6), 0, 1) * face)[..., None]
    line = -0.5 + 0.15 * ux**2 + (0.12 * ux if style == "part" else 0)
    top = o(0, -0.2, 1.06, 0.95) * np.clip((line - uy) * 12, 0, 1)
    more = {"afro": o(0, -0.55, 1.3, 0.75) * (uy < -0.3), "bun": o(0, -1.15, 0.4, 0.3)}
    top = np.maximum(top, more.get(style, 0))
    if style == "bald":
        top = o(0, -0.1, 1.06, 0.9) * (np.abs(ux) > 0.85) * (uy < 0.2) * (uy > -0.4)
    lay(top * (hat in ("-", "cap")), hair, hd)
    if who == "man" and U() < 0.4:  # a moustache, or a full beard
        beard = o(0, 0.47, 0.35, 0.08) if U() < 0.5 else o(0, 0.6, 0.95, 0.5) * (uy > 0.35)
        lay(beard * (1 - o(0, 0.58, 0.22, 0.06)), hair)
    hc = hsv(U(), U(0.2, 0.8), U(0.3, 0.9))
    if hat in ("hijab", "turban", "gele", "kufi", "helmet"):  # a scarf, a wrap, a hard hat
        veil = o(0, 0.1, 1.3, 1.45) * (1 - o(0, 0.12, 0.86, 0.97, 0.8)) * (uy < 1.6)
        wrap = {"turban": o(0, -0.7, 1.2, 0.65), "gele": o(0, -0.95, 1.5, 0.8) * (uy < -0.3)}
        wrap["helmet"] = o(0, -0.5, 1.15, 0.85) * (uy < -0.3) + o(0, -0.33, 1.3, 0.07)
        cap = wrap.get(hat, o(0, -0.7, 1.02, 0.5) * (uy < -0.55))
        fold = 0.85 + 0.15 * np.sin((uy + 0.4 * ux) * 14) * (hat not in ("kufi", "helmet"))
        lay(np.maximum(veil * (hat == "hijab"), cap), hc * fold[..., None], hd)
    elif hat == "cap":  # a peaked cap: a crown, a band, a dark visor
        lay(o(0, -0.75, 1.2, 0.55) * (uy < -0.45), hc * 0.6, hd)
        lay(o(0, -0.45, 1.05, 0.18) * (uy > -0.5), (13, 13, 13))
    if U() < 0.3:  # glasses
        rim = sum(o(s, 0, 0.27, 0.18) - o(s, 0, 0.22, 0.13) for s in (-0.38, 0.38))
        lay(rim + (np.abs(uy + 0.03) < 0.03) * (np.abs(ux) < 0.13), (26, 23, 20))


_INKS = {"c": ((0, 0.62, 0.9), 15), "m": ((0.9, 0.1, 0.5), 75), "y": ((1, 0.92, 0.05), 0)}
_INKS["k"] = ((0.12, 0.11, 0.12), 45)  # process inks over white, and their screen angles


def _dots(tone: np.ndarray, period: float, angle: float, dx: float, dy: float) -> np.ndarray:
    """Ink coverage of a halftone screen of round dots, `period` px apart at `angle` degrees."""
    ca, sa, k = np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle)), 2 * np.pi / period
    y = (np.arange(tone.shape[0], dtype=np.float32) + dy)[:, None] * k
    x = (np.arange(tone.shape[1], dtype=np.float32) + dx)[None] * k
    cu = np.cos(x * ca) * np.cos(y * sa) - np.sin(x * ca) * np.sin(y * sa)
    cv = np.cos(y * ca) * np.cos(x * sa) + np.sin(y * ca) * np.sin(x * sa)
    return np.clip((tone - (2 - cu - cv) / 4) * period / 2 + 0.5, 0, 1)


def _words(rng: np.random.Generator, d: ImageDraw.ImageDraw, box: tuple, rows: int, s: float):
    """Lines of type in `box` (x0, y0, x1, y1): `rows` lines of letters of x-height `s`."""
    x0, y0, x1, y1 = box
    for r in range(rows):
        y, x = y0 + (y1 - y0) * (r + 0.3) / rows, x0 + rng.uniform(0, 2) * s
        while x < x1 - 2 * s:
            for _ in range(min(int(rng.integers(2, 9)), int((x1 - x) / (1.1 * s)))):  # a word
                e = x + rng.uniform(0.5, 0.9) * s  # a letter, some with an ascender
                d.rectangle([x, y - 0.5 * s * (rng.random() < 0.3), e, y + s], 255)
                x = e + 0.2 * s
            x += 0.7 * s


def _print(rng: np.random.Generator, rgb: np.ndarray, caption: bool) -> tuple:
    """The continuous-tone picture screened and printed on newsprint or coated paper."""
    U, (h, w) = rng.uniform, rgb.shape[:2]
    period = w / (U(44, 58) if (news := U() < 0.55) else U(52, 66))
    ss = int(np.clip(np.ceil(4 / period), 1, 2))
    big = np.asarray(to_image(rgb * 255).resize((w * ss, h * ss), Image.Resampling.BILINEAR))
    big = (big.astype(np.float32) / 255) ** U(0.55, 0.75)  # the press lifts the mid-tones
    if news:  # black only: paper-white highlights, plugged shadows
        lum = big @ np.array([0.3, 0.59, 0.11], np.float32)
        plates = {"k": np.clip((0.97 - lum) / U(0.85, 0.95), 0, 1)}
        paper = hsv(U(0.1, 0.14), U(0.1, 0.28), U(0.8, 0.92)) / 255
    else:  # four colours, black replacing part of the grey
        cmy = np.clip(1.0 - big, 0, 1)
        k = U(0.4, 0.8) * cmy.min(axis=2)
        cmy = (cmy - k[..., None]) / (1 - k[..., None] + 1e-3)
        plates = {"c": cmy[..., 0], "m": cmy[..., 1], "y": cmy[..., 2], "k": k}
        paper = hsv(U(0.08, 0.15), U(0, 0.1), U(0.9, 0.98)) / 255
    m = [0 if U() < 0.4 else U(0.02, 0.05) * w, U(0.01, 0.04) * w]
    box = [m[0] * ss, m[1] * ss, (w - m[0]) * ss, (h - caption * 0.17 * w - m[1]) * ss]
    d = ImageDraw.Draw(lay := Image.new("L", (w * ss, h * ss), 0))
    d.rectangle(box, 255)
    inside = np.asarray(lay, np.float32) / 255
    d.rectangle(box, 0, 255, max(1, round(0.5 * ss * w / 96)))  # a keyline round the picture
    _words(rng, d, (box[0], box[3] + 0.03 * w * ss, box[2], h * ss), 4 * caption, 0.022 * w * ss)
    solid, out = np.asarray(lay, np.float32) / 255, np.ones_like(big) * paper
    for name, tone in plates.items():
        ink, angle = _INKS[name]
        cov = _dots(tone, period * ss, angle + U(-3, 3), *rng.normal(0, 0.3 * ss * (not news), 2))
        cov = np.maximum(cov * inside, solid if name == "k" else 0)
        out *= 1 - cov[..., None] * (1 - np.asarray(ink, np.float32)) * U(0.85, 1)
    return np.asarray(to_image(out * 255).reduce(ss), np.float32), news


def _scan(rng: np.random.Generator, img: np.ndarray, news: bool) -> np.ndarray:
    """Paper fibre and yellowing, the reverse page showing through, a fold, scanner noise."""
    U, (h, w) = rng.uniform, img.shape[:2]
    rev = Image.new("L", (w, h), 0)
    _words(rng, ImageDraw.Draw(rev), (0, -0.02 * w, w, h), int(h / (0.06 * w)), 0.03 * w)
    rev = np.asarray(rev.filter(ImageFilter.GaussianBlur(0.6 * w / 96)), np.float32)[:, ::-1]
    img = img * (1 - U(0.03, 0.08) * rev / 255)[..., None]
    age = _field(rng, h, w, 4, 4) * U(0, 0.15 if news else 0.06)
    img = img * (1 - age[..., None] * np.array([0.2, 0.5, 1.0], np.float32))
    if U() < 0.35:  # a fold crease: a pale ridge beside a dark valley
        (yy, xx), a = grid(h, w), U(-0.3, 0.3) + np.pi / 2 * (U() < 0.5)
        t = ((xx - w / 2) * np.cos(a) + (yy - h * U(0.2, 0.8)) * np.sin(a)) / (0.012 * w)
        ridge = 1 + 0.12 * np.exp(-((t - 1) ** 2)) - 0.18 * np.exp(-((t + 0.5) ** 2))
        img = img * ridge[..., None]
    return img + rng.normal(0, U(2, 5), (h, w, 1)) + rng.normal(0, 1.5, img.shape)


def draw_photo_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """A press portrait as printed in halftone in a newspaper or magazine, clipped and scanned."""
    U, w, h = rng.uniform, size, round(size * 1.2)
    rx = w * U(0.17, 0.2)
    f = _Frame(h, w, w * U(0.46, 0.54), h * U(0.36, 0.42), rx, rx * U(1.25, 1.4))
    bg, light = _backdrop(rng, f)
    alb, nrm, fig, face = _sitter(rng, f)
    side, lamp = rng.choice([-1.0, 1.0]), {"flash": (U(-0.2, 0.2), -0.1, 1)}
    lamp["studio"] = (side * 0.8, -0.5, 0.5)
    L = np.asarray(lamp.get(light, (side * 0.3, -0.8, 0.6)), np.float32)
    L, amb = L / np.linalg.norm(L), {"flash": 0.25, "studio": 0.2, "day": 0.45}[light]
    shade = amb + (1 - amb) * np.clip(np.tensordot(L, nrm, 1), 0, 1)
    half = (L + [0, 0, 1]) / np.linalg.norm(L + [0, 0, 1])
    spec = np.clip(np.tensordot(half, nrm, 1), 0, 1) ** 24 * face * 0.35 * (light == "flash")
    if light == "flash":  # the figure's hard shadow thrown on the wall behind
        dx, dy = int(side * w * U(0.03, 0.07)), int(w * U(0.01, 0.04))
        bg = bg * (1 - 0.55 * np.roll(fig, (dy, dx), (0, 1)))[..., None]
    person = alb / 255 * shade[..., None] + spec[..., None]
    rgb = np.clip(person * fig[..., None] + bg * (1 - fig[..., None]), 0, 1)
    img, news = _print(rng, rgb, U() < 0.4)
    return to_image(_scan(rng, img, news))


# --- drawings ----------------------------------------------------------------------------------
_JEWELS = (0.98, 0.07, 0.13, 0.38, 0.5, 0.62, 0.75, 0.9)  # ruby, amber, gold, emerald ... rose


def _fill(rng: np.random.Generator, lab, pal: list, mask, ids, colours: list) -> None:
    """Panes over `mask` in the label map `lab`, one per distinct value of `ids`; their glass
    colours, from `colours` in turn, go on the palette `pal`."""
    if mask.any():
        k = (ids[mask] - ids[mask].min()).astype(np.int32)
        m, c = int(k.max()) + 1, len(colours)
        pick = rng.integers(0, c, m) if c > 2 else np.arange(m) % c
        lab[mask] = len(pal) + k
        pal += [colours[i] * rng.uniform(0.88, 1.1) for i in pick]


def _window(rng: np.random.Generator, lab, pal: list, f: _Frame) -> None:
    """The window's outline in the stone, its border of jewels, the panes behind, a halo."""
    U, r, yy, xx, (cx, cy, rx, _) = rng.uniform, f.w, f.yy, f.xx, f.frame
    fill = partial(_fill, rng, lab, pal)
    kind = str(rng.choice(["pointed", "round", "oculus", "full"], p=[0.35, 0.25, 0.15, 0.25]))
    a, sp, b = r * U(0.03, 0.09), r * U(0.42, 0.55), r * U(0.04, 0.06)
    rad, c = (r - 2 * a) * U(0.75, 0.95), r - a

    def shape(t: float) -> np.ndarray:
        side = (xx > a + t) & (xx < c - t) & (yy > sp)
        if kind == "pointed":
            top = np.hypot(xx - a - rad, yy - sp) < rad - t
            return side | top & (np.hypot(xx - c + rad, yy - sp) < rad - t)
        if kind == "round":
            return side | (np.hypot(xx - r / 2, yy - sp) < r / 2 - a - t)
        if kind == "oculus":
            return np.hypot(xx - r / 2, yy - r / 2) < r * 0.49 - t
        return (xx > t) & (xx < r - t) & (yy > t) & (yy < r - t)

    outer, inner = shape(0), shape(b)
    ang = np.arctan2(yy - r / 2, xx - r / 2) / (2 * np.pi) + 0.5
    jewels = [hsv(rng.choice(_JEWELS), 0.85, U(0.6, 0.9)) for _ in range(2)]
    fill(outer & ~inner, np.floor(ang * int(rng.integers(16, 34))), jewels)
    hues, rr = rng.choice(_JEWELS, 3), np.hypot(xx - cx, yy - cy)
    an = np.arctan2(yy - cy, xx - cx) / (2 * np.pi) + 0.5
    back = str(rng.choice(["quarry", "burst", "mosaic", "rose"]))
    if back == "quarry":  # pale diamond quarries
        ids = np.floor((xx + yy) / (q := r / U(5, 8))) * 64 + np.floor((xx - yy + r) / q)
        cols = [hsv(h, U(0.05, 0.3), U(0.85, 1.0)) for h in (0.14, 0.3, hues[0])]
    elif back == "burst":  # rays from behind the head, in two rings
        ids = np.floor(an * rng.integers(16, 32)) + 100 * (rr > r * U(0.4, 0.5))
        cols = [hsv(hues[0], 0.8, U(0.6, 0.9)), hsv(0.13, U(0.3, 0.7), 0.95)]
    elif back == "mosaic":  # irregular panes: the nearest of scattered seeds
        seeds = rng.uniform(0, r, (int(rng.integers(25, 45)), 2)).astype(np.float32)
        d2 = (xx[::2, ::2, None] - seeds[:, 0]) ** 2 + (yy[::2, ::2, None] - seeds[:, 1]) ** 2
        ids = np.argmin(d2, axis=2).repeat(2, 0).repeat(2, 1).astype(np.float32)  # at half size
        cols = [hsv(hues[0] + U(-0.06, 0.06), U(0.6, 0.9), U(0.45, 0.9)) for _ in range(5)]
    else:  # a rose window: rings of petals
        ring = np.floor(rr / r / U(0.1, 0.14))
        ids = ring * 256 + np.floor(an * (8 + 8 * ring))
        cols = [hsv(h, 0.85, U(0.55, 0.9)) for h in hues]
    fill(inner, ids, cols)
    if U() < 0.6:  # a segmented gold halo
        rr = np.hypot(xx - cx, yy - cy + 0.15 * rx) / rx
        gold = [hsv(0.12, U(0.6, 0.9), 0.97), hsv(0.09, U(0.7, 0.9), U(0.75, 0.9))]
        seg = np.floor(an * rng.integers(10, 20))
        fill((rr > U(1.2, 1.35)) & (rr < U(1.5, 1.7)) & inner, seg, gold)
        fill((rr <= 1.3) & inner, np.zeros_like(rr), [hsv(0.14, U(0.1, 0.3), 0.98)] * 2)


def _figure(rng: np.random.Generator, lab, pal: list, f: _Frame) -> tuple:
    """The figure's panes, back to front: hair, clothes, neck, face, fringe and a trinket; returns
    the labels and the face's label and the fringe's range of labels."""
    U, im, J = rng.uniform, Image.fromarray(lab), lambda: float(rng.choice(_JEWELS))
    d, pts = ImageDraw.Draw(im), f.pts

    def poly(q: list, colour, ellipse: bool = False) -> None:  # a pane: a polygon, or an ellipse
        pal.append(np.asarray(colour, np.float32) * U(0.9, 1.08))  # in the box of two corners
        (d.ellipse if ellipse else d.polygon)([(float(x), float(y)) for x, y in q], len(pal) - 1)

    hue = float(rng.choice((*_JEWELS, 0.08, 0.08)))
    hair = [hsv(hue, U(0.5, 0.9), U(0.8, 0.95)), hsv(hue, U(0.7, 0.95), U(0.4, 0.6))]
    style = str(rng.choice(["long", "long", "bob", "twin", "short"]))
    ln = {"long": U(1.9, 2.6), "bob": U(0.8, 1.1), "twin": U(0.6, 0.9)}.get(style, U(0.3, 0.5))
    poly(pts("-1.2 -1.37 1.2 .87"), hair[1], True)  # the crown
    e = np.linspace(-1.25, 1.25, int(rng.integers(4, 7)))
    for i, (a, b) in enumerate(zip(e[:-1], e[1:], strict=True)):  # locks down the back
        v = ln * U(0.85, 1.1)
        q = [a, -0.2, b, -0.2, b * 1.08, v, (a + b) * 0.54, v + 0.3, a * 1.08, v]
        poly(pts(q), hair[i % 2])
    for s in (-1, 1) if style == "twin" else ():  # twin tails, each in two locks
        poly(pts(".9 -.95 1.7 -.7 2 1 1.6 2.4 1.2 .6", s), hair[0])
        poly(pts("1.45 -.5 1.85 .9 1.6 2.4 1.45 .8", s), hair[1])
    wear, cloth = str(rng.choice(["mantle", "sailor", "armour"])), hsv(J(), 0.85, U(0.5, 0.85))
    steel = hsv(U(0.55, 0.65), U(0.25, 0.45), U(0.6, 0.85))
    shirt = hsv(0.6, 0.05, 0.95) if wear == "sailor" else cloth
    for s in (-1, 1):  # the shoulders, a pane each side
        poly(pts("0 1.3 .4 1.3 1.3 1.45 2.4 1.9 2.8 3.2 0 3.2", s), shirt)
    if wear == "mantle":  # a robe in the mantle's V, a gold trim band, a brooch
        poly(pts("-.55 1.3 .55 1.3 .3 3.2 -.3 3.2"), hsv(J(), 0.8, 0.85))
        for s in (-1, 1):
            poly(pts(".55 1.3 .75 1.32 .5 3.2 .3 3.2", s), hsv(0.12, 0.8, 0.95))
        poly(pts("-.17 1.38 .17 1.72"), hsv(J(), 0.9, 0.9), True)
    elif wear == "sailor":  # a square collar and a scarf
        poly(pts("-1.4 1.45 -.45 1.3 0 2.2 .45 1.3 1.4 1.45 1.2 2.1 -1.2 2.1"), cloth)
        poly(pts("-.3 2 .3 2 .15 2.6 0 2.3 -.15 2.6"), hsv(0.98, 0.85, 0.85))
    else:  # armour: a breastplate and pauldrons
        poly(pts("-.5 1.5 .5 1.5 .6 3.2 -.6 3.2"), steel)
        for s in (-1, 1):
            poly(pts("1 2 1.1 1.65 1.5 1.45 2 1.6 2.25 2.1", s), steel * 0.85)
    skin = hsv(U(0.03, 0.1), U(0.08, 0.3), U(0.93, 1.0))
    poly(pts("-.3 .6 .3 .6 .34 1.45 0 1.6 -.34 1.45"), skin * 0.92)
    jaw, chin = U(0.55, 0.7), U(0.95, 1.08)
    top = [f.at(np.cos(a), -1.05 * np.sin(a)) for a in np.linspace(0, np.pi, 13)]
    poly(top + pts([-0.95, 0.4, -jaw, 0.82, 0, chin, jaw, 0.82, 0.95, 0.4]), skin)
    face, f0, k = len(pal) - 1, len(pal), int(rng.integers(5, 9))
    e, sweep = np.linspace(-1.1, 1.1, k + 1), U(-0.15, 0.15)
    for i, (a, b) in enumerate(zip(e[:-1], e[1:], strict=True)):  # pointed fringe locks
        tip = (-0.15 + 0.2 * np.cos(np.pi * (a + b) / 2.2)) * U(0.8, 1.2) - 0.2 * (style == "short")
        m = f.at((a + b) / 2 + sweep, tip)
        q = curve(f.at(a * 1.1, -1.3), f.at(a, -0.6), m)
        q += curve(m, f.at(b, -0.6), f.at(b * 1.1, -1.3))
        poly(q, hair[(i + 1) % 2])
    for s in (-1, 1) if style != "short" else ():  # side locks framing the face
        q = curve(f.at(s * 1.05, -0.7), f.at(s * 1.05, 0.3), f.at(s * 0.9, U(0.9, 1.3)))
        poly(q + [f.at(s * 0.8, -0.2)], hair[0])
    acc, x = str(rng.choice(["bow", "tiara", "flowers", "none"])), float(rng.choice([-0.7, 0.7]))
    for t in (-0.5, 0.5) if acc == "bow" else ():  # a ribbon bow, a tiara, flowers
        poly(pts([x, -1, x + t, -1.35, x + 0.9 * t, -0.7]), hsv(hue + 0.5, 0.9, 0.85))
    if acc == "tiara":
        poly(pts("-.6 -1.05 -.3 -1.25 0 -1.55 .3 -1.25 .6 -1.05 0 -1.12"), hsv(0.12, 0.8, 0.95))
    for u in np.linspace(-1, 1, 5) if acc == "flowers" else ():  # a crown of flowers
        v = -1 - 0.35 * np.sqrt(1 - u * u * 0.8)
        poly(pts([u - 0.15, v - 0.15, u + 0.15, v + 0.15]), hsv(J(), 0.7, 0.95), True)
    return np.asarray(im, np.int32), face, f0, f0 + k


def _paint(rng: np.random.Generator, img, glow, f: _Frame, face, fringe) -> None:
    """Grisaille and enamel on the face: the fringe's shadow, eyes, brows, nose, mouth, blush."""
    U, o, P, rx, ry = rng.uniform, f.o, f.at, f.frame[2], f.frame[3]
    w, es, ey, my, mw = rx * 0.06, U(0.85, 1.1), U(0.2, 0.3), U(0.76, 0.8), U(0.08, 0.14)

    def line(q: list, width: float, x: float = 0, y: float = 0, s: float = 1) -> np.ndarray:
        q = np.reshape(q, (3, 2)) * (s, 1) + (x, y)  # a curve through 3 points, (x, y) + (s*u, v)
        return cover(f.w, curve(*[P(*v) for v in q]), width, 1)

    shadow = blur(np.roll(fringe, int(0.12 * ry), 0), 0.05 * rx) * face
    put(img, 0.5 * shadow, img * (0.75, 0.6, 0.6))
    dark = [line([0.02, 0.55, 0, 0.58, -0.03, 0.62], w), line([-mw, my, 0, my + 0.05, mw, my], w)]
    iris, glint, blush = [], [], []
    for s in (-1, 1):
        ex = s * U(0.4, 0.44)
        iris.append(o(ex, ey + 0.04, 0.15 * es, 0.2 * es))
        dark.append(o(ex, ey + 0.06, 0.07 * es, 0.1 * es))  # a pupil, a lash line, a lower lid
        dark.append(line([-0.22 * es, -0.02, 0, -0.32 * es, 0.3 * es, -0.08], 2 * w, ex, ey, s))
        dark.append(line([-0.1, 0.24, 0, 0.3, 0.14, 0.2], 0.7 * w, ex, ey, s))
        dark.append(line([-0.15, -0.42, 0, -0.5, 0.2, -0.42], 0.8 * w, ex, ey, s) * (1 - fringe))
        glint.append(o(ex - 0.05 * s, ey - 0.05, 0.05, 0.05))
        blush.append(o(s * 0.55, 0.62, 0.16, 0.08, 0.06 * rx) * U(0.3, 0.6))
    enamel = hsv(rng.choice(_JEWELS), 0.9, 0.8) * glow[..., None]
    for a, c in [(blush, (240, 120, 130)), (iris, enamel), (dark, (45, 30, 26)), (glint, 250)]:
        put(img, np.maximum.reduce(a) * face, c)


def draw_anime_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """An anime character as a stained-glass window: leaded jewel-coloured panes, painted face."""
    U, r = rng.uniform, size * 2
    rx = r * U(0.19, 0.22)
    f = _Frame(r, r, r * U(0.47, 0.53), r * U(0.42, 0.47), rx, rx * U(1.0, 1.1))
    lab, pal, yy, xx = np.zeros((r, r), np.int32), [np.array([60.0, 55, 50])], f.yy, f.xx
    _window(rng, lab, pal, f)  # label 0, outside it, is the stone
    lab, fid, f0, f1 = _figure(rng, lab, pal, f)
    face, fringe = (lab == fid).astype(np.float32), ((lab >= f0) & (lab < f1)).astype(np.float32)
    lead, stone, k = np.zeros(lab.shape, bool), lab == 0, max(2, round(r * U(0.011, 0.016)))
    lead[:, 1:] |= lab[:, 1:] != lab[:, :-1]  # lead came between the panes, k px wide
    lead[1:] |= lab[1:] != lab[:-1]
    for axis in (0, 1):
        lead = np.logical_or.reduce([np.roll(lead, i - k // 2, axis) for i in range(k)])
    lead = lead.astype(np.float32)
    pal, m = np.stack(pal).astype(np.float32), len(pal)
    jit, phase = rng.uniform((0.8, 0), (1.1, 6.3), (m, 2)).astype(np.float32).T
    g, a = _field(rng, r, r, 3, 3), U(0, np.pi)
    glow = 0.65 + 0.3 * g + 0.45 * oval(yy, xx, r / 2, r * 0.35, r * 0.6, r * 0.6, r * 0.5)
    streak = 1 + 0.07 * np.sin((xx * np.cos(a) + yy * np.sin(a)) / r * 50 + phase[lab] + 5 * g)
    light = np.where(stone, 0.6 + 0.5 * g, glow * streak * jit[lab])
    img = pal[lab] * (light * (1 - 0.5 * blur(lead, rx * 0.08) * ~stone))[..., None]
    _paint(rng, img, glow, f, face, fringe)
    put(img, lead, np.array([30.0, 30, 34]))
    img += blur(np.clip(img.mean(axis=2) / 255 - 0.75, 0, 1), rx * 0.1)[..., None] * 60
    return to_image(img).reduce(2)
