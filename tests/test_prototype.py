"""Prototypes (prototype.py): built as the blend of their images, saved small, read back,
refused for another encoder."""

import pytest
import torch

from vitst_utils import checkpoint as C
from vitst_utils import prototype as P
from vitst_utils import stylize as S
from vitst_utils.model import build_model
from vitst_utils.presets import get_preset


def test_prototype_round_trip_and_encoder_check(model, styles, prototype, tmp_path, sample_root):
    assert prototype["count"] == len(styles) and prototype["mean"].shape == (64,)
    # the prototype is the equal-weight blend of its images' statistics
    blend = S.style_target(model, styles)
    assert torch.allclose(prototype["mean"], blend.mean.flatten(), atol=1e-5)
    assert torch.allclose(prototype["std"], blend.std.flatten(), atol=1e-5)
    path = P.save_prototype(prototype, tmp_path / "anime_proto.pt")
    assert path.stat().st_size < 20_000  # small: two vectors and some labels
    back = P.load_prototype(path, model)
    assert torch.equal(back["mean"], prototype["mean"]) and back["count"] == prototype["count"]
    other = build_model(get_preset("smoke", vit_layers=[0, 1]), use_weights=False)
    with pytest.raises(P.PrototypeError, match="another encoder"):
        P.load_prototype(path, other)
    with pytest.raises(C.CheckpointError, match="style prototype, not a checkpoint.*prototype"):
        C.load_checkpoint(path)
