"""Inference: stylise your own photos with a checkpoint, whole frame at any size.

    python -m vitst_utils.inference --checkpoint C --content photo.jpg my_photos/
    python -m vitst_utils.inference --checkpoint C --content photo.jpg --style anime.png \\
        --alpha 0.8 --preserve-color --size original
    python -m vitst_utils.inference --checkpoint C --content photo.jpg \\
        --style a.png b.png --style-weights 3 1
    python -m vitst_utils.inference --checkpoint C --style anime_folder/ --save-prototype p.pt
    python -m vitst_utils.inference --checkpoint C --content photos/ --prototype p.pt --face-crop

Writes `<photo>_x_<style>.png` per photo into --out (never over an input). The style is,
in this order: the --style images (several are blended, equal weights unless --style-weights),
a --prototype file, or the prototype stored in the checkpoint. A prototype is the anime
domain's mean AdaIN statistics, so a photo becomes anime with no style image to choose.

Sizes: the output shows the whole photo at its aspect ratio, short side --size (default: the
checkpoint's training size) or `original` (the photo's own pixels). Inside, the photo is padded
(reflection) to a multiple of the ViT's patch and the result cropped back; photos over twice the
training size's tokens are encoded in overlapping training-size windows and decoded in tiles, at
a cost linear in pixels (tiling.py). --cpu-path picks how the CPU runs (cpu_paths.py). Style
images are always read the way training saw them (short side to the training size, centre
crop), so their statistics match the prototype's.
"""

from __future__ import annotations

import argparse
import logging
import sys

import torch

from .checkpoint import CheckpointError
from .cli import UsageError, add_tone_flag, check_common, cli_target, report, style_inputs
from .cpu_paths import CPU_PATHS
from .data import gather_images
from .face import FaceDetectorUnavailable, face_detector
from .photos import stylize_files
from .stylize import COLOR_METHODS, load_for_inference, resolve_color_method


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m vitst_utils.inference",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--checkpoint",
        required=True,
        help="a training checkpoint, a slim export or a seed state dict",
    )
    p.add_argument("--content", nargs="+", metavar="FILE|DIR", help="photos: files or folders")
    p.add_argument(
        "--style",
        nargs="+",
        metavar="FILE|DIR",
        help="anime image(s); several are blended (their AdaIN statistics interpolated)",
    )
    p.add_argument(
        "--style-weights",
        nargs="+",
        type=float,
        metavar="W",
        help="one weight per --style image (normalised to sum 1; default: equal)",
    )
    p.add_argument("--prototype", metavar="FILE", help="a prototype file (--save-prototype)")
    p.add_argument(
        "--save-prototype",
        metavar="FILE",
        help="average the --style images' statistics into a small prototype file",
    )
    p.add_argument(
        "--alpha",
        type=float,
        default=1.0,
        help="style strength in [0, 1]: 0 decodes the photo's own features, 1 (default) full",
    )
    p.add_argument(
        "--preserve-color",
        nargs="?",
        const="auto",
        choices=COLOR_METHODS,
        help="keep the photo's colours: coral (colour-match the style images to the photo "
        "first; the default with --style) or luminance (keep the photo's chroma; the default "
        "with a prototype)",
    )
    p.add_argument(
        "--size",
        default=None,
        metavar="N|original",
        help="the scale at which the model draws: output short side in pixels (default: the "
        "checkpoint's training size), or 'original' for the photo's own size; the whole frame "
        "is kept; lines keep their width in pixels, so a larger size draws relatively finer",
    )
    p.add_argument(
        "--face-crop",
        action="store_true",
        help="crop the largest face (OpenCV Haar cascade) as the training portraits are framed",
    )
    p.add_argument("--out", default="stylised", help="output folder (default: ./stylised)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument(
        "--cpu-path",
        default="auto",
        choices=["auto", *CPU_PATHS],
        help="how the CPU runs the networks (default auto: the fastest whose pictures match "
        "fp32 on this CPU; fp32 forces full precision); ignored on CUDA (fp16 autocast)",
    )
    p.add_argument("--batch-size", type=int, default=8, help="photos per batch (same size)")
    add_tone_flag(p)
    return p


def _check_usage(args: argparse.Namespace) -> None:
    """Usage errors that need no model: raised as UsageError / FileNotFoundError."""
    check_common(args, alpha_hint=" (0: the photo's own features, 1: full style)")
    if args.save_prototype and not args.style:
        raise UsageError("--save-prototype needs --style FILE|DIR ... (the anime images)")
    if args.save_prototype and args.style_weights is not None:
        raise UsageError("--style-weights does not apply to --save-prototype (an equal mean)")
    if not args.content and not args.save_prototype:
        raise UsageError("pass --content FILE|DIR ... (the photos to stylise)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not logging.getLogger().handlers:  # a CLI: warnings as "warning: ..." lines on stderr
        logging.basicConfig(level=logging.WARNING, format="warning: %(message)s")
    try:
        _check_usage(args)
        contents, skipped = gather_images(args.content)
        if args.content and not contents:
            raise FileNotFoundError(f"no usable photo in {' '.join(args.content)}")
        try:
            detector = face_detector() if args.face_crop else None
        except FaceDetectorUnavailable as e:
            raise UsageError(f"--face-crop: {e}") from None
        model, _, own = load_for_inference(args.checkpoint, args.device, args.cpu_path, args.tone)
        target = cli_target(args, model, own, args.save_prototype)
        if not contents:  # --save-prototype alone
            return 0
        resolve_color_method(args.preserve_color, target)
    except (OSError, ValueError, CheckpointError, FaceDetectorUnavailable) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    report(f"skipped {p}: {reason}" for p, reason in skipped)
    done = stylize_files(
        model,
        contents,
        target,
        args.out,
        size=args.size,
        alpha=args.alpha,
        preserve_color=args.preserve_color,
        face_crop=args.face_crop,
        batch_size=args.batch_size,
        detector=detector,
        protect=[args.checkpoint, *style_inputs(args)],
    )
    report(f"skipped {p}: {reason}" for p, reason in done.skipped)
    report(f"no face found in {p}: stylised the whole photo" for p in done.no_face)
    for _, path in done.outputs:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
