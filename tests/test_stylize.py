"""Stylising (stylize.py): whole frame at any size, alpha, colour preservation, blends, a seed
state dict at another size. Tiny smoke models with random weights: the tests check sizes,
identities and plumbing, never how anime the pictures look."""

import pytest
import torch
from PIL import Image

from vitst_utils import checkpoint as C
from vitst_utils import losses as L
from vitst_utils import stylize as S
from vitst_utils import tiling as T
from vitst_utils.cli import UsageError, parse_size
from vitst_utils.data import image_tensor, load_image
from vitst_utils.function import adain_from_stats, coral, rgb_to_ycbcr, to_pixels
from vitst_utils.model import build_model
from vitst_utils.presets import get_preset


def _chroma(normalized: torch.Tensor) -> torch.Tensor:
    return rgb_to_ycbcr(to_pixels(normalized).clamp(0, 1).unsqueeze(0))[0, 1:]


def test_output_keeps_the_whole_frame_at_any_size(model, prototype):
    target = S.target_from_prototype(prototype)
    odd = Image.new("RGB", (301, 199), (200, 120, 40))
    assert S.output_size(301, 199, 64) == (97, 64) and S.output_size(199, 301, 64) == (64, 97)
    x, out = S.stylize_image(model, odd, target, size=64)
    assert x.shape == out.shape == (3, 64, 97)
    _, out = S.stylize_image(model, odd, target, size="original")
    assert out.shape == (3, 199, 301) and torch.isfinite(out).all()
    _, out = S.stylize_image(model, Image.new("RGB", (20, 5)), target, size="original")
    assert out.shape == (3, 5, 20)  # 5 px high, padded by 11: replicated, then cropped back
    _, out = S.stylize_image(model, odd, target)  # default: the training size, short side
    assert out.shape == (3, model.image_size, 97)
    assert parse_size("original") == "original" and parse_size("128") == 128
    with pytest.raises(UsageError, match="--size"):
        parse_size("big")


def test_a_seed_state_dict_stylises_at_another_size(tmp_path):
    """A file saved the seed's way (bare DataParallel state dict: `module.` keys, the VGG19
    included) loads without its VGG19 and stylises a non-square photo at its own size (timm
    resamples the position embedding). The seed's layout with a tiny ViT: ViT-B is too big
    for a unit test."""
    torch.manual_seed(0)
    seed_cfg = get_preset(
        "seed",
        pretrained=False,
        vit_name="test_vit",
        image_size=64,
        decoder_channels=(32, 16, 16, 16),
    )
    seed = build_model(seed_cfg)
    vgg = {f"module.vgg_loss_net.{k}": v for k, v in L.loss_net(seed_cfg).state_dict().items()}
    torch.save({**torch.nn.DataParallel(seed).state_dict(), **vgg}, tmp_path / "epoch_5.pth")
    ckpt = C.load_checkpoint(tmp_path / "epoch_5.pth")
    ckpt["config"] = seed_cfg.to_dict()  # the real seed is ViT-B: too big for a unit test
    loaded, _ = C.model_from_checkpoint(ckpt, "epoch_5.pth")
    assert loaded.state_dict().keys() == seed.state_dict().keys()  # no VGG19
    style = tmp_path / "style.png"
    Image.new("RGB", (64, 64), (250, 100, 200)).save(style)
    target = S.style_target(loaded, [style])
    _, out = S.stylize_image(loaded, Image.new("RGB", (90, 50), "red"), target, size="original")
    assert out.shape == (3, 50, 90)


def test_alpha_0_decodes_the_photo_and_alpha_1_is_the_default(model, styles):
    x = S.photo_tensor(load_image(styles[1]).resize((96, 64)), "original")  # patch multiples
    target = S.style_target(model, [styles[0]])
    with torch.no_grad():
        own = model.decode(model.encode(x))
    zero = S.stylize_batch(model, x, target, alpha=0.0)
    assert torch.allclose(zero, own, atol=1e-6)
    one = S.stylize_batch(model, x, target, alpha=1.0)
    seed_way = S.stylize(model, x, image_tensor(styles[0], 64).expand(1, -1, -1, -1))
    default = S.stylize_batch(model, x, target)
    assert torch.equal(one, default) and torch.allclose(one, seed_way, atol=1e-5)
    half = S.stylize_batch(model, x, target, alpha=0.5)
    assert (half - one).abs().mean() > 1e-4 and (half - zero).abs().mean() > 1e-4
    with pytest.raises(ValueError, match="alpha"):
        S.stylize_batch(model, x, target, alpha=1.5)


def test_preserve_color_keeps_the_photos_chroma(model, styles, prototype):
    photo = Image.new("RGB", (80, 64), (40, 160, 220))  # a strong blue the style does not have
    proto = S.target_from_prototype(prototype)
    x, plain = S.stylize_image(model, photo, proto)
    _, kept = S.stylize_image(model, photo, proto, preserve_color=True)  # prototype: luminance
    err_kept = (_chroma(kept) - _chroma(x)).abs().mean()
    err_plain = (_chroma(plain) - _chroma(x)).abs().mean()
    assert err_kept < 0.02 and err_kept < err_plain / 3, (err_kept, err_plain)
    # the brightness still comes from the stylised output
    y = rgb_to_ycbcr(to_pixels(torch.stack([kept, plain])).clamp(0, 1))[:, 0]
    assert (y[0] - y[1]).abs().mean() < 0.02

    style = S.style_target(model, [styles[0]])
    assert S.resolve_color_method(True, style) == "coral"
    assert S.resolve_color_method(True, proto) == "luminance"
    with pytest.raises(ValueError, match="prototype has none"):
        S.resolve_color_method("coral", proto)
    _, coral_out = S.stylize_image(model, photo, style, preserve_color="coral")
    assert coral_out.shape == plain.shape and not torch.equal(coral_out, plain)


def test_coral_gives_the_source_the_targets_colour_statistics():
    """pytorch-AdaIN's `coral`: the style image recoloured like the photo."""
    gen = torch.Generator().manual_seed(0)
    source = torch.rand(3, 32, 32, generator=gen) * torch.tensor([1.0, 0.3, 0.1]).view(3, 1, 1)
    target = torch.rand(3, 40, 24, generator=gen).sort(0).values  # correlated channels
    moved = coral(source, target)

    def stats(x):
        f = x.reshape(3, -1).double()
        return f.mean(1), torch.cov(f)

    (m1, c1), (m2, c2) = stats(moved), stats(target)
    assert torch.allclose(m1, m2, atol=1e-5) and torch.allclose(c1, c2, atol=2e-3)


def test_interpolation_weights(model, styles):
    a, b = styles[0], styles[1]
    first = S.style_target(model, [a])
    blend = S.style_target(model, [a, b], [1, 0])
    assert torch.equal(blend.mean, first.mean) and torch.equal(blend.std, first.std)
    x = S.photo_tensor(Image.new("RGB", (64, 64), "gray"), "original")
    assert torch.equal(S.stylize_batch(model, x, blend), S.stylize_batch(model, x, first))
    half = S.style_target(model, [a, b], [2, 2])  # normalised: the mean of the two
    second = S.style_target(model, [b])
    assert torch.allclose(half.mean, (first.mean + second.mean) / 2, atol=1e-6)
    assert torch.allclose(half.std, (first.std + second.std) / 2, atol=1e-6)
    assert blend.name == f"{a.stem}+{b.stem}"
    with pytest.raises(ValueError, match="one weight per style image"):
        S.style_weights([1.0], 2)
    with pytest.raises(ValueError, match="non-negative"):
        S.style_weights([1.0, -1.0], 2)


def test_an_attention_model_stylises_towards_its_style_images(cfg, styles, prototype):
    torch.manual_seed(0)
    model = build_model(cfg.replace(fusion="attention"), use_weights=False).eval()
    torch.nn.init.normal_(model.attention.query.weight)  # a trained one does not look uniformly
    a, b = styles[0], styles[1]
    first = S.style_target(model, [a])
    s, grid = model.image_size, model.image_size // model.patch_size
    assert first.maps.features.shape[2:] == first.maps.normalised.shape[2:] == (grid, grid)
    x = S.image_batch([styles[2]], s)
    # at the training size: what the model's forward (training, evaluation) gives
    direct = S.stylize_batch(model, x, first)
    torch.testing.assert_close(
        direct, S.stylize(model, x, S.image_batch([a], s)), atol=1e-4, rtol=0
    )
    blend = S.style_target(model, [a, b], [1, 0])  # weight 0: never attended to
    torch.testing.assert_close(S.stylize_batch(model, x, blend), direct, atol=1e-5, rtol=0)
    both = S.style_target(model, [a, b])
    assert both.maps.features.shape[-1] == 2 * grid and both.maps.bias.shape == (1, 2 * grid**2)
    assert (S.stylize_batch(model, x, both) - direct).abs().max() > 1e-3
    # a prototype has no images to attend to: AdaIN towards its statistics, as before
    proto = S.target_from_prototype(prototype)
    with torch.no_grad():
        adain = model.decode(adain_from_stats(model.encode(x), proto.mean, proto.std))
    torch.testing.assert_close(S.stylize_batch(model, x, proto), adain, atol=1e-4, rtol=0)
    # coral colour matching rebuilds the maps from the matched style images
    matched = S.stylize_batch(model, x, first, preserve_color="coral")
    assert matched.shape == direct.shape and (matched - direct).abs().max() > 1e-3
    # a large photo: encoded in windows, the attention over the whole blended map, tiled decode
    big = S.photo_tensor(load_image(styles[3]).resize((192, 144)), "original")
    got = S.stylize_batch(model, big, first)
    with torch.no_grad():
        feat = T.encode_blended(model.encode, big, model.patch_size, s, T.Tiling())
        m = first.maps
        want = model.decode(model.attention(feat, m.features, m.bias, None, m.normalised))
    assert got.shape == big.shape and feat.shape[-1] > 2 * grid  # it did go through windows
    torch.testing.assert_close(got, want, atol=1e-4, rtol=0)
