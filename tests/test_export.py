"""Sharing a model: the slim file (loads everywhere a checkpoint does, same pictures, several
times smaller) and ONNX (same pictures through onnxruntime at any size)."""

import re

import pytest
import torch
from PIL import Image

from vitst_utils import checkpoint as C
from vitst_utils import export as E
from vitst_utils import prototype as P
from vitst_utils import stylize as S
from vitst_utils.function import normalize, to_pixels
from vitst_utils.model import build_model
from vitst_utils.presets import get_preset
from vitst_utils.stylize import stylize_batch


@pytest.fixture(scope="module")
def trained(sample_root, tmp_path_factory):
    """A smoke 'training checkpoint' (the generator's weights, optimizer state, prototype)."""
    cfg = get_preset("smoke", data_root=str(sample_root))
    torch.manual_seed(0)
    model = build_model(cfg)
    proto = P.build_prototype(model, sample_root / "AnimeFace" / "test")
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params)
    for p in params:
        p.grad = torch.zeros_like(p)
    opt.step()  # the AdamW moments a real checkpoint carries
    own = {k: proto[k] for k in ("mean", "std", "count")}
    path = tmp_path_factory.mktemp("ck") / "epoch_002.pt"
    C.save_checkpoint(path, model, cfg, epoch=2, optimizer=opt.state_dict(), prototype=own)
    return path, proto


def _pictures(model, proto) -> torch.Tensor:
    target = S.target_from_prototype(proto)
    photo = Image.new("RGB", (90, 70), (200, 150, 120))
    return S.stylize_image(model, photo, target, size="original")[1]


def test_slim_export_is_small_and_gives_the_same_pictures(trained, tmp_path, capsys):
    path, proto = trained
    model, _, own = S.load_for_inference(path, cpu_path="fp32")
    expected = _pictures(model, own)
    assert E.main(["--checkpoint", str(path), "--out", str(tmp_path / "slim.pt")]) == 0
    assert E.main(["--checkpoint", str(path), "--out", str(tmp_path / "half.pt"), "--half"]) == 0
    assert "MB" in capsys.readouterr().out
    raw = torch.load(tmp_path / "half.pt", weights_only=True)
    assert raw["format"] == "vitst-slim" and raw["dtype"] == "float16"
    assert set(raw) == {"format", "model", "config", "prototype", "dtype"}
    assert not any(k.startswith("vgg_loss_net.") for k in raw["model"])
    assert all(v.dtype == torch.float16 for v in raw["model"].values() if v.is_floating_point())
    full = path.stat().st_size
    slim, half = (tmp_path / "slim.pt").stat().st_size, (tmp_path / "half.pt").stat().st_size
    assert full > 2.5 * slim and slim > 1.8 * half, (full, slim, half)  # AdamW's two moments

    for name, atol in (("slim.pt", 0.0), ("half.pt", 0.02)):
        loaded, cfg = C.load_model(tmp_path / name)  # the same loader as training checkpoints
        assert loaded.state_dict().keys() == raw["model"].keys()
        assert next(loaded.parameters()).dtype == torch.float32
        _, _, stored = S.load_for_inference(tmp_path / name)
        assert torch.equal(stored["mean"], proto["mean"])
        got = _pictures(loaded, stored)
        assert (got - expected).abs().max() <= atol, name


def test_onnx_export_matches_pytorch_at_any_size(trained, tmp_path, capsys):
    """The CLI exports, then runs onnxruntime against PyTorch at 64 x 64 and 80 x 56 (not a
    patch multiple: padded inside the graph) and prints the largest difference."""
    path, _ = trained
    out = tmp_path / "anime.onnx"
    assert E.main(["--checkpoint", str(path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    match = re.search(r"at 64x64, 80x56: max \|diff\| (\S+) ", printed)
    assert match and float(match.group(1)) < 1e-4, printed
    assert out.is_file() and not list(tmp_path.glob("*.data"))  # one file to share
    # the exported network is the CLI's own: the same picture as stylize_batch
    model, _, own = S.load_for_inference(path, cpu_path="fp32")
    photo = torch.rand(1, 3, 48, 80, generator=torch.Generator().manual_seed(1))
    target = S.target_from_prototype(own)
    with torch.no_grad():
        via_cli = to_pixels(stylize_batch(model, normalize(photo), target)).clamp(0, 1)
        assert torch.allclose(E.PhotoToAnime(model, own)(photo), via_cli, atol=1e-5)


def test_tiled_onnx_export_stylises_any_size_like_pytorch(trained, tmp_path, capsys):
    """--tiled: encoder and decoder graphs plus the tiling; OnnxStylizer (onnxruntime, no model
    code) gives PyTorch's windowed picture on a photo of several windows."""
    path, _ = trained
    out = tmp_path / "anime_onnx"
    assert E.main(["--checkpoint", str(path), "--out", str(out), "--tiled"]) == 0
    printed = capsys.readouterr().out
    match = re.search(
        r"onnxruntime \(windows\) vs PyTorch at 136x184: max \|diff\| (\S+) ", printed
    )
    assert match and float(match.group(1)) < 1e-4, printed
    assert sorted(p.name for p in out.iterdir()) == ["decoder.onnx", "encoder.onnx", "stylize.json"]
    runner = E.OnnxStylizer(out)
    assert runner.meta["window"] == 64 and runner.meta["halo"] is None  # smoke: InstanceNorm
    photo = torch.rand(1, 3, 150, 100, generator=torch.Generator().manual_seed(2))
    got = runner(photo)
    assert got.shape == photo.shape and 0 <= got.min() and got.max() <= 1
    model, _, own = S.load_for_inference(path, cpu_path="fp32")
    with torch.no_grad():
        assert (E.PhotoToAnime(model, own)(photo) - got).abs().max() < 1e-4


def test_export_errors(trained, tmp_path, sample_root, capsys):
    path, _ = trained
    cfg = get_preset("smoke", data_root=str(sample_root))
    bare = C.save_checkpoint(tmp_path / "old.pt", build_model(cfg), cfg, 1)
    cases = [
        (["--checkpoint", str(bare), "--out", str(tmp_path / "a.onnx")], "holds none"),
        (["--checkpoint", str(path), "--out", str(tmp_path / "a.zip")], "end it in .pt"),
        (["--checkpoint", str(path), "--out", str(tmp_path / "a.onnx"), "--half"], "--half"),
        (["--checkpoint", str(path), "--out", str(tmp_path / "a.onnx"), "--tiled"], "a folder"),
        (["--checkpoint", str(tmp_path / "nope.pt"), "--out", "x.pt"], "No checkpoint file"),
    ]
    for args, message in cases:
        assert E.main(args) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err
