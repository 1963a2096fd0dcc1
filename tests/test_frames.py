"""Stylising the frames of a clip: sizes, `off` = the photo path, batching, order, and what the
temporal modes buy: less flicker on a still subject, no smear on a moving one. A smoke-size
model with random weights: it flickers as a trained one does (tested here), and fast."""

from pathlib import Path

import numpy as np
import pytest
import torch
from video_helpers import smoke_model

from vitst_utils import stylize as S
from vitst_utils.benchmark_stylize import anime_target
from vitst_utils.frames import Frame, Pipeline, frame_size, resize, stylize_frames
from vitst_utils.function import normalize, to_pixels
from vitst_utils.model import build_model
from vitst_utils.presets import get_preset
from vitst_utils.sample_clip import sample_frames
from vitst_utils.videoio import VideoError, VideoInfo

SIZE = (84, 64)  # the sample clip (128 x 96) at the smoke model's 64 px


@pytest.fixture(scope="module")
def model_and_target(sample_root):
    model, proto = smoke_model(sample_root)
    return model, S.target_from_prototype(proto)


@pytest.fixture(scope="module")
def still(model_and_target):
    """A still subject: the same frame with fresh sensor noise (3 grey levels) every frame."""
    return [resize(f, SIZE) for f in sample_frames(seconds=1.0, still=True, noise=3.0)]


@pytest.fixture(scope="module")
def moving():
    return [resize(f, SIZE) for f in sample_frames(seconds=1.0)]


def _info(w, h):
    return VideoInfo(Path("clip.mp4"), w, h, 0, 24, 1, 48, 2.0, "h264", None)


def test_frame_size_is_even_and_refuses_an_odd_original():
    assert frame_size(_info(128, 96), None, 64, False) == (84, 64)  # 85.3: down to even
    assert frame_size(_info(1080, 1920), 225, 64, False) == (224, 400)
    assert frame_size(_info(130, 96), "original", 64, False) == (130, 96)
    assert frame_size(_info(128, 96), None, 64, True) == (64, 64)  # the face crop: a square
    with pytest.raises(VideoError, match=r"clip.mp4 is 129 x 97: H.264 \(yuv420p\) needs even"):
        frame_size(_info(129, 97), "original", 64, False)
    with pytest.raises(ValueError, match="16 px or more"):
        frame_size(_info(128, 96), 8, 64, False)


def test_off_equals_the_photo_path_frame_by_frame(model_and_target, moving):
    model, target = model_and_target
    pipe = Pipeline(model, target, "off", flicker=False)
    mine = pipe.stylize(moving[:3])
    photos = normalize(torch.from_numpy(np.stack(moving[:3])).permute(0, 3, 1, 2).float() / 255)
    theirs = to_pixels(S.stylize_batch(model, photos, target)).clamp(0, 1)
    assert np.abs(mine - theirs.permute(0, 2, 3, 1).numpy()).max() < 1e-5


def test_an_attention_model_attends_to_the_style_images_in_every_frame(sample_root, moving):
    torch.manual_seed(0)
    model = build_model(get_preset("smoke", fusion="attention"), use_weights=False).eval()
    torch.nn.init.normal_(model.attention.query.weight)
    style = sorted((sample_root / "AnimeFace" / "test").iterdir())[0]
    target = S.style_target(model, [style])
    mine = Pipeline(model, target, "off", flicker=False).stylize(moving[:2])
    photos = normalize(torch.from_numpy(np.stack(moving[:2])).permute(0, 3, 1, 2).float() / 255)
    theirs = to_pixels(S.stylize_batch(model, photos, target)).clamp(0, 1)
    assert np.abs(mine - theirs.permute(0, 2, 3, 1).numpy()).max() < 1e-5
    smoothed = Pipeline(model, target, "stats", flicker=False).stylize(moving[:2])
    assert smoothed.shape == mine.shape and np.isfinite(smoothed).all()


def test_a_cel_model_paints_every_frame_with_the_palette_and_flow_steadies_it(moving, still):
    """A cel model (the anime recipe's output stage) on frames: `off` is the photo path, and
    the palette snap turns sensor noise into flicker at fill borders that the default `flow`
    mode takes out (an untrained cel model: the filter over each frame)."""
    torch.manual_seed(0)
    model = build_model(get_preset("demo"), use_weights=False).eval()
    target = anime_target(model, n=2)
    mine = Pipeline(model, target, "off", flicker=False).stylize(moving[:2])
    photos = normalize(torch.from_numpy(np.stack(moving[:2])).permute(0, 3, 1, 2).float() / 255)
    theirs = to_pixels(S.stylize_batch(model, photos, target)).clamp(0, 1)
    assert np.abs(mine - theirs.permute(0, 2, 3, 1).numpy()).max() < 1e-5
    err = {m: stylize_frames(model, still, target, m)[1] for m in ("off", "flow")}
    assert err["off"].added > 0.02 and err["flow"].output < 0.1 * err["off"].output


@pytest.mark.parametrize("temporal", ["off", "stats"])
def test_batches_do_not_change_the_result(model_and_target, moving, temporal):
    model, target = model_and_target
    one, _ = stylize_frames(model, moving[:6], target, temporal, batch_size=1, flicker=False)
    four, _ = stylize_frames(model, moving[:6], target, temporal, batch_size=4, flicker=False)
    assert all(
        np.abs(a.astype(int) - b.astype(int)).max() <= 1 for a, b in zip(one, four, strict=True)
    )


def test_run_keeps_other_items_in_order(model_and_target, moving):
    model, target = model_and_target
    items = [Frame(0, moving[0]), "audio 1", Frame(1, moving[1]), "audio 2", Frame(2, moving[2])]
    out = list(Pipeline(model, target, "off", batch_size=2, flicker=False).run(items))
    assert [x if isinstance(x, str) else x.index for x in out] == [0, "audio 1", 1, "audio 2", 2]
    assert all(x.out.shape == moving[0].shape for x in out if isinstance(x, Frame))


def test_stats_and_flow_steady_a_still_subject(model_and_target, still):
    model, target = model_and_target
    err = {m: stylize_frames(model, still, target, m)[1] for m in ("off", "stats", "flow")}
    assert err["off"].added > 0  # stylising independent frames adds flicker ...
    assert err["stats"].output < 0.5 * err["off"].output  # ... that both modes take out
    assert err["flow"].output < 0.5 * err["off"].output
    assert err["off"].input == err["flow"].input  # the same input, measured the same way


def test_flow_steadies_motion_without_smearing(model_and_target, moving):
    model, target = model_and_target
    err = {m: stylize_frames(model, moving, target, m)[1] for m in ("off", "stats", "flow")}
    assert err["flow"].output < 0.5 * err["off"].output
    for m in ("stats", "flow"):  # structure: SSIM of each output frame against its input
        assert err[m].structure > err["off"].structure - 0.03, m


def test_alpha_zero_and_colour_options(model_and_target, moving):
    model, target = model_and_target
    x = moving[:2]
    plain, _ = stylize_frames(model, x, target, "off", alpha=0.0, flicker=False)
    half, _ = stylize_frames(model, x, target, "off", alpha=0.5, flicker=False)
    full, _ = stylize_frames(model, x, target, "off", alpha=1.0, flicker=False)
    assert not np.array_equal(plain[0], full[0]) and not np.array_equal(half[0], full[0])
    lum, _ = stylize_frames(model, x, target, "off", preserve_color="luminance", flicker=False)
    assert lum[0].shape == x[0].shape
    with pytest.raises(ValueError, match="coral"):
        stylize_frames(model, x, target, "off", preserve_color="coral")
    with pytest.raises(ValueError, match=r"temporal takes off\|stats\|flow"):
        Pipeline(model, target, "smooth")
