"""The weight-free metrics (vitst_utils.metrics): none rewards a blank or blurred picture."""

import numpy as np
import pytest
import torch

from vitst_utils import metrics as M
from vitst_utils.domain import square_resize
from vitst_utils.function import gaussian_blur
from vitst_utils.heldout_faces import draw_anime_face as draw_heldout_anime
from vitst_utils.sample_data import draw_anime_face, draw_photo_face


def _batch(draw, n: int, seed: int, size: int = 64) -> torch.Tensor:
    """n drawn faces as [0, 1] pixels, each centre-cropped and resized to size x size."""
    ims = [np.array(draw(np.random.default_rng([seed, i]), 96)) for i in range(n)]
    tensors = [torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255 for a in ims]
    return torch.cat([square_resize(t, size) for t in tensors])


@pytest.fixture(scope="module")
def photos() -> torch.Tensor:
    return _batch(draw_photo_face, 8, 1)


@pytest.fixture(scope="module")
def anime() -> torch.Tensor:
    return _batch(draw_anime_face, 8, 2)


def test_structure_is_one_for_the_photo_and_zero_for_flat_or_unrelated(photos, anime):
    assert M.structure_score(photos, photos) > 0.99
    flat = torch.full_like(photos, 0.5)
    assert abs(M.structure_score(photos, flat)) < 0.01  # SSIM of luminance gave 0.65 here
    assert M.structure_score(photos, photos.roll(1, dims=0)) < 0.5  # someone else's layout
    assert M.structure_score(photos, anime) < 0.3
    assert M.structure_score(photos, 1 - photos) < -0.9  # inverted: worse than nothing
    recoloured = photos[:, [2, 0, 1]] * 0.8  # colours change, layout stays
    assert M.structure_score(photos, recoloured) > 0.9
    assert M.structure_score(photos, gaussian_blur(photos, 1.0)) > 0.9  # lines may go
    with pytest.raises(ValueError, match="differ"):
        M.structure_score(photos, photos[:4])


def test_crispness_orders_drawn_over_blurred_and_flat_scores_zero(anime):
    crisp = M.crispness_per_image(anime)
    for sigma in (0.8, 1.5):
        assert (M.crispness_per_image(gaussian_blur(anime, sigma)) < crisp - 0.1).all()
    held_out = _batch(draw_heldout_anime, 8, 3)
    assert M.crispness(held_out) > M.crispness(gaussian_blur(held_out, 1.0)) + 0.1
    assert M.crispness(torch.full_like(anime, 0.3)) == 0.0
    assert 0 < M.crispness(anime) <= 1


def test_identity_retrieval_is_one_for_identical_and_chance_when_shuffled(photos):
    assert M.identity_top1(photos, photos) == 1.0
    derangement = photos.roll(1, dims=0)  # nobody gets their own photo back
    assert M.identity_top1(photos, derangement) <= 2 / len(photos)
    assert M.identity_top1(photos, gaussian_blur(photos, 1.0)) == 1.0
    recoloured = photos[:, [2, 0, 1]]  # style-insensitive: colours do not matter
    assert M.identity_top1(photos, recoloured) == 1.0
    ranks = M.identity_ranks(photos, derangement)
    assert ranks.shape == (len(photos),) and (ranks > 0).any()
    with pytest.raises(ValueError, match="pair up"):
        M.identity_top1(photos, photos[:3])


@pytest.mark.parametrize("n", [12, 100])  # fewer and more images than feature dimensions
def test_fid_is_torchmetrics_fid(n):
    from torchmetrics.image.fid import FrechetInceptionDistance

    g = torch.Generator().manual_seed(n)
    real = torch.randn(n, 64, generator=g)
    fake = torch.randn(n + 3, 64, generator=g) * 1.5 + 0.2
    reference = FrechetInceptionDistance(feature=M._Features(64))
    reference.update(real, real=True)
    reference.update(fake, real=False)
    assert M.frechet_distance(real, fake) == pytest.approx(float(reference.compute()), rel=1e-4)
    assert M.frechet_distance(real, real) == pytest.approx(0.0, abs=1e-6)
