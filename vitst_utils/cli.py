"""What the stylising command lines share (`inference`, `video`, `export`): usage errors, the
--size and --tone flags, the checks every one of them makes, and the style target from --style,
--prototype or the checkpoint's own prototype.

Library modules raise plain exceptions (ValueError, FileNotFoundError, their own error
classes) with messages about values and files; the CLIs check their flags here first and turn
what they catch into one `error: ...` line naming the flag, exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from .data import gather_images
from .model import ViTStyleTransfer
from .prototype import PrototypeError, build_prototype, load_prototype, save_prototype
from .stylize import Size, StyleTarget, style_target, style_weights, target_from_prototype

NO_PROTOTYPE_FIX = (
    "pass --style FILE ... (anime images) or --prototype FILE (build one once with "
    "--checkpoint C --style DIR --save-prototype FILE)"
)
PROTOTYPE_FIX = "build one for this checkpoint: --checkpoint C --style DIR --save-prototype FILE"


class UsageError(ValueError):
    """Bad command-line input: the CLI prints it as one `error:` line and exits 2."""


def parse_size(text: str | int | None) -> Size:
    """`--size`: a short side in pixels, "original", or None (the checkpoint's training size)."""
    if text is None:
        return None
    if isinstance(text, str):
        if text.lower() == "original":
            return "original"
        try:
            text = int(text)
        except ValueError:
            raise UsageError(
                f"--size takes a number of pixels or 'original', got {text!r}"
            ) from None
    if text < 1:
        raise UsageError(f"--size must be a positive number of pixels or 'original', got {text}")
    return text


def tone_share(text: str) -> float:
    """`--tone`: a share in [0, 1]."""
    try:
        share = float(text)
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise argparse.ArgumentTypeError(f"takes a share in [0, 1] (0: off), got {text!r}")
    return share


def add_tone_flag(p: argparse.ArgumentParser) -> None:
    """`--tone SHARE`: the cel stage's tone matching, instead of the checkpoint's `cel_tone`."""
    p.add_argument(
        "--tone",
        type=tone_share,
        metavar="SHARE",
        help="cel checkpoints: move the picture's light and dark SHARE of the way to the "
        "style's (0: off; default: the checkpoint's cel_tone, 0.6 for the anime recipe)",
    )


def style_inputs(args: argparse.Namespace) -> list[str]:
    """The --style and --prototype paths given."""
    return [*(args.style or []), *([args.prototype] if args.prototype else [])]


def check_common(args: argparse.Namespace, alpha_hint: str = "") -> None:
    """The checks the stylising CLIs share, before any model loads: --alpha, --batch-size,
    --device, --size (parsed in place), --style or --prototype, --style-weights, the paths."""
    if not 0 <= args.alpha <= 1:
        raise UsageError(f"--alpha must be between 0 and 1{alpha_hint}, got {args.alpha}")
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {args.batch_size}")
    if str(args.device).startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {args.device}: no CUDA GPU is visible here; use --device cpu")
    args.size = parse_size(args.size)
    if args.style and args.prototype:
        raise UsageError("pass either --style or --prototype, not both")
    if args.style_weights is not None:
        if not args.style:
            raise UsageError("--style-weights needs --style images (one weight per image)")
        folders = [s for s in args.style if Path(s).is_dir()]
        if folders:
            raise UsageError(
                f"--style-weights needs one image file per weight, but {folders[0]} is a folder"
            )
        try:
            style_weights(args.style_weights, len(args.style))
        except ValueError as e:
            raise UsageError(f"--style-weights: {e}") from None
    if args.preserve_color == "coral" and not args.style:
        raise UsageError(
            "--preserve-color coral needs --style images; with a prototype use "
            "--preserve-color luminance"
        )
    for p in style_inputs(args):
        if not Path(p).exists():
            raise FileNotFoundError(f"{p} does not exist (check the path)")


def report(lines: Iterable[str]) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def cli_target(
    args: argparse.Namespace,
    model: ViTStyleTransfer,
    own: dict[str, Any] | None,
    save_prototype_to: str | None = None,
) -> StyleTarget:
    """The style a CLI stylises towards: the --style images (averaged into a prototype file
    first when `save_prototype_to`), else --prototype, else the checkpoint's own prototype."""
    if args.style:
        styles, skipped = gather_images(args.style)
        report(f"skipped style {p}: {reason}" for p, reason in skipped)
        if not styles:
            raise FileNotFoundError(f"no usable style image in {' '.join(args.style)}")
        if not save_prototype_to:
            return style_target(model, styles, args.style_weights)
        proto = build_prototype(model, styles)
        saved = save_prototype(proto, save_prototype_to)
        print(f"{saved}: the prototype of {proto['count']} style images")
        return target_from_prototype(proto, Path(save_prototype_to).stem)
    if args.prototype:
        return target_from_prototype(
            prototype_arg(args.prototype, model), Path(args.prototype).stem
        )
    if own is not None:
        return target_from_prototype(own, "anime")
    raise UsageError(f"{args.checkpoint} holds no style prototype: {NO_PROTOTYPE_FIX}")


def prototype_arg(path: str | Path, model: ViTStyleTransfer) -> dict[str, Any]:
    """The --prototype file, checked against `model`; a bad one says how to build one."""
    try:
        return load_prototype(path, model)
    except PrototypeError as e:
        raise UsageError(f"--prototype {e}: {PROTOTYPE_FIX}") from None
