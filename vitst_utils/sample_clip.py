"""A short synthetic talking-head clip for the video path: a drawn "photo" face (sample_data's
soft shaded ellipses) that moves, turns a little and blinks over a textured background, with
sensor noise and a 440 Hz tone as sound. Used by the tests, notebook 03 and the README.

    python -m vitst_utils.sample_clip --out sample_clip.mp4 [--width 128 --height 96 --seconds 2]
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from .sample_data import _PHOTO_HAIR, _SKIN, _soft_ellipse
from .videoio import H264, VideoError, _av, check_encoder, temp_path

TONE_HZ = 440.0
AUDIO_RATE = 16_000  # Hz: a tone needs little, and the file stays small
BLINK_AT = 0.6  # seconds into the clip, and every 1.5 s after
BLINK_SECONDS = 0.15


def _background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A textured wall: smooth colour blotches, fine grain and a few vertical stripes."""
    blot = cv2.resize(rng.uniform(60, 200, (4, 5, 3)).astype(np.float32), (width, height))
    grain = cv2.GaussianBlur(rng.normal(0, 18, (height, width)).astype(np.float32), (0, 0), 1.2)
    stripes = 12 * np.sin(np.arange(width, dtype=np.float32) * 2 * np.pi / max(8, width / 6))
    return blot + (grain + stripes[None, :])[..., None]


def _face_at(t: float, seconds: float, still: bool) -> tuple[float, float, float, float]:
    """(x offset, y offset, turn in [-1, 1], eye openness in [0, 1]) at time `t`."""
    if still:
        return 0.0, 0.0, 0.0, 1.0
    phase = 2 * math.pi * t / max(seconds, 1e-6)
    blink = abs((t - BLINK_AT + 0.75) % 1.5 - 0.75)  # seconds to the nearest blink
    eyes = 0.1 if blink < BLINK_SECONDS / 2 else 1.0
    return 0.12 * math.sin(phase), 0.04 * math.sin(2 * phase), 0.5 * math.sin(phase), eyes


def sample_frames(
    width: int = 128,
    height: int = 96,
    seconds: float = 2.0,
    fps: int = 24,
    seed: int = 0,
    still: bool = False,
    noise: float = 2.0,
) -> Iterator[np.ndarray]:
    """The clip's frames, (height, width, 3) uint8 RGB, one at a time. `still`: the first
    frame over and over (only the noise, `noise` grey levels, changes): a still subject."""
    rng = np.random.default_rng(seed)
    back = 0.6 * _background(width, height, rng) + 60  # muted, so the face stands out
    skin = _SKIN[rng.integers(len(_SKIN))].astype(np.float32)
    hair = _PHOTO_HAIR[rng.integers(len(_PHOTO_HAIR))].astype(np.float32)
    eye, lips = np.full(3, 25, np.float32), skin * np.array([0.85, 0.55, 0.55], np.float32)
    for i in range(round(seconds * fps)):
        dx, dy, turn, eyes = _face_at(i / fps, seconds, still)
        img = back.copy()
        cx, cy = width * (0.5 + dx), height * (0.52 + dy)
        ry = 0.3 * height  # a face box of ~0.55 x the height: OpenCV's Haar cascade finds it
        rx = ry / 1.3 * (1 - 0.08 * abs(turn))
        shift = 0.25 * rx * turn  # features slide towards the side the face turns to
        _soft_ellipse(img, cx, cy - 0.25 * ry, 1.25 * rx, 1.05 * ry, hair, 0.2)  # hair behind
        _soft_ellipse(img, cx, cy, rx, ry, skin, 0.35)  # face
        _soft_ellipse(img, cx + 0.3 * shift, cy - 0.85 * ry, 1.05 * rx, 0.35 * ry, hair, 0.2)
        for side in (-1, 1):
            ex = cx + shift + side * 0.38 * rx * (1 - 0.2 * side * turn)
            _soft_ellipse(img, ex, cy - 0.25 * ry, 0.2 * rx, 0.04 * ry + 0.5, hair * 0.5, 0.0)
            _soft_ellipse(img, ex, cy - 0.08 * ry, 0.16 * rx, 0.09 * ry * eyes + 0.3, eye, 0.0)
        _soft_ellipse(img, cx + shift, cy + 0.18 * ry, 0.07 * rx, 0.1 * ry, skin * 0.8, 0.0)
        _soft_ellipse(img, cx + shift, cy + 0.5 * ry, 0.25 * rx, 0.07 * ry, lips, 0.1)
        frame_rng = np.random.default_rng([seed, i])
        img += frame_rng.normal(0.0, noise, img.shape).astype(np.float32)
        img = cv2.GaussianBlur(np.clip(img, 0, 255), (0, 0), 0.6)
        yield np.rint(img).astype(np.uint8)


def tone(seconds: float, rate: int = AUDIO_RATE) -> np.ndarray:
    """A 440 Hz sine at -14 dBFS, faded in and out over 20 ms, (1, samples) float32."""
    t = np.arange(round(seconds * rate), dtype=np.float64) / rate
    fade = np.clip(np.minimum(t, seconds - t) / 0.02, 0, 1)
    return (0.2 * np.sin(2 * np.pi * TONE_HZ * t) * fade).astype(np.float32)[None]


def make_sample_clip(
    path: str | Path,
    width: int = 128,
    height: int = 96,
    seconds: float = 2.0,
    fps: int = 24,
    seed: int = 0,
    still: bool = False,
    audio: bool = True,
    noise: float = 2.0,
) -> Path:
    """Write the sample clip as H.264 MP4 (+ AAC tone) to `path` (atomically) and return it."""
    if width % 2 or height % 2 or min(width, height) < 32 or seconds <= 0 or fps < 1:
        raise VideoError(
            f"a sample clip needs even sides of at least 32 px, seconds > 0 and fps >= 1; got "
            f"{width} x {height}, {seconds} s, {fps} fps"
        )
    av = _av()
    check_encoder()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        with av.open(str(tmp), "w", format="mp4") as out:
            video = out.add_stream(H264, rate=fps)
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            sound = out.add_stream("aac", rate=AUDIO_RATE, layout="mono") if audio else None
            for i, rgb in enumerate(sample_frames(width, height, seconds, fps, seed, still, noise)):
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts, frame.time_base = i, Fraction(1, fps)
                out.mux(video.encode(frame))
            out.mux(video.encode())
            if sound is not None:
                samples = tone(seconds)
                for k in range(0, samples.shape[1], 1024):
                    chunk = av.AudioFrame.from_ndarray(samples[:, k : k + 1024], "flt", "mono")
                    chunk.sample_rate, chunk.pts = AUDIO_RATE, k
                    out.mux(sound.encode(chunk))
                out.mux(sound.encode())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vitst_utils.sample_clip", description=__doc__)
    p.add_argument("--out", default="sample_clip.mp4", help="the MP4 to write")
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--height", type=int, default=96)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--fps", type=int, default=24)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--still", action="store_true", help="a still subject: only the noise moves")
    p.add_argument("--no-audio", action="store_true")
    args = p.parse_args(argv)
    try:
        path = make_sample_clip(
            args.out,
            args.width,
            args.height,
            args.seconds,
            args.fps,
            args.seed,
            args.still,
            not args.no_audio,
        )
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{path}: {args.width} x {args.height}, {args.seconds:g} s at {args.fps} fps, SYNTHETIC")
    return 0


if __name__ == "__main__":
    sys.exit(main())
