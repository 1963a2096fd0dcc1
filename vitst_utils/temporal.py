"""Temporal consistency of stylised video: optical flow between frames, warping, the occlusion
check, the flicker metric (warping error), the smoothers behind `video --temporal` (content
statistics and tokens for `stats`, the flow blend for `flow`) and the face tracker.

Frames here are (H, W, 3) numpy arrays, RGB, uint8 or float32 in [0, 1]; flows are (H, W, 2)
float32 in pixels, OpenCV's convention: `flow(a, b)[y, x] = (dx, dy)` with a(x, y) matching
b(x + dx, y + dy). Nothing here reads or writes files (that is `video.py`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch

from .face import DETECT_SIDE, Detector, face_crop_box

# Forward-backward consistency (Sundaram et al. 2010, "Dense point trajectories by
# GPU-accelerated large displacement optical flow", eq. 5, as Ruder et al. 2016 use it for
# video style transfer): a pixel is occluded when |w + w_back|^2 > FB_A (|w|^2 + |w_back|^2) +
# FB_B; motion boundaries when |grad w_back|^2 > MB_A |w_back|^2 + MB_B.
FB_A, FB_B = 0.01, 0.5
MB_A, MB_B = 0.01, 0.002
FLOW_SIDE = 256  # px: optical flow runs at most at this short side

# `stats`: time constant of the moving average of the content statistics, in seconds.
STATS_SECONDS = 0.5
STATS_CUT = 0.25  # a scene cut: the content mean jumps by this many stds (see StatsSmoother)
# `stats`: the token gate (`TokenSmoother`): weight of the running value for an unchanged token,
# and the mean squared change (in channel stds) at which that weight has fallen to 1/e.
TOKEN_KEEP = 0.8
TOKEN_CHANGE = 0.1
# `flow`: how much of the warped previous output is kept where the flow is reliable, and the
# brightness difference (0-1 pixels) between a frame and its warped predecessor at which that
# weight has fallen to exp(-1/2): where the input itself changed, the new frame wins.
FLOW_KEEP = 0.7
FLOW_SIGMA = 0.06


def to_gray(frame: np.ndarray) -> np.ndarray:
    """uint8 RGB -> uint8 gray (what the flow runs on)."""
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def flow_estimator() -> cv2.DISOpticalFlow:
    """OpenCV's DIS optical flow (Kroeger et al. 2016), its 'medium' preset (about 4 x the
    'fast' preset's time, for flow good enough to blend along). One per thread: it keeps state."""
    return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """`image` sampled at x + flow(x) (bilinear, edges replicated): with the flow from frame t
    to frame t-1, frame t-1's content moved to where it is in frame t."""
    grid_x, grid_y = _grid(*flow.shape[:2])
    map_x, map_y = grid_x + flow[..., 0], grid_y + flow[..., 1]
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


@functools.lru_cache(maxsize=4)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return x, y


def reliable(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """(H, W) bool: where the backward flow (t -> t-1) can be trusted: it agrees with the forward
    flow (t-1 -> t) followed back, and is not on a motion boundary (Ruder et al. 2016)."""
    fwd = warp(forward, backward)
    sum_sq = ((backward + fwd) ** 2).sum(-1)
    occluded = sum_sq > FB_A * ((backward**2).sum(-1) + (fwd**2).sum(-1)) + FB_B
    gy_u, gx_u = np.gradient(backward[..., 0])
    gy_v, gx_v = np.gradient(backward[..., 1])
    grad_sq = gx_u**2 + gy_u**2 + gx_v**2 + gy_v**2
    boundary = grad_sq > MB_A * (backward**2).sum(-1) + MB_B
    return ~(occluded | boundary)


@dataclass
class Motion:
    """How frame t relates to frame t-1: the backward flow (t -> t-1) and where it is
    reliable, at the flow's working size (`motion`); `at` gives them at a frame's size."""

    backward: np.ndarray
    mask: np.ndarray
    _full: dict = field(default_factory=dict, repr=False)

    @property
    def size(self) -> tuple[int, int]:
        return self.mask.shape[1], self.mask.shape[0]

    def at(self, size: tuple[int, int]) -> Motion:
        """The flow (scaled) and mask resized to (width, height) `size`."""
        if size == self.size:
            return self
        if size not in self._full:
            scale = size[0] / self.size[0]
            flow = cv2.resize(self.backward, size, interpolation=cv2.INTER_LINEAR) * scale
            mask = cv2.resize(self.mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
            self._full[size] = Motion(flow, mask > 0)
        return self._full[size]


def working_size(width: int, height: int) -> tuple[int, int]:
    """The size optical flow and the flicker metric work at: the frame's, or its short side
    brought down to FLOW_SIDE (a quarter of the pixels at 512; neither needs finer)."""
    scale = min(1.0, FLOW_SIDE / min(width, height))
    return (round(width * scale), round(height * scale)) if scale < 1 else (width, height)


def shrink(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`frame` at (width, height) `size` (area averaging), unchanged when it has that size."""
    if (frame.shape[1], frame.shape[0]) == size:
        return frame
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def motion(prev_gray: np.ndarray, gray: np.ndarray, estimator: cv2.DISOpticalFlow) -> Motion:
    """Both flows between two gray frames at `working_size`, checked against each other."""
    size = working_size(gray.shape[1], gray.shape[0])
    prev_gray, gray = shrink(prev_gray, size), shrink(gray, size)
    backward = estimator.calc(gray, prev_gray, None)
    return Motion(backward, reliable(backward, estimator.calc(prev_gray, gray, None)))


def as_float(frame: np.ndarray) -> np.ndarray:
    """uint8 or float frames -> float32 in [0, 1]."""
    if frame.dtype == np.uint8:
        return frame.astype(np.float32) / 255.0
    return frame.astype(np.float32, copy=False)


def warping_error(frame: np.ndarray, prev: np.ndarray, move: Motion) -> float:
    """Lai et al. 2018 ("Learning blind video temporal consistency", eq. 9) for one pair: the
    mean over reliable pixels of ||frame(x) - prev(x + backward(x))||^2, RGB in [0, 1] (the
    squared norm sums the three channels), at the motion's working size. 0 when nothing
    changed along the flow."""
    if not move.mask.any():
        return 0.0
    frame, prev = shrink(frame, move.size), shrink(prev, move.size)
    diff = as_float(frame) - warp(as_float(prev), move.backward)
    return float((diff**2).sum(-1)[move.mask].mean())


def ssim_luma(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004: 11 x 11 Gaussian window, sigma 1.5, K = 0.01, 0.03, edges
    reflected) of the Rec. 601 luminance of two RGB frames, as torchmetrics computes it: the
    `structure` of `evaluate`, 1.0 when the layout is the same."""
    x, y = (to_gray_float(f) for f in (a, b))
    c1, c2 = 0.01**2, 0.03**2

    def blur(z: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT_101)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(s.mean())


def to_gray_float(frame: np.ndarray) -> np.ndarray:
    f = as_float(frame)
    return 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]


# --- the flicker metric --------------------------------------------------------------------------
@dataclass
class Flicker:
    """Warping errors (`warping_error`, means over consecutive pairs) of the input and of the
    output, `added` = output - input (the flicker stylising added; ~0 is ideal), and the mean
    `structure` (SSIM of luminance) of each output frame against its input frame."""

    input: float
    output: float
    structure: float
    pairs: int

    @property
    def added(self) -> float:
        return self.output - self.input

    def line(self) -> str:
        return (
            f"flicker (warping error, Lai et al. 2018; lower is steadier): output "
            f"{self.output:.5f}, input {self.input:.5f}, added by stylising {self.added:+.5f} "
            f"over {self.pairs} frame pairs; structure (SSIM of luminance vs input) "
            f"{self.structure:.3f}"
        )


@dataclass
class FlickerMeter:
    """Accumulates the flicker metric frame by frame (input and output of the same size), at
    the flow's `working_size` (the frame's own up to FLOW_SIDE px on the short side)."""

    input_sum: float = 0.0
    output_sum: float = 0.0
    structure_sum: float = 0.0
    pairs: int = 0
    frames: int = 0
    _prev: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def add(self, frame: np.ndarray, out: np.ndarray, move: Motion | None) -> None:
        """One frame: its input, its output and its motion from the previous frame (None for
        the first frame of a clip)."""
        size = working_size(frame.shape[1], frame.shape[0])
        frame, out = shrink(frame, size), shrink(out, size)
        if move is not None and self._prev is not None:
            self.input_sum += warping_error(frame, self._prev[0], move)
            self.output_sum += warping_error(out, self._prev[1], move)
            self.pairs += 1
        self.structure_sum += ssim_luma(out, frame)
        self.frames += 1
        self._prev = (frame, out)

    def result(self) -> Flicker:
        n = max(1, self.pairs)
        return Flicker(
            self.input_sum / n,
            self.output_sum / n,
            self.structure_sum / max(1, self.frames),
            self.pairs,
        )


# --- the smoothers -----------------------------------------------------------------------------
def decay_for(fps: float, seconds: float = STATS_SECONDS) -> float:
    """Per-frame decay of an exponential moving average with a time constant of `seconds`."""
    return math.exp(-1.0 / max(1e-6, seconds * fps))


class StatsSmoother:
    """The per-channel mean and std of the content features, the statistics AdaIN normalises
    with, as exponential moving averages over time (`decay` per frame), restarted at a scene
    cut: when the mean moves by more than `cut` of the std at once (averaged over channels;
    0.02-0.1 between frames of one shot, 0.5-1.4 across a cut, measured on the sample clip)."""

    def __init__(self, decay: float, cut: float = STATS_CUT):
        if not 0 <= decay < 1:
            raise ValueError(f"decay must be in [0, 1), got {decay}")
        self.decay, self.cut = decay, cut
        self.mean: torch.Tensor | None = None
        self.std: torch.Tensor | None = None

    def __call__(self, mean: torch.Tensor, std: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, 1, 1) statistics of consecutive frames -> their moving averages."""
        means, stds = [], []
        for m, s in zip(mean.split(1), std.split(1), strict=True):
            if self.mean is None or ((m - self.mean).abs() / self.std).mean() > self.cut:
                self.mean, self.std = m, s
            else:
                self.mean = self.decay * self.mean + (1 - self.decay) * m
                self.std = self.decay * self.std + (1 - self.decay) * s
            means.append(self.mean)
            stds.append(self.std)
        return torch.cat(means), torch.cat(stds)


class TokenSmoother:
    """Holds still tokens still: each token's normalised features (AdaIN's (f - mean) / std)
    are averaged over time where the token did not change, n_t <- n_t + g (m_t-1 - n_t), with
    g = keep * exp(-d / change) and d the token's mean squared change against the running
    value m_t-1, in units of the channel's std. Noise moves a token by d ~ 0.01-0.07 (gate
    open), real motion by d > 0.4 (gate shut: no smear); measured on the sample clip."""

    def __init__(self, keep: float = TOKEN_KEEP, change: float = TOKEN_CHANGE):
        if not 0 <= keep < 1:
            raise ValueError(f"keep must be in [0, 1), got {keep}")
        self.keep, self.change = keep, change
        self.state: torch.Tensor | None = None

    def __call__(self, normed: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) normalised features of consecutive frames -> smoothed, same shape."""
        out = []
        for n in normed.split(1):
            if self.state is not None and self.state.shape == n.shape:
                d = ((n - self.state) ** 2).mean(1, keepdim=True)
                n = n + self.keep * torch.exp(-d / self.change) * (self.state - n)
            self.state = n
            out.append(n)
        return torch.cat(out)


class FlowBlender:
    """`--temporal flow`: each output frame blended with the previous output warped along the
    input's optical flow, where the flow is reliable and the input did not change there (Ruder
    et al. 2016's temporal constraint, applied as a post-process as in the blind video temporal
    consistency line of work, Bonneel et al. 2015, Lai et al. 2018):
    out_t = s_t + w (warp(out_t-1) - s_t), w = keep * mask * exp(-d^2 / 2 sigma^2), d the
    input's own brightness change along the flow."""

    def __init__(self, keep: float = FLOW_KEEP, sigma: float = FLOW_SIGMA):
        if not 0 <= keep < 1:
            raise ValueError(f"keep must be in [0, 1), got {keep}")
        self.keep, self.sigma = keep, sigma
        self._prev: tuple[np.ndarray, np.ndarray] | None = None  # (input, output)

    def __call__(self, frame: np.ndarray, styled: np.ndarray, move: Motion | None) -> np.ndarray:
        """The blended output (float32 [0, 1]) for input `frame` (uint8) stylised as `styled`.
        The weights are worked out at the flow's size, the blend at the frame's."""
        out = as_float(styled)
        size = (frame.shape[1], frame.shape[0])
        gray = to_gray_float(shrink(frame, working_size(*size)))
        if move is not None and self._prev is not None:
            prev_gray, prev_out = self._prev
            change = gray - warp(prev_gray, move.backward)
            w = (self.keep * move.mask * np.exp(-(change**2) / (2 * self.sigma**2))).astype(
                np.float32
            )
            if w.shape != out.shape[:2]:
                w = cv2.resize(w, size, interpolation=cv2.INTER_LINEAR)
            out = out + w[..., None] * (warp(prev_out, move.at(size).backward) - out)
        self._prev = (gray, out)
        return out


# --- following a face ----------------------------------------------------------------------------
class FaceTracker:
    """The portrait crop of `inference --face-crop` (`face.face_crop_box`), found on the first
    frame and followed: the face is detected again every `every` frames, the detection nearest
    the current crop is taken (another face never steals it), and the crop's centre and side
    move towards it by `smooth` of the way (an exponential moving average), ignoring moves under
    `dead` x the side, so the detector's frame-to-frame jitter never reaches the picture.
    Called with each (H, W, 3) frame, it returns the crop (left, top, side) in pixels."""

    def __init__(
        self,
        detector: Detector,
        name: str = "the video",
        every: int = 2,
        smooth: float = 0.3,
        dead: float = 0.02,
    ):
        self.detector, self.name = detector, name
        self.every, self.smooth, self.dead = every, smooth, dead
        self.state: np.ndarray | None = None  # centre x, centre y, side (floats)
        self.count = 0

    def _detect(self, rgb: np.ndarray) -> list[np.ndarray]:
        """Every face's crop as (centre x, centre y, side); detection on a copy at most
        DETECT_SIDE pixels a side, as `face.find_face`."""
        h, w = rgb.shape[:2]
        scale = min(1.0, DETECT_SIDE / max(w, h))
        small = rgb
        if scale < 1:
            small = cv2.resize(
                rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
            )
        crops = []
        for box in self.detector(to_gray(small)):
            left, top, right, _ = face_crop_box(tuple(round(v / scale) for v in box), (w, h))
            side = right - left
            crops.append(np.array([left + side / 2, top + side / 2, side], np.float64))
        return crops

    def __call__(self, rgb: np.ndarray) -> tuple[int, int, int]:
        if self.state is None:
            found = self._detect(rgb)
            if not found:
                raise FaceNotFound(
                    f"no face found in the first frame of {self.name}: follow no face, or start "
                    "the clip where the face is seen from the front"
                )
            self.state = max(found, key=lambda b: b[2])  # the largest, as --face-crop
        elif self.count % self.every == 0:
            found = self._detect(rgb)
            if found:
                near = min(found, key=lambda b: np.abs(b[:2] - self.state[:2]).sum())
                step = near - self.state
                if np.abs(step).max() > self.dead * self.state[2]:
                    self.state = self.state + self.smooth * step
        self.count += 1
        h, w = rgb.shape[:2]
        side = int(min(round(self.state[2]), w, h))
        left = int(min(max(round(self.state[0] - side / 2), 0), w - side))
        top = int(min(max(round(self.state[1] - side / 2), 0), h - side))
        return left, top, side


class FaceNotFound(ValueError):
    """Face tracking found no face to follow in the first frame."""
