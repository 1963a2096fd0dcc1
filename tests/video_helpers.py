"""Shared by the video tests: writing clips of any codec/container, and a tiny checkpoint."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from vitst_utils import checkpoint as C
from vitst_utils.model import build_model
from vitst_utils.presets import get_preset
from vitst_utils.prototype import build_prototype


def write_clip(
    path: Path,
    frames: Iterable[np.ndarray],
    fps: int = 24,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    fmt: str | None = None,
    rotation: int = 0,
    audio: str | None = None,
    audio_seconds: float = 1.0,
) -> Path:
    """`frames` (uint8 RGB) into `path`; `audio`: a codec for one second of a 440 Hz tone."""
    frames = list(frames)
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w", format=fmt) as out:
        video = out.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = w, h, pix_fmt
        if rotation:
            video.set_display_rotation(rotation)
        sound = out.add_stream(audio, rate=16000, layout="mono") if audio else None
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode())
        if sound is not None:
            n = int(16000 * audio_seconds)
            tone = (0.2 * np.sin(np.arange(n) * 2 * np.pi * 440 / 16000)).astype(np.float32)
            fmt_name = "s16" if audio.startswith("pcm_s16") else "fltp"
            if fmt_name == "s16":
                tone = (tone * 32767).astype(np.int16)
            for k in range(0, n, 1024):
                chunk = av.AudioFrame.from_ndarray(tone[None, k : k + 1024], fmt_name, "mono")
                chunk.sample_rate, chunk.pts = 16000, k
                out.mux(sound.encode(chunk))
            out.mux(sound.encode())
    return path


def smoke_model(sample_root: Path):
    """A smoke-size model (random weights, seed 0) and the prototype of the sample anime."""
    cfg = get_preset("smoke", data_root=str(sample_root))
    torch.manual_seed(0)
    model = build_model(cfg, use_weights=False).eval()
    proto = build_prototype(model, sample_root / "AnimeFace" / "test")
    return model, proto


def save_smoke_checkpoint(path: Path, model, proto) -> Path:
    cfg = get_preset("smoke")  # the architecture of `smoke_model`
    own = {k: proto[k] for k in ("mean", "std", "count")}
    return C.save_checkpoint(path, model, cfg, epoch=1, prototype=own)


def stream_info(path: Path) -> dict:
    """Frames, fps, size of the video stream and codec/duration of the audio stream."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        frames = sum(1 for _ in c.decode(v))
        a = c.streams.audio[0] if c.streams.audio else None
        return {
            "frames": frames,
            "fps": v.average_rate,
            "size": (v.codec_context.width, v.codec_context.height),
            "pix_fmt": v.codec_context.pix_fmt,
            "codec": v.codec_context.name,
            "duration": float(v.duration * v.time_base) if v.duration else None,
            "audio": a.codec_context.codec.canonical_name if a is not None else None,
            "audio_duration": float(a.duration * a.time_base) if a is not None else None,
        }
