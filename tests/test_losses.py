"""The losses (losses.py): the terms, the one weighted total, the frozen VGG19 they compare in,
the adaptive adversarial weight and the loss balance."""

import pytest
import torch
from torch import nn

from vitst_utils import losses as L
from vitst_utils.function import normalize
from vitst_utils.presets import get_preset


def test_the_loss_net_is_the_frozen_vgg19_features_seeded_when_random():
    cfg = get_preset("seed", pretrained=False)
    vgg = L.loss_net(cfg)
    assert all(isinstance(vgg[i], nn.ReLU) and not vgg[i].inplace for i in (1, 6, 11, 20, 29))
    assert not any(p.requires_grad for p in vgg.parameters()) and not vgg.training
    # random weights: the same net for the same seed whatever the global RNG did before
    torch.manual_seed(123)
    again = L.loss_net(cfg)
    assert all(torch.equal(a, b) for a, b in zip(vgg.parameters(), again.parameters(), strict=True))
    other = L.loss_net(cfg.replace(seed=1))
    assert not torch.equal(other[0].weight, vgg[0].weight)
    state = torch.get_rng_state()
    L.loss_net(cfg)
    assert torch.equal(state, torch.get_rng_state())  # the generator's init is not moved
    carried = L.loss_net(cfg, other.state_dict())  # an older checkpoint's own VGG19
    assert torch.equal(carried[28].weight, other[28].weight)


def test_the_one_weighted_total():
    """rec: every weighted term but the adversarial one; total: rec + the weighted adversarial
    term (adaptive: the given weight); what history.csv and evaluate report as rec_loss."""
    cfg = get_preset("demo")
    g = torch.Generator().manual_seed(0)
    terms = {k: torch.rand((), generator=g) for k in L.active_terms(cfg)}
    w = L.weighted_total(cfg, terms)
    by_hand = {k: getattr(cfg, L.TERMS[k]) * v for k, v in terms.items()}
    assert w.terms.keys() == terms.keys() and "adv" in terms and len(terms) > 3
    torch.testing.assert_close(w.rec, sum(v for k, v in by_hand.items() if k != "adv"))
    torch.testing.assert_close(w.total, w.rec + cfg.lambda_adv * terms["adv"])
    adaptive = L.weighted_total(cfg, terms, adv_weight=torch.tensor(0.25))
    torch.testing.assert_close(adaptive.rec, w.rec)
    torch.testing.assert_close(adaptive.total, w.rec + 0.25 * terms["adv"])
    no_adv = L.weighted_total(cfg, {k: v for k, v in terms.items() if k != "adv"})
    assert torch.equal(no_adv.total, no_adv.rec) and torch.equal(no_adv.rec, w.rec)


def test_identity_losses_vanish_for_a_perfect_reconstruction():
    x, y = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)
    assert L.identity_pixel_loss((x, y), (x, y)).item() == 0
    feats = [[torch.randn(2, 4, 4, 4)], [torch.randn(2, 4, 4, 4)]]
    assert L.identity_feature_loss(feats, feats).item() == 0
    assert L.identity_pixel_loss((x, y), (y, x)).item() > 0


def test_adaptive_weight_is_vqgans_gradient_ratio():
    w = torch.randn(4, 3, requires_grad=True)
    x = torch.randn(5, 3)
    rec = (x @ w.T).square().mean()
    adv = 0.01 * (x @ w.T).sum()
    g_rec = torch.autograd.grad(rec, w, retain_graph=True)[0]
    g_adv = torch.autograd.grad(adv, w, retain_graph=True)[0]
    expected = g_rec.norm() / (g_adv.norm() + 1e-4)  # taming-transformers, by hand
    lam = L.adaptive_weight(rec, adv, w)
    assert not lam.requires_grad and lam.item() == pytest.approx(expected.item(), rel=1e-5)
    assert L.adaptive_weight(rec, adv, w, max_weight=0.5).item() == 0.5  # clamped
    # scale-free: the reconstruction 10x larger gives a 10x larger weight
    assert L.adaptive_weight(10 * rec, adv, w).item() == pytest.approx(10 * lam.item(), rel=1e-4)


def test_balance_shares_are_gradient_norms_summing_to_one():
    w = torch.randn(3, requires_grad=True)
    terms = {
        "a": 3 * w.sum(),
        "b": (w * torch.tensor([0.0, 4.0, 0.0])).sum(),
        "c": w.detach().sum(),
    }
    norms = L.grad_norms(terms, w)
    assert norms == pytest.approx({"a": 3 * 3**0.5, "b": 4.0, "c": 0.0})
    shares = L.shares(norms)
    assert sum(shares.values()) == pytest.approx(1.0) and shares["c"] == 0
    assert shares["a"] / shares["b"] == pytest.approx(3 * 3**0.5 / 4)
    assert L.shares({"a": 0.0}) == {"a": 0.0}


def test_style_norm_makes_style_terms_scale_free():
    g = [torch.randn(2, 8, 6, 6), torch.randn(2, 16, 3, 3)]
    s = [torch.randn(2, 8, 6, 6) + 1, torch.randn(2, 16, 3, 3) * 2]
    for kind in ("mean_std", "gram"):
        plain = L.style_loss(g, s, kind)
        scaled = L.style_loss([10 * x for x in g], [10 * x for x in s], kind)
        assert scaled.item() > 50 * plain.item()  # the raw term grows with the features
        normed = L.style_loss(g, s, kind, norm=True)
        normed_scaled = L.style_loss([10 * x for x in g], [10 * x for x in s], kind, norm=True)
        assert normed_scaled.item() == pytest.approx(normed.item(), rel=1e-4)
    a, b = torch.randn(2, 8, 6, 6), torch.randn(2, 8, 6, 6)
    assert L.gram_gray_loss(7 * a, 7 * b, norm=True).item() == pytest.approx(
        L.gram_gray_loss(a, b, norm=True).item(), rel=1e-4
    )


def test_luma_loss_keeps_layout_and_ignores_thin_lines():
    photo = torch.zeros(1, 3, 64, 64)
    photo[..., 16:48, 16:48] = 0.8  # a bright square
    lined = photo.clone()
    lined[..., 16, 16:48] = 0.0  # a one-pixel dark outline
    moved = photo.roll(12, dims=-1)
    loss = [L.luma_loss(normalize(x), normalize(photo), 2.0).item() for x in (photo, lined, moved)]
    assert loss[0] == 0 and loss[1] < 0.1 * loss[2]


def test_luma_closing_makes_thin_dark_lines_free_but_not_a_moved_layout():
    photo = torch.zeros(1, 3, 64, 64)
    photo[..., 16:48, 16:48] = 0.8
    lined = photo.clone()
    lined[..., 32, 20:44] = 0.0  # a one-pixel dark line inside the bright square
    moved = photo.roll(12, dims=-1)
    open_, closed = (
        [L.luma_loss(normalize(x), normalize(photo), 2.0, close=k).item() for x in (lined, moved)]
        for k in (0, 3)
    )
    assert open_[0] > 0 and closed[0] == pytest.approx(0, abs=1e-6)  # the line costs nothing
    assert closed[1] == pytest.approx(open_[1], rel=0.05)  # the layout still counts
    two_px = torch.zeros(1, 1, 9, 9)
    two_px[..., 3:5, :] = 1  # a bright 2 px band on black: closing keeps it
    assert torch.equal(L.grey_closing(two_px, 3), two_px)


def test_luma_norm_ignores_the_outputs_own_brightness_and_contrast():
    photo = torch.zeros(1, 3, 64, 64)
    photo[..., 16:48, 16:48] = 0.6
    lighter = 0.5 * photo + 0.4  # the same layout in other tones
    moved = photo.roll(12, dims=-1)
    plain = L.luma_loss(normalize(lighter), normalize(photo), 2.0).item()
    normed = [
        L.luma_loss(normalize(x), normalize(photo), 2.0, norm=True).item() for x in (lighter, moved)
    ]
    assert plain > 0.1 and normed[0] < 0.01 * plain and normed[1] > 0.05


def test_palette_loss_wants_the_styles_colours_not_their_places_nor_a_blur():
    gen = torch.Generator().manual_seed(0)
    style = torch.zeros(2, 3, 32, 32)
    style[:, 0, :, :16], style[:, 2, :, 16:] = 1.0, 1.0  # two flat fills: red | blue
    shuffled = style.flatten(2)[..., torch.randperm(32 * 32, generator=gen)].view_as(style)
    blurred = L.gaussian_blur(style, 2.0)
    other = style[:, [1, 0, 2]]  # green | blue: a colour the style lacks
    loss = {
        name: L.palette_loss(normalize(x), normalize(style)).item()
        for name, x in [
            ("same", style),
            ("shuffled", shuffled),
            ("blurred", blurred),
            ("other", other),
        ]
    }
    assert loss["same"] == 0 and loss["shuffled"] == pytest.approx(0, abs=1e-6)
    assert loss["blurred"] > 0.01 and loss["other"] > loss["blurred"]
    # another size: the same quantiles are compared
    small = torch.nn.functional.interpolate(style, size=16, mode="nearest")
    assert L.palette_loss(normalize(small), normalize(style)).item() == pytest.approx(0, abs=1e-6)


def test_edge_loss_wants_the_styles_sharp_edges_not_a_blur_nor_a_flat_fill():
    style = torch.zeros(2, 3, 32, 32)
    style[:, 0, :, :16], style[:, 2, :, 16:] = 1.0, 1.0  # one sharp vertical edge
    moved = torch.zeros_like(style)  # the same edge elsewhere: the same gradient histogram
    moved[:, 0, :, :21], moved[:, 2, :, 21:] = 1.0, 1.0
    blurred = L.gaussian_blur(style, 1.5)
    flat = style.mean((2, 3), keepdim=True).expand_as(style)
    loss = {
        name: L.edge_loss(normalize(x), normalize(style)).item()
        for name, x in [("same", style), ("moved", moved), ("blurred", blurred), ("flat", flat)]
    }
    assert loss["same"] == 0 and loss["moved"] == pytest.approx(0, abs=1e-6)
    assert loss["blurred"] > 1e-3 and loss["flat"] > 1e-3  # both lack the sharp edge


def test_identity_edge_loss_wants_the_redrawn_style_as_sharp_as_the_style():
    style = torch.zeros(2, 3, 32, 32)
    style[:, :, 10:12, :] = 1.0  # a 2 px line
    blurred = L.gaussian_blur(style, 1.0)
    moved = style.roll(3, dims=2)  # as sharp, elsewhere: unlike the sliced edge term, it costs
    loss = {
        name: L.identity_edge_loss(normalize(x), normalize(style)).item()
        for name, x in [("same", style), ("blurred", blurred), ("moved", moved)]
    }
    assert loss["same"] == 0 and loss["blurred"] > 0.01 and loss["moved"] > loss["blurred"]
    # it is a term of the recipe, and asks for the identity images
    cfg = get_preset("demo")
    assert cfg.lambda_identity_edges > 0 and L.wants_identity(cfg.replace(lambda_identity_pixel=0))
    assert not L.wants_identity(get_preset("seed"))
