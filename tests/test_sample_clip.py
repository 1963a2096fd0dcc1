"""The synthetic clip: deterministic, a face that moves and blinks (or holds still), sound."""

import numpy as np
import pytest
from video_helpers import stream_info

from vitst_utils.sample_clip import main, make_sample_clip, sample_frames
from vitst_utils.videoio import VideoError


def test_frames_are_deterministic_and_move():
    a, b = list(sample_frames(seconds=1.0)), list(sample_frames(seconds=1.0))
    assert len(a) == 24 and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert a[0].shape == (96, 128, 3) and a[0].dtype == np.uint8
    assert np.abs(a[6].astype(int) - a[0].astype(int)).mean() > 5  # a quarter in: it moved


def test_still_frames_differ_only_by_the_noise():
    frames = list(sample_frames(seconds=0.5, still=True, noise=3.0))
    diff = np.abs(frames[5].astype(int) - frames[0].astype(int))
    assert 0 < diff.mean() < 4 and diff.max() < 25
    quiet = list(sample_frames(seconds=0.25, still=True, noise=0.0))
    assert all(np.array_equal(quiet[0], f) for f in quiet)


def test_the_eyes_close_during_the_blink():
    frames = list(sample_frames(seconds=1.0))
    eyes = np.s_[46:50, 40:90]  # the eye band of the 128 x 96 clip at t = 0
    open_, shut = frames[0][eyes].min(), frames[14][eyes].min()  # t = 0 s and ~0.6 s
    assert open_ < 40 and shut > 60  # dark pupils, then only skin and lid


def test_clip_file_with_a_tone(tmp_path, capsys):
    path = make_sample_clip(tmp_path / "c.mp4", 64, 48, seconds=0.5, fps=12)
    got = stream_info(path)
    assert (got["frames"], got["fps"], got["size"], got["audio"]) == (6, 12, (64, 48), "aac")
    assert got["audio_duration"] == pytest.approx(0.5, abs=0.08)
    silent = make_sample_clip(tmp_path / "s.mp4", seconds=0.25, audio=False)
    assert stream_info(silent)["audio"] is None
    with pytest.raises(VideoError, match="even sides of at least 32 px"):
        make_sample_clip(tmp_path / "bad.mp4", 63, 48)
    assert main(["--out", str(tmp_path / "cli.mp4"), "--seconds", "0.25"]) == 0
    assert "SYNTHETIC" in capsys.readouterr().out
    assert main(["--out", str(tmp_path / "x.mp4"), "--width", "7"]) == 2
