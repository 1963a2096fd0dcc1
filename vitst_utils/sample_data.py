"""A tiny synthetic stand-in for the AvatarAnime dataset, and a folder of messy files.

`make_sample_dataset` draws "photo-like" faces (gradients, soft shading, noise, JPEG) for CelebA
and flat-colour "anime" faces (bright fills, black outlines, big eyes, PNG) for AnimeFace, so the
whole pipeline runs in seconds without the real data. Fourteen families: thirteen tuning families,
`builtin` (drawn here; the demo trains on it), `transfer` (`transfer_faces`), `heldout`
(`heldout_faces`), `heldout2` (`heldout2_faces`, `heldout2_photos`), `heldout3` (`heldout3_faces`,
`heldout3_photos`), `heldout4` (`heldout4_faces`, `heldout4_photos`: night-time flash and
screen-lit phone selfies, and scanned traditional-media fan art), `heldout5` (`heldout5_faces`:
webcam video-call frames, and retro pixel-art portraits), `heldout6` (`heldout6_faces`: scanned
1970s-80s album prints, and lineless thick-paint digital portraits), `heldout7` (`heldout7_faces`:
retouched studio beauty headshots, and 3D cel-shaded anime renders) and `heldout8`
(`heldout8_faces`: wet-plate collodion portraits, and anime as Japanese woodblock prints),
`heldout9` (`heldout9_faces`: autochrome colour plates of 1907-1930, and anime drawn in chalk on a
blackboard), `heldout10` (`heldout10_faces`: halftone-printed press portraits of the 1950s-90s, and
anime as stained-glass windows) and `heldout11` (`heldout11_faces`: frames of worn 1980s-90s VHS
home video, and anime as layered papercut shadow boxes), which recipes have been tuned, probed and
judged on, and the report family of the thirteenth look, `heldout12` (`heldout12_faces`,
`heldout12_photos`: underwater portraits in pools and the sea, and anime sprayed as graffiti murals
on brick walls and shutters), unlike all the others, judged once and never used to choose anything.
`add_messy_files` writes every kind of junk a real image folder holds, for tests of the loader.

    python -m vitst_utils.sample_data --out data/heldout12 --family heldout12
"""

from __future__ import annotations

import argparse
import colorsys
import io
import json
import shutil
import sys
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from . import (
    heldout2_faces,
    heldout2_photos,
    heldout3_faces,
    heldout3_photos,
    heldout4_faces,
    heldout4_photos,
    heldout5_faces,
    heldout6_faces,
    heldout7_faces,
    heldout8_faces,
    heldout9_faces,
    heldout10_faces,
    heldout11_faces,
    heldout12_faces,
    heldout12_photos,
    heldout_faces,
    transfer_faces,
)
from .config import CONTENT_DOMAIN, STYLE_DOMAIN

DOMAINS = (CONTENT_DOMAIN, STYLE_DOMAIN)

SYNTHETIC_MARKER = "SYNTHETIC.txt"
DEFAULT_COUNTS: Mapping[str, int] = {"train": 8, "val": 4, "test": 4}
_MARKER_TEXT = (
    "SYNTHETIC DATA: every image under this folder was drawn by "
    "vitst_utils.sample_data.make_sample_dataset (simple shapes, not real photos or anime art). "
    "Use it only to smoke-test the pipeline; results on it say nothing about style quality.\n"
)
_SKIN = np.array([(241, 194, 167), (224, 172, 138), (198, 134, 98), (141, 85, 54), (255, 219, 190)])
_PHOTO_HAIR = np.array([(30, 22, 18), (72, 45, 28), (120, 80, 45), (200, 160, 100), (90, 90, 90)])

Rgb = tuple[int, int, int]


def is_synthetic(root: str | Path) -> bool:
    """True when `root` was written by `make_sample_dataset` (its marker file is there)."""
    return (Path(root) / SYNTHETIC_MARKER).is_file()


# --- drawing -----------------------------------------------------------------------------------
def _hsv(h: float, s: float, v: float) -> Rgb:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, s, v)
    return round(r * 255), round(g * 255), round(b * 255)


def _soft_ellipse(
    img: np.ndarray, cx: float, cy: float, rx: float, ry: float, color: np.ndarray, shade: float
) -> None:
    """Blend a filled ellipse into `img` in place: anti-aliased edge, light from the top-left."""
    h, w, _ = img.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = (xx - cx) / rx, (yy - cy) / ry
    alpha = np.clip((1.0 - np.sqrt(dx**2 + dy**2)) * min(rx, ry) / 1.5, 0.0, 1.0)[..., None]
    light = 1.0 - shade * ((dx + 0.35) ** 2 + (dy + 0.35) ** 2) / 2.0
    shaded = np.asarray(color, np.float32) * np.clip(light, 0.3, 1.1)[..., None]
    img[:] = img * (1.0 - alpha) + shaded * alpha


def draw_photo_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """A soft, noisy, shaded face on a gradient: a crude stand-in for a CelebA photo."""
    w, h = size, round(size * rng.choice([1.0, 7 / 6, 1.25]))
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    top, bottom = rng.uniform(60, 210, 3), rng.uniform(20, 160, 3)
    img = np.broadcast_to(top * (1 - t) + bottom * t, (h, w, 3)).astype(np.float32)
    cx, cy = w * rng.uniform(0.42, 0.58), h * rng.uniform(0.5, 0.6)
    rx = w * rng.uniform(0.22, 0.3)
    ry = rx * rng.uniform(1.2, 1.4)
    hair = _PHOTO_HAIR[rng.integers(len(_PHOTO_HAIR))] * rng.uniform(0.8, 1.2)
    skin = _SKIN[rng.integers(len(_SKIN))] + rng.normal(0, 8, 3)
    _soft_ellipse(img, cx, cy - 0.25 * ry, 1.25 * rx, 1.05 * ry, hair, 0.2)  # hair behind
    _soft_ellipse(img, cx, cy, rx, ry, skin, 0.35)  # face
    _soft_ellipse(img, cx, cy - 0.85 * ry, 1.05 * rx, 0.35 * ry, hair, 0.2)  # fringe
    eye = rng.uniform(20, 70, 3)
    for side in (-1, 1):
        _soft_ellipse(img, cx + side * 0.38 * rx, cy - 0.08 * ry, 0.12 * rx, 0.07 * ry, eye, 0.0)
    lips = skin * np.array([0.85, 0.55, 0.55])
    _soft_ellipse(img, cx, cy + 0.5 * ry, 0.25 * rx, 0.07 * ry, lips, 0.1)
    img += rng.normal(0.0, 4.0, img.shape)
    out = Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    return out.filter(ImageFilter.GaussianBlur(0.6))


def draw_anime_face(rng: np.random.Generator, size: int = 96) -> Image.Image:
    """A flat-colour face with thick outlines, spiky hair and big shiny eyes (AnimeFace-like)."""
    w, h = size + 8 * int(rng.integers(0, 3)), size
    im = Image.new("RGB", (w, h), _hsv(rng.uniform(), rng.uniform(0.3, 0.7), rng.uniform(0.85, 1)))
    d = ImageDraw.Draw(im)
    lw = max(2, size // 40)
    black = (0, 0, 0)
    cx, cy = w * rng.uniform(0.45, 0.55), h * rng.uniform(0.52, 0.6)
    rx = w * rng.uniform(0.26, 0.31)
    ry = rx * rng.uniform(1.05, 1.2)
    hair = _hsv(rng.uniform(), rng.uniform(0.7, 1.0), rng.uniform(0.75, 1.0))
    skin = _hsv(rng.uniform(0.05, 0.09), rng.uniform(0.1, 0.25), 1.0)
    iris = _hsv(rng.uniform(), rng.uniform(0.6, 1.0), rng.uniform(0.6, 0.95))

    # Spiky hair behind the head: a star around an ellipse above the face.
    n = int(rng.integers(7, 12))
    angles = np.linspace(0, 2 * np.pi, 2 * n, endpoint=False) + rng.uniform(0, np.pi / n)
    radii = np.where(np.arange(2 * n) % 2 == 0, 1.45, 1.05) * rng.uniform(0.92, 1.08, 2 * n)
    hy = cy - 0.2 * ry
    back = [
        (cx + r * rx * np.cos(a), hy + r * ry * np.sin(a))
        for a, r in zip(angles, radii, strict=True)
    ]
    d.polygon(back, fill=hair, outline=black, width=lw)

    # Face: round top, pointed chin.
    top = [
        (cx + rx * np.cos(a), cy + 0.8 * ry * np.sin(a)) for a in np.linspace(np.pi, 2 * np.pi, 13)
    ]
    chin = [(cx + 0.8 * rx, cy + 0.5 * ry), (cx, cy + ry), (cx - 0.8 * rx, cy + 0.5 * ry)]
    d.polygon(top + chin, fill=skin, outline=black, width=lw)

    # Fringe: a jagged edge of hair across the forehead.
    k = int(rng.integers(4, 7))
    xs = np.linspace(cx + 1.1 * rx, cx - 1.1 * rx, 2 * k + 1)
    ys = [cy - (0.2 if i % 2 == 0 else 0.55) * ry for i in range(2 * k + 1)]
    arc = [
        (cx + 1.15 * rx * np.cos(a), hy + 0.9 * ry * np.sin(a))
        for a in np.linspace(np.pi, 2 * np.pi, 9)
    ]
    d.polygon(arc + list(zip(xs, ys, strict=True)), fill=hair, outline=black, width=lw)

    # Big eyes: iris, pupil, white highlight, heavy upper lash line.
    ew, eh = 0.3 * rx, 0.42 * ry
    for side in (-1, 1):
        ex, ey = cx + side * 0.45 * rx, cy + 0.12 * ry
        d.ellipse([ex - ew / 2, ey - eh / 2, ex + ew / 2, ey + eh / 2], iris, black, lw)
        d.ellipse([ex - ew / 4, ey - eh / 6, ex + ew / 4, ey + eh / 3], black)
        hr = max(1.5, ew * 0.17)
        d.ellipse([ex - ew / 4 - hr, ey - eh / 4 - hr, ex - ew / 4 + hr, ey - eh / 4 + hr], "white")
        d.line([(ex - ew / 1.6, ey - eh / 2.2), (ex + ew / 1.6, ey - eh / 2)], black, lw + 1)
    d.line([(cx - 0.08 * rx, cy + 0.62 * ry), (cx + 0.08 * rx, cy + 0.62 * ry)], black, lw)
    return im


# --- the dataset -------------------------------------------------------------------------------
Drawer = Callable[[np.random.Generator, int], Image.Image]

# family -> (photo drawer, anime drawer): `builtin` ... `heldout11` are the tuning families
# (`builtin` is trained on; the other twelve judge what carries over to another family;
# `heldout2` ... `heldout11` were the report families of the sixth round to the twelfth look,
# which had two, `heldout10` and `heldout11`); `heldout12` is the thirteenth look's report family:
# judged once, never used for tuning or choosing
FAMILIES: dict[str, tuple[Drawer, Drawer]] = {
    "builtin": (draw_photo_face, draw_anime_face),
    "transfer": (transfer_faces.draw_photo_face, transfer_faces.draw_anime_face),
    "heldout": (heldout_faces.draw_photo_face, heldout_faces.draw_anime_face),
    "heldout2": (heldout2_photos.draw_photo_face, heldout2_faces.draw_anime_face),
    "heldout3": (heldout3_photos.draw_photo_face, heldout3_faces.draw_anime_face),
    "heldout4": (heldout4_photos.draw_photo_face, heldout4_faces.draw_anime_face),
    "heldout5": (heldout5_faces.draw_photo_face, heldout5_faces.draw_anime_face),
    "heldout6": (heldout6_faces.draw_photo_face, heldout6_faces.draw_anime_face),
    "heldout7": (heldout7_faces.draw_photo_face, heldout7_faces.draw_anime_face),
    "heldout8": (heldout8_faces.draw_photo_face, heldout8_faces.draw_anime_face),
    "heldout9": (heldout9_faces.draw_photo_face, heldout9_faces.draw_anime_face),
    "heldout10": (heldout10_faces.draw_photo_face, heldout10_faces.draw_anime_face),
    "heldout11": (heldout11_faces.draw_photo_face, heldout11_faces.draw_anime_face),
    "heldout12": (heldout12_photos.draw_photo_face, heldout12_faces.draw_anime_face),
}


def _params_line(counts: Mapping[str, int], size: int, seed: int, family: str) -> str:
    params = {"counts": dict(counts), "size": size, "seed": seed}
    if family != "builtin":  # the built-in family keeps its old marker line
        params["family"] = family
    return "params: " + json.dumps(params, sort_keys=True)


def _counts_on_disk(root: Path) -> dict[tuple[str, str], int]:
    """{(domain, split): number of files} of an existing synthetic set."""
    return {
        (domain, split.name): sum(1 for p in split.iterdir() if p.is_file())
        for domain in DOMAINS
        if (root / domain).is_dir()
        for split in (root / domain).iterdir()
        if split.is_dir()
    }


def make_sample_dataset(
    root: str | Path,
    counts: Mapping[str, int] | None = None,
    size: int = 96,
    seed: int = 0,
    family: str = "builtin",
) -> Path:
    """Write a small synthetic AvatarAnime-layout dataset under `root` and return `root`.

    `counts` is images per split and domain (default train 8, val 4, test 4); `family` one of
    `FAMILIES`. Deterministic for a seed; a second call with the same arguments returns at once
    without rewriting anything.
    """
    root = Path(root)
    counts = dict(DEFAULT_COUNTS if counts is None else counts)
    if any(int(n) < 0 for n in counts.values()) or size < 16:
        raise ValueError(f"counts must be >= 0 and size >= 16, got counts={counts}, size={size}")
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}: use {' or '.join(FAMILIES)}")
    marker = root / SYNTHETIC_MARKER
    params = _params_line(counts, size, seed, family)
    expected = {(domain, split): int(n) for domain in DOMAINS for split, n in counts.items()}
    if marker.is_file():
        if params in marker.read_text().splitlines() and _counts_on_disk(root) == expected:
            return root
        for domain in DOMAINS:  # ours (the marker says so): start afresh
            shutil.rmtree(root / domain, ignore_errors=True)
    elif any((root / domain).exists() for domain in DOMAINS):
        raise FileExistsError(
            f"{root} already holds {' or '.join(DOMAINS)} folders but no {SYNTHETIC_MARKER}: "
            "it looks like real data. Refusing to mix synthetic images in; pick an empty folder."
        )
    root.mkdir(parents=True, exist_ok=True)
    marker.write_text(_MARKER_TEXT + "params: incomplete (being written)\n")

    draw_photo, draw_anime = FAMILIES[family]
    kinds: list[tuple[str, Drawer, str, dict]] = [
        (CONTENT_DOMAIN, draw_photo, ".jpg", {"quality": 90 if family == "builtin" else 80}),
        (STYLE_DOMAIN, draw_anime, ".png", {}),
    ]
    for d_index, (domain, draw, ext, save_kwargs) in enumerate(kinds):
        for split, n in counts.items():
            folder = root / domain / split
            folder.mkdir(parents=True, exist_ok=True)
            split_key = zlib.crc32(split.encode())  # stable across runs, unlike hash()
            for i in range(int(n)):
                rng = np.random.default_rng([seed, d_index, split_key, i])
                draw(rng, size).save(
                    folder / f"{domain.lower()}_{split}_{i:05d}{ext}", **save_kwargs
                )
    marker.write_text(_MARKER_TEXT + params + "\n")
    return root


# --- messy files -------------------------------------------------------------------------------
def _jpeg_bytes(im: Image.Image, **kwargs) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kwargs)
    return buf.getvalue()


def add_messy_files(folder: str | Path) -> dict[str, str]:
    """Write every messy real-world case into flat `folder`; return {name: "kept" | "skipped"}.

    The names are what `scan_folder` should keep (odd but usable images) or skip (junk).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1234)
    face = draw_photo_face(rng, 64)
    noise = Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8))
    out: dict[str, str] = {}

    def put(name: str, expected: str, data: bytes | Image.Image, **save_kwargs) -> None:
        if isinstance(data, bytes):
            (folder / name).write_bytes(data)
        else:
            data.save(folder / name, **save_kwargs)
        out[name] = expected

    # Junk that must be skipped.
    put("corrupt_bytes.jpg", "skipped", b"this is not a JPEG at all\n" * 40)
    noisy_jpeg = _jpeg_bytes(noise, quality=95)
    put("truncated.jpg", "skipped", noisy_jpeg[: len(noisy_jpeg) // 2])
    put("empty.png", "skipped", b"")
    put("notes.txt", "skipped", b"not an image\n")
    put("labels.csv", "skipped", b"file,label\na.jpg,1\n")
    put(".DS_Store", "skipped", b"\x00\x00\x00\x01Bud1" + bytes(64))
    put("._photo.jpg", "skipped", b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X" + bytes(64))
    (folder / "nested").mkdir(exist_ok=True)
    face.save(folder / "nested" / "inner.jpg")
    out["nested"] = "skipped"
    put("tiny_1x1.png", "skipped", Image.new("RGB", (1, 1), (10, 200, 10)))
    put("extreme_aspect_400x4.png", "skipped", Image.new("RGB", (400, 4), (200, 10, 10)))

    # Odd but usable images that must be kept.
    put("gray_L.jpg", "kept", face.convert("L"))
    put("bilevel_1.png", "kept", face.convert("1"))
    put("gray_alpha_LA.png", "kept", face.convert("LA"))
    rgba = Image.new("RGBA", (64, 64), (0, 0, 255, 255))
    rgba.paste((255, 0, 0, 0), (0, 0, 32, 64))  # left half: red, fully transparent
    put("rgba_transparent.png", "kept", rgba)
    put("palette_P.png", "kept", face.convert("P", palette=Image.Palette.ADAPTIVE, colors=32))
    pal = Image.new("P", (64, 64), 1)
    pal.putpalette([255, 0, 0, 0, 200, 0] + [0] * (256 * 3 - 6))
    pal.paste(0, (0, 0, 32, 64))  # index 0 (red) on the left half is transparent
    put("palette_P_transparent.png", "kept", pal, transparency=0)
    put("cmyk.jpg", "kept", Image.new("CMYK", (64, 64), (0, 255, 255, 0)))  # red
    ramp = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    put("gray16_I16.png", "kept", Image.fromarray(ramp))  # mode I;16
    put("int32_I.tif", "kept", Image.fromarray(ramp.astype(np.int32)))  # mode I
    put("float_F.tif", "kept", Image.fromarray(ramp.astype(np.float32) / 65535.0))  # mode F
    put("tiny_3x3.png", "kept", Image.new("RGB", (3, 3), (10, 10, 200)))
    grad = Image.linear_gradient("L").resize((4000, 3000), Image.Resampling.BILINEAR)
    large = Image.merge("RGB", (grad, grad.transpose(Image.Transpose.FLIP_LEFT_RIGHT), grad))
    put("large_4000x3000.jpg", "kept", large, quality=60)
    rotated = Image.new("RGB", (60, 40), (0, 0, 255))
    rotated.paste((255, 0, 0), (0, 0, 30, 20))  # red top-left; shows top-right once upright
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    put("exif_rotated.jpg", "kept", rotated, exif=exif)
    put("upper_case.JPG", "kept", face, format="JPEG")
    put("upper_case_png.PNG", "kept", face, format="PNG")
    put("photo.webp", "kept", face, format="WEBP")
    put(
        "animated.gif",
        "kept",
        face,
        format="GIF",
        save_all=True,
        append_images=[face.transpose(Image.Transpose.FLIP_LEFT_RIGHT)],
    )
    return out


# --- CLI ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m vitst_utils.sample_data",
        description="Write a synthetic AvatarAnime-layout dataset (marked SYNTHETIC).",
    )
    p.add_argument("--out", required=True, type=Path, help="the dataset root to write")
    p.add_argument("--family", default="builtin", choices=sorted(FAMILIES))
    p.add_argument("--train", type=int, default=64, help="images per domain (default 64)")
    p.add_argument("--val", type=int, default=16)
    p.add_argument("--test", type=int, default=16)
    p.add_argument("--size", type=int, default=96, help="short side in px (default 96)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    counts = {"train": args.train, "val": args.val, "test": args.test}
    try:
        root = make_sample_dataset(args.out, counts, args.size, args.seed, args.family)
    except (ValueError, FileExistsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{root}: synthetic '{args.family}' family, {counts} images per domain")
    return 0


if __name__ == "__main__":
    sys.exit(main())
