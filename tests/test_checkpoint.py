import os
import pickle

import pytest
import torch
from torch import nn

from vitst_utils import checkpoint as C
from vitst_utils.config import get_preset
from vitst_utils.model import build_model


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_round_trip_from_bare_and_dataparallel_models(smoke_cfg, tmp_path):
    torch.manual_seed(0)
    model = build_model(smoke_cfg)
    for wrapped, name in ((model, "bare.pt"), (nn.DataParallel(model), "dp.pt")):
        path = C.save_checkpoint(tmp_path / name, wrapped, smoke_cfg, epoch=3, extra=[1, 2])
        raw = torch.load(path, weights_only=True)
        assert raw["epoch"] == 3 and raw["config"] == smoke_cfg.to_dict() and raw["extra"] == [1, 2]
        assert not any(k.startswith("module.") for k in raw["model"])
        loaded, cfg = C.load_model(path)
        assert cfg == smoke_cfg and not loaded.training
        assert _same_weights(loaded, model)
    assert not list(tmp_path.glob(".*tmp*"))  # no temp files left behind


def test_seed_style_dataparallel_state_dict_loads_as_seed(tmp_path):
    """The seed saved nn.DataParallel(model).state_dict(): keys prefixed `module.`."""
    torch.manual_seed(0)
    seed_model = build_model(get_preset("seed", pretrained=False))
    state = nn.DataParallel(seed_model).state_dict()
    assert all(k.startswith("module.") for k in state)
    torch.save(state, tmp_path / "vit_style_transfer_epoch_5.pth")
    model, cfg = C.load_model(tmp_path / "vit_style_transfer_epoch_5.pth")
    assert cfg.preset == "seed" and cfg.vit_name == "vit_base_patch16_224"
    assert _same_weights(model, seed_model)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_code_carrying_file_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"model": Evil()}, f)
    with pytest.raises(C.CheckpointError, match="Refused to load .*evil.pt.*weights_only=True"):
        C.load_model(path)
    assert not marker.exists()


def test_mismatch_names_missing_and_unexpected_keys(smoke_cfg, tmp_path):
    model = build_model(smoke_cfg)
    state = model.state_dict()
    state.pop("decoder.0.weight")
    state["decoder.99.weight"] = torch.zeros(1)
    with pytest.raises(
        C.CheckpointError,
        match=r"Missing keys: \[decoder.0.weight\].*"
        r"Unexpected keys: \[decoder.99.weight\]",
    ):
        C.load_state(model, state, "x.pt")
    other = build_model(smoke_cfg.replace(decoder_channels=(8, 8, 8, 8)))
    with pytest.raises(C.CheckpointError, match="(?s)does not fit the model.*size mismatch"):
        C.load_state(other, model.state_dict(), "y.pt")


def test_unreadable_files_get_clear_errors(tmp_path):
    (tmp_path / "trunc.pt").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(C.CheckpointError, match="trunc.pt is not a readable checkpoint"):
        C.load_checkpoint(tmp_path / "trunc.pt")
    with pytest.raises(C.CheckpointError, match="No checkpoint file"):
        C.load_checkpoint(tmp_path / "missing.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(C.CheckpointError, match="neither a vitst checkpoint"):
        C.load_checkpoint(tmp_path / "list.pt")


@pytest.mark.parametrize(
    ("name", "data", "looks_like"),
    [
        ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF", "a JPEG image"),
        ("anime.png", b"\x89PNG\r\n\x1a\n", "a PNG image"),
        ("notes.pt", b"epoch 5 was good\n", "a text file"),
        ("model.onnx", b"\x08\x07\x12\x07pytorch", "an ONNX model"),
        ("empty.pt", b"", "the file is empty"),
    ],
)
def test_a_file_that_is_not_a_checkpoint_says_so(tmp_path, name, data, looks_like):
    """Not "holds Python objects beyond tensors": the file is named and said not to be one."""
    (tmp_path / name).write_bytes(data)
    with pytest.raises(C.CheckpointError, match=f"{name} is not a checkpoint.*{looks_like}"):
        C.load_checkpoint(tmp_path / name)


def test_load_model_with_or_without_the_loss_net(smoke_cfg, tmp_path):
    torch.manual_seed(0)
    model = build_model(smoke_cfg)
    path = C.save_checkpoint(tmp_path / "ck.pt", model, smoke_cfg, epoch=1)
    with_vgg, _ = C.load_model(path)  # default: as the file has it
    without, _ = C.load_model(path, loss_net=False)
    assert with_vgg.vgg_loss_net is not None and without.vgg_loss_net is None
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("vgg_loss_net.")}
    got = without.state_dict()
    assert got.keys() == state.keys() and all(torch.equal(got[k], state[k]) for k in state)
    slim = {"format": C.SLIM_FORMAT, "model": state, "config": smoke_cfg.to_dict()}
    torch.save(slim, tmp_path / "slim.pt")
    assert C.load_model(tmp_path / "slim.pt")[0].vgg_loss_net is None
    with pytest.raises(C.CheckpointError, match="slim.pt has no VGG19 loss-net weights"):
        C.load_model(tmp_path / "slim.pt", loss_net=True)


def test_interrupted_write_keeps_the_old_file(smoke_cfg, tmp_path, monkeypatch):
    model = build_model(smoke_cfg)
    path = C.save_checkpoint(tmp_path / "ck.pt", model, smoke_cfg, epoch=1)
    before = path.read_bytes()

    def boom(*a, **k):
        raise KeyboardInterrupt  # killed mid-write

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        C.save_checkpoint(path, model, smoke_cfg, epoch=2)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".*tmp*"))
