"""The `heldout4` family's photos (its drawings and the family's description are in
`heldout4_faces`): night-time arm's-length phone selfies lit by the phone's flash or a
screen, through a wide lens and heavy JPEG."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

from .drawing import blur, grid, hsv, oval
from .heldout4_faces import _noise

_SKIN = np.array(
    [(238, 200, 178), (222, 176, 140), (190, 134, 100), (150, 98, 70), (98, 64, 46)], np.float32
)
_HAIR = np.array(
    [(18, 14, 14), (48, 30, 22), (96, 60, 38), (170, 120, 70), (60, 52, 58), (140, 40, 36)],
    np.float32,
)
_LIPS = np.array([(0.85, 0.55, 0.55), (0.95, 0.35, 0.4), (0.65, 0.35, 0.45)], np.float32)


def _dome(yy, xx, cx, cy, rx, ry) -> np.ndarray:
    """Unit normals (3, h, w) of an ellipsoid seen from the front."""
    hx, hy = (xx - cx) / rx, (yy - cy) / ry
    hz = np.sqrt(np.clip(1 - hx**2 - hy**2, 0.04, 1.0))
    n = np.stack([hx, hy, hz])
    return n / np.linalg.norm(n, axis=0)


# --- photos ------------------------------------------------------------------------------------
class _Sitter:
    """The person as layers blended together: albedo, coverage, surface normals, shininess and
    how much nearer the flash each part is."""

    def __init__(self, n: int) -> None:
        self.yy, self.xx = grid(n, n)
        self.alb = np.zeros((n, n, 3), np.float32)
        self.cover = np.zeros((n, n), np.float32)
        self.nrm = np.zeros((3, n, n), np.float32)
        self.nrm[2] = 1.0
        self.gloss = np.zeros((n, n), np.float32)
        self.near = np.zeros((n, n), np.float32)

    def o(self, cx, cy, rx, ry, soft: float = 1.0) -> np.ndarray:
        return oval(self.yy, self.xx, cx, cy, rx, ry, soft)

    def dome(self, cx, cy, rx, ry) -> np.ndarray:
        return _dome(self.yy, self.xx, cx, cy, rx, ry)

    def put(self, a, color, nrm=None, gloss: float = 0.0, near: float = 0.0) -> None:
        self.alb += (np.asarray(color, np.float32) - self.alb) * a[..., None]
        if nrm is not None:
            self.nrm += (nrm - self.nrm) * a
        self.gloss += (gloss - self.gloss) * a
        self.near += (near - self.near) * a
        self.cover = self.cover + (1 - self.cover) * a


def _night_room(rng: np.random.Generator, n: int, kind: int) -> np.ndarray:
    """A pale wall near the flash (0), a dark room with fairy lights (1), a dim bedroom (2)."""
    yy, xx = grid(n, n)
    if kind == 0:
        wall = hsv(rng.uniform(0.05, 0.6), rng.uniform(0.03, 0.25), rng.uniform(0.7, 0.95))
        fx, fy = n * rng.uniform(0.35, 0.65), n * rng.uniform(0.3, 0.5)
        img = (
            wall
            * (0.25 + 0.6 * np.exp(-((xx - fx) ** 2 + (yy - fy) ** 2) / (0.3 * n * n)))[..., None]
        )
        if rng.uniform() < 0.6:  # a door frame, perhaps a poster
            x0 = n * rng.choice([rng.uniform(0.02, 0.2), rng.uniform(0.8, 0.95)])
            img[np.abs(xx - x0) < n * 0.03] *= 0.75
            poster = (yy < n * rng.uniform(0.05, 0.3)) & (np.abs(xx - x0) < n * 0.25)
            img[poster] = img[poster] * 0.5 + hsv(rng.uniform(), 0.6, 0.6) * 0.4
        return img
    if kind == 1:
        img = np.broadcast_to(rng.uniform(4, 22, 3), (n, n, 3)).astype(np.float32).copy()
        for _ in range(int(rng.integers(1, 3))):  # strings of lights sagging across the room
            y0, sag, x0 = n * rng.uniform(0.05, 0.45), rng.uniform(0.1, 0.35), n * rng.uniform()
            hue = rng.choice([0.11, 0.13, -1.0])
            for x in np.linspace(-0.05 * n, 1.05 * n, int(rng.integers(7, 13))):
                y = y0 + sag * n * ((x - x0) / n) ** 2 + rng.normal(0, 0.01 * n)
                r = n * rng.uniform(0.03, 0.06)
                col = hsv(rng.uniform() if hue < 0 else hue, 0.55, 1.0) * rng.uniform(0.5, 1)
                img += oval(yy, xx, x, y, r, r, 0.35 * r)[..., None] * col
        return img
    t = np.clip(yy / n, 0, 1)[..., None]
    img = hsv(rng.uniform(0.55, 0.7), 0.35, 0.16) * (1 - t) + hsv(0.6, 0.2, 0.07) * t
    x0, y0 = n * rng.uniform(0.0, 0.6), n * rng.uniform(0.0, 0.3)
    img[(xx > x0) & (xx < x0 + 0.3 * n) & (yy > y0) & (yy < y0 + 0.35 * n)] += hsv(0.62, 0.5, 0.3)
    lx, ly, r = n * rng.choice([0.1, 0.9]), n * rng.uniform(0.3, 0.7), n * rng.uniform(0.2, 0.35)
    return img + oval(yy, xx, lx, ly, r, r, r)[..., None] * hsv(0.09, 0.7, 0.45)


def _face_normals(p: _Sitter, face: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The face's coverage (broad forehead, narrow chin: seen from above) and its normals, from
    a depth map: an ellipsoid with bumps for the brow, nose, cheekbones and chin."""
    cx, cy, rx, ry = face
    yy, xx = p.yy, p.xx
    hy = (yy - cy) / ry
    d = np.sqrt(((xx - cx) / (rx * np.clip(1 - 0.14 * hy, 0.75, 1.2))) ** 2 + hy**2)
    z = rx * np.sqrt(np.clip(1 - d**2, 0.03, 1))
    bumps = [(0, -0.2, 0.6, 0.08, 0.08), (0, 0.12, 0.13, 0.22, 0.12), (0, 0.3, 0.11, 0.08, 0.12)]
    bumps += [(0, 0.85, 0.3, 0.12, 0.08)]
    for s in (-1, 1):
        bumps += [(s * 0.36, 0, 0.17, 0.09, -0.09), (s * 0.5, 0.25, 0.22, 0.12, 0.06)]
    for x, y, sx, sy, amp in bumps:
        e = ((xx - cx - x * rx) / (sx * rx)) ** 2 + ((yy - cy - y * ry) / (sy * ry)) ** 2
        z += amp * rx * np.exp(-e)
    gy, gx = np.gradient(z)
    nrm = np.stack([-gx, -gy, np.ones_like(z)])
    return np.clip((1 - d) * rx / 1.2 + 0.5, 0, 1), nrm / np.linalg.norm(nrm, axis=0)


def _person(rng: np.random.Generator, n: int, size: int, flash: bool) -> _Sitter:
    """The selfie-taker seen from slightly above: clothes, the raised arm, hair behind (or a
    hood), ears, the face, then the fringe, a cap or a bun, and the features."""
    p, m = _Sitter(n), (n - size) / 2
    rx = size * rng.uniform(0.21, 0.26)
    ry = rx * rng.uniform(1.22, 1.36)
    cx, cy = m + size * rng.uniform(0.42, 0.58), m + size * rng.uniform(0.44, 0.52)
    skin = _SKIN[rng.integers(len(_SKIN))] * rng.uniform(0.92, 1.06) + rng.normal(0, 5, 3)
    skin = skin * (0.94 + 0.12 * _noise(rng, n, n, 6))[..., None]  # a blotchy complexion
    if rng.uniform() < 0.15:
        hair = hsv(rng.choice([0.58, 0.8, 0.95, 0.02]), 0.5, 0.55)
    else:
        hair = _HAIR[rng.integers(len(_HAIR))] * rng.uniform(0.85, 1.15)
    coarse = rng.uniform(0, 255, (6, n // 2 + 1)).astype(np.uint8)  # strands running down
    streak = np.asarray(Image.fromarray(coarse).resize((n, n), Image.BILINEAR), np.float32)
    hair = hair * (0.75 + 0.45 * streak / 255.0)[..., None]
    cloth = hsv(rng.uniform(), rng.uniform(0.0, 0.7), rng.uniform(0.12, 0.85))
    hn, o, yy = p.dome(cx, cy - 0.2 * ry, 1.2 * rx, 1.1 * ry), p.o, p.yy

    body = o(cx, cy + 1.75 * ry, 1.9 * rx, 0.85 * ry, 2)
    p.put(body, cloth, p.dome(cx, cy + 1.9 * ry, 2.1 * rx, ry), 0, -0.2)
    p.put(o(cx, cy + 0.85 * ry, 0.48 * rx, 0.5 * ry, 2), skin * 0.8, None, 0.2)
    if rng.uniform() < 0.65:  # the arm holding the phone, close to the flash
        s = float(rng.choice([-1.0, 1.0]))
        ax, ay = cx + s * 1.75 * rx, cy + 1.55 * ry
        u, v = (p.xx - ax) * 0.8 - s * (yy - ay) * 0.6, s * (p.xx - ax) * 0.6 + (yy - ay) * 0.8
        arm = np.clip((1 - np.sqrt((u / (1.2 * rx)) ** 2 + (v / (0.38 * rx)) ** 2)) * 4, 0, 1)
        sleeve = cloth if rng.uniform() < 0.5 else skin
        p.put(arm, sleeve, p.dome(ax, ay, 1.3 * rx, 0.9 * rx), 0.2, 0.5)
    style = int(rng.integers(5))  # short crop, long, hood up, baseball cap, bun
    if style == 1:
        p.put(o(cx, cy + 0.5 * ry, 1.25 * rx, 1.5 * ry, 2), hair * 0.8, hn, 0.3)
    if style == 2:
        hood = o(cx, cy - 0.1 * ry, 1.45 * rx, 1.35 * ry, 2)
        hood = np.maximum(hood, o(cx, cy + 0.9 * ry, 1.3 * rx, 0.9 * ry, 2))
        folds = cloth * (0.8 + 0.35 * _noise(rng, n, n, 7))[..., None]
        p.put(hood, folds, p.dome(cx, cy, 1.6 * rx, 1.5 * ry), 0.02)
        p.put(o(cx, cy + 0.05 * ry, 1.12 * rx, 1.06 * ry, 3), cloth * 0.3)
    elif style != 3:
        short = o(cx, cy - 0.2 * ry, 1.1 * rx, ry, 2) * np.clip(cy + 0.1 * ry - yy, 0, 1)
        p.put(short, hair, hn, 0.3)
    if style != 2:
        for s in (-1, 1):
            ear = (cx + s * 0.97 * rx, cy + 0.08 * ry, 0.14 * rx, 0.2 * ry)
            p.put(o(*ear), skin * 0.9, p.dome(*ear), 0.2)
    face, nrm = _face_normals(p, (cx, cy, rx, ry))
    p.put(face, skin, nrm, 0.35)
    forehead = o(cx + rng.uniform(-0.3, 0.3) * rx, cy + 0.1 * ry, 0.95 * rx, 0.75 * ry, 2)
    cap = np.clip(o(cx, cy - 0.3 * ry, 1.07 * rx, 0.85 * ry, 2) - forehead, 0, 1)
    if style == 3:
        col = hsv(rng.uniform(), rng.uniform(0.0, 0.8), rng.uniform(0.15, 0.9))
        p.put(o(cx, cy - 0.55 * ry, 1.08 * rx, 0.65 * ry, 2) * (yy < cy - 0.42 * ry), col, hn, 0.05)
        brim = o(cx, cy - 0.44 * ry, 1.05 * rx, 0.22 * ry, 2) * (yy > cy - 0.48 * ry)
        p.put(brim, col * 0.8, p.dome(cx, cy - 0.7 * ry, 1.3 * rx, 0.8 * ry), 0.05)
    elif style == 4:
        p.put(o(cx, cy - 1.0 * ry, 0.42 * rx, 0.3 * ry, 2), hair, hn, 0.3)
        p.put(cap * (yy < cy - 0.5 * ry), hair, hn, 0.3)
    else:
        p.put(cap, hair, hn, 0.3)
    _features(rng, p, (cx, cy, rx, ry), skin, hair, flash)
    return p


def _features(rng: np.random.Generator, p: _Sitter, face, skin, hair, flash: bool) -> None:
    """Brows, eyes (perhaps red-eye), nostrils, lips, maybe glasses with flash glare or
    headphones."""
    cx, cy, rx, ry = face
    o, ey = p.o, cy + rng.uniform(0.0, 0.05) * ry
    iris = rng.uniform(15, 80, 3) * np.array([1.0, 0.9, 0.75])
    pupil = (200, 30, 25) if flash and rng.uniform() < 0.3 else (8, 6, 6)
    for s in (-1, 1):
        ex = cx + s * 0.36 * rx
        p.put(o(ex + s * 0.03 * rx, ey - 0.17 * ry, 0.19 * rx, 0.035 * ry, 2.0) * 0.75, hair * 0.8)
        p.put(o(ex, ey, 0.14 * rx, 0.05 * ry), skin[int(ey), int(ex)] * 0.35 + 120, None, 0.6)
        p.put(o(ex, ey, 0.065 * rx, 0.05 * ry), iris, None, 0.6)
        p.put(o(ex, ey, 0.03 * rx, 0.03 * rx), pupil, None, 0.6)
        p.put(o(ex, ey - 0.045 * ry, 0.15 * rx, 0.018 * ry), (25, 18, 16))  # lashes
        p.put(o(cx + s * 0.07 * rx, cy + 0.34 * ry, 0.035 * rx, 0.02 * ry), skin * 0.4)
    lips = skin * _LIPS[rng.integers(len(_LIPS))] * rng.uniform(0.85, 1.05)
    my = cy + rng.uniform(0.52, 0.6) * ry
    p.put(o(cx, my, 0.23 * rx, 0.06 * ry), lips, None, 0.5)
    p.put(o(cx, my - 0.01 * ry, 0.22 * rx, 0.01 * ry), lips * 0.45)
    if rng.uniform() < 0.3:  # glasses: thin dark rims; the flash bounces off the lenses
        frame = rng.uniform(10, 70, 3)
        for s in (-1, 1):
            lens = o(cx + s * 0.38 * rx, ey, 0.23 * rx, 0.14 * ry)
            rim = np.clip(o(cx + s * 0.38 * rx, ey, 0.26 * rx, 0.16 * ry) - lens, 0, 1)
            p.put(rim, frame, None, 0.5)
            p.put(lens * 0.25, (200, 220, 230), None, 3.0)
        p.put(o(cx, ey - 0.03 * ry, 0.14 * rx, 0.02 * ry), frame)
    if rng.uniform() < 0.25:  # headphones: a band over the head, cups over the ears
        col = hsv(rng.uniform(), rng.uniform(0.0, 0.6), rng.uniform(0.1, 0.9))
        band = o(cx, cy - 0.1 * ry, 1.3 * rx, 1.15 * ry)
        band -= o(cx, cy - 0.1 * ry, 1.18 * rx, 1.05 * ry)
        p.put(np.clip(band, 0, 1) * (p.yy < cy), col, None, 0.5)
        for s in (-1, 1):
            cup = (cx + s * 1.05 * rx, cy + 0.05 * ry, 0.22 * rx, 0.3 * ry)
            p.put(o(*cup), col, p.dome(*cup), 0.5)


def _light(rng: np.random.Generator, p: _Sitter, bg: np.ndarray, flash: bool, kind: int):
    """Flash from the lens (with a hard shadow on a near wall) or a screen from below."""
    nx, ny, nz = p.nrm
    if flash:
        light, col = (rng.uniform(-0.15, 0.15), -0.15, 1.0), np.array([1.0, 0.98, 0.95])
        power, amb = rng.uniform(1.15, 1.5) + p.near, rng.uniform(0.1, 0.25)
    else:
        light, col = (rng.uniform(-0.3, 0.3), 0.55, 0.8), np.array([0.78, 0.9, 1.15])
        power, amb = rng.uniform(0.7, 0.95), 0.08
    lx, ly, lz = np.array(light) / np.linalg.norm(light)
    diff = np.clip(nx * lx + ny * ly + nz * lz, 0, 1)
    half = np.array([lx, ly, lz + 1.0]) / np.linalg.norm([lx, ly, lz + 1.0])
    spec = np.clip(nx * half[0] + ny * half[1] + nz * half[2], 0, 1) ** 40 * p.gloss * 160 * power
    warm = hsv(rng.uniform(0.02, 0.12), 0.5, 1.0) / 255.0
    lit = p.alb * (amb * warm + (power * diff)[..., None] * col) + spec[..., None] * col
    if kind == 1:  # coloured fairy lights catch the edge of the face on one side
        rim = np.clip(rng.choice([-1.0, 1.0]) * nx, 0, 1) ** 2 * (1 - nz) * rng.uniform(80, 160)
        lit += rim[..., None] * hsv(rng.uniform(), 0.6, 1.0) / 255.0
    if kind == 0:  # the flash throws a hard shadow of the sitter on the wall
        n = bg.shape[0]
        dx, dy = int(rng.choice([-1, 1]) * rng.uniform(0.02, 0.06) * n), int(0.03 * n)
        shadow = blur(np.roll(p.cover, (dy, dx), (0, 1)), 0.6) * (1 - p.cover)
        bg = bg * (1 - 0.7 * shadow)[..., None]
    return bg * (1 - p.cover[..., None]) + lit * p.cover[..., None]


def _selfie_lens(rng: np.random.Generator, img: np.ndarray, size: int) -> np.ndarray:
    """The phone's wide lens: barrel distortion and a rolled frame, sampled to size x size."""
    n = img.shape[0]
    k, roll = rng.uniform(0.08, 0.2), np.radians(rng.uniform(-9, 9))
    v, u = (grid(size, size) + 0.5 - size / 2) / (size / 2)
    r2 = u**2 + v**2
    f = (1 + k * r2) / (1 + 2 * k) * (size / 2)
    sx = n / 2 + f * (u * np.cos(roll) - v * np.sin(roll)) - 0.5
    sy = n / 2 + f * (u * np.sin(roll) + v * np.cos(roll)) - 0.5
    x0 = np.clip(np.floor(sx).astype(int), 0, n - 2)
    y0 = np.clip(np.floor(sy).astype(int), 0, n - 2)
    fx, fy = np.clip(sx - x0, 0, 1)[..., None], np.clip(sy - y0, 0, 1)[..., None]
    top = img[y0, x0] * (1 - fx) + img[y0, x0 + 1] * fx
    bot = img[y0 + 1, x0] * (1 - fx) + img[y0 + 1, x0 + 1] * fx
    out = top * (1 - fy) + bot * fy
    return out * (1 - rng.uniform(0.15, 0.35) * r2 / 2)[..., None]  # lens shading


def _sensor(rng: np.random.Generator, img: np.ndarray, dim: bool) -> Image.Image:
    """Shot noise that grows in the shadows, a phone's smoothing, then heavy JPEG."""
    h, w = img.shape[:2]
    gain = rng.uniform(1.6, 2.6) if dim else rng.uniform(0.8, 1.4)
    sig = gain * (2.0 + 0.35 * np.sqrt(np.clip(img, 0, 255)))
    img = img + rng.normal(0, 1, (h, w, 1)) * sig + rng.normal(0, 1, (h, w, 3)) * sig * 0.6
    out = Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    out = out.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.7)))
    buf = io.BytesIO()
    out.save(buf, "JPEG", quality=int(rng.integers(22, 55)), subsampling=2)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def draw_photo_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """A night-time arm's-length phone selfie: flash or screen light, wide lens, heavy JPEG."""
    n = size + 2 * (size // 6)  # a margin for the lens to bend and roll into
    kind = int(rng.integers(3))  # near wall (flash), fairy lights (flash), dim bedroom (screen)
    flash = kind < 2
    bg = _night_room(rng, n, kind)
    p = _person(rng, n, size, flash)
    img = _light(rng, p, bg, flash, kind)
    return _sensor(rng, _selfie_lens(rng, img, size), not flash)
