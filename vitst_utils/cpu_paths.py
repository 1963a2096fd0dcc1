"""How the encoder and decoder run on a CPU: fp32 eager, bf16 autocast, dynamic int8, ONNX
Runtime, torch.compile; the fastest whose pictures match fp32 is the default.

    path = inference_path(model, "auto")      # the default for this CPU (DEFAULT_CPU_PATH)
    out = stylize_tiled(model, photos, mean, std, encode=path.encode, decode=path.decode)

The decoder half is the network (`model.decode_raw`); the model's `render` turns its stitched
output into the picture in fp32 after any path (`tiling.stylize_tiled`).

| path | encoder | decoder |
| --- | --- | --- |
| `fp32` | fp32 eager | fp32 eager, channels_last |
| `bf16` | bf16 autocast | bf16 autocast, channels_last |
| `int8` | dynamic int8 `nn.Linear` (`torch.ao` `quantize_dynamic`), fp32 rest | fp32 |
| `int8-bf16` | dynamic int8 `nn.Linear` | bf16 autocast |
| `compile` | `torch.compile` (inductor), fp32 | `torch.compile`, fp32 |
| `onnxruntime` | ONNX Runtime (CPU provider), fp32 | ONNX Runtime, fp32 |

bf16 runs only on CPUs with fast bf16 (AVX512-BF16 or AMX: Intel Cooper Lake / Sapphire Rapids
and later, AMD Zen 4 and later); elsewhere it is emulated and slower, so it is refused. Every
path returns fp32 maps, so the tiling and AdaIN statistics stay in fp32. The benchmark
(`python -m vitst_utils.benchmark --cpu-paths`) times them side by side and reports each one's
PSNR against fp32. On CUDA, stylising keeps fp16 autocast (`cuda-fp16`).
"""

from __future__ import annotations

import contextlib
import copy
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

CPU_PATHS = ("fp32", "bf16", "int8", "int8-bf16", "compile", "onnxruntime")
# The default where fast bf16 exists, else the best without it: chosen from the benchmark's CPU
# table (README "Performance"): the fastest path whose PSNR against fp32 stays >= 40 dB.
DEFAULT_CPU_PATH = "bf16"
DEFAULT_CPU_PATH_NO_BF16 = "fp32"


@dataclass
class InferencePath:
    """Callables for the two halves of stylising: `encode` (normalised photos -> fp32 token
    maps) and `decode` (fp32 maps -> the fp32 decoder output, `model.decode_raw`, which the
    model's `render` turns into the picture); `name` says which path."""

    name: str
    encode: Callable[[torch.Tensor], torch.Tensor]
    decode: Callable[[torch.Tensor], torch.Tensor]
    keep: list[Any] = field(default_factory=list, repr=False)  # what the callables hold on to


def cpu_bf16_support() -> str | None:
    """The CPU feature that makes bf16 fast here ("AMX-BF16", "AVX512-BF16"), or None."""
    cpu = getattr(torch, "cpu", None)
    if getattr(cpu, "_is_amx_tile_supported", lambda: False)():
        return "AMX-BF16"
    if getattr(cpu, "_is_avx512_bf16_supported", lambda: False)():
        return "AVX512-BF16"
    flags = _cpu_flags()
    if "amx_bf16" in flags:
        return "AMX-BF16"
    if "avx512_bf16" in flags:
        return "AVX512-BF16"
    return None


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def default_cpu_path(model: nn.Module | None = None) -> str:
    """DEFAULT_CPU_PATH where the CPU has fast bf16, else DEFAULT_CPU_PATH_NO_BF16. A cel model
    (`output_space="cel"`) always takes DEFAULT_CPU_PATH_NO_BF16: its palette snap turns
    bf16's rounding into fills that flip to a neighbouring palette colour (31-35 dB against
    fp32 with lively random weights, 3-6 % of the pixels), under the 40 dB a default keeps."""
    if getattr(model, "is_cel", False):
        return DEFAULT_CPU_PATH_NO_BF16
    if "bf16" in DEFAULT_CPU_PATH and cpu_bf16_support() is None:
        return DEFAULT_CPU_PATH_NO_BF16
    return DEFAULT_CPU_PATH


def _check_bf16(name: str) -> None:
    if cpu_bf16_support() is None:
        raise ValueError(
            f"inference path {name!r} needs a CPU with fast bf16 (AVX512-BF16 or AMX); this "
            f"one has neither (torch capability {torch.backends.cpu.get_cpu_capability()}), "
            "where bf16 is emulated and slower than fp32: use fp32 or int8"
        )


def _autocast_bf16(fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable:
    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return fn(x).float()

    return run


def _fp32(fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable:
    return lambda x: fn(x).float()


def _int8_encoder(model: nn.Module) -> nn.Module:
    """A copy of the model whose ViT has dynamic int8 `nn.Linear` layers (weights int8 per
    tensor, activations quantised per batch; torch.ao's `quantize_dynamic`)."""
    from torch.ao.quantization import quantize_dynamic

    q = copy.copy(model)  # shallow: shares the decoder, replaces the encoder only
    q._modules = dict(model._modules)
    with warnings.catch_warnings():  # torch.ao.quantization says it will move to torchao
        warnings.simplefilter("ignore")
        q._modules["vit_encoder"] = quantize_dynamic(
            copy.deepcopy(model.vit_encoder), {nn.Linear}, dtype=torch.qint8
        )
    return q


def inference_path(model: nn.Module, name: str = "auto") -> InferencePath:
    """The encode/decode callables of path `name` (CPU_PATHS, "auto" = `default_cpu_path(model)`,
    "cuda-fp16" = fp16 autocast on CUDA) for `model` in eval mode. bf16 paths are refused on
    CPUs without fast bf16 (ValueError)."""
    if name == "auto":
        name = default_cpu_path(model)
    model.eval().requires_grad_(False)
    model.decoder.to(memory_format=torch.channels_last)
    if name == "cuda-fp16":

        def cuda(fn: Callable) -> Callable:
            def run(x: torch.Tensor) -> torch.Tensor:
                with torch.autocast("cuda", dtype=torch.float16):
                    return fn(x).float()

            return run

        return InferencePath(name, cuda(model.encode), cuda(model.decode_raw))
    if name not in CPU_PATHS:
        raise ValueError(f"unknown inference path {name!r}: use one of {', '.join(CPU_PATHS)}")
    if "bf16" in name:
        _check_bf16(name)
    if name == "fp32":
        return InferencePath(name, _fp32(model.encode), _fp32(model.decode_raw))
    if name == "bf16":
        return InferencePath(name, _autocast_bf16(model.encode), _autocast_bf16(model.decode_raw))
    if name.startswith("int8"):
        q = _int8_encoder(model)
        dec = _autocast_bf16(model.decode_raw) if name == "int8-bf16" else _fp32(model.decode_raw)
        return InferencePath(name, _fp32(q.encode), dec, keep=[q])
    if name == "compile":
        enc = torch.compile(model.encode, dynamic=False)
        dec = torch.compile(model.decode_raw, dynamic=True)
        return InferencePath(name, _fp32(enc), _fp32(dec))
    return _onnx_path(model)


class _Decoder(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.model.decode_raw(feat)


class _Encoder(_Decoder):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.encode(x)


def export_pieces(model: nn.Module, folder: str | Path) -> tuple[Path, Path]:
    """The encoder (normalised photos, batch and size dynamic, patch multiples -> fp32 token
    maps) and the decoder (maps -> `decode_raw`'s output) as `folder/encoder.onnx` and
    `folder/decoder.onnx` (torch.onnx, dynamo exporter)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    p, s = model.patch_size, model.image_size
    photo = torch.zeros(2, 3, s, s + p)  # batch 2: a sample dim of 1 would be specialised
    with torch.no_grad():
        feat = model.encode(photo)
    paths = []
    for name, net, x in (("encoder", _Encoder(model), photo), ("decoder", _Decoder(model), feat)):
        unit = p if name == "encoder" else 1  # the encoder takes patch multiples
        dims = {
            0: torch.export.Dim(f"{name}_batch", min=1, max=1024),
            2: unit * torch.export.Dim(f"{name}_h", min=2, max=8192 // unit),
            3: unit * torch.export.Dim(f"{name}_w", min=2, max=8192 // unit),
        }
        path = folder / f"{name}.onnx"
        n_bytes = sum(t.numel() * t.element_size() for t in net.state_dict().values())
        with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stdout(None):
            warnings.simplefilter("ignore")
            torch.onnx.export(
                net.eval(),
                (x,),
                str(path),
                dynamo=True,
                input_names=["x"],
                output_names=["y"],
                dynamic_shapes=(dims,),
                external_data=n_bytes > 1.5 * 2**30,  # one file each, under ONNX's 2 GB limit
                verbose=False,
            )
        paths.append(path)
    return paths[0], paths[1]


def onnx_session(path: str | Path, threads: int | None = None) -> Callable:
    """An ONNX Runtime CPU session for a one-input ("x"), one-output ("y") graph, as a function
    of fp32 tensors."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    session = ort.InferenceSession(str(path), options, ["CPUExecutionProvider"])

    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(["y"], {"x": x.float().contiguous().numpy()})[0])

    run.session = session  # type: ignore[attr-defined]
    return run


def _onnx_path(model: nn.Module, folder: str | Path | None = None) -> InferencePath:
    """Encoder and decoder exported to ONNX (`export_pieces`) and run by ONNX Runtime's CPU
    provider with torch's thread count."""
    folder = Path(folder or tempfile.mkdtemp(prefix="vitst-onnx-"))
    enc, dec = (onnx_session(p) for p in export_pieces(model, folder))
    return InferencePath("onnxruntime", enc, dec)
