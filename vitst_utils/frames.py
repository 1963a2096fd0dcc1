"""Stylising the frames of one clip in order: sizes, the per-frame preparation (resize, face
crop, optical flow), and the model over batches with the temporal smoothers and the flicker
meter. Works on numpy frames in memory; files are `video.py`'s.

The model path is `stylize.transfer` (encode, AdaIN towards the target, decode), through its
hook between encode and AdaIN: the content statistics and the normalised tokens are smoothed
over time there (`temporal.StatsSmoother`, `temporal.TokenSmoother`). With `temporal="off"`
the result equals `stylize.stylize_batch` frame by frame (tested).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch

from .function import calc_mean_std, fp16_on_cuda, luminance_transfer, normalize, to_pixels
from .model import ViTStyleTransfer
from .stylize import Size, StyleTarget, coral_target, output_size, resolve_color_method, transfer
from .temporal import (
    FaceTracker,
    Flicker,
    FlickerMeter,
    FlowBlender,
    Motion,
    StatsSmoother,
    TokenSmoother,
    decay_for,
    flow_estimator,
    motion,
    to_gray,
)
from .videoio import VideoError, VideoInfo

TEMPORAL_MODES = ("off", "stats", "flow")
DEFAULT_TEMPORAL = "flow"
MIN_SIDE = 16  # px: below it the optical flow has nothing to work on


@dataclass
class Frame:
    """A frame on its way: input at the output size (uint8 RGB), its motion from the previous
    frame (None for the first, or when nothing needs it), timestamps, and the output."""

    index: int
    rgb: np.ndarray
    move: Motion | None = None
    pts: int = 0
    duration: int = 1
    time_base: Any = None
    out: np.ndarray | None = None


def even(x: float) -> int:
    """`x` rounded down to an even number of pixels (yuv420p halves the chroma), at least 2."""
    return max(2, int(x) - int(x) % 2)


def frame_size(info: VideoInfo, size: Size, image_size: int, face_track: bool) -> tuple[int, int]:
    """(width, height) of the output, both even (yuv420p): the short side scaled to `size`
    (default: the training size), or the source's own size for "original" (refused when odd);
    with `face_track`, a square of side `size`."""
    if face_track:
        side = image_size if size is None else size
        if side == "original":
            side = min(info.width, info.height)
        if side < MIN_SIDE:
            raise ValueError(f"a {side} px face crop is too small: {MIN_SIDE} px or more")
        return even(side), even(side)
    if size == "original":
        if info.width % 2 or info.height % 2:
            raise VideoError(
                f"{info.path} is {info.width} x {info.height}: H.264 (yuv420p) needs even sides, "
                "so its original size cannot be kept; give a size in pixels (rounded to even)"
            )
        return info.width, info.height
    w, h = output_size(info.width, info.height, image_size if size is None else size)
    if min(w, h) < MIN_SIDE:
        raise ValueError(f"size {size}: the output would be {w} x {h}; {MIN_SIDE} px or more")
    return even(w), even(h)


def resize(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) uint8 to (width, height) `size`: area averaging down, bilinear up."""
    if (rgb.shape[1], rgb.shape[0]) == size:
        return rgb
    down = size[0] < rgb.shape[1]
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if down else cv2.INTER_LINEAR)


class Prepare:
    """Source frames -> `Frame`s at the output size (face-cropped with a tracker), with the
    optical flow from the previous frame when `motion` is needed. Runs in the reader thread."""

    def __init__(self, size: tuple[int, int], tracker: FaceTracker | None, need_motion: bool):
        self.size, self.tracker = size, tracker
        self.estimator = flow_estimator() if need_motion else None
        self.prev_gray: np.ndarray | None = None
        self.index = 0

    def __call__(self, rgb: np.ndarray, **timing: Any) -> Frame:
        if self.tracker is not None:
            left, top, side = self.tracker(rgb)
            rgb = rgb[top : top + side, left : left + side]
        rgb = np.ascontiguousarray(resize(rgb, self.size))
        move = None
        if self.estimator is not None:
            gray = to_gray(rgb)
            if self.prev_gray is not None:
                move = motion(self.prev_gray, gray, self.estimator)
            self.prev_gray = gray
        frame = Frame(self.index, rgb, move, **timing)
        self.index += 1
        return frame


# --- the model over frames ----------------------------------------------------------------------
class Pipeline:
    """One clip's stylisation state: the model, the style target (fixed per clip), the
    temporal smoothers and the flicker meter. `run` takes `Frame`s (and passes anything else,
    such as audio packets, through in order) and yields them with `out` filled."""

    def __init__(
        self,
        model: ViTStyleTransfer,
        target: StyleTarget,
        temporal: str = DEFAULT_TEMPORAL,
        fps: float = 24.0,
        alpha: float = 1.0,
        preserve_color: bool | str | None = None,
        batch_size: int = 8,
        flicker: bool = True,
    ):
        if temporal not in TEMPORAL_MODES:
            raise ValueError(f"temporal takes {'|'.join(TEMPORAL_MODES)}, got {temporal!r}")
        if not 0 <= alpha <= 1:
            raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model, self.target, self.alpha = model.eval(), target, alpha
        self.color = resolve_color_method(preserve_color, target)
        self.device = next(model.parameters()).device
        self.batch_size, self.temporal = batch_size, temporal
        self.stats = StatsSmoother(decay_for(fps)) if temporal != "off" else None
        self.tokens = TokenSmoother() if temporal != "off" else None
        self.blender = FlowBlender() if temporal == "flow" else None
        self.meter = FlickerMeter() if flicker else None
        self.frames = 0

    @property
    def needs_motion(self) -> bool:
        return self.blender is not None or self.meter is not None

    @property
    def flicker(self) -> Flicker | None:
        return self.meter.result() if self.meter is not None and self.meter.frames else None

    @torch.no_grad()
    def stylize(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """Consecutive same-size uint8 frames -> (B, H, W, 3) float32 pixels in [0, 1]:
        `stylize.transfer` with the content statistics (and tokens) smoothed over time under
        `stats`/`flow`. `off` equals `stylize.stylize_batch` frame by frame."""
        pixels = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 255.0
        if self.color == "coral" and self.target.images is not None:  # once per clip
            self.target = coral_target(self.model, self.target, pixels[0])
        x = normalize(pixels.to(self.device))
        mean, std = (t.to(self.device) for t in (self.target.mean, self.target.std))
        smooth = self._normalise if self.stats is not None else None
        with fp16_on_cuda(self.device):
            t = self.target
            out = transfer(
                self.model, x, mean, std, self.alpha, normalise=smooth, maps=t.maps, cel=t.cel
            )
        styled = to_pixels(out.float()).clamp(0, 1)
        if self.color == "luminance":
            styled = luminance_transfer(styled, to_pixels(x).clamp(0, 1))
        return styled.permute(0, 2, 3, 1).cpu().numpy()

    def _normalise(self, feat: torch.Tensor) -> torch.Tensor:
        """The content features normalised with statistics smoothed over time, then each token
        held where it did not change (`transfer`'s hook between encode and AdaIN)."""
        mean, std = self.stats(*calc_mean_std(feat))
        return self.tokens((feat - mean) / std)

    def run(self, items: Iterable[Any]) -> Iterator[Any]:
        pending: list[Any] = []
        frames: list[Frame] = []
        for item in items:
            pending.append(item)
            if isinstance(item, Frame):
                frames.append(item)
                if len(frames) >= self.batch_size:
                    yield from self._flush(pending, frames)
                    pending, frames = [], []
        yield from self._flush(pending, frames)

    def _flush(self, pending: list[Any], frames: list[Frame]) -> Iterator[Any]:
        styled = iter(self.stylize([f.rgb for f in frames]) if frames else [])
        for item in pending:
            if isinstance(item, Frame):
                out = next(styled)
                if self.blender is not None:
                    out = self.blender(item.rgb, out, item.move)
                item.out = np.rint(out * 255).clip(0, 255).astype(np.uint8)
                if self.meter is not None:
                    self.meter.add(item.rgb, item.out, item.move)
                self.frames += 1
            yield item


def stylize_frames(
    model: ViTStyleTransfer,
    frames: Iterable[np.ndarray],
    target: StyleTarget,
    temporal: str = DEFAULT_TEMPORAL,
    **options: Any,
) -> tuple[list[np.ndarray], Flicker | None]:
    """In-memory frames (same-size (H, W, 3) uint8 RGB, even sides not needed) -> their
    stylised frames and the flicker: for notebooks and tests. `options`: `Pipeline`'s (fps,
    alpha, preserve_color, batch_size, flicker). Files: `stylize_video`."""
    pipe = Pipeline(model, target, temporal, **options)
    prepare: Prepare | None = None
    items = []
    for rgb in frames:
        if prepare is None:
            prepare = Prepare((rgb.shape[1], rgb.shape[0]), None, pipe.needs_motion)
        items.append(prepare(rgb))
    outs = [f.out for f in pipe.run(items)]
    return outs, pipe.flicker
