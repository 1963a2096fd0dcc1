import pytest
import timm
import torch
from torch import nn

from vitst_utils import checkpoint as C
from vitst_utils import losses as L
from vitst_utils.function import (
    adaptive_instance_normalization,
    attention_normalization,
    calc_mean_std,
    mean_variance_norm,
    to_pixels,
)
from vitst_utils.model import AttentionFusion, Decoder, build_model
from vitst_utils.presets import get_preset
from vitst_utils.weights import PretrainedWeightsError


def test_adain_gives_the_style_statistics():
    torch.manual_seed(0)
    content = torch.randn(2, 8, 7, 7) * 3 + 1
    style = torch.randn(2, 8, 5, 5) * 0.5 - 2
    out = adaptive_instance_normalization(content, style)
    assert out.shape == content.shape
    o_mean, o_std = calc_mean_std(out)
    s_mean, s_std = calc_mean_std(style)
    torch.testing.assert_close(o_mean, s_mean, atol=1e-4, rtol=0)
    torch.testing.assert_close(o_std, s_std, atol=1e-3, rtol=1e-3)
    with pytest.raises(ValueError, match="agree on batch and channels"):
        adaptive_instance_normalization(content, style[:, :4])


def test_seed_architecture():
    m = build_model(get_preset("seed", pretrained=False))
    assert isinstance(m.vit_encoder, timm.models.VisionTransformer)
    assert isinstance(m.vit_encoder.head, nn.Identity) and m.vit_encoder.embed_dim == 768
    convt = [x for x in m.decoder if isinstance(x, nn.ConvTranspose2d)]
    assert [c.stride for c in convt] == [(2, 2)] * 4
    assert sum(isinstance(x, nn.InstanceNorm2d) for x in m.decoder) == 4
    relus = [x for x in m.decoder if isinstance(x, nn.ReLU)]
    assert len(relus) == 4 and not any(r.inplace for r in relus)
    last_conv, tanh = m.decoder[-2], m.decoder[-1]
    assert isinstance(last_conv, nn.Conv2d) and last_conv.out_channels == 3
    assert (last_conv.kernel_size, last_conv.stride, last_conv.padding) == ((3, 3), (1, 1), (1, 1))
    assert isinstance(tanh, nn.Tanh)
    assert {k.split(".")[0] for k in m.state_dict()} == {"vit_encoder", "decoder"}  # no VGG19
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert m.encode(x).shape == (1, 768, 14, 14)
        out = m(x, x)
    assert out.shape == (1, 3, 224, 224) and out.abs().max() <= 1


def test_smoke_forward_and_loss_gradients(smoke_cfg):
    torch.manual_seed(0)
    m = build_model(smoke_cfg).train()
    vgg = L.loss_net(smoke_cfg)
    assert not vgg.training  # the loss net is frozen, in eval mode
    s = smoke_cfg.image_size
    content, style = torch.randn(2, 3, s, s), torch.randn(2, 3, s, s)
    gen = m(content, style)
    assert gen.shape == (2, 3, s, s)
    terms = L.perceptual_losses(vgg, smoke_cfg, gen, content, style)
    c_loss, s_loss = terms["content"], terms["style"]
    assert c_loss.ndim == 0 and torch.isfinite(c_loss) and torch.isfinite(s_loss)
    (3 * c_loss + s_loss).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in m.decoder.parameters())
    assert m.vit_encoder.patch_embed.proj.weight.grad is not None
    assert all(p.grad is None for p in vgg.parameters())


def test_gram_style_loss_runs(smoke_cfg):
    cfg = smoke_cfg.replace(style_loss="gram")
    m = build_model(cfg)
    x = torch.randn(1, 3, 64, 64)
    s_loss = L.perceptual_losses(L.loss_net(cfg), cfg, m(x, x), x, x)["style"]
    assert torch.isfinite(s_loss)


def test_pixel_output_reaches_black_and_white_the_seeds_does_not(smoke_cfg):
    for space, reaches in (("pixels", True), ("normalized", False)):
        m = build_model(smoke_cfg.replace(output_space=space))
        last = m.decoder[-2]
        with torch.no_grad():
            last.weight.zero_()
            x = torch.randn(2, 3, 64, 64)
            last.bias.fill_(-20.0)
            lo = to_pixels(m(x, x)).amin().item()
            last.bias.fill_(20.0)
            hi = to_pixels(m(x, x)).amax().item()
        if reaches:
            assert lo < 1e-6 and hi > 1 - 1e-6
        else:  # Tanh read as a normalised image: red 0.26-0.71, blue 0.18-0.63 at most
            assert lo > 0.17 and hi < 0.72


def test_decoder_upsamples_16x():
    assert Decoder(32, (16, 16, 8, 8))(torch.randn(1, 32, 3, 5)).shape == (1, 3, 48, 80)


def test_local_weight_files_are_loaded(smoke_cfg, tmp_path):
    """Real-weights code path, offline: the same loaders read files this test writes."""
    torch.manual_seed(1)
    src = timm.create_model("test_vit", img_size=smoke_cfg.image_size)
    torch.save(src.state_dict(), tmp_path / "vit.pth")
    from torchvision.models import vgg19

    vgg = vgg19(weights=None)
    torch.save(vgg.state_dict(), tmp_path / "vgg19.pth")
    cfg = smoke_cfg.replace(
        pretrained=True,
        vit_weights_file=str(tmp_path / "vit.pth"),
        vgg_weights_file=str(tmp_path / "vgg19.pth"),
    )
    m = build_model(cfg)
    torch.testing.assert_close(m.vit_encoder.pos_embed, src.pos_embed)
    torch.testing.assert_close(
        m.vit_encoder.blocks[0].attn.qkv.weight, src.blocks[0].attn.qkv.weight
    )
    torch.testing.assert_close(L.loss_net(cfg)[28].weight, vgg.features[28].weight)
    # a bare `features` state dict works too
    torch.save(vgg.features.state_dict(), tmp_path / "features.pth")
    features = L.loss_net(cfg.replace(vgg_weights_file=str(tmp_path / "features.pth")))
    torch.testing.assert_close(features[0].weight, vgg.features[0].weight)


def test_missing_pretrained_weights_is_an_error_not_random(smoke_cfg, tmp_path):
    with pytest.raises(PretrainedWeightsError, match="offline.*vit_weights_file"):
        build_model(get_preset("seed"))
    with pytest.raises(FileNotFoundError, match="vit_weights_file='/nope.pth'"):
        build_model(smoke_cfg.replace(vit_weights_file="/nope.pth"))
    torch.save(timm.create_model("test_vit", img_size=64).state_dict(), tmp_path / "vit.pth")
    with pytest.raises(PretrainedWeightsError, match="VGG19.*not cached"):
        L.loss_net(smoke_cfg.replace(pretrained=True, vit_weights_file=str(tmp_path / "vit.pth")))
    torch.save({"x": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(PretrainedWeightsError, match="not a torchvision vgg19"):
        L.loss_net(smoke_cfg.replace(vgg_weights_file=str(tmp_path / "bad.pth")))
    # a wrong-architecture ViT file is refused with the file named
    torch.save({"x": torch.zeros(1)}, tmp_path / "badvit.pth")
    with pytest.raises(PretrainedWeightsError, match="badvit.pth"):
        build_model(smoke_cfg.replace(vit_weights_file=str(tmp_path / "badvit.pth")))


def test_anime_architecture_loads_local_weights_and_fuses_three_blocks(tmp_path):
    """The anime preset's DINO ViT-S/8 through the same file loader, at 224 px: a 28 x 28
    grid, three blocks stacked (3 x 384 channels), fused and decoded x8 by the upsampling
    decoder, which has no transposed convolution and no normalisation."""
    torch.manual_seed(0)
    src = timm.create_model("vit_small_patch8_224", num_classes=0)
    torch.save(src.state_dict(), tmp_path / "dino.pth")
    from torchvision.models import vgg19

    torch.save(vgg19(weights=None).features.state_dict(), tmp_path / "vgg.pth")
    cfg = get_preset(
        "anime",
        vit_weights_file=str(tmp_path / "dino.pth"),
        vgg_weights_file=str(tmp_path / "vgg.pth"),
    )
    m = build_model(cfg).eval()
    torch.testing.assert_close(m.vit_encoder.blocks[7].mlp.fc1.weight, src.blocks[7].mlp.fc1.weight)
    assert not any(p.requires_grad for p in m.vit_encoder.parameters())  # frozen
    assert not any(isinstance(x, (nn.ConvTranspose2d, nn.InstanceNorm2d)) for x in m.decoder)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert m.encode(x).shape == (1, 3 * 384, 28, 28)
        out = m(x, x)
    assert out.shape == (1, 3, 224, 224)
    with pytest.raises(ValueError, match="needs 3"):
        build_model(cfg.replace(decoder_channels=(64, 32), pretrained=False, vit_weights_file=None))


def test_attention_fusion_starts_as_adain_and_sharp_attention_copies_the_style():
    torch.manual_seed(0)
    content, style = torch.randn(2, 8, 5, 6) * 2 + 1, torch.randn(2, 8, 4, 4) - 3
    fusion = AttentionFusion(8, key_dim=4)
    # a new fusion: the query is zero, the attention uniform: AdaIN (population std)
    n = style.shape[-2] * style.shape[-1]
    mean, std = calc_mean_std(style)
    adain = mean_variance_norm(content) * (std.square() * (n - 1) / n + 1e-5).sqrt() + mean
    torch.testing.assert_close(fusion(content, style), adain, atol=1e-4, rtol=1e-4)
    # sharp attention on one style position: every content position gets its features
    with torch.no_grad():
        fusion.query.weight.zero_()
        fusion.query.bias.fill_(1.0)
    bias = torch.full((1, n), -1e9)
    bias[0, 5] = 0.0
    out = fusion(content, style, bias)
    copied = style.flatten(2)[:, :, 5, None, None] + mean_variance_norm(content) * 1e-5**0.5
    torch.testing.assert_close(out, copied)  # std 0 (+ eps): the style's features
    # chunks of content positions give the same values as one pass
    n_c = mean_variance_norm(content)
    q, k = fusion.query(n_c), fusion.key(mean_variance_norm(style))
    whole = attention_normalization(n_c, style, q, k)
    torch.testing.assert_close(attention_normalization(n_c, style, q, k, chunk=7), whole)


def test_an_attention_model_decodes_its_identity_images_through_the_attention(smoke_cfg, tmp_path):
    cfg = smoke_cfg.replace(fusion="attention")
    torch.manual_seed(0)
    model = build_model(cfg)
    assert model.attention is not None and build_model(smoke_cfg).attention is None
    s = cfg.image_size
    c, st = torch.randn(2, 3, s, s), torch.randn(2, 3, s, s)
    out, id_c, id_s = model(c, st, identity=True)
    fc, fs = model.encode_pair(c, st)
    torch.testing.assert_close(id_c, model.decode(model.attention(fc, fc)))
    torch.testing.assert_close(out, model.decode(model.attention(fc, fs)))
    out.mean().backward()
    assert model.attention.query.weight.grad is not None
    # the config travels in the checkpoint: the file alone rebuilds the attention
    path = C.save_checkpoint(tmp_path / "a.pt", model, cfg, epoch=1)
    again, again_cfg = C.load_model(path)
    assert again_cfg.fusion == "attention"
    torch.testing.assert_close(again(c, st), model.eval()(c, st))
