"""Reading and writing video with PyAV (FFmpeg's libraries; the PyPI wheels bundle FFmpeg with
the libx264 H.264 encoder and every common decoder), one frame at a time.

- `probe`: what a file holds (size upright, frame rate, frames, duration, audio), or one clear
  error: not a video, no decoder, no frames.
- `read`: decoded RGB frames, rotation metadata applied, with the audio packets in file order
  (copied later untouched) or decoded audio (re-encoded to AAC when MP4 cannot hold the codec).
- `Writer`: H.264 MP4 (yuv420p) with the source's timestamps and the audio, into a temp file
  beside the target that `commit` renames: an interrupted run leaves nothing under the name.
- `read_into` / `drain` / `write_from`: the thread bodies and bounded queues that let decoding
  and encoding run while the model works (FFmpeg and OpenCV release the GIL).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

H264 = "libx264"
# Audio codecs the MP4 muxer takes as they are (copied packet by packet); others become AAC.
MP4_AUDIO = frozenset({"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"})
IMAGE_FORMATS = ("image2", "_pipe", "gif", "apng", "webp")  # FFmpeg demuxers of still images
AV_FIX = "pip install av (the PyPI wheels bundle FFmpeg with libx264)"


class VideoError(ValueError):
    """A video that cannot be read or written as asked; the message names the file and a fix."""


def _av() -> Any:
    try:
        import av
    except ImportError as e:
        raise VideoError(f"video needs PyAV: {AV_FIX}") from e
    return av


def check_encoder(name: str = H264) -> None:
    """Refuse to start when this FFmpeg build has no `name` encoder."""
    av = _av()
    try:
        av.codec.Codec(name, "w")
    except Exception as e:  # UnknownCodecError: no such encoder in this build
        raise VideoError(
            f"this FFmpeg build (PyAV {av.__version__}) has no {name} encoder for H.264: {AV_FIX}"
        ) from e


@dataclass
class VideoInfo:
    """What `probe` found. `width` x `height` is the picture as shown (rotation applied);
    `frames` is the container's count (0 when it does not say); `duration` in seconds;
    `time_base` the video stream's (the output keeps its timestamps)."""

    path: Path
    width: int
    height: int
    rotation: int
    fps: Fraction
    time_base: Fraction
    frames: int
    duration: float
    codec: str
    audio: str | None

    @property
    def audio_copied(self) -> bool:
        return self.audio in MP4_AUDIO

    def summary(self) -> str:
        audio = f"audio {self.audio}" if self.audio else "no audio"
        turn = f", rotated {self.rotation} deg" if self.rotation else ""
        return (
            f"{self.path.name}: {self.width} x {self.height}{turn}, {self.codec}, "
            f"{float(self.fps):.3g} fps, {self.duration:.2f} s, {audio}"
        )


def _open(path: Path) -> Any:
    av = _av()
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (check the path)")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as e:
        raise VideoError(
            f"{path} is not a video FFmpeg can read ({e.strerror or type(e).__name__})"
        ) from e
    fmt, has_video = container.format.name, bool(container.streams.video)
    if not has_video or any(s in fmt for s in IMAGE_FORMATS):
        container.close()
        if has_video:
            raise VideoError(
                f"{path} is an image, not a video (photos are stylised as photos, not clips)"
            )
        raise VideoError(f"{path} holds no video stream (audio only?): pass a video file")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        container.close()
        raise VideoError(
            f"{path}: this FFmpeg build has no decoder for its video codec: re-encode it to "
            "H.264 first (e.g. ffmpeg -i in -c:v libx264 out.mp4)"
        )
    return container


def codec_name(stream: Any) -> str:
    """The codec's own name ("mp3"), not its decoder's ("mp3float")."""
    return stream.codec_context.codec.canonical_name


def audio_stream(container: Any) -> Any:
    """The first audio stream this FFmpeg can decode, or None (an undecodable one is left
    out: it could be neither copied reliably nor re-encoded)."""
    return next((s for s in container.streams.audio if s.codec_context is not None), None)


def upright(frame: Any) -> np.ndarray:
    """A decoded frame as (H, W, 3) uint8 RGB, turned by its display matrix (FFmpeg's
    autorotate: `rotation` is counter-clockwise, as np.rot90)."""
    rgb = frame.to_ndarray(format="rgb24")
    turns = round((frame.rotation or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def probe(path: str | Path) -> VideoInfo:
    """Open `path`, decode its first frame, and describe it; VideoError for a bad file."""
    path = Path(path)
    av = _av()
    container = _open(path)
    try:
        stream = container.streams.video[0]
        try:
            first = next(container.decode(stream), None)
        except av.error.FFmpegError as e:
            raise VideoError(f"{path}: its first frame cannot be decoded ({e.strerror})") from e
        if first is None:
            raise VideoError(f"{path} holds a video stream with no frames")
        rgb = upright(first)
        fps = stream.average_rate or stream.guessed_rate or Fraction(30)
        duration = 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        audio = audio_stream(container)
        return VideoInfo(
            path=path,
            width=rgb.shape[1],
            height=rgb.shape[0],
            rotation=int(first.rotation or 0),
            fps=Fraction(fps),
            time_base=Fraction(stream.time_base),
            frames=int(stream.frames or 0),
            duration=duration,
            codec=codec_name(stream),
            audio=codec_name(audio) if audio is not None else None,
        )
    finally:
        container.close()


@dataclass
class Decoded:
    """One video frame: upright RGB, its index in the output, pts and duration in `time_base`
    (shifted so the first frame kept starts at 0)."""

    index: int
    rgb: np.ndarray
    pts: int
    duration: int
    time_base: Fraction


def read(
    path: str | Path, start: float | None = None, duration: float | None = None
) -> Iterator[Any]:
    """The frames of `path` from `start` for `duration` seconds as `Decoded`, interleaved in
    file order with its audio: packets (to copy) when MP4 can hold the codec, else decoded
    AudioFrames (to re-encode). Timestamps are the file's, less `start`. A decoding error
    midway raises VideoError naming the frame."""
    path = Path(path)
    av = _av()
    container = _open(path)
    video = container.streams.video[0]
    video.thread_type = "AUTO"  # FFmpeg's own decoding threads
    audio = audio_stream(container)
    copy = audio is not None and codec_name(audio) in MP4_AUDIO
    t_start = float(start or 0.0)
    t_end = t_start + duration if duration is not None else float("inf")
    if start:
        container.seek(int(start * 1_000_000))  # to the keyframe before; earlier frames dropped
    step = max(1, round(1 / (float(video.average_rate or 30) * video.time_base)))
    shift = round(t_start / video.time_base)
    index, last, video_done = 0, None, False
    try:
        for packet in container.demux(*[s for s in (video, audio) if s is not None]):
            if packet.stream is video:
                for frame in [] if video_done else packet.decode():
                    # no timestamp (a raw stream): one frame step after the last
                    pts = frame.pts if frame.pts is not None else shift + index * step
                    t = float(pts * video.time_base)
                    if t < t_start - 1e-6:
                        continue
                    if t >= t_end - 1e-6:
                        video_done = True
                        break
                    pts -= shift
                    pts = pts if last is None or pts > last else last + 1  # strictly increasing
                    yield Decoded(
                        index, upright(frame), pts, frame.duration or step, video.time_base
                    )
                    index, last = index + 1, pts
                if video_done and audio is None:
                    break
            elif packet.size and packet.pts is not None:
                t = float(packet.pts * packet.time_base)
                if t >= t_end:
                    if video_done:
                        break
                elif not start or t >= t_start - 1e-6:
                    if not copy:
                        yield from packet.decode()
                        continue
                    yield _detached(packet, round(t_start / packet.time_base))
    except av.error.FFmpegError as e:
        at = f"after frame {index}" if index else "at its first frame"
        raise VideoError(
            f"{path} is unreadable {at} ({e.strerror or e}): the file is damaged; re-encode "
            "it, or cut it to the readable part (a start and duration)"
        ) from e
    finally:
        container.close()


def _detached(packet: Any, shift: int) -> Any:
    """A copy of an audio packet that does not refer to its input file (which the reader
    thread closes while the writer may still hold packets), `shift` earlier."""
    av = _av()
    copy = av.Packet(bytes(packet))
    copy.pts = packet.pts - shift
    copy.dts = packet.dts - shift if packet.dts is not None else None
    copy.duration, copy.time_base = packet.duration, packet.time_base
    copy.is_keyframe = packet.is_keyframe
    return copy


def temp_path(path: Path) -> Path:
    """The hidden name beside `path` that a write goes to until `Writer.commit`."""
    return path.with_name(f".{path.stem}.part-{os.getpid()}{path.suffix}")


class Writer:
    """H.264 MP4 (yuv420p; x264 `crf` 18 of 0-51, visually near-lossless; faststart) at the
    source's time base and nominal `rate`, with the audio of `source` when it has some: its
    stream copied (`MP4_AUDIO`), else encoded to AAC from the frames `read` decodes."""

    def __init__(
        self,
        path: str | Path,
        width: int,
        height: int,
        rate: Fraction,
        time_base: Fraction,
        source: str | Path | None = None,
        crf: int = 18,
    ):
        av = _av()
        if width % 2 or height % 2:
            raise VideoError(f"H.264 in yuv420p needs even sides, got {width} x {height}")
        self.path = Path(path)
        self.tmp = temp_path(self.path)
        self.frames = 0
        self.audio = self.resampler = None
        self.container = av.open(
            str(self.tmp), "w", format="mp4", options={"movflags": "+faststart"}
        )
        try:
            self.video = self.container.add_stream(H264, rate=rate)
            self.video.width, self.video.height = width, height
            self.video.pix_fmt = "yuv420p"
            self.video.time_base = time_base
            self.video.options = {"crf": str(crf)}
            if source is not None:
                self._add_audio_stream(Path(source))
        except BaseException:
            self.abort()
            raise

    def _add_audio_stream(self, source: Path) -> None:
        av = _av()
        with av.open(str(source)) as src:
            stream = audio_stream(src)
            if stream is None:
                return
            if codec_name(stream) in MP4_AUDIO:
                self.audio = self.container.add_stream_from_template(stream)
                return
            layout = "mono" if stream.channels == 1 else "stereo"
            self.audio = self.container.add_stream("aac", rate=stream.rate, layout=layout)
            self.resampler = av.AudioResampler(format="fltp", layout=layout, rate=stream.rate)

    def frame(self, rgb: np.ndarray, pts: int, duration: int, time_base: Fraction) -> None:
        """Encode one (H, W, 3) uint8 RGB frame at `pts` (in `time_base`)."""
        av = _av()
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts, frame.duration, frame.time_base = pts, duration, time_base
        for packet in self.video.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def add_audio(self, item: Any) -> None:
        """A packet of the input's audio (copied) or a decoded audio frame (encoded to AAC)."""
        if self.audio is None:
            return
        if self.resampler is None:
            item.stream = self.audio
            self.container.mux(item)
            return
        for frame in self.resampler.resample(item):
            frame.pts = None
            for packet in self.audio.encode(frame):
                self.container.mux(packet)

    def commit(self) -> Path:
        """Flush the encoders, close, and rename the temp file to `path`."""
        try:
            for packet in self.video.encode():
                self.container.mux(packet)
            if self.resampler is not None:
                for packet in self.audio.encode():
                    self.container.mux(packet)
            self.container.close()
            os.replace(self.tmp, self.path)
        finally:
            self.tmp.unlink(missing_ok=True)
        return self.path

    def abort(self) -> None:
        """Close and delete the temp file: nothing is left under either name."""
        try:
            self.container.close()
        except Exception:  # a half-initialised muxer may refuse to write its trailer
            pass
        self.tmp.unlink(missing_ok=True)


# --- background threads: decoding and encoding overlap the model -------------------------------
END = object()  # the last item of a queue


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


def put(
    q: queue.Queue, item: Any, stop: threading.Event, failed: queue.Queue | None = None
) -> bool:
    """Put `item` into the bounded `q`, giving up (False) once `stop` is set; raise what a
    consumer reported in `failed`, so a dead writer thread never blocks the producer."""
    while not stop.is_set():
        if failed is not None and not failed.empty():
            raise failed.get()
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def read_into(items: Iterator[Any], q: queue.Queue, stop: threading.Event) -> None:
    """Reader thread body: every item of `items` into `q`, then END, or the error."""
    try:
        for item in items:
            if not put(q, item, stop):
                return
        put(q, END, stop)
    except BaseException as e:  # handed to the consumer, which raises it
        put(q, _Failed(e), stop)
    finally:
        items.close()  # a generator: closes the input file in this thread


def drain(q: queue.Queue) -> Iterator[Any]:
    """The items a `read_into` thread puts into `q`, up to END; its error is raised here."""
    while True:
        item = q.get()
        if item is END:
            return
        if isinstance(item, _Failed):
            raise item.error
        yield item


def write_from(
    handle: Callable[[Any], None], q: queue.Queue, failed: queue.Queue, stop: threading.Event
) -> None:
    """Writer thread body: `handle` every item of `q` until END; an error goes to `failed`."""
    try:
        while not stop.is_set():
            try:
                item = q.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is END:
                return
            handle(item)
    except BaseException as e:
        failed.put(e)


def frames_at(path: str | Path, indices: Iterator[int] | list[int]) -> list[np.ndarray]:
    """The frames of `path` at `indices` (upright RGB), read up to the last one asked for."""
    wanted = sorted(set(indices))
    found: dict[int, np.ndarray] = {}
    reader = read(path)
    try:
        for item in reader:
            if isinstance(item, Decoded) and item.index in wanted:
                found[item.index] = item.rgb
                if len(found) == len(wanted):
                    break
    finally:
        reader.close()
    return [found[i] for i in wanted if i in found]
