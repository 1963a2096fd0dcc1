"""The fourth held-out synthetic family (`heldout4`): a report family of the seventh round.

Written for the seventh round by a helper session that saw no recipe and no score, and judged
once (README, "A seventh round"); no choice of recipe, weight or setting was made from it. A
next round tunes on it and reports on a new family. It is drawn unlike `builtin`, `transfer`,
`heldout`, `heldout2` and `heldout3` in as many independent respects as could be managed. This
module draws the drawings (its `_noise` serves the photos too; helpers other families share are
in `drawing`); the photos are drawn in `heldout4_photos`.

Its photos are night-time arm's-length phone selfies taken from slightly above: a square frame
with a wide-angle lens (barrel distortion magnifies the middle of the face), the camera rolled a
few degrees, the face large with a broad forehead and a narrow chin. They are lit either by the
phone's flash (flat frontal light, shiny specular hot spots on forehead, nose and cheeks, flash
glare on glasses, red-eye, a hard shadow thrown on the wall behind, a near arm blown out) or by
a screen from below (cold bluish light, dim and very noisy). Behind: a pale wall, a dark room
with strings of coloured fairy lights, or a dim bedroom with a night window and a lamp. Hoods,
baseball caps, headphones, buns and long hair; lipstick; the raised arm in a lower corner.
Shot noise grows in the shadows, corners are darker, and everything goes through heavy JPEG
compression (8x8 blocks, smeared colour). Faces are modelled as a bumpy depth map (brow ridge,
nose, cheekbones, chin) and lit through its normals.

Its drawings are traditional-media anime fan art on paper, as scanned: a sketchy line drawing
(fine-liner ink or graphite pencil, lines doubled and overshooting, faint blue construction
lines of the head left visible) coloured with alcohol markers (streaky strokes, cool-grey
shadows, multiply layering), watercolour (uneven washes, dark pooled edges, granulation) or
coloured pencil on toned tan or grey paper (hatched, catching on the paper grain). Colour
strays over the lines; white gel-pen highlights sit on top. The figures have a longer, narrower
face with an angular jaw, narrow eyes under heavy lash lines, messy layered locks, and a body
that fades out unfinished; glasses, plasters, hoops, chokers or headphones; a plain paper
ground, a colour splash or scribble behind the head, and sometimes a signature.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from .drawing import blur, curve, grid, hsv, oval

Pts = list[tuple[float, float]]

_SS = 3  # supersampling of drawn shapes and strokes


def _noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Smooth random texture in [0, 1], (h, w)."""
    coarse = Image.fromarray(rng.uniform(0, 255, (cells, cells)).astype(np.uint8))
    return np.asarray(coarse.resize((w, h), Image.BICUBIC), np.float32) / 255.0


# --- drawings ----------------------------------------------------------------------------------
class _Sheet:
    """A sheet of paper being drawn on: the paper, the pen, the colouring medium (0 ink and
    alcohol markers, 1 pencil and watercolour, 2 graphite and coloured pencil on toned paper)."""

    def __init__(self, rng: np.random.Generator, size: int) -> None:
        self.rng, self.n, self.u = rng, size, size / 96  # u: one pen width at 96 px
        self.medium = int(rng.integers(3))
        if self.medium == 2:  # toned paper: tan, grey or blue-grey
            paper = hsv(rng.choice([0.09, 0.6]), rng.uniform(0.05, 0.25), rng.uniform(0.7, 0.8))
            self.pen = hsv(0.65, 0.05, rng.uniform(0.22, 0.38))
        else:
            paper = hsv(rng.uniform(0.1, 0.15), rng.uniform(0.0, 0.09), rng.uniform(0.95, 1.0))
            self.pen = hsv(rng.choice([0.6, 0.05]), rng.uniform(0, 0.5), rng.uniform(0.05, 0.2))
            if self.medium == 1:
                self.pen = hsv(0.65, 0.05, rng.uniform(0.22, 0.38))
        self.grain = 0.6 * _noise(rng, size, size, max(8, size // 2))
        self.grain += 0.4 * rng.uniform(size=(size, size))
        self.img = paper * (1 - 0.05 * self.grain)[..., None]
        self.yy, self.xx = grid(size, size)
        self.ink, self.gels = np.zeros((size, size), np.float32), []
        self.shift = rng.normal(0, 0.8 * self.u, 2)  # colour misregistered against the lines
        self.angle = rng.uniform(0, np.pi)  # the colouring strokes' direction
        self.flush()

    def cover(self, pts: Pts | None = None, box=None, width: float = 0) -> np.ndarray:
        """Coverage (n, n) of a polygon, an ellipse's box, or (with `width`) a thick line."""
        im = Image.new("L", (self.n * _SS, self.n * _SS), 0)
        d = ImageDraw.Draw(im)
        if box is not None:
            d.ellipse([c * _SS for c in box], fill=255)
        elif width:
            d.line([(x * _SS, y * _SS) for x, y in pts], 255, round(width * self.u * _SS))
        else:
            d.polygon([(x * _SS, y * _SS) for x, y in pts], fill=255)
        return np.asarray(im.reduce(_SS), np.float32) / 255.0

    def stroke(self, pts: Pts, width: float = 1.0, passes: int | None = None) -> None:
        """A sketchy line: jittered, overshooting, in pencil gone over two or three times."""
        rng = self.rng
        passes = (1 if self.medium == 0 else int(rng.integers(2, 4))) if passes is None else passes
        pts_a = np.array(pts, np.float32)
        for _ in range(passes):
            q = pts_a + rng.normal(0, 0.35 * self.u * (1 + (passes > 1)), pts_a.shape)
            if len(q) > 1 and rng.uniform() < 0.5:  # overshoot the end
                q = np.vstack([q, q[-1] + (q[-1] - q[-2]) * rng.uniform(0.2, 0.6)])
            wid = max(1, round(width * self.u * _SS * rng.uniform(0.8, 1.15)))
            self.draw.line([(x * _SS, y * _SS) for x, y in q], fill=255, width=wid, joint="curve")

    def flush(self, hide: np.ndarray | None = None) -> None:
        """Put the strokes drawn since the last flush on the sheet, except where `hide` covers."""
        if hasattr(self, "lines"):
            a = np.asarray(self.lines.reduce(_SS), np.float32) / 255.0
            self.ink = np.maximum(self.ink, a if hide is None else a * (1 - hide))
        self.lines = Image.new("L", (self.n * _SS, self.n * _SS), 0)
        self.draw = ImageDraw.Draw(self.lines)

    def guide(self, cx: float, cy: float, rx: float, ry: float) -> None:
        """Faint blue construction lines of the head, left visible under the drawing."""
        t = np.linspace(0, 2 * np.pi, 25)
        ring = list(zip(cx + rx * np.cos(t), cy - 0.3 * ry + 0.8 * ry * np.sin(t), strict=True))
        marks = [ring, [(cx, cy - 1.2 * ry), (cx, cy + 1.1 * ry)]]
        marks += [[(cx - 1.2 * rx, cy), (cx + 1.2 * rx, cy)]]
        marks += [[(cx - rx, cy - 0.2 * ry), (cx, cy + ry), (cx + rx, cy - 0.2 * ry)]]
        a = np.maximum.reduce([self.cover(q, width=1) for q in marks])
        a = a[..., None] * self.rng.uniform(0.12, 0.3)
        self.img *= 1 - a * (1 - hsv(0.58, 0.45, 0.95) / 255.0)

    def colour(self, a: np.ndarray, rgb, strength: float = 1.0) -> None:
        """Lay colour `rgb` over coverage `a` in the sheet's medium, multiplied onto the paper."""
        rng, n, u = self.rng, self.n, self.u
        a = np.roll(a, tuple(int(round(v)) for v in self.shift[::-1]), (0, 1))
        wobble = blur(a, 1.2 * u) + 0.35 * (_noise(rng, n, n, max(4, n // 8)) - 0.5)
        a = np.clip((wobble - 0.5) * 4 + 0.5, 0, 1)  # edges stray over and short of the lines
        along = self.xx * np.cos(self.angle) + self.yy * np.sin(self.angle)
        across = -self.xx * np.sin(self.angle) + self.yy * np.cos(self.angle)
        if self.medium == 0:  # markers: streaks, darker where strokes overlap
            band = np.floor(across / (2.2 * u))
            tex = 0.82 + 0.18 * np.sin(band * 12.9898 + rng.uniform(0, 9)) ** 2
            tex = 0.9 * tex * (0.92 + 0.08 * np.sin(along / (5 * u)))
        elif self.medium == 1:  # watercolour: an uneven wash, pooled dark edges, granulation
            pool = np.clip(a - blur(a, 1.5 * u), 0, 1) * 1.6
            tex = 0.8 * (0.55 + 0.35 * _noise(rng, n, n, 5) + pool + 0.15 * (self.grain - 0.5))
        else:  # coloured pencil: hatched, catching on the paper's grain
            hatch = np.sin(across / (0.55 * u))
            tex = 0.95 * np.clip(0.6 + 0.6 * (self.grain - 0.5) + 0.18 * hatch, 0, 1)
        a = np.clip(a * tex * strength, 0, 1)[..., None]
        self.img *= 1 - a * (1 - np.asarray(rgb, np.float32) / 255.0)

    def finish(self) -> Image.Image:
        """The lines over the colour (graphite broken by the grain), then the gel-pen dots."""
        self.flush()
        a = self.ink * (0.55 + 0.6 * self.grain) if self.medium else self.ink
        img = self.img * (1 - np.clip(a, 0, 1)[..., None] * (1 - self.pen / 255.0))
        for box in self.gels:
            img += (248.0 - img) * self.cover(box=box)[..., None]
        return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8))


def _behind(rng: np.random.Generator, sh: _Sheet, head: tuple, accent, free: np.ndarray) -> None:
    """Plain paper, a colour splash behind the head, a swatch scribble, or a rough frame;
    perhaps the artist's signature in a bottom corner."""
    cx, cy, rx, ry = head
    kind, n = int(rng.integers(4)), sh.n
    if kind == 1:
        blob = np.zeros((n, n), np.float32)
        for _ in range(4):
            (ox, oy), r = rng.normal(0, 0.4 * rx, 2), rng.uniform(1.3, 1.9) * rx
            blob = np.maximum(blob, oval(sh.yy, sh.xx, cx + ox, cy - 0.4 * ry + oy, r, r, 2))
        sh.colour(blob * free, accent, 0.8)
    elif kind == 2:
        x0, y0 = cx + rng.uniform(-1.5, 0.5) * rx, cy - rng.uniform(1.0, 1.6) * ry
        zig = [(x0 + i * 0.35 * rx, y0 + (i % 2) * rng.uniform(1.0, 1.6) * rx) for i in range(9)]
        sh.colour(sh.cover(zig, width=5) * free, accent, 0.8)
    elif kind == 3:
        m = rng.uniform(0.04, 0.09) * n
        box = [(m, m), (n - m, m), (n - m, n - m), (m, n - m), (m, m)]
        for i in range(4):
            if rng.uniform() < 0.8:
                sh.stroke(box[i : i + 2], 0.9, 1)
    if rng.uniform() < 0.4:
        sx, sy, k = n * rng.choice([0.08, 0.72]), n * rng.uniform(0.86, 0.92), 0.035 * n
        sh.stroke([(sx + i * k * 0.45, sy + k * rng.uniform(-0.5, 0.5)) for i in range(6)], 0.7, 1)


def _hair(rng: np.random.Generator, head: tuple, turn: float) -> tuple[Pts, Pts, Pts]:
    """Outlines of the hair behind the head (short, shoulder-length or long, flared), of the
    hair in front (a messy crown, a fringe of pointed locks, side locks), and the valleys
    between the fringe's locks."""
    cx, cy, rx, ry = head
    hx, hy, a, b = cx - turn * 0.2 * rx, cy - 0.4 * ry, 1.22 * rx, 0.78 * ry
    r = 1 + rng.uniform(0.03, 0.16) * (np.arange(15) % 2)  # how spiky
    ts = np.linspace(0, -np.pi, 15)
    crown = [
        (hx + a * r_ * np.cos(t), hy + b * r_ * np.sin(t)) for t, r_ in zip(ts, r, strict=True)
    ]
    end, flare = cy + rng.choice([0.25, 0.9, 1.7]) * ry, rng.uniform(0.0, 0.35) * rx
    xs = np.linspace(hx - a - flare, hx + a + flare, 7)
    back = crown + [(hx - a - flare * t, hy + (end - hy) * t) for t in (0.4, 0.75)]
    back += [(x, end - (i % 2) * rng.uniform(0.1, 0.3) * ry) for i, x in enumerate(xs)]
    back += [(hx + a + flare * t, hy + (end - hy) * t) for t in (0.75, 0.4)]

    rc = crown[::-1]
    front = rc[:2] + [(x, y + 0.04 * ry) for x, y in rc[2:-2]] + rc[-2:]
    side = rng.uniform(0.2, 0.9) * ry
    prev = (hx + 0.8 * rx, cy - 0.3 * ry)
    front += [(hx + 1.02 * rx, cy + side), prev]
    k = int(rng.integers(3, 6))
    sweep = float(rng.choice([-1.0, 1.0])) * rng.uniform(0.05, 0.3) * rx
    valleys: Pts = []
    for i, x in enumerate(np.linspace(hx + 0.85 * rx, hx - 0.85 * rx, 2 * k + 1)[1:], 1):
        if i % 2:  # a lock's tip
            nxt = (x + sweep, cy + rng.uniform(-0.42, -0.08) * ry)
            bend = ((prev[0] + nxt[0]) / 2 + sweep, (prev[1] + nxt[1]) / 2)
        else:
            nxt = (x, cy - rng.uniform(0.5, 0.65) * ry)
            bend = ((prev[0] + nxt[0]) / 2, (prev[1] + nxt[1]) / 2)
            valleys.append(nxt)
        front += curve(prev, bend, nxt, 4)
        prev = nxt
    front += [(hx - 0.8 * rx, cy - 0.3 * ry), (hx - 1.02 * rx, cy + side * rng.uniform(0.7, 1.2))]
    return back, front, valleys


def _eyes(rng: np.random.Generator, sh: _Sheet, head: tuple, turn: float, iris) -> None:
    """Narrow eyes under a heavy lash line with a flick, irises darker under the lid, white
    gel-pen catchlights, sharp brows, a nose tick and a small mouth."""
    cx, cy, rx, ry = head
    mx, ey = cx + turn * 0.3 * rx, cy + rng.uniform(0.0, 0.08) * ry
    eh, look = rng.uniform(0.17, 0.25) * ry, rng.uniform(-0.15, 0.15)
    for s in (-1.0, 1.0):
        ew, ex = 0.4 * rx * (1 - s * turn * 0.6), mx + s * 0.45 * rx * (1 - s * turn * 0.4)
        inner, outer = ex - s * 0.5 * ew, ex + s * 0.5 * ew
        ix, iy, ir = ex + look * ew, ey + 0.05 * eh, 0.27 * ew
        ball = sh.cover(box=(ix - ir, iy - 0.5 * eh, ix + ir, iy + 0.5 * eh))
        sh.colour(ball, iris)
        sh.colour(ball * (sh.yy < iy - 0.05 * eh), iris * 0.6)
        sh.colour(
            sh.cover(box=(ix - 0.4 * ir, iy - 0.25 * eh, ix + 0.4 * ir, iy + 0.2 * eh)), sh.pen
        )
        sh.stroke(curve((ix - ir, iy), (ix, iy + 0.75 * eh), (ix + ir, iy), 5), 0.8, 1)
        lid = curve((inner, ey + 0.05 * eh), (ex, ey - 0.85 * eh), (outer, ey - 0.3 * eh), 6)
        sh.stroke(lid + [(outer + s * 0.18 * ew, ey - 0.45 * eh)], 2.4, 1)
        sh.stroke([(outer - s * 0.05 * ew, ey + 0.2 * eh), (ex, ey + 0.5 * eh)], 0.8)
        by = ey - rng.uniform(0.85, 1.1) * eh
        sh.stroke(curve((inner, by), (ex, by - 0.35 * eh), (outer, by), 5), 1.0)
        hl = ix - 0.45 * ir
        sh.gels.append((hl - 0.3 * ir, iy - 0.38 * eh, hl + 0.3 * ir, iy - 0.12 * eh))
    nx, ny = mx + turn * 0.4 * rx, cy + 0.38 * ry
    sh.stroke([(nx - 0.02 * rx, ny - 0.1 * ry), (nx + 0.06 * rx, ny)], 0.9)
    my = cy + rng.uniform(0.6, 0.7) * ry
    if rng.uniform() < 0.4:  # a small open mouth
        mouth = curve((mx - 0.13 * rx, my), (mx, my + 0.22 * ry), (mx + 0.13 * rx, my), 6)
        sh.colour(sh.cover(mouth), (200, 90, 100))
        sh.stroke(mouth + [(mx - 0.13 * rx, my)], 0.9)
    else:
        sh.stroke(curve((mx - 0.12 * rx, my), (mx, my + 0.04 * ry), (mx + 0.1 * rx, my), 7))


def _extras(rng: np.random.Generator, sh: _Sheet, head: tuple, accent) -> None:
    """Up to two of: glasses, a plaster on the cheek, hoop earrings, a choker."""
    cx, cy, rx, ry = head
    for kind in rng.permutation(4)[: int(rng.integers(0, 3))]:
        if kind == 0:
            ey = cy + 0.04 * ry
            for s in (-1, 1):
                x0, x1, y0, y1 = (
                    cx + s * 0.17 * rx,
                    cx + s * 0.73 * rx,
                    ey - 0.15 * ry,
                    ey + 0.17 * ry,
                )
                sh.stroke(
                    [
                        (x0, y0),
                        (x1, y0),
                        (x1 - s * 0.03 * rx, y1),
                        (x0 + s * 0.03 * rx, y1),
                        (x0, y0),
                    ],
                    1.0,
                    1,
                )
            sh.stroke([(cx - 0.17 * rx, ey - 0.08 * ry), (cx + 0.17 * rx, ey - 0.08 * ry)], 1, 1)
            continue
        if kind == 1:
            px, py = cx + rng.choice([-1.0, 1.0]) * 0.55 * rx, cy + 0.4 * ry
            band = [(px - 0.22 * rx, py - 0.02 * ry), (px + 0.2 * rx, py - 0.1 * ry)]
            band += [(px + 0.23 * rx, py + 0.03 * ry), (px - 0.19 * rx, py + 0.11 * ry)]
            colour = (235, 200, 160)
        elif kind == 2:
            for s in (-1, 1):
                x, y, r = cx + s * 1.0 * rx, cy + 0.42 * ry, 0.1 * rx
                sh.stroke(curve((x, y - r), (x + s * 2 * r, y + r), (x, y + r), 6) + [(x, y - r)])
            continue
        else:
            band = [(cx - 0.4 * rx, cy + 1.0 * ry), (cx + 0.4 * rx, cy + 1.0 * ry)]
            band += [(cx + 0.42 * rx, cy + 1.1 * ry), (cx - 0.42 * rx, cy + 1.1 * ry)]
            colour = accent * 0.5
        sh.colour(sh.cover(band), colour)
        sh.stroke(band + band[:1], 0.8, 1)


def _shapes(rng: np.random.Generator, head: tuple, turn: float, n: int) -> dict:
    """Outlines of the figure: hair behind and in front, the angular face, neck and shoulders."""
    cx, cy, rx, ry = head
    back, front, valleys = _hair(rng, head, turn)
    chin = cx + turn * 0.35 * rx
    jaw = [(cx - rx * (1 - 0.1 * max(turn, 0)), cy - 0.15 * ry), (cx - 0.9 * rx, cy + 0.38 * ry)]
    jaw += [(chin - 0.16 * rx, cy + 0.9 * ry), (chin, cy + ry), (chin + 0.16 * rx, cy + 0.9 * ry)]
    jaw += [(cx + 0.9 * rx, cy + 0.38 * ry), (cx + rx * (1 - 0.1 * max(-turn, 0)), cy - 0.15 * ry)]
    neck = [(cx - 0.3 * rx, cy + 0.6 * ry), (cx - 0.36 * rx, cy + 1.4 * ry)]
    neck += [(cx + 0.36 * rx, cy + 1.4 * ry), (cx + 0.3 * rx, cy + 0.6 * ry)]
    knee = (cx - 1.6 * rx, cy + 1.45 * ry)
    lsh = curve((cx - 0.36 * rx, cy + 1.3 * ry), knee, (cx - 2.5 * rx, cy + 2.3 * ry), 6)
    rsh = [(2 * cx - x, y) for x, y in lsh]
    body = lsh + [(cx - 2.7 * rx, n + 4), (cx + 2.7 * rx, n + 4)] + rsh[::-1]
    face = jaw + [(cx + rx, cy - 0.7 * ry), (cx - rx, cy - 0.7 * ry)]
    parts = dict(back=back, front=front, valleys=valleys, jaw=jaw, face=face, neck=neck)
    return parts | dict(lsh=lsh, rsh=rsh, body=body)


def _colour_in(rng: np.random.Generator, sh: _Sheet, head: tuple, cov: dict, pal: dict) -> None:
    """Colour each part where it shows, back to front; shadows as a second, cool-grey layer on
    the side away from the light and under the fringe; blush; a band of hair left white."""
    cx, cy, rx, ry = head
    lx, k = int(rng.choice([-1, 1])), max(2, round(0.15 * rx))
    away = {key: np.clip(c - np.roll(c, (-k // 2, lx * k), (0, 1)), 0, 1) for key, c in cov.items()}
    fade = np.clip((cy + rng.uniform(1.6, 2.4) * ry - sh.yy) / (0.2 * sh.n), 0, 1)
    face, front, neck = cov["face"], cov["front"], cov["neck"] * (1 - cov["face"])
    body = cov["body"] * (1 - neck) * (1 - face) * fade  # the colouring stops short: unfinished
    back = cov["back"] * (1 - face) * (1 - neck) * (1 - cov["body"]) * (1 - front)
    skin, grey = pal["skin"], pal["grey"]
    sh.colour(back, pal["hair"])
    sh.colour(body, pal["cloth"])
    sh.colour(away["body"] * body, grey)
    sh.colour(neck, skin)
    sh.colour(np.maximum(neck * (sh.yy < cy + 1.05 * ry), away["neck"] * neck), grey)
    face = face * (1 - front)
    sh.colour(face, skin)
    under = np.roll(front, (k, -lx * k // 2), (0, 1)) * face
    sh.colour(np.maximum(away["face"] * face, under), grey * 0.5 + skin * 0.5)
    for s in (-1, 1):
        blush = oval(sh.yy, sh.xx, cx + s * 0.55 * rx, cy + 0.35 * ry, 0.2 * rx, 0.1 * ry, 2)
        sh.colour(blush * face, (250, 160, 170), 0.5)
    hx, hy = pal["crown"]
    ring = np.sqrt(((sh.xx - hx) / (0.8 * rx)) ** 2 + ((sh.yy - hy) / (0.3 * ry)) ** 2)
    shine = np.clip(1 - np.abs(ring - 1) / 0.2, 0, 1) * (sh.yy < hy)
    sh.colour(front * (1 - shine), pal["hair"])
    sh.colour(np.maximum(away["front"], away["back"] * back), pal["hair"] * 0.7)


def _ink(rng: np.random.Generator, sh: _Sheet, head: tuple, cov: dict, sp: dict) -> None:
    """The line drawing, part by part, each hidden where a nearer part covers it."""
    cx, cy, rx, ry = head
    sh.stroke(sp["back"], 1.1)
    sh.flush(np.maximum.reduce([cov["face"], cov["neck"], cov["front"], cov["body"]]))
    sh.stroke(sp["lsh"][: int(rng.integers(3, 7))], 1.1)  # shoulders, left unfinished
    sh.stroke(sp["rsh"][: int(rng.integers(3, 7))], 1.1)
    collar = int(rng.integers(3))
    if collar == 0:
        mid = (cx, cy + rng.uniform(1.6, 1.9) * ry)
        sh.stroke(curve((cx - 0.6 * rx, cy + 1.35 * ry), mid, (cx + 0.6 * rx, cy + 1.35 * ry), 7))
    for s in (-1, 1):
        if collar == 1:
            sh.stroke([(cx + s * 0.4 * rx, cy + 1.25 * ry), (cx + s * 0.15 * rx, cy + 1.75 * ry)])
            sh.stroke([(cx + s * 0.7 * rx, cy + 1.6 * ry), (cx + s * 0.4 * rx, cy + 1.25 * ry)])
        sh.stroke(sp["neck"][:2] if s < 0 else sp["neck"][2:], 1.0)
    sh.flush(cov["face"])
    sh.stroke(sp["jaw"], 1.1)
    for s in (-1, 1):  # ears
        x = cx + s * rx
        sh.stroke(
            curve((x, cy - 0.1 * ry), (x + s * 0.28 * rx, cy + 0.05 * ry), (x, cy + 0.3 * ry), 7)
        )
    sh.flush(cov["front"])
    sh.stroke(sp["front"] + sp["front"][:1], 1.2)
    sh.flush()
    px, py = cx + rng.uniform(-0.5, 0.5) * rx, cy - 1.15 * ry
    for vx, vy in sp["valleys"]:  # strands from the crown
        sh.stroke(
            curve((px, py), (vx + 0.2 * (vx - px), cy - 0.9 * ry), (vx, vy + 0.1 * ry), 5), 0.7
        )
    sh.flush(1 - cov["front"])


def draw_anime_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """Traditional-media anime fan art, as scanned: a sketchy ink or pencil drawing coloured with
    markers, watercolour or coloured pencil, white gel-pen highlights, an unfinished body."""
    sh = _Sheet(rng, size)
    cx, cy = size * rng.uniform(0.45, 0.55), size * rng.uniform(0.45, 0.5)
    rx = size * rng.uniform(0.16, 0.2)
    ry = rx * rng.uniform(1.3, 1.45)
    head, turn = (cx, cy, rx, ry), rng.uniform(-0.25, 0.25)
    pal = {
        "hair": hsv(rng.uniform(), rng.uniform(0.3, 0.75), rng.uniform(0.55, 0.95)),
        "skin": hsv(rng.uniform(0.04, 0.08), rng.uniform(0.1, 0.25), 1.0),
        "grey": hsv(rng.uniform(0.55, 0.65), rng.uniform(0.04, 0.12), rng.uniform(0.75, 0.85)),
        "cloth": hsv(rng.uniform(), rng.uniform(0.1, 0.7), rng.uniform(0.5, 0.95)),
        "crown": (cx - turn * 0.2 * rx, cy - 0.8 * ry),
    }
    accent = hsv(rng.uniform(), rng.uniform(0.3, 0.6), rng.uniform(0.8, 1.0))
    if rng.uniform() < 0.7:
        sh.guide(cx, cy, rx, ry)
    sp = _shapes(rng, head, turn, size)
    cov = {key: sh.cover(sp[key]) for key in ("back", "front", "face", "neck", "body")}
    _behind(rng, sh, head, accent, 1 - np.maximum.reduce(list(cov.values())))
    _colour_in(rng, sh, head, cov, pal)
    _ink(rng, sh, head, cov, sp)
    _eyes(rng, sh, head, turn, hsv(rng.uniform(), rng.uniform(0.4, 0.8), rng.uniform(0.5, 0.85)))
    _extras(rng, sh, head, accent)
    hx, hy = pal["crown"]
    for t in rng.uniform(-2.5, -0.6, int(rng.integers(1, 4))):  # gel-pen glints on the shine
        gx, gy, r = hx + 0.8 * rx * np.cos(t), hy + 0.3 * ry * np.sin(t), 0.05 * rx
        sh.gels.append((gx - r, gy - r, gx + r, gy + r))
    return sh.finish()
