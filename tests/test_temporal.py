"""The temporal math: flow, warping, the occlusion check, the flicker metric, the smoothers and
the face tracker. Synthetic frames with known motion, so every number has an expected value."""

import math

import cv2
import numpy as np
import pytest
import torch

from vitst_utils import temporal as T


def _texture(h=64, w=80, seed=0):
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.uniform(0, 255, (h, w, 3)).astype(np.float32), (0, 0), 2.0)
    img = (img - img.min()) / (img.max() - img.min()) * 255
    return np.rint(img).astype(np.uint8)


def _shifted(img, dx):
    """`img` moved right by dx pixels (edges replicated)."""
    m = np.float32([[1, 0, dx], [0, 1, 0]])
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REPLICATE)


def test_warp_with_the_backward_flow_moves_the_previous_frame_into_place():
    prev = _texture()
    cur = _shifted(prev, 3)
    back = np.zeros(prev.shape[:2] + (2,), np.float32)
    back[..., 0] = -3  # each pixel of cur was 3 px to the left in prev
    moved = T.warp(prev, back)
    inner = np.s_[:, 6:-6]
    assert np.abs(moved[inner].astype(int) - cur[inner].astype(int)).max() <= 1


def test_motion_finds_a_translation_and_trusts_it():
    prev = _texture()
    cur = _shifted(prev, 2)
    move = T.motion(T.to_gray(prev), T.to_gray(cur), T.flow_estimator())
    inner = np.s_[8:-8, 8:-8]
    assert np.median(move.backward[inner][..., 0]) == pytest.approx(-2, abs=0.25)
    assert np.median(move.backward[inner][..., 1]) == pytest.approx(0, abs=0.25)
    assert move.mask[inner].mean() > 0.9


def test_reliable_refuses_flows_that_disagree():
    h, w = 32, 32
    back = np.zeros((h, w, 2), np.float32)
    back[..., 0] = -4
    assert T.reliable(back, -back).all()  # forward undoes backward: consistent
    assert not T.reliable(back, back).any()  # forward repeats it: an occlusion everywhere


def test_warping_error_is_zero_for_a_still_clip_and_the_squared_norm_otherwise():
    frame = _texture()
    still = T.Motion(np.zeros(frame.shape[:2] + (2,), np.float32), np.ones(frame.shape[:2], bool))
    assert T.warping_error(frame, frame, still) == 0.0
    brighter = np.clip(frame.astype(np.float32) / 255 + 0.1, 0, 1)
    darker = np.clip(brighter - 0.1, 0, 1)
    ok = (brighter < 1).all(-1) & (darker > 0).all(-1)
    move = T.Motion(still.backward, ok)
    assert T.warping_error(brighter, darker, move) == pytest.approx(3 * 0.1**2, rel=1e-4)


def test_ssim_luma_matches_torchmetrics():
    from torchmetrics.functional.image import structural_similarity_index_measure as ssim

    a, b = _texture(seed=1), _texture(seed=2)
    mine = T.ssim_luma(a, b)
    to_t = lambda x: torch.from_numpy(T.to_gray_float(x)).double()[None, None]  # noqa: E731
    theirs = float(ssim(to_t(a), to_t(b), data_range=1.0))
    assert mine == pytest.approx(theirs, abs=1e-4)
    assert T.ssim_luma(a, a) == pytest.approx(1.0)


def test_flicker_meter_reports_input_output_and_added():
    frames = [_texture(seed=0)] * 3
    noisy = [np.clip(f.astype(int) + k * 20, 0, 255).astype(np.uint8) for k, f in enumerate(frames)]
    zero = T.Motion(np.zeros((64, 80, 2), np.float32), np.ones((64, 80), bool))
    meter = T.FlickerMeter()
    for i, (f, o) in enumerate(zip(frames, noisy, strict=True)):
        meter.add(f, o, zero if i else None)
    r = meter.result()
    assert r.pairs == 2 and r.input == 0.0 and r.output > 0 and r.added == r.output
    assert "added by stylising" in r.line()


def test_stats_smoother_is_an_exponential_moving_average():
    assert T.decay_for(24, 0.5) == pytest.approx(math.exp(-1 / 12))
    smooth = T.StatsSmoother(0.5)
    mean = torch.tensor([0.0, 0.1, 0.1, 0.1]).view(4, 1, 1, 1)
    m, s = smooth(mean, 1 + mean)
    assert m.flatten().tolist() == pytest.approx([0.0, 0.05, 0.075, 0.0875])
    assert s.flatten().tolist() == pytest.approx([1.0, 1.05, 1.075, 1.0875])
    with pytest.raises(ValueError, match="decay"):
        T.StatsSmoother(1.0)


def test_stats_smoother_restarts_at_a_scene_cut():
    smooth = T.StatsSmoother(0.9)
    mean = torch.tensor([0.0, 0.01, 0.02, 2.0, 2.01]).view(5, 1, 1, 1)
    m, _ = smooth(mean, torch.ones(5, 1, 1, 1))
    assert m[1] == pytest.approx(0.001) and m[2] < 0.01  # within a shot: averaged
    assert m[3] == 2.0 and m[4] == pytest.approx(2.001)  # the cut: restarted there


def test_token_smoother_holds_still_tokens_and_lets_changes_through():
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(1, 8, 4, 4, generator=gen)
    noisy = base + 0.05 * torch.randn(20, 8, 4, 4, generator=gen)
    out = T.TokenSmoother()(noisy)
    assert (out[10:] - base).std() < 0.6 * (noisy[10:] - base).std()
    jump = torch.cat([base, base + 3.0])  # a real change: d = 9, gate shut
    out = T.TokenSmoother()(jump)
    assert torch.allclose(out[1], base + 3.0, atol=1e-3)


def test_flow_blender_keeps_the_warped_past_only_where_the_input_stayed():
    frame = _texture()
    zero = T.Motion(np.zeros((64, 80, 2), np.float32), np.ones((64, 80), bool))
    blend = T.FlowBlender(keep=0.5)
    first = blend(frame, np.zeros((64, 80, 3), np.float32), None)
    assert (first == 0).all()
    second = blend(frame, np.ones((64, 80, 3), np.float32), zero)
    assert np.allclose(second, 0.5)  # same input, reliable flow: half of the past kept
    changed = 255 - frame
    third = blend(changed, np.ones((64, 80, 3), np.float32), zero)
    big = np.abs(T.to_gray_float(changed) - T.to_gray_float(frame)) > 0.3
    assert np.allclose(third[big], 1.0, atol=1e-3)  # the input changed there: the new frame


def _fake_detector(boxes):
    it = iter(boxes)
    return lambda gray: next(it)


def test_face_tracker_smooths_jitter_and_follows_motion():
    rng = np.random.default_rng(0)
    n = 60
    xs = 200 + np.r_[np.zeros(30), np.linspace(0, 60, 30)]  # still, then moving right
    boxes = [[(int(x + rng.integers(-3, 4)), 150 + int(rng.integers(-3, 4)), 80, 80)] for x in xs]
    tracker = T.FaceTracker(_fake_detector(boxes * 2), every=1)
    frame = np.zeros((480, 640, 3), np.uint8)
    crops = np.array([tracker(frame) for _ in range(n)])
    raw = np.array([b[0][0] for b in boxes])
    still = crops[5:30, 0]
    assert still.std() < 0.5 * raw[5:30].std()  # the detector's jitter is not passed on
    assert crops[-1, 0] > crops[30, 0] + 40  # but the move is followed
    assert (crops[:, 2] == crops[0, 2]).all()  # a face that keeps its size keeps the crop side


def test_face_tracker_needs_a_face_on_the_first_frame_and_ignores_other_faces():
    with pytest.raises(T.FaceNotFound, match="first frame of clip.mp4"):
        T.FaceTracker(lambda g: [], "clip.mp4")(np.zeros((240, 320, 3), np.uint8))
    two = [[(100, 80, 60, 60)], [(100, 80, 60, 60), (230, 90, 70, 70)]] * 10
    tracker = T.FaceTracker(_fake_detector(two), every=1)
    frame = np.zeros((240, 320, 3), np.uint8)
    first = tracker(frame)
    assert all(abs(tracker(frame)[0] - first[0]) <= 2 for _ in range(19))
