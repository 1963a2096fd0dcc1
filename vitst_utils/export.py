"""Export a trained model for sharing: a slim PyTorch file, or ONNX.

    python -m vitst_utils.export --checkpoint runs/seed/checkpoints/epoch_050.pt --out anime.pt
    python -m vitst_utils.export --checkpoint C --out anime.pt --half          # fp16 weights
    python -m vitst_utils.export --checkpoint C --prototype p.pt --out anime.onnx
    python -m vitst_utils.export --checkpoint C --out anime_onnx/ --tiled   # any size

Slim (`.pt`): only what stylising needs: encoder and decoder weights (no optimizer or training
state), the config and a prototype; fp16 with --half. `load_model` and
`python -m vitst_utils.inference --checkpoint anime.pt` read it like a training checkpoint.

ONNX (`.onnx`): the one-input photo -> anime network with the prototype built in. Input
"photo": (1, 3, H, W) RGB pixels in [0, 1] (no ImageNet normalisation to redo), any H and W
from one patch (16 px) up: the graph pads to the patch multiple and crops back. Output
"anime": (1, 3, H, W) pixels in [0, 1]. Exported with torch.onnx's dynamo exporter and dynamic
height/width, then checked against PyTorch with onnxruntime at two sizes.

One graph attends globally over the whole photo, so its memory grows with the square of the
pixels (onnxruntime holds 6 N^2 attention floats for N tokens: 1.5 GB at 0.5 MP for `anime`).
For any size, --tiled writes a folder: encoder.onnx (training-size windows -> token maps),
decoder.onnx (token maps -> the decoder's output) and stylize.json (the prototype, the tiling:
window, overlap, decoder halo, and how the decoder's output becomes the picture: its output
space, and for a cel model the palette and ink); `OnnxStylizer(folder)` runs them as
`tiling.py` does (windows blended, global AdaIN statistics, tiled decode, then rendered) with
onnxruntime and no network code: the same pictures as PyTorch at any size, with bounded
memory.

The prototype is --prototype's, else the checkpoint's own; a slim file may go without one (then
it needs --style images), an ONNX file may not.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .cel import CelStyle
from .checkpoint import SLIM_FORMAT, CheckpointError, strip_prefix
from .cli import NO_PROTOTYPE_FIX, UsageError, add_tone_flag, prototype_arg
from .config import TrainConfig
from .cpu_paths import export_pieces, onnx_session
from .function import normalize, to_pixels
from .model import ViTStyleTransfer, render_output
from .rundir import write_atomic
from .stylize import (
    cel_at_alpha,
    load_for_inference,
    pad_to_multiple,
    target_from_prototype,
    transfer,
)
from .tiling import Tiling, decoder_halo, stylize_pieces

log = logging.getLogger(__name__)


def slim_state(model: nn.Module, half: bool = False) -> dict[str, torch.Tensor]:
    """The weights stylising needs (the generator's state dict: encoder, fuse, decoder), on the
    CPU, floating tensors in fp16 when `half`."""
    state = {}
    for k, v in strip_prefix(model.state_dict()).items():
        v = v.detach().cpu()
        state[k] = v.half() if half and v.is_floating_point() else v.clone()
    return state


def _plain_prototype(prototype: dict[str, Any] | None) -> dict[str, Any] | None:
    if prototype is None:
        return None
    keep = ("mean", "std", "count", "encoder", "image_size", "source", "cel")
    return {k: prototype[k] for k in keep if k in prototype}


def export_slim(
    model: ViTStyleTransfer,
    cfg: TrainConfig,
    path: str | Path,
    prototype: dict[str, Any] | None = None,
    half: bool = False,
) -> Path:
    """Write the slim file: {format: vitst-slim, model, config, prototype, dtype}."""
    payload = {
        "format": SLIM_FORMAT,
        "model": slim_state(model, half),
        "config": cfg.to_dict(),
        "prototype": _plain_prototype(prototype),
        "dtype": "float16" if half else "float32",
    }
    return write_atomic(path, lambda f: torch.save(payload, f))


class PhotoToAnime(nn.Module):
    """The one-input network: photo pixels (B, 3, H, W) in [0, 1] -> anime pixels in [0, 1],
    stylised towards a fixed prototype (`stylize.transfer`), any H and W."""

    def __init__(self, model: ViTStyleTransfer, prototype: dict[str, Any], alpha: float = 1.0):
        super().__init__()
        self.model = model
        self.alpha = float(alpha)
        target = target_from_prototype(prototype)
        # not "mean"/"std": the exporter can give those names to intermediate values too
        self.register_buffer("style_mean", target.mean.clone())
        self.register_buffer("style_std", target.std.clone())
        self.is_cel = target.cel is not None
        if self.is_cel:  # a cel model's colours and palette
            for f in fields(CelStyle):  # quantiles, tones None: mean and std; no tones
                t = getattr(target.cel, f.name)
                self.register_buffer(f"cel_{f.name}", None if t is None else t.clone())

    def forward(self, photo: torch.Tensor) -> torch.Tensor:
        cel = None
        if self.is_cel:
            cel = CelStyle(**{f.name: getattr(self, f"cel_{f.name}") for f in fields(CelStyle)})
        out = transfer(
            self.model, normalize(photo), self.style_mean, self.style_std, self.alpha, cel=cel
        )
        return to_pixels(out).clamp(0, 1)


def export_onnx(
    model: ViTStyleTransfer,
    prototype: dict[str, Any],
    path: str | Path,
    alpha: float = 1.0,
) -> Path:
    """Export `PhotoToAnime` to ONNX (dynamo exporter; batch 1, dynamic height and width)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    net = PhotoToAnime(model.cpu().eval(), prototype, alpha).eval()
    p, s = model.patch_size, model.image_size
    sample = torch.rand(1, 3, s, s + p)  # not square: height and width stay separate symbols
    dims = {2: torch.export.Dim("height", min=p, max=8192), 3: torch.export.Dim("width", min=p)}
    n_bytes = sum(t.numel() * t.element_size() for t in net.state_dict().values())
    with torch.no_grad():
        torch.onnx.export(
            net,
            (sample,),
            str(path),
            dynamo=True,
            input_names=["photo"],
            output_names=["anime"],
            dynamic_shapes={"photo": dims},
            external_data=n_bytes > 1.5 * 2**30,  # one file, unless over ONNX's 2 GB limit
            verbose=False,
        )
    return path


TILED_FORMAT = "vitst-onnx-tiled"


def export_onnx_tiled(
    model: ViTStyleTransfer,
    prototype: dict[str, Any],
    folder: str | Path,
    alpha: float = 1.0,
    tiling: Tiling | None = None,
) -> Path:
    """Write `folder/{encoder,decoder}.onnx` and `folder/stylize.json` (see the module doc)."""
    folder = Path(folder)
    tiling = tiling or Tiling()
    export_pieces(model.cpu().eval(), folder)
    target = target_from_prototype(prototype)
    meta = {
        "format": TILED_FORMAT,
        "patch": model.patch_size,
        "window": tiling.window or model.image_size,
        "overlap": tiling.overlap,
        "direct_tokens": tiling.direct_tokens,
        "tile": tiling.tile,
        "halo": decoder_halo(model),
        "alpha": float(alpha),
        "mean": target.mean.flatten().tolist(),
        "std": target.std.flatten().tolist(),
        # decoder.onnx gives the decoder's own output; this turns it into the picture
        "output_space": model.output_space,
    }
    if target.cel is not None:
        saved = {k: v.tolist() for k, v in target.cel.item(0).items()}
        # "ink_colour": the outlines' colour; "ink": the distances where they are drawn;
        # "simplify": the most passes that bring the picture's ink down to "ink_length";
        # "clean": the edge-aware passes before them; "quantiles" (3 x Q), if there: the photo
        # takes the style's colours by histogram matching (else by "mean" and "std"); "tone":
        # the share of the way its luma then moves to the style's "tones" (1 x Q)
        settings = {
            "tau": model.cel_tau,
            "ink": list(model.cel_ink),
            "simplify": model.cel_simplify,
            "clean": model.cel_clean,
            "tone": model.cel_tone,
        }
        meta["cel"] = {**saved, **settings}
    write_atomic(folder / "stylize.json", json.dumps(meta))
    return folder


class OnnxStylizer:
    """A folder of `export_onnx_tiled` as a function: photo pixels (1, 3, H, W) in [0, 1], any
    H and W, -> anime pixels in [0, 1], with onnxruntime (CPU) and the tiling of `tiling.py`."""

    def __init__(self, folder: str | Path, threads: int | None = None):
        folder = Path(folder)
        meta = json.loads((folder / "stylize.json").read_text())
        if meta.get("format") != TILED_FORMAT:
            raise ValueError(f"{folder} is not an export of --tiled (no {TILED_FORMAT} meta)")
        self.meta = meta
        self.encode = onnx_session(folder / "encoder.onnx", threads)
        self.decode = onnx_session(folder / "decoder.onnx", threads)
        self.mean = torch.tensor(meta["mean"]).view(1, -1, 1, 1)
        self.std = torch.tensor(meta["std"]).view(1, -1, 1, 1)
        self.tiling = Tiling(
            window=meta["window"],
            overlap=meta["overlap"],
            direct_tokens=meta["direct_tokens"],
            tile=meta["tile"],
        )
        self.cel = None
        if "cel" in meta:
            self.cel = CelStyle.from_saved(meta["cel"])

    @torch.no_grad()
    def __call__(self, photo: torch.Tensor) -> torch.Tensor:
        h, w = photo.shape[-2:]
        m = self.meta
        x = pad_to_multiple(normalize(photo.float()), m["patch"])
        finish = None  # an export older than "output_space" gives the picture itself
        if "output_space" in m:
            cel = cel_at_alpha(self.cel, x, m["alpha"]) if self.cel is not None else None
            tau, ink = (m["cel"]["tau"], tuple(m["cel"]["ink"])) if cel else (0.0, None)
            simplify = m["cel"].get("simplify", 0) if cel else 0  # an older export: none
            clean = m["cel"].get("clean", 0) if cel else 0
            tone = m["cel"].get("tone", 0.0) if cel else 0.0

            def finish(raw: torch.Tensor) -> torch.Tensor:
                return render_output(
                    raw, m["output_space"], x, cel, tau, ink, simplify, clean, tone
                )

        out = stylize_pieces(
            self.encode,
            self.decode,
            x,
            self.mean,
            self.std,
            m["alpha"],
            m["patch"],
            m["window"],
            m["halo"],
            self.tiling,
            finish=finish,
        )
        return to_pixels(out[..., :h, :w]).clamp(0, 1)


def check_onnx(
    path: str | Path, net: PhotoToAnime, sizes: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], float]:
    """Max absolute difference (pixels in [0, 1]) between onnxruntime and PyTorch per size."""
    import onnxruntime as ort  # only here: stylising never needs it

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(0)
    diffs = {}
    for h, w in sizes:
        x = torch.rand(1, 3, h, w, generator=gen)
        with torch.no_grad():
            ref = net(x).numpy()
        out = session.run(["anime"], {"photo": x.numpy()})[0]
        if out.shape != ref.shape:
            raise RuntimeError(f"ONNX output {out.shape} at {h}x{w}, PyTorch {ref.shape}")
        diffs[(h, w)] = float(abs(out - ref).max())
    return diffs


def _size_mb(path: str | Path) -> float:
    return Path(path).stat().st_size / 2**20


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m vitst_utils.export",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--checkpoint", required=True, help="a training checkpoint (or seed state dict)")
    p.add_argument("--prototype", metavar="FILE", help="default: the checkpoint's own")
    p.add_argument("--out", required=True, metavar="FILE.pt|FILE.onnx")
    p.add_argument("--half", action="store_true", help="slim .pt only: store fp16 weights")
    p.add_argument("--alpha", type=float, default=1.0, help="ONNX only: style strength in [0, 1]")
    p.add_argument(
        "--tiled",
        action="store_true",
        help="ONNX for any size: --out is a folder of encoder.onnx, decoder.onnx, stylize.json",
    )
    add_tone_flag(p)
    args = p.parse_args(argv)
    out = Path(args.out)
    try:
        kind = {".pt": "slim", ".pth": "slim", ".onnx": "onnx"}.get(out.suffix.lower())
        if args.tiled:
            if out.suffix:
                raise UsageError(f"--tiled writes a folder: --out {out.with_suffix('')}")
            kind = "tiled"
        if kind is None:
            raise UsageError(
                f"--out {out}: end it in .pt (slim PyTorch file) or .onnx, or add --tiled"
            )
        if kind in ("onnx", "tiled") and args.half:
            raise UsageError("--half is for slim .pt files; the ONNX export is fp32")
        if not 0 <= args.alpha <= 1:
            raise UsageError(f"--alpha must be between 0 and 1, got {args.alpha}")
        if out.resolve() == Path(args.checkpoint).resolve():
            raise UsageError(f"--out {out} is the checkpoint itself: choose another file")
        model, cfg, own = load_for_inference(args.checkpoint, "cpu", None, args.tone)  # fp32
        proto = prototype_arg(args.prototype, model) if args.prototype else own
        if kind in ("onnx", "tiled") and proto is None:
            raise UsageError(
                f"ONNX needs a prototype and {args.checkpoint} holds none: {NO_PROTOTYPE_FIX}"
            )
    except (OSError, ValueError, CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if kind == "slim":
        export_slim(model, cfg, out, proto, args.half)
        note = "" if proto is not None else " (no prototype: use it with --style images)"
        print(f"{out}: {_size_mb(out):.1f} MB{note}")
    elif kind == "tiled":
        export_onnx_tiled(model, proto, out, args.alpha)
        net = PhotoToAnime(model, proto, args.alpha).eval()
        s, p_ = cfg.image_size, model.patch_size
        size = (2 * s + p_ // 2, 3 * s - p_ // 2)  # windows, tiles, and padding inside
        x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            diff = float((OnnxStylizer(out)(x) - net(x)).abs().max())
        mb = sum(_size_mb(f) for f in out.glob("*.onnx"))
        print(
            f"{out}/: {mb:.1f} MB; onnxruntime (windows) vs PyTorch at {size[0]}x{size[1]}: "
            f"max |diff| {diff:.2e} (pixels in [0, 1])"
        )
    else:
        export_onnx(model, proto, out, args.alpha)
        net = PhotoToAnime(model, proto, args.alpha).eval()
        s, half_patch = cfg.image_size, model.patch_size // 2
        sizes = [(s, s), (s + 2 * half_patch, s - half_patch)]  # the second one is padded inside
        worst = max(check_onnx(out, net, sizes).values())
        shown = ", ".join(f"{h}x{w}" for h, w in sizes)
        check = f"onnxruntime vs PyTorch at {shown}: max |diff| {worst:.2e} (pixels in [0, 1])"
        print(f"{out}: {_size_mb(out):.1f} MB; {check}")
    print(f"{args.checkpoint}: {_size_mb(args.checkpoint):.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
