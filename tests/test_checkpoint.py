import os
import pickle

import pytest
import torch
from torch import nn

from vitst_utils import checkpoint as C
from vitst_utils import losses as L
from vitst_utils.model import build_model
from vitst_utils.presets import get_preset


def _same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _with_vgg(state: dict, vgg: nn.Module, prefix: str = "") -> dict:
    """A state dict as the seed and vitst before issue 19 wrote it: the VGG19 inside the
    generator, under `vgg_loss_net.` (`module.vgg_loss_net.` for the seed's DataParallel)."""
    return {**state, **{f"{prefix}vgg_loss_net.{k}": v for k, v in vgg.state_dict().items()}}


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
    """The seed saved nn.DataParallel(model).state_dict(): keys prefixed `module.`, its VGG19
    (`module.vgg_loss_net.*`) inside: it loads as the seed's generator, the VGG19 split off."""
    torch.manual_seed(0)
    seed_cfg = get_preset("seed", pretrained=False)
    seed_model, vgg = build_model(seed_cfg), L.loss_net(seed_cfg.replace(seed=3))
    state = _with_vgg(nn.DataParallel(seed_model).state_dict(), vgg, "module.")
    assert all(k.startswith("module.") for k in state)
    torch.save(state, tmp_path / "vit_style_transfer_epoch_5.pth")
    model, cfg = C.load_model(tmp_path / "vit_style_transfer_epoch_5.pth")
    assert cfg.preset == "seed" and cfg.vit_name == "vit_base_patch16_224"
    assert _same_weights(model, seed_model)
    ckpt = C.load_checkpoint(tmp_path / "vit_style_transfer_epoch_5.pth")
    weights, carried = C.split_loss_net(ckpt["model"])
    assert weights.keys() == seed_model.state_dict().keys()
    assert carried.keys() == vgg.state_dict().keys()
    assert all(torch.equal(carried[k], v) for k, v in vgg.state_dict().items())


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


def test_a_checkpoint_and_a_slim_file_hold_no_vgg19(smoke_cfg, tmp_path):
    """The generator alone: a checkpoint is the VGG19's 80 MB (here its 20M parameters)
    smaller than the same one written before issue 19, and loads the same model."""
    torch.manual_seed(0)
    model = build_model(smoke_cfg)
    path = C.save_checkpoint(tmp_path / "ck.pt", model, smoke_cfg, epoch=1)
    raw = torch.load(path, weights_only=True)
    assert raw["model"].keys() == model.state_dict().keys()
    assert not any("vgg" in k for k in raw["model"])
    vgg = L.loss_net(smoke_cfg)
    vgg_bytes = sum(t.numel() * t.element_size() for t in vgg.state_dict().values())
    assert vgg_bytes > 80e6
    old = tmp_path / "old.pt"
    torch.save({**raw, "model": _with_vgg(raw["model"], vgg)}, old)
    assert old.stat().st_size - path.stat().st_size > 0.99 * vgg_bytes
    assert path.stat().st_size < 0.05 * old.stat().st_size
    for file in (path, old):
        loaded, cfg = C.load_model(file)
        assert cfg == smoke_cfg and _same_weights(loaded, model)
    slim = {"format": C.SLIM_FORMAT, "model": raw["model"], "config": smoke_cfg.to_dict()}
    torch.save(slim, tmp_path / "slim.pt")
    assert _same_weights(C.load_model(tmp_path / "slim.pt")[0], model)


def test_an_older_checkpoint_gives_back_the_vgg19_it_carries(smoke_cfg, tmp_path):
    torch.manual_seed(0)
    model, vgg = build_model(smoke_cfg), L.loss_net(smoke_cfg.replace(seed=5))
    raw = {"format": C.FORMAT, "model": _with_vgg(model.state_dict(), vgg), "epoch": 1}
    torch.save({**raw, "config": smoke_cfg.to_dict()}, tmp_path / "old.pt")
    weights, carried = C.split_loss_net(C.load_checkpoint(tmp_path / "old.pt")["model"])
    assert weights.keys() == model.state_dict().keys()
    net = L.loss_net(smoke_cfg, carried)  # what resume and evaluate compare in
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), vgg.parameters(), strict=True))
    assert C.split_loss_net(model.state_dict())[1] is None


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
