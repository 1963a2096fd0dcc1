"""Reading and writing video with PyAV: probe, frames upright, timestamps and cuts, audio
passed through, the writer's temp file, and one clear error for each kind of bad file."""

import av
import numpy as np
import pytest
from video_helpers import stream_info, write_clip

from vitst_utils import videoio as V
from vitst_utils.sample_clip import make_sample_clip, sample_frames


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_sample_clip(tmp_path_factory.mktemp("clip") / "sample.mp4")


def _frames(n=12, w=64, h=48):
    return [np.full((h, w, 3), 10 * i, np.uint8) for i in range(n)]


def test_probe_describes_the_sample_clip(clip):
    info = V.probe(clip)
    assert (info.width, info.height, info.fps, info.frames) == (128, 96, 24, 48)
    assert info.duration == pytest.approx(2.0) and info.codec == "h264"
    assert info.audio == "aac" and info.audio_copied and info.rotation == 0
    assert "128 x 96" in info.summary()


def test_read_streams_frames_and_audio_in_file_order(clip):
    items = list(V.read(clip))
    frames = [x for x in items if isinstance(x, V.Decoded)]
    packets = [x for x in items if not isinstance(x, V.Decoded)]
    assert [f.index for f in frames] == list(range(48))
    assert all(b.pts > a.pts for a, b in zip(frames, frames[1:], strict=False))
    assert frames[0].rgb.shape == (96, 128, 3) and frames[0].rgb.dtype == np.uint8
    assert packets and all(isinstance(p, av.Packet) and p.stream is None for p in packets)
    first = next(iter(sample_frames()))
    assert np.abs(frames[0].rgb.astype(int) - first.astype(int)).mean() < 4  # H.264 loss only


def test_read_cuts_start_and_duration(clip):
    items = list(V.read(clip, start=0.5, duration=1.0))
    frames = [x for x in items if isinstance(x, V.Decoded)]
    assert len(frames) == 24
    assert float(frames[0].pts * frames[0].time_base) == pytest.approx(0.0, abs=1 / 24)
    audio_t = [float(p.pts * p.time_base) for p in items if not isinstance(p, V.Decoded)]
    assert min(audio_t) >= -0.05 and max(audio_t) < 1.0


def test_rotation_metadata_is_applied(tmp_path):
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:24, :32] = 255  # white top-left quarter
    path = write_clip(tmp_path / "rotated.mp4", [frame] * 4, rotation=90)
    info = V.probe(path)
    assert (info.width, info.height, info.rotation) == (48, 64, 90)
    upright = next(x for x in V.read(path) if isinstance(x, V.Decoded)).rgb
    assert upright.shape == (64, 48, 3)
    # 90 degrees counter-clockwise: the top-left quarter goes to the bottom-left
    assert upright[48:, :24].mean() > 200 and upright[:16, :].mean() < 60


def test_writer_commits_h264_with_copied_audio_and_leaves_no_temp(clip, tmp_path):
    out = tmp_path / "copy.mp4"
    info = V.probe(clip)
    writer = V.Writer(out, 64, 48, info.fps, info.time_base, clip)
    for item in V.read(clip):
        if isinstance(item, V.Decoded):
            writer.frame(item.rgb[:48, :64], item.pts, item.duration, item.time_base)
        else:
            writer.add_audio(item)
    assert V.temp_path(out).exists() and not out.exists()
    writer.commit()
    got, src = stream_info(out), stream_info(clip)
    assert (got["frames"], got["fps"], got["size"]) == (48, 24, (64, 48))
    assert (got["codec"], got["pix_fmt"], got["audio"]) == ("h264", "yuv420p", "aac")
    assert got["audio_duration"] == pytest.approx(src["audio_duration"], abs=1e-3)
    assert got["duration"] == pytest.approx(src["duration"], abs=1 / 24)
    assert not V.temp_path(out).exists()


def test_writer_reencodes_audio_mp4_cannot_hold(tmp_path):
    src = write_clip(
        tmp_path / "pcm.mkv", _frames(24), codec="ffv1", pix_fmt="yuv444p", audio="pcm_s16le"
    )
    info = V.probe(src)
    assert info.audio == "pcm_s16le" and not info.audio_copied
    out = tmp_path / "pcm.mp4"
    writer = V.Writer(out, 64, 48, info.fps, info.time_base, src)
    for item in V.read(src):
        if isinstance(item, V.Decoded):
            writer.frame(item.rgb, item.pts, item.duration, item.time_base)
        else:
            writer.add_audio(item)
    writer.commit()
    got = stream_info(out)
    assert got["audio"] == "aac" and got["audio_duration"] == pytest.approx(1.0, abs=0.1)


def test_writer_abort_and_odd_sizes(tmp_path):
    out = tmp_path / "never.mp4"
    writer = V.Writer(out, 64, 48, 24, V.Fraction(1, 24))
    writer.frame(_frames(1)[0], 0, 1, V.Fraction(1, 24))
    writer.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(V.VideoError, match="even sides, got 65 x 48"):
        V.Writer(out, 65, 48, 24, V.Fraction(1, 24))
    with pytest.raises(V.VideoError, match="no no_such_codec encoder"):
        V.check_encoder("no_such_codec")


def test_bad_files_get_one_clear_error(tmp_path, clip):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n" * 50)
    with pytest.raises(V.VideoError, match="notes.mp4 is not a video FFmpeg can read"):
        V.probe(text)
    with pytest.raises(FileNotFoundError, match="missing.mp4 does not exist"):
        V.probe(tmp_path / "missing.mp4")
    from PIL import Image

    Image.new("RGB", (32, 32)).save(tmp_path / "photo.png")
    with pytest.raises(V.VideoError, match="photo.png is an image, not a video"):
        V.probe(tmp_path / "photo.png")
    song = tmp_path / "song.m4a"
    with av.open(str(song), "w") as out:
        sound = out.add_stream("aac", rate=16000, layout="mono")
        chunk = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), "fltp", "mono")
        chunk.sample_rate, chunk.pts = 16000, 0
        out.mux(sound.encode(chunk))
        out.mux(sound.encode())
    with pytest.raises(V.VideoError, match="song.m4a holds no video stream"):
        V.probe(song)
    unknown = tmp_path / "unknown_codec.mp4"
    unknown.write_bytes(clip.read_bytes().replace(b"avc1", b"zzz1"))
    with pytest.raises(V.VideoError, match="no decoder for its video codec"):
        V.probe(unknown)


def test_a_raw_stream_without_timestamps_gets_them(tmp_path):
    path = write_clip(tmp_path / "raw.h264", _frames(6), fmt="h264")
    frames = [x for x in V.read(path) if isinstance(x, V.Decoded)]
    assert len(frames) == 6 and all(b.pts > a.pts for a, b in zip(frames, frames[1:], strict=False))


def test_a_stream_damaged_midway_names_the_frame(tmp_path):
    rng = np.random.default_rng(0)
    noise = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(30)]
    path = write_clip(tmp_path / "damaged.mkv", noise, codec="mjpeg", pix_fmt="yuvj420p")
    data = bytearray(path.read_bytes())
    n = len(data)
    data[n // 2 : n // 2 + n // 6] = bytes(n // 6)
    path.write_bytes(bytes(data))
    assert V.probe(path).width == 64  # the start is fine ...
    with pytest.raises(V.VideoError, match=r"unreadable after frame \d+"):
        list(V.read(path))  # ... the middle is not
