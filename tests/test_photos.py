"""Photos as files (photos.py): many (content, style) pairs at once, and every content in every
style; whole photos in batches are the CLI's (test_inference)."""

import pytest
import torch
from PIL import Image

from vitst_utils.model import build_model
from vitst_utils.photos import stylize_matrix, stylize_pairs
from vitst_utils.presets import get_preset
from vitst_utils.sample_data import make_sample_dataset


@pytest.fixture(scope="module")
def clean_root(tmp_path_factory):
    return make_sample_dataset(
        tmp_path_factory.mktemp("clean"), {"train": 3, "val": 2, "test": 2}, size=64
    )


@pytest.fixture(scope="module")
def smoke_model():
    torch.manual_seed(0)
    cfg = get_preset("smoke")
    return build_model(cfg, use_weights=False).eval(), cfg


def test_stylize_pairs_and_matrix(smoke_model, clean_root, tmp_path):
    model, cfg = smoke_model
    c = sorted((clean_root / "CelebA" / "test").iterdir())
    s = sorted((clean_root / "AnimeFace" / "test").iterdir())
    out = stylize_pairs(model, [(c[0], s[0]), (c[1], s[1]), (c[0], s[0])], tmp_path, batch_size=2)
    size = cfg.image_size
    assert out.content.shape == out.style.shape == out.generated.shape == (3, 3, size, size)
    names = [p.name for p in out.paths]
    assert names[0] == f"{c[0].stem}_x_{s[0].stem}.png" and names[2].endswith("_2.png")
    assert all(Image.open(p).size == (size, size) for p in out.paths)
    assert stylize_pairs(model, [(c[0], s[0])]).paths == []
    with pytest.raises(ValueError):
        stylize_pairs(model, [])
    grid = stylize_matrix(model, out.content[:2], out.style)
    assert grid.shape == (2, 3, 3, size, size)
    torch.testing.assert_close(grid[1, 1], out.generated[1], atol=1e-5, rtol=1e-4)
