"""The CPU inference paths: each one's pictures against fp32 within its stated tolerance, bf16
refused where the CPU has no fast bf16, the default path, and the CLI flag. A tiny `demo`
network with lively random weights (edges and colour, so differences show) read as pixels: the
paths change the network's precision; a cel model's palette snap turns that into flipped
fills, so its default is fp32 (`test_a_cel_model_defaults_to_fp32`)."""

import os

import pytest
import torch
from torch import nn

from vitst_utils import cpu_paths as P
from vitst_utils import inference
from vitst_utils import stylize as S
from vitst_utils.benchmark_stylize import (
    anime_target,
    format_cpu_paths,
    lively_weights,
    photo,
    pick_cpu_path,
    psnr,
)
from vitst_utils.model import build_model
from vitst_utils.presets import get_preset

# Worst PSNR (dB) against fp32 each path must keep on these pictures; bf16 rounds activations
# to 8 bits of mantissa, int8 the encoder's linear inputs and weights to 256 levels.
TOLERANCE_DB = {"bf16": 35.0, "int8": 35.0, "int8-bf16": 33.0, "onnxruntime": 70.0, "compile": 70.0}
HAS_BF16 = P.cpu_bf16_support() is not None


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = build_model(get_preset("demo", output_space="pixels"), use_weights=False).eval()
    return S.prepare_for_inference(lively_weights(m, photo(64, 64), anime_target(m, n=2)))


def _transfer(model, x, target):
    return S.transfer(model, x, target.mean, target.std, cel=target.cel)


@pytest.fixture(scope="module")
def pictures(model):
    """fp32 references: a photo within the direct budget and one through windows."""
    target = anime_target(model, n=2)
    photos = [photo(85, 64, seed=1), photo(150, 112, seed=2)]
    with torch.no_grad():
        refs = [_transfer(model, x, target) for x in photos]
    return target, photos, refs


def _through(model, name, pictures):
    target, photos, _ = pictures
    S.use_inference_path(model, name)
    try:
        with torch.no_grad():
            return [_transfer(model, x, target) for x in photos]
    finally:
        S.use_inference_path(model, None)


def _check(model, name, pictures):
    got = _through(model, name, pictures)
    worst = min(psnr(a, b) for a, b in zip(got, pictures[2], strict=True))
    assert worst >= TOLERANCE_DB[name], (name, worst)
    assert all(
        a.shape == b.shape and a.dtype == torch.float32
        for a, b in zip(got, pictures[2], strict=True)
    )
    return worst


def test_fp32_path_is_the_plain_model(model, pictures):
    got = _through(model, "fp32", pictures)
    assert all(torch.equal(a, b) for a, b in zip(got, pictures[2], strict=True))


def test_int8_matches_fp32_within_its_tolerance(model, pictures):
    """(onnxruntime: the same graphs as `export --tiled`, checked in test_export.)"""
    worst = _check(model, "int8", pictures)
    assert worst < 200  # not the fp32 model itself
    q = P.inference_path(model, "int8").keep[0]
    kinds = {type(m).__name__ for m in q.vit_encoder.modules()}
    assert "Linear" in kinds and not any(
        type(m) is nn.Linear for m in q.vit_encoder.modules()
    )  # every linear layer quantised, in a copy ...
    assert any(type(m) is nn.Linear for m in model.vit_encoder.modules())  # ... not here
    assert q.decoder is model.decoder


@pytest.mark.skipif(not HAS_BF16, reason="this CPU has no fast bf16")
@pytest.mark.parametrize("name", ["bf16", "int8-bf16"])
def test_bf16_paths_match_fp32_within_their_tolerance(model, pictures, name):
    _check(model, name, pictures)


@pytest.mark.skipif(not os.environ.get("VITST_SLOW_TESTS"), reason="inductor: minutes on 2 cores")
def test_compile_path_matches_fp32(model, pictures):
    _check(model, "compile", pictures)


def test_bf16_is_refused_without_fast_bf16(model, monkeypatch):
    monkeypatch.setattr(P, "cpu_bf16_support", lambda: None)
    for name in ("bf16", "int8-bf16"):
        with pytest.raises(ValueError, match="needs a CPU with fast bf16.*use fp32 or int8"):
            P.inference_path(model, name)
    assert P.default_cpu_path() == P.DEFAULT_CPU_PATH_NO_BF16
    assert P.inference_path(model, "auto").name == P.DEFAULT_CPU_PATH_NO_BF16
    monkeypatch.setattr(P, "cpu_bf16_support", lambda: "AMX-BF16")
    assert P.default_cpu_path() == P.DEFAULT_CPU_PATH
    with pytest.raises(ValueError, match="unknown inference path 'fp8'"):
        P.inference_path(model, "fp8")


def test_a_cel_model_defaults_to_fp32(monkeypatch):
    """bf16 moves a cel model's colours across palette borders: a few % of the pixels take
    the neighbouring fill, under the 40 dB a default keeps; so "auto" is fp32 for it."""
    torch.manual_seed(0)
    cel = build_model(get_preset("demo"), use_weights=False).eval()
    assert cel.is_cel
    monkeypatch.setattr(P, "cpu_bf16_support", lambda: "AMX-BF16")
    assert P.default_cpu_path() == P.DEFAULT_CPU_PATH == "bf16"
    assert P.default_cpu_path(cel) == P.inference_path(cel, "auto").name == "fp32"
    if HAS_BF16:  # the reason, where it can be measured
        S.prepare_for_inference(lively_weights(cel, photo(64, 64), anime_target(cel, n=2)))
        pictures = (anime_target(cel, n=2), [photo(150, 112, seed=2)], None)
        with torch.no_grad():
            ref = [_transfer(cel, x, pictures[0]) for x in pictures[1]]
        assert psnr(_through(cel, "bf16", pictures)[0], ref[0]) < 40


def test_the_default_is_the_fastest_invisible_path():
    rows = [
        {"path": "fp32", "s_224": 1.0, "s_big": 10.0, "psnr_db": float("inf")},
        {"path": "bf16", "s_224": 0.5, "s_big": 5.0, "psnr_db": 45.0},
        {"path": "int8", "s_224": 0.4, "s_big": 4.0, "psnr_db": 31.0},  # fast, but visible
        {"path": "compile", "refused": "no compiler"},
    ]
    assert pick_cpu_path(rows) == "bf16"
    assert pick_cpu_path(rows, min_psnr=30) == "int8"
    assert pick_cpu_path(rows[:1] + rows[2:]) == "fp32"
    # the table says the model's own default (a cel model's is fp32), not the pick
    table = format_cpu_paths([{**r, "setup_s": 0.0} for r in rows[:3]], default="fp32")
    assert "fastest with PSNR >= 40 dB: bf16; the default here is fp32" in table


def test_load_for_inference_takes_the_default_path_and_the_cli_flag(smoke_cfg, tmp_path):
    from vitst_utils import checkpoint as C

    path = C.save_checkpoint(tmp_path / "m.pt", build_model(smoke_cfg), smoke_cfg, 1)
    model, _, _ = S.load_for_inference(path)
    assert model.inference_path.name == P.default_cpu_path()
    model, _, _ = S.load_for_inference(path, cpu_path="fp32")
    assert model.inference_path.name == "fp32"
    model, _, _ = S.load_for_inference(path, cpu_path=None)
    assert model.inference_path is None
    args = inference.build_parser().parse_args(["--checkpoint", "c", "--cpu-path", "int8"])
    assert args.cpu_path == "int8"
    with pytest.raises(SystemExit):
        inference.build_parser().parse_args(["--checkpoint", "c", "--cpu-path", "fp8"])
