"""Video files end to end: the round trip on the sample clip (frames, fps, size, sound), face
tracking, cuts, interruption, bad input, and the CLI. A smoke-size model with random weights,
saved as a checkpoint the way training saves one."""

import threading

import numpy as np
import pytest
from video_helpers import save_smoke_checkpoint, smoke_model, stream_info, write_clip

from vitst_utils import stylize as S
from vitst_utils import video as VID
from vitst_utils.sample_clip import make_sample_clip
from vitst_utils.videoio import VideoError, temp_path


@pytest.fixture(scope="module")
def model_and_target(sample_root):
    model, proto = smoke_model(sample_root)
    return model, S.target_from_prototype(proto), proto


@pytest.fixture(scope="module")
def ckpt(model_and_target, tmp_path_factory):
    model, _, proto = model_and_target
    return save_smoke_checkpoint(tmp_path_factory.mktemp("ck") / "smoke.pt", model, proto)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_sample_clip(tmp_path_factory.mktemp("clip") / "sample_clip.mp4")


def test_round_trip_keeps_frames_rate_duration_and_sound(model_and_target, clip, tmp_path):
    model, target, _ = model_and_target
    report = VID.stylize_video(model, clip, tmp_path / "out.mp4", target, progress=False)
    src, got = stream_info(clip), stream_info(report.path)
    assert report.temporal == VID.DEFAULT_TEMPORAL and report.frames == 48
    assert (got["frames"], got["fps"], got["size"]) == (48, 24, (84, 64))  # short side 64
    assert (got["codec"], got["pix_fmt"]) == ("h264", "yuv420p")
    assert got["duration"] == pytest.approx(src["duration"], abs=1 / 24)
    assert got["audio"] == "aac" and got["audio_duration"] == src["audio_duration"]  # copied
    assert report.flicker is not None and report.flicker.pairs == 47
    text = "\n".join(report.lines())
    assert "frames/s" in text and "added by stylising" in text and "aac copied" in text
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]  # no temp file left


def test_mp3_in_mkv_is_copied_and_pcm_reencoded(model_and_target, tmp_path):
    model, target, _ = model_and_target
    frames = [np.full((48, 64, 3), 10 * i, np.uint8) for i in range(24)]
    for audio, expect in (("libmp3lame", "mp3 copied"), ("pcm_s16le", "re-encoded to AAC")):
        src = write_clip(tmp_path / f"{audio}.mkv", frames, audio=audio, fmt="matroska")
        report = VID.stylize_video(
            model, src, tmp_path / f"{audio}.mp4", target, "off", flicker=False, progress=False
        )
        got = stream_info(report.path)
        assert expect in report.audio and got["audio"] == ("mp3" if audio != "pcm_s16le" else "aac")
        assert got["audio_duration"] == pytest.approx(1.0, abs=0.1)


def test_face_track_writes_the_followed_face_crop(model_and_target, clip, tmp_path):
    model, target, _ = model_and_target
    report = VID.stylize_video(
        model, clip, tmp_path / "face.mp4", target, face_track=True, flicker=False, progress=False
    )
    got = stream_info(report.path)
    assert (got["frames"], got["size"]) == (48, (64, 64)) and report.flicker is None


def test_no_face_on_the_first_frame_is_one_error_and_no_file(model_and_target, tmp_path):
    model, target, _ = model_and_target
    blank = write_clip(tmp_path / "wall.mp4", [np.full((96, 128, 3), 120, np.uint8)] * 6)
    with pytest.raises(ValueError, match="no face found in the first frame of"):
        VID.stylize_video(model, blank, tmp_path / "o.mp4", target, face_track=True, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wall.mp4"]


def test_start_and_duration_cut_video_and_sound(model_and_target, clip, tmp_path):
    model, target, _ = model_and_target
    report = VID.stylize_video(
        model, clip, tmp_path / "cut.mp4", target, "off", start=0.5, duration=1.0, progress=False
    )
    got = stream_info(report.path)
    assert got["frames"] == 24 and got["duration"] == pytest.approx(1.0, abs=1 / 24)
    assert got["audio_duration"] == pytest.approx(1.0, abs=0.1)


def test_interrupted_run_leaves_the_old_file_and_no_temp(model_and_target, clip, tmp_path):
    model, target, _ = model_and_target
    out = tmp_path / "out.mp4"
    out.write_bytes(b"an older result")
    calls = {"n": 0}
    decode = model.decode_raw

    def interrupt(x):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return decode(x)

    threads = threading.active_count()
    model.decode_raw = interrupt
    try:
        with pytest.raises(KeyboardInterrupt):
            VID.stylize_video(model, clip, out, target, batch_size=4, progress=False)
    finally:
        del model.decode_raw
    assert calls["n"] == 3 and out.read_bytes() == b"an older result"
    assert not temp_path(out).exists() and sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]
    assert threading.active_count() == threads  # reader and writer threads are gone


def test_damaged_stream_midway_writes_nothing(model_and_target, tmp_path):
    model, target, _ = model_and_target
    rng = np.random.default_rng(0)
    noise = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(30)]
    path = write_clip(tmp_path / "damaged.mkv", noise, codec="mjpeg", pix_fmt="yuvj420p")
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + len(data) // 6] = bytes(len(data) // 6)
    path.write_bytes(bytes(data))
    with pytest.raises(VideoError, match="unreadable after frame"):
        VID.stylize_video(model, path, tmp_path / "out.mp4", target, "off", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.mkv"]


# --- the CLI ------------------------------------------------------------------------------------
def test_cli_end_to_end(ckpt, clip, tmp_path, capsys):
    out = tmp_path / "anime.mp4"
    code = VID.main(["--checkpoint", str(ckpt), "--input", str(clip), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and "frames/s" in printed and "flicker (warping error" in printed
    assert stream_info(out)["frames"] == 48 and stream_info(out)["audio"] == "aac"


def test_cli_default_out_and_stats(ckpt, clip, tmp_path, capsys):
    local = tmp_path / clip.name
    local.write_bytes(clip.read_bytes())
    args = ["--checkpoint", str(ckpt), "--input", str(local), "--temporal", "stats"]
    assert VID.main([*args, "--no-flicker", "--size", "32"]) == 0
    out = tmp_path / "sample_clip_x_anime.mp4"
    assert stream_info(out)["size"] == (42, 32)  # 42.7: rounded down to even
    assert "flicker" not in capsys.readouterr().out


def _odd_clip(path):
    frames = [np.full((97, 129, 3), 10 * i, np.uint8) for i in range(6)]
    return write_clip(path, frames, codec="ffv1", pix_fmt="yuv444p", fmt="matroska")


@pytest.mark.parametrize(
    "case, message",
    [
        ("not_a_video", "is not a video FFmpeg can read"),
        ("out_is_input", "is the input"),
        ("start_past_end", "--start 5 s: "),
        ("odd_original", "--size original: "),
        ("no_encoder", "has no no_such_h264 encoder"),
        ("not_mp4", "give it a .mp4 name"),
        ("alpha", "--alpha must be between 0 and 1"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(
    ckpt, clip, tmp_path, capsys, monkeypatch, case, message
):
    source, out = clip, tmp_path / "out.mp4"
    extra = []
    if case == "not_a_video":
        source = tmp_path / "clip.mp4"
        source.write_text("hello\n" * 100)
    elif case == "out_is_input":
        source = tmp_path / "mine.mp4"
        source.write_bytes(clip.read_bytes())
        out = source
    elif case == "start_past_end":
        extra = ["--start", "5"]
    elif case == "odd_original":
        source = _odd_clip(tmp_path / "odd.mkv")
        extra = ["--size", "original"]
    elif case == "no_encoder":
        real = VID.check_encoder
        monkeypatch.setattr(VID, "check_encoder", lambda: real("no_such_h264"))
    elif case == "not_mp4":
        out = tmp_path / "out.mkv"
    elif case == "alpha":
        extra = ["--alpha", "2"]
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    args = ["--checkpoint", str(ckpt), "--input", str(source), "--out", str(out), *extra]
    assert VID.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0], err
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before  # nothing written


def test_odd_sizes_are_fine_when_scaled(ckpt, tmp_path):
    source = _odd_clip(tmp_path / "odd.mkv")
    out = tmp_path / "odd.mp4"
    assert VID.main(["--checkpoint", str(ckpt), "--input", str(source), "--out", str(out)]) == 0
    assert stream_info(out)["size"] == (84, 64) and stream_info(out)["audio"] is None


def test_cli_benchmark_prints_the_table_and_the_speed_line(ckpt, clip, capsys):
    args = ["--checkpoint", str(ckpt), "--input", str(clip), "--benchmark", "32"]
    assert VID.main([*args, "--duration", "0.25"]) == 0
    printed = capsys.readouterr().out
    for mode in VID.TEMPORAL_MODES:
        assert f"| `{mode}` |" in printed
    assert "video 32px short side" in printed and "frames/s off" in printed
