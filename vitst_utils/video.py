"""Video: stylise a clip frame by frame, steady (no flicker), with its sound, and say how steady.

    python -m vitst_utils.video --checkpoint C --input clip.mp4 --out clip_anime.mp4
    python -m vitst_utils.video --checkpoint C --input clip.mp4 --temporal stats --size 360
    python -m vitst_utils.video --checkpoint C --input talk.mov --face-track --style anime.png
    python -m vitst_utils.video --checkpoint C --input clip.mp4 --benchmark

Writes H.264 MP4 (yuv420p) at the source's frame rate and timestamps, the audio stream copied
untouched (AAC, MP3, Opus, ...; other codecs are re-encoded to AAC), rotation metadata applied.
Frames stream through: a reader thread decodes, resizes and computes optical flow while the
model stylises batches (fp16 on CUDA) towards a style target computed once per clip, and a
writer thread encodes. Until the end the output is a hidden temp file beside --out, renamed
when complete: Ctrl-C or an error leaves nothing under the final name.

--temporal: `off` stylises every frame on its own, and flickers: the ViT sees each frame
through a fixed patch grid, so a face moving by a pixel is tokenised differently, and sensor
noise moves every token a little; the decoder shows both. `stats` averages over time what AdaIN
normalises: the content statistics (a moving average) and each token where it did not change
(a gate on its change), so a still subject gives a still output. `flow` (default) also blends
in the previous output moved along the input's optical flow, where the flow is reliable
(forward-backward check; Ruder et al. 2016). At the end of every run the flicker is printed:
the warping error of the output next to that of the input (Lai et al. 2018).

--face-track writes the face crop: a square of --size px (default: the training size) framed
as the training portraits, found on the first frame and followed smoothly; the rest of the frame
is not written.
"""

from __future__ import annotations

import argparse
import logging
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from .checkpoint import CheckpointError
from .cli import UsageError, add_tone_flag, check_common, cli_target, style_inputs
from .face import Detector, FaceDetectorUnavailable, face_detector
from .frames import (
    DEFAULT_TEMPORAL,
    TEMPORAL_MODES,
    Frame,
    Pipeline,
    Prepare,
    even,
    frame_size,
)
from .model import ViTStyleTransfer
from .stylize import Size, StyleTarget, load_for_inference, resolve_color_method
from .temporal import FaceNotFound, FaceTracker, Flicker
from .videoio import (
    END,
    Decoded,
    VideoError,
    VideoInfo,
    Writer,
    check_encoder,
    drain,
    probe,
    put,
    read,
    read_into,
    write_from,
)

log = logging.getLogger(__name__)


@dataclass
class VideoReport:
    """What `stylize_video` did: the file, frames, the wall time from the first frame read to
    the file renamed (so `fps` is the end-to-end speed), the size, audio and the flicker."""

    path: Path
    frames: int
    seconds: float
    size: tuple[int, int]
    temporal: str
    audio: str
    flicker: Flicker | None = None

    @property
    def fps(self) -> float:
        return self.frames / max(self.seconds, 1e-9)

    def lines(self) -> list[str]:
        w, h = self.size
        out = [
            f"{self.path}: {self.frames} frames at {w} x {h}, temporal {self.temporal}, "
            f"audio {self.audio}; {self.fps:.1f} frames/s ({self.seconds:.1f} s)"
        ]
        if self.flicker is not None:
            out.append(self.flicker.line())
        return out


def _audio_note(info: VideoInfo) -> str:
    if info.audio is None:
        return "none in the input"
    return f"{info.audio} copied" if info.audio_copied else f"{info.audio} re-encoded to AAC"


def _stop(threads: Sequence[threading.Thread], stop: threading.Event) -> None:
    stop.set()
    for t in threads:
        if t.ident is not None:
            t.join(timeout=30)


def check_paths(source: Path, out: Path, protect: Iterable[str | Path] = ()) -> None:
    """Refuse an output that is not .mp4 or that would replace the input (or a `protect`ed
    file: checkpoint, style images)."""
    if out.suffix.lower() != ".mp4":
        raise ValueError(f"{out}: the output is H.264 MP4, so give it a .mp4 name")
    resolved = out.resolve()
    for p in [source, *protect]:
        if Path(p).resolve() == resolved:
            raise ValueError(f"{out} is the input {p}: pick another name (nothing written)")


def stylize_video(
    model: ViTStyleTransfer,
    source: str | Path,
    out: str | Path,
    target: StyleTarget,
    temporal: str = DEFAULT_TEMPORAL,
    size: Size = None,
    alpha: float = 1.0,
    preserve_color: bool | str | None = None,
    face_track: bool = False,
    start: float | None = None,
    duration: float | None = None,
    batch_size: int = 8,
    flicker: bool = True,
    progress: bool = True,
    detector: Detector | None = None,
    crf: int = 18,
) -> VideoReport:
    """Stylise the video file `source` into the H.264 MP4 `out` (see the module docstring).
    Bad input raises VideoError / ValueError before anything is written; an error or Ctrl-C
    midway removes the temp file, and `out` is untouched."""
    source, out = Path(source), Path(out)
    check_encoder()
    info = probe(source)
    check_paths(source, out)
    if start is not None and (start < 0 or start >= info.duration > 0):
        raise VideoError(f"start {start:g} s: {source} runs 0 to {info.duration:.2f} s")
    if duration is not None and duration <= 0:
        raise ValueError(f"duration must be > 0 seconds, got {duration:g}")
    fps = float(info.fps)
    pipe = Pipeline(model, target, temporal, fps, alpha, preserve_color, batch_size, flicker)
    tracker = FaceTracker(detector or face_detector(), str(source)) if face_track else None
    out_size = frame_size(info, size, model.image_size, face_track)
    prepare = Prepare(out_size, tracker, pipe.needs_motion)

    def frames() -> Iterator[Any]:
        for item in read(source, start, duration):
            if isinstance(item, Decoded):
                timing = {"pts": item.pts, "duration": item.duration, "time_base": item.time_base}
                yield prepare(item.rgb, **timing)
            else:
                yield item

    span = info.duration - (start or 0.0)
    total = round((span if duration is None else min(span, duration)) * fps) or None
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = Writer(out, *out_size, info.fps, info.time_base, source, crf)
    stop, failed = threading.Event(), queue.Queue()

    def encode(item: Any) -> None:
        if isinstance(item, Frame):
            writer.frame(item.out, item.pts, item.duration, item.time_base)
        else:
            writer.add_audio(item)

    decoded: queue.Queue = queue.Queue(maxsize=2 * batch_size)
    encoded: queue.Queue = queue.Queue(maxsize=2 * batch_size)
    threads = [
        threading.Thread(target=read_into, args=(frames(), decoded, stop), daemon=True),
        threading.Thread(target=write_from, args=(encode, encoded, failed, stop), daemon=True),
    ]
    bar = tqdm(total=total, desc=f"stylising ({temporal})", unit="frame", disable=not progress)
    t0 = time.perf_counter()
    try:
        for t in threads:
            t.start()
        for item in pipe.run(drain(decoded)):
            put(encoded, item, stop, failed)
            bar.update(isinstance(item, Frame))
        put(encoded, END, stop, failed)
        threads[1].join()
        if not failed.empty():
            raise failed.get()
        if not pipe.frames:
            raise VideoError(f"{source}: no frame in the part asked for (--start / --duration)")
        writer.commit()
    except BaseException:
        _stop(threads, stop)  # the writer thread must be done before its file is closed
        writer.abort()
        raise
    finally:
        _stop(threads, stop)
        bar.close()
    seconds = time.perf_counter() - t0
    note = _audio_note(info)
    return VideoReport(out, pipe.frames, seconds, out_size, temporal, note, pipe.flicker)


# --- comparing the modes, speed ---------------------------------------------------------------
def compare_temporal(
    model: ViTStyleTransfer,
    source: str | Path,
    target: StyleTarget,
    out_dir: str | Path,
    modes: Sequence[str] = TEMPORAL_MODES,
    **kwargs: Any,
) -> list[VideoReport]:
    """The clip through each temporal mode into `out_dir/<stem>_<mode>.mp4`, with the flicker
    of each: the table of the README and notebook 03 (`format_table`)."""
    source = Path(source)
    return [
        stylize_video(model, source, Path(out_dir) / f"{source.stem}_{m}.mp4", target, m, **kwargs)
        for m in modes
    ]


def format_table(reports: Sequence[VideoReport]) -> str:
    """A markdown table: mode, frames/s, warping error of output and input, added, structure."""
    rows = [
        "| temporal | frames/s | warping error | input's | added | structure |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in reports:
        f = r.flicker
        cells = (
            ["n/a"] * 4
            if f is None
            else [
                f"{f.output:.5f}",
                f"{f.input:.5f}",
                f"{f.added:+.5f}",
                f"{f.structure:.3f}",
            ]
        )
        rows.append(f"| `{r.temporal}` | {r.fps:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _blank_target(model: ViTStyleTransfer) -> StyleTarget:
    """Zero mean, unit std: a target for timing (speed does not depend on it)."""
    p = model.patch_size
    with torch.no_grad():
        c = model.encode(torch.zeros(1, 3, p, p, device=next(model.parameters()).device)).shape[1]
    return StyleTarget(torch.zeros(1, c, 1, 1), torch.ones(1, c, 1, 1), "blank")


def measure_video(
    model: ViTStyleTransfer,
    sizes: Sequence[int] = (224, 512),
    modes: Sequence[str] = TEMPORAL_MODES,
    seconds: float = 1.0,
    batch_size: int = 4,
    target: StyleTarget | None = None,
) -> dict[str, Any]:
    """End-to-end frames/s (decode, model, encode; no flicker metric) per temporal mode at each
    short side in `sizes`, on a 16:9 sample clip of `seconds` at 24 fps written at the largest
    size; a one-batch warm-up per size first. fp16 autocast on CUDA, fp32 on the CPU."""
    from .sample_clip import make_sample_clip  # here: only the benchmark draws a clip

    target = target or _blank_target(model)
    device = next(model.parameters()).device
    rows = []
    with tempfile.TemporaryDirectory(prefix="vitst-video-bench-") as tmp:
        side = max(sizes)
        clip = make_sample_clip(Path(tmp) / "clip.mp4", even(side * 16 / 9), even(side), seconds)
        for size in sizes:
            kwargs = {"size": size, "batch_size": batch_size, "flicker": False, "progress": False}
            warm = Path(tmp) / "warm.mp4"
            stylize_video(model, clip, warm, target, "off", duration=batch_size / 24, **kwargs)
            for mode in modes:
                r = stylize_video(
                    model, clip, Path(tmp) / f"{size}_{mode}.mp4", target, mode, **kwargs
                )
                rows.append({"size": size, "temporal": mode, "fps": r.fps, "frames": r.frames})
    return {
        "device": str(device),
        "precision": "fp16 autocast" if device.type == "cuda" else "fp32",
        "model": model.vit_name,
        "batch_size": batch_size,
        "rows": rows,
    }


def format_video(result: dict[str, Any]) -> str:
    """One line per size for a `measure_video` result."""
    lines = []
    for size in dict.fromkeys(r["size"] for r in result["rows"]):
        cells = ", ".join(
            f"{r['temporal']} {r['fps']:.3g}" for r in result["rows"] if r["size"] == size
        )
        lines.append(
            f"video {size}px short side, {result['model']} on {result['device']} "
            f"({result['precision']}, batch {result['batch_size']}): frames/s {cells}"
        )
    return "\n".join(lines)


# --- the CLI ------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m vitst_utils.video",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--checkpoint", required=True, help="a training checkpoint or slim export")
    p.add_argument("--input", metavar="VIDEO", help="the clip (any container/codec FFmpeg reads)")
    p.add_argument("--out", metavar="FILE.mp4", help="default: <input>_x_<style>.mp4 beside it")
    p.add_argument("--style", nargs="+", metavar="FILE|DIR", help="anime image(s), blended")
    p.add_argument("--style-weights", nargs="+", type=float, metavar="W")
    p.add_argument(
        "--prototype", metavar="FILE", help="a prototype file (inference --save-prototype)"
    )
    p.add_argument("--alpha", type=float, default=1.0, help="style strength in [0, 1]")
    p.add_argument(
        "--preserve-color",
        nargs="?",
        const="auto",
        choices=("auto", "luminance", "coral"),
        help="keep the clip's colours: luminance (per frame, the default with a prototype) or "
        "coral (the style images colour-matched once, to the first frame)",
    )
    p.add_argument(
        "--size",
        default=None,
        metavar="N|original",
        help="output short side (default: the training size; rounded to even), or 'original'",
    )
    p.add_argument(
        "--face-track",
        action="store_true",
        help="write only the face crop, a square of --size px (default: the training size), "
        "framed as the training portraits and followed smoothly from the first frame",
    )
    p.add_argument(
        "--temporal",
        choices=TEMPORAL_MODES,
        default=DEFAULT_TEMPORAL,
        help=f"off: frames on their own; stats: still parts held still; flow: also follows "
        f"motion along the optical flow (default: {DEFAULT_TEMPORAL}, the steadiest measured)",
    )
    p.add_argument("--start", type=float, metavar="S", help="start at S seconds")
    p.add_argument("--duration", type=float, metavar="D", help="stylise D seconds")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch-size", type=int, default=8, help="frames per model batch")
    p.add_argument("--crf", type=int, default=18, help="x264 quality, 0-51, lower is better")
    p.add_argument("--no-flicker", action="store_true", help="skip the flicker metric (faster)")
    p.add_argument(
        "--benchmark",
        nargs="*",
        type=int,
        metavar="SIZE",
        help="print frames/s and flicker per temporal mode on --input (or the sample clip), "
        "then frames/s per mode at each SIZE short side (default 224 512); writes no --out",
    )
    add_tone_flag(p)
    return p


def _check_usage(args: argparse.Namespace) -> None:
    check_common(args)
    if not 0 <= args.crf <= 51:
        raise UsageError(f"--crf must be in 0-51 (x264's scale), got {args.crf}")
    if args.input is None and args.benchmark is None:
        raise UsageError("pass --input VIDEO (the clip to stylise)")
    if args.duration is not None and args.duration <= 0:
        raise UsageError(f"--duration must be > 0 seconds, got {args.duration:g}")
    if args.start is not None and args.start < 0:
        raise UsageError(f"--start must be >= 0 seconds, got {args.start:g}")


def _check_clip(args: argparse.Namespace, info: VideoInfo, image_size: int) -> None:
    """The flags that depend on the clip, checked against it before anything is written."""
    try:
        frame_size(info, args.size, image_size, args.face_track)
    except ValueError as e:
        raise UsageError(f"--size {args.size}: {e}") from None
    if args.start is not None and args.start >= info.duration > 0:
        raise UsageError(f"--start {args.start:g} s: {info.path} runs 0 to {info.duration:.2f} s")


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "size": args.size,
        "alpha": args.alpha,
        "preserve_color": args.preserve_color,
        "face_track": args.face_track,
        "start": args.start,
        "duration": args.duration,
        "batch_size": args.batch_size,
        "crf": args.crf,
    }


def _benchmark(args: argparse.Namespace, model: ViTStyleTransfer, target: StyleTarget) -> None:
    from .sample_clip import make_sample_clip

    with tempfile.TemporaryDirectory(prefix="vitst-video-") as tmp:
        clip = Path(args.input) if args.input else make_sample_clip(Path(tmp) / "sample_clip.mp4")
        reports = compare_temporal(model, clip, target, tmp, progress=False, **_options(args))
    print(
        f"{clip.name}, {reports[0].frames} frames at {reports[0].size[0]} x {reports[0].size[1]}:"
    )
    print(format_table(reports))
    sizes = args.benchmark or (224, 512)
    seconds = args.duration or 1.0
    result = measure_video(model, sizes, seconds=seconds, batch_size=args.batch_size, target=target)
    print(format_video(result))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="warning: %(message)s")
    errors = (OSError, ValueError, CheckpointError, FaceDetectorUnavailable)
    try:
        _check_usage(args)
        check_encoder()
        info = probe(args.input) if args.input is not None else None  # before the model loads
        model, _, own = load_for_inference(args.checkpoint, args.device, tone=args.tone)
        if info is not None:
            _check_clip(args, info, model.image_size)
        target = cli_target(args, model, own)
        resolve_color_method(args.preserve_color, target)
        if args.benchmark is not None:
            _benchmark(args, model, target)
            return 0
        source = Path(args.input)
        out = Path(args.out) if args.out else source.with_name(f"{source.stem}_x_{target.name}.mp4")
        try:
            check_paths(source, out, [args.checkpoint, *style_inputs(args)])
        except ValueError as e:
            raise UsageError(f"--out {e}") from None
        try:
            detector = face_detector() if args.face_track else None
        except FaceDetectorUnavailable as e:
            raise UsageError(f"--face-track: {e}") from None
    except errors as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        report = stylize_video(
            model,
            source,
            out,
            target,
            args.temporal,
            flicker=not args.no_flicker,
            detector=detector,
            **_options(args),
        )
    except KeyboardInterrupt:
        print(f"interrupted: nothing written to {out}", file=sys.stderr)
        return 130
    except FaceNotFound as e:
        print(
            f"error: --face-track: {e} (drop --face-track, or pass a later --start)",
            file=sys.stderr,
        )
        return 2
    except errors as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
