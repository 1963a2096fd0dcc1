"""The cel output stage (`cel.py`, `output_space="cel"`): the palette, the fills, the ink and
its line colour, the colour transfer it starts from, and a cel model on every path that
stylises (style images, blends, prototypes, windows, alpha, ONNX): an untrained one is exactly
the `filter`."""

import json
import re

import av
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.transforms.functional import pil_to_tensor, to_pil_image
from video_helpers import write_clip

from vitst_utils import cel as CEL
from vitst_utils import checkpoint as C
from vitst_utils import colour_transfer as CT
from vitst_utils import export as E
from vitst_utils import inference as INF
from vitst_utils import prototype as P
from vitst_utils import stylize as S
from vitst_utils import video as VID
from vitst_utils.benchmark_stylize import anime_target, lively_weights, photo
from vitst_utils.function import calc_mean_std, gaussian_blur, normalize, to_pixels
from vitst_utils.metrics import crispness
from vitst_utils.model import ViTStyleTransfer, build_model
from vitst_utils.presets import get_preset
from vitst_utils.tiling import Tiling

RED, TEAL, NAVY = (0.9, 0.2, 0.2), (0.2, 0.7, 0.7), (0.1, 0.1, 0.3)
MAROON = (0.45, 0.15, 0.3)  # a coloured line, lighter than navy


def _flat(colours, width=12, height=8):
    """A (1, 3, height, width * len(colours)) image of vertical bands of flat colours."""
    bands = [torch.tensor(c).view(1, 3, 1, 1).expand(1, 3, height, width) for c in colours]
    return torch.cat(bands, dim=-1).clone()


def _style(colours) -> CEL.CelStyle:
    return CEL.cel_style(_flat(colours), k=len(colours))


def test_the_palette_is_the_images_colours_and_weights_choose_whose():
    image = _flat([RED, TEAL, NAVY])
    palette = CEL.palette_kmeans(image.flatten(2).transpose(1, 2), 3)[0]
    got, want = sorted(palette.tolist()), sorted([RED, TEAL, NAVY])
    assert [v for c in got for v in c] == pytest.approx([v for c in want for v in c])
    two = torch.cat([_flat([RED, RED]), _flat([TEAL, NAVY])])
    blend = CEL.cel_style(two, k=2, weights=torch.tensor([0.0, 1.0]))
    assert sorted(blend.palette[0].sum(1).tolist()) == pytest.approx([0.5, 1.6])  # NAVY, TEAL
    torch.testing.assert_close(blend.mean, CEL.cel_style(two[1:], k=2).mean)


def test_fills_take_palette_colours_and_ink_marks_only_distinct_neighbours():
    style = _style([RED, TEAL, NAVY])
    near = (0.25, 0.72, 0.68)  # 0.07 from TEAL: a shade of the same fill
    photo_px = _flat([RED, TEAL, near])
    out = CEL.cel_render(torch.zeros_like(photo_px), photo_px, style, 0.002, (0.08, 0.2))
    # the photo's colours are already the style's statistics' neighbourhood: pixel AdaIN moves
    # them a little; each fill is the nearest palette colour
    red, teal = out[0, :, 4, 4], out[0, :, 4, 30]
    torch.testing.assert_close(red, torch.tensor(RED), atol=1e-3, rtol=0)
    torch.testing.assert_close(teal, torch.tensor(TEAL), atol=1e-3, rtol=0)
    ink = torch.tensor(NAVY)  # bands have no line art: the darkest palette colour
    border = out[0, :, :, 11]  # the last red column meets teal: a 1 px line of ink
    assert torch.allclose(border, ink[:, None].expand_as(border), atol=1e-3)
    assert torch.allclose(out[0, :, :, 10], torch.tensor(RED)[:, None].expand(3, 8), atol=1e-3)
    assert not torch.allclose(out[0, :, :, 23], ink[:, None].expand(3, 8), atol=0.1)  # shades
    fills = CEL.cel_render(torch.zeros_like(photo_px), photo_px, style, 0.002, None)
    assert torch.allclose(fills[0, :, :, 11], torch.tensor(RED)[:, None].expand(3, 8), atol=1e-3)


def _line_art(line=MAROON, fills=(RED, TEAL, NAVY)):
    """Bands of flat `fills` (12 px wide) with a 1 px vertical stroke of `line` in each."""
    image = _flat(fills, height=24)
    for x in range(5, image.shape[-1], 12):
        image[..., x] = torch.tensor(line).view(1, 3, 1)
    return image


def test_the_ink_is_the_styles_line_colour_not_its_darkest_fill():
    """Coloured line art inks in its colour though a fill (navy) is darker; without strokes,
    or with `line` 0, the ink is the palette's darkest colour; a blend's is the weighted one."""
    art = _line_art()
    torch.testing.assert_close(CEL.cel_style(art, k=4).ink_colour, torch.tensor([MAROON]))
    assert CEL.cel_style(art, k=4, line=0.0).ink_colour[0].tolist() == pytest.approx(NAVY, abs=0.01)
    assert CEL.cel_style(_flat([RED, TEAL, NAVY]), k=3).ink_colour[0].tolist() == pytest.approx(
        NAVY
    )
    faint = _line_art(line=(0.86, 0.17, 0.17), fills=(RED, RED, RED))  # stands out < LINE_MIN
    both = CEL.cel_style(torch.cat([art, faint]), k=4).ink_colour  # judged image by image
    torch.testing.assert_close(both[0], torch.tensor(MAROON))
    assert both[1].tolist() == pytest.approx((0.86, 0.17, 0.17), abs=0.01)  # its darkest colour
    black = _line_art(line=(0.0, 0.0, 0.0))
    blend = CEL.cel_style(torch.cat([art, black]), k=4, weights=torch.tensor([0.25, 0.75]))
    torch.testing.assert_close(blend.ink_colour, 0.25 * torch.tensor([MAROON]))
    photo_px = _flat([RED, TEAL])
    lined = CEL.cel_style(_line_art(fills=(RED, TEAL)), k=2)
    out = CEL.cel_render(torch.zeros_like(photo_px), photo_px, lined, 0.002, (0.08, 0.2))
    border = out[0, :, :, 11]  # red meets teal: a 1 px line in the style's line colour
    assert torch.allclose(border, torch.tensor(MAROON)[:, None].expand_as(border), atol=1e-3)


def test_a_blurred_edge_comes_out_crisp_in_the_styles_colours():
    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    disc = ((yy - 32) ** 2 + (xx - 32) ** 2 < 20**2).float()  # a teal disc on red
    red, teal = (torch.tensor(c).view(1, 3, 1, 1) for c in (RED, TEAL))
    sharp = red * (1 - disc) + teal * disc
    blurred = gaussian_blur(sharp, 2.0)
    out = CEL.cel_render(torch.zeros_like(blurred), blurred, _style([RED, TEAL, NAVY]), 0.002, None)
    assert crispness(out) > crispness(blurred) + 0.3
    palette = torch.tensor([RED, TEAL, NAVY])
    distance = torch.cdist(out.flatten(2).transpose(1, 2)[0], palette).min(1).values
    assert (distance < 0.02).float().mean() > 0.95  # (almost) every pixel a palette colour


def test_pixel_adain_gives_the_style_statistics_and_the_change_moves_colours():
    photo_px = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 0.5 + 0.25
    mean, std = torch.full((1, 3, 1, 1), 0.5), torch.full((1, 3, 1, 1), 0.1)
    moved = CT.pixel_adain(photo_px, mean, std)
    torch.testing.assert_close(moved.mean((2, 3)), torch.full((2, 3), 0.5), atol=1e-4, rtol=0)
    torch.testing.assert_close(moved.std((2, 3)), torch.full((2, 3), 0.1), atol=1e-2, rtol=0)
    palette = torch.tensor([[[0.5, 0.5, 0.5], [0.9, 0.9, 0.9]]])
    style = CEL.CelStyle(mean, std, palette, CEL.darkest_colour(palette))
    flat = torch.full((1, 3, 8, 8), 0.5)
    assert CEL.cel_render(torch.zeros(1, 3, 8, 8), flat, style, 0.002, None).mean() < 0.55
    brighter = CEL.cel_render(torch.full((1, 3, 8, 8), 3.0), flat, style, 0.002, None)
    assert brighter.mean() > 0.85  # the decoder's change moves the pixel to the other fill


def test_histogram_matching_gives_each_shade_the_styles_share():
    """Histogram specification: a dark-skewed photo matched to a style of one part red, three
    parts teal takes those shares in every channel (mean and std alone spread it out), keeps
    each channel's order and equal values equal, and a photo matched to its own histogram
    stays itself."""
    px = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0)) ** 2
    style = _flat([RED, TEAL, TEAL, TEAL])
    q = CT.image_quantiles(style)
    assert q.shape == (1, 3, CT.QUANTILES)
    moved = CT.histogram_match(px, q)
    for c in range(3):  # each channel: RED's value on a quarter of the pixels, TEAL's elsewhere
        for value, share in ((RED[c], 0.25), (TEAL[c], 0.75)):
            took = (moved[0, c] - value).abs().lt(0.01).float().mean()
            assert abs(took - share) < 0.02, (c, value, float(took))
    adain = CT.pixel_adain(px, *calc_mean_std(style))
    assert (adain[0, 0] - RED[0]).abs().lt(0.01).float().mean() < 0.1
    for c in range(3):
        order = px[0, c].flatten().argsort()
        assert (moved[0, c].flatten()[order].diff() >= 0).all()  # monotone
    # flat regions move as one, by their share: two halves onto a half-red, half-teal style
    halves = _flat([(0.25, 0.3, 0.35), (0.5, 0.5, 0.5)], width=8)
    two = CT.histogram_match(halves, CT.image_quantiles(_flat([RED, TEAL], width=8)))
    torch.testing.assert_close(two, _flat([(0.2, 0.2, 0.2), (0.9, 0.7, 0.7)], width=8))
    smooth = to_pixels(photo(64, 64, seed=3)).clamp(0, 1)
    own = CT.histogram_match(smooth, CT.image_quantiles(smooth)) - smooth
    assert own.abs().max() < 0.02 and own.abs().mean() < 1e-3


@pytest.mark.parametrize(("name", "rows", "what"), [("quantiles", 3, "colour "), ("tones", 1, "")])
def test_a_style_saves_and_blends_its_quantiles(name, rows, what):
    """`quantiles=True` measures each image's colour quantiles, `tones=True` its luma's, only
    what is asked (one set per image; a blend averages the quantile functions with the
    weights); they travel through `item` / `from_saved`, `cat` and `to`; without them nothing
    is saved, and styles with and without them do not stack."""
    images = torch.cat([_flat([RED, TEAL]), _flat([NAVY, TEAL])])
    each = CEL.cel_style(images, k=2, **{name: True})
    assert getattr(each, name).shape == (2, rows, CT.QUANTILES)
    assert getattr(each, "tones" if name == "quantiles" else "quantiles") is None
    back = CEL.CelStyle.from_saved({k: v.tolist() for k, v in each.item(1).items()})
    torch.testing.assert_close(getattr(back, name), getattr(each, name)[1:])
    stacked = CEL.CelStyle.cat([back, back]).to("cpu")
    assert getattr(stacked, name).shape == (2, rows, CT.QUANTILES)
    w = torch.tensor([0.25, 0.75])
    blend = getattr(CEL.cel_style(images, k=2, weights=w, **{name: True}), name)
    torch.testing.assert_close(blend, (getattr(each, name) * w[:, None, None]).sum(0, True))
    plain = CEL.cel_style(images, k=2)
    assert getattr(plain, name) is None and name not in plain.item(0)
    assert getattr(CEL.CelStyle.cat([plain, plain]), name) is None
    with pytest.raises(ValueError, match=f"with and without {what}{name}"):
        CEL.CelStyle.cat([plain, each])
    assert getattr(CEL.CelStyle.from_saved(plain.item(0)), name) is None


def test_a_style_with_quantiles_fills_the_histogram_matched_photo():
    images = torch.cat([_flat([RED, TEAL]), _flat([NAVY, TEAL])])
    saved = CEL.cel_style(images, k=2, quantiles=True).item(1)
    one = CEL.CelStyle.from_saved({k: v.tolist() for k, v in saved.items()})
    x = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    matched = CEL.cel_render(torch.zeros_like(x), x, one, 0.002, None)
    weights = CEL._fill_weights(CT.histogram_match(x, one.quantiles), one.palette, 0.002)
    torch.testing.assert_close(matched, CEL._paint(weights, one, None))  # the matched photo's fills


def test_tone_matching_gives_the_picture_part_of_the_styles_lights_and_darks():
    """`tone_match`: share 0 changes nothing; share 1 gives the picture's luma the style's luma
    histogram (a quarter dark, three quarters light, whatever the photo's bell of tones), in
    the photo's own order of light; share 0.6 moves every pixel 0.6 of the way there, the same
    change in each channel (hues stay); a photo matched to its own tones stays itself."""
    gen = torch.Generator().manual_seed(0)
    px = (0.3 + 0.1 * torch.randn(1, 1, 32, 32, generator=gen)).clamp(0, 1).expand(-1, 3, -1, -1)
    px = px * torch.tensor([1.0, 0.9, 0.8]).view(1, 3, 1, 1)  # warm, mid-grey, bell-shaped
    style = _flat([NAVY, (0.9, 0.85, 0.8), (0.9, 0.85, 0.8), (0.9, 0.85, 0.8)])
    tones = CEL.cel_style(style, k=2, tones=True).tones
    assert tones.shape == (1, 1, CT.QUANTILES)
    torch.testing.assert_close(tones[0, 0, 0], CT.luma(_flat([NAVY])).flatten()[0])  # darkest
    torch.testing.assert_close(CT.tone_match(px, px, tones, 0.0), px)
    full = CT.tone_match(px, px, tones, 1.0)
    y, want = CT.luma(full).flatten(), CT.luma(style).flatten().sort().values
    dark = float(CT.luma(_flat([NAVY])).mean())
    assert abs(float(y.lt(dark + 0.05).float().mean()) - 0.25) < 0.02  # the style's share
    order = CT.luma(px).flatten().argsort()
    assert (y[order].diff() >= -1e-6).all()  # monotone in the photo's own light
    assert abs(float(y.mean()) - float(want.mean())) < 0.02
    part = CT.tone_match(px, px, tones, 0.6)
    torch.testing.assert_close(part - px, 0.6 * (full - px), atol=1e-5, rtol=0)  # unclamped here
    step = part - px
    torch.testing.assert_close(step[:, :1].expand(-1, 3, -1, -1), step)  # one change per pixel
    smooth = to_pixels(photo(64, 64, seed=3)).clamp(0, 1)
    own = CT.tone_match(smooth, smooth, CT.image_quantiles(CT.luma(smooth)), 1.0) - smooth
    assert own.abs().max() < 0.02 and own.abs().mean() < 1e-3
    # rendered: the style's tones are needed, and a rendering without ink takes none
    plain = CEL.cel_style(style, k=2)
    with pytest.raises(ValueError, match="tone matching needs the style's tones"):
        CEL.cel_render(torch.zeros_like(px), px, plain, 0.002, (0.08, 0.2), 0, 0, 0.6)
    toned = CEL.cel_style(style, k=2, tones=True)
    torch.testing.assert_close(
        CEL.cel_render(torch.zeros_like(px), px, toned, 0.002, None, 0, 0, 0.6),
        CEL.cel_render(torch.zeros_like(px), px, plain, 0.002, None),
    )


def test_a_cel_model_names_an_unknown_colour_match():
    vit = build_model(get_preset("demo"), use_weights=False).vit_encoder
    with pytest.raises(ValueError, match="cel_match='reinhard': use adain|histogram"):
        ViTStyleTransfer(vit, 64, output_space="cel", cel_match="reinhard")


def _speckled(size=48, share=0.05):
    """A photo of red | teal halves, a `share` of its pixels swapped for the other colour."""
    flip = torch.rand(1, 1, size, size, generator=torch.Generator().manual_seed(0)) < share
    half = size // 2
    return torch.where(flip, _flat([TEAL, RED], half, size), _flat([RED, TEAL], half, size))


def test_a_picture_is_simplified_to_its_styles_ink_and_no_further():
    """Speckle drawn in a sparse style (two flat fills: one line) is cleaned away, up to the
    style's own line; a densely lined style keeps every speck; the ink length of a drawing is
    the same at any size."""
    photo_px = _speckled()
    sparse_art = _flat([RED, TEAL], 24, 48)
    sparse = CEL.cel_style(sparse_art, k=2)
    twice = F.interpolate(sparse_art, scale_factor=2.0, mode="nearest")
    assert float(sparse.ink_length) == pytest.approx(1.0, abs=0.05)  # one line across the picture
    assert float(CEL.cel_style(twice, k=2).ink_length) == pytest.approx(1.0, abs=0.05)
    dense = CEL.cel_style(_flat([RED, TEAL] * 6, 2, 24), k=2)  # 11 lines: length 11
    assert float(dense.ink_length) > 10

    def render(style, simplify):
        return CEL.cel_render(
            torch.zeros_like(photo_px), photo_px, style, 0.002, (0.08, 0.2), simplify
        )

    ink = torch.tensor(MAROON)  # any colour that is neither fill
    for style in (sparse, dense):
        style.ink_colour = ink[None]

    def inked(out):
        return ((out - ink.view(1, 3, 1, 1)).abs().sum(1) < 0.05).float()

    plain, clean = render(sparse, 0), render(sparse, 3)
    assert inked(plain).mean() > 0.1  # every speck outlined
    line = inked(clean)[0, 4:-4, 22:26].amax(1)  # each row: the one line, in the middle
    assert inked(clean).mean() < 0.04 and line.mean() > 0.85
    left = clean[0, :, 4:-4, 2:20].flatten(1)  # away from the line and the borders: all red
    assert (left - torch.tensor(RED)[:, None]).abs().max() < 0.02
    torch.testing.assert_close(render(dense, 3), render(dense, 0))  # as many lines: none taken


def test_cleaning_joins_speckle_to_its_fill_and_keeps_a_thin_line():
    """Noise between two close palette colours snaps to speckle; the edge-aware passes join it
    to the fill around it, while a 1 px dark line (whose neighbours across it hardly count)
    keeps its label, which plain mode-filter passes (the simplification) would wipe out."""
    pink = (0.9, 0.4, 0.2)  # 0.2 from red: inked apart, close enough to speckle
    palette = torch.tensor([[RED, pink, TEAL, NAVY]])
    mid = torch.tensor(RED) + 0.3 * (torch.tensor(pink) - torch.tensor(RED))  # nearer red
    rgb = _flat([tuple(mid.tolist()), TEAL], 20, 40)
    rgb[..., :20] += 0.03 * torch.randn(1, 3, 40, 20, generator=torch.Generator().manual_seed(0))
    rgb[..., 8] = torch.tensor(NAVY)[:, None]  # a thin line down the noisy fill

    def labels(weights):
        return weights.argmax(1)[0]

    before = labels(CEL._fill_weights(rgb, palette, 0.002))
    after = labels(CEL._clean_weights(rgb, palette, 0.002, 3))
    plain = labels(CEL._simplified(CEL._fill_weights(rgb, palette, 0.002), torch.tensor([3]), 3))
    fill = torch.ones(40, 20, dtype=torch.bool)
    fill[:, 7:10] = fill[:, 19] = False  # the line, its neighbours, the edge with the teal
    assert (before[:, :20][fill] == 1).float().mean() > 0.08  # speckle: pink among the red
    assert (after[:, :20][fill] == 1).float().mean() < 0.02
    assert (after[:, 8] == 3).all() and (after[:, 20:] == 2).all()  # line and teal kept
    assert (plain[:, 8] == 3).float().mean() < 0.1  # a plain mode filter wipes the line out
    mean, std = calc_mean_std(rgb)  # the photo's own statistics: the colours stay
    style = CEL.CelStyle(mean, std, palette, torch.tensor([MAROON]))

    def inked(clean):
        out = CEL.cel_render(torch.zeros_like(rgb), rgb, style, 0.002, (0.08, 0.2), 0, clean)
        return ((out - torch.tensor(MAROON).view(1, 3, 1, 1)).abs().sum(1) < 0.05)[0, :, :20]

    assert inked(0)[fill].float().mean() > 0.1 and inked(3)[fill].float().mean() < 0.04
    assert inked(3)[:, 7].all()  # the line is still outlined


def test_a_style_never_simplified_saves_no_ink_length():
    """Without an ink length (built by hand, or for pictures without ink) a style is never
    simplified, has one entry per palette, and saves none: its JSON stays finite."""
    palette = torch.rand(2, 4, 3, generator=torch.Generator().manual_seed(0))
    style = CEL.CelStyle(torch.zeros(2, 3, 1, 1), torch.ones(2, 3, 1, 1), palette, palette[:, 0])
    assert style.ink_length.shape == (2,) and style.ink_length.isinf().all()
    saved = style.item(1)
    assert "ink_length" not in saved and "Infinity" not in json.dumps(
        {k: v.tolist() for k, v in saved.items()}
    )
    assert CEL.CelStyle.from_saved(saved).ink_length.isinf().all()
    assert CEL.cel_style(_flat([RED, TEAL]), k=2, ink=None).ink_length.isinf().all()
    measured = CEL.cel_style(_flat([RED, TEAL]), k=2)
    assert CEL.CelStyle.from_saved(measured.item()).ink_length == pytest.approx(
        float(measured.ink_length)
    )


def _lengths_per_pass(rgb, style, passes=3, clean=0):
    """(B, passes + 1): each picture's ink length after `clean` cleaning passes and 0 ..
    `passes` simplifying passes."""
    weights, out = CEL._clean_weights(rgb, style.palette, 0.002, clean), []
    for n in range(passes + 1):
        weights = CEL._mode_pass(weights) if n else weights
        amount = CEL._ink_amount(weights, style.palette, (0.08, 0.2))
        out.append(amount.sum((1, 2, 3)) / (rgb.shape[-2] * rgb.shape[-1]) ** 0.5)
    return torch.stack(out, 1)


def test_each_picture_takes_its_own_passes_in_one_piece_and_in_row_blocks(monkeypatch):
    """Two photos, one style whose ink length lies between theirs: each takes its own number
    of passes (the fewest that fit), the same in one piece (which stops early) and in row
    blocks (which sum the blocks' ink), and the batch renders as each picture alone."""
    gen = torch.Generator().manual_seed(1)
    photos = torch.rand(2, 3, 50, 20, generator=gen)
    photos[1:] = gaussian_blur(photos[1:], 1.0)  # smoother: less ink before any pass
    change = torch.randn(2, 3, 50, 20, generator=gen) * 0.1
    style = CEL.cel_style(torch.rand(1, 3, 16, 16, generator=gen), k=6)
    rgb = torch.sigmoid(CEL._logit(CT.pixel_adain(photos, style.mean, style.std)) + change)
    lengths = _lengths_per_pass(rgb, style)
    assert (lengths[:, 1:] < lengths[:, :-1]).all()  # every pass takes ink away
    target = (lengths[0, 2] + lengths[0, 1]) / 2  # picture 0 fits after 2 passes
    want = [int((lengths[i] <= target).float().argmax()) for i in range(2)]
    assert want[0] == 2 and want[1] < 2
    style.ink_length = target.view(1)
    ink = (0.08, 0.2)
    whole = CEL.cel_render(change, photos, style, 0.002, ink, 3)
    torch.testing.assert_close(
        CEL._simplify_passes(rgb, style, 0.002, ink, 0, 3), torch.tensor(want)
    )
    alone = torch.cat(
        [
            CEL.cel_render(change[i : i + 1], photos[i : i + 1], style, 0.002, ink, 3)
            for i in range(2)
        ]
    )
    torch.testing.assert_close(whole, alone, atol=1e-4, rtol=0)
    monkeypatch.setattr(CEL, "ROWS_PER_CHUNK", 7)  # 8 blocks, each reading its context rows
    torch.testing.assert_close(
        CEL._simplify_passes(rgb, style, 0.002, ink, 0, 3), torch.tensor(want)
    )
    torch.testing.assert_close(
        CEL.cel_render(change, photos, style, 0.002, ink, 3), whole, atol=1e-5, rtol=0
    )
    plain = CEL.cel_render(change, photos, style, 0.002, ink, 0)  # in blocks too: 1 context row
    assert not torch.allclose(whole, plain)
    monkeypatch.setattr(CEL, "ROWS_PER_CHUNK", 512)
    torch.testing.assert_close(plain, CEL.cel_render(change, photos, style, 0.002, ink, 0))


def test_cleaned_pictures_decide_and_render_the_same_in_row_blocks(monkeypatch):
    """The pass count is decided on the cleaned fill (here: no pass for picture 0, which the
    uncleaned fill would give one), and in row blocks, which read the cleaning's and the
    simplifying's context rows, decision and picture are those of one piece."""
    gen = torch.Generator().manual_seed(4)
    photos = F.interpolate(torch.rand(2, 3, 6, 3, generator=gen), size=(60, 24), mode="bilinear")
    photos = (photos + 0.02 * torch.randn(photos.shape, generator=gen)).clamp(0, 1)
    mean, std = calc_mean_std(photos)  # smooth shapes, noise: speckle between close colours
    palette = CEL.palette_kmeans(photos[:1].flatten(2).transpose(1, 2), 8)
    style = CEL.CelStyle(mean, std, palette, CEL.darkest_colour(palette))
    rgb = torch.sigmoid(CEL._logit(CT.pixel_adain(photos, mean, std)))
    ink = (0.08, 0.2)
    # picture 0's ink length before any simplifying pass, uncleaned and cleaned
    plain0, cleaned0 = (_lengths_per_pass(rgb[:1], style, 0, c)[0, 0] for c in (0, 3))
    style.ink_length = ((plain0 + cleaned0) / 2).repeat(2)
    cleaned, plain = (CEL._simplify_passes(rgb, style, 0.002, ink, c, 3) for c in (3, 0))
    assert cleaned[0] == 0 and plain[0] >= 1
    whole = CEL.cel_render(torch.zeros_like(photos), photos, style, 0.002, ink, 3, clean=3)
    monkeypatch.setattr(CEL, "ROWS_PER_CHUNK", 7)  # 9 blocks
    torch.testing.assert_close(CEL._simplify_passes(rgb, style, 0.002, ink, 3, 3), cleaned)
    blocks = CEL.cel_render(torch.zeros_like(photos), photos, style, 0.002, ink, 3, clean=3)
    torch.testing.assert_close(blocks, whole, atol=1e-5, rtol=0)


@pytest.fixture(scope="module")
def cel_model():
    torch.manual_seed(0)
    return build_model(get_preset("demo"), use_weights=False).eval().requires_grad_(False)


def _styles(n=2):
    return [photo(64, 64, seed=10 + i) for i in range(n)]  # any pictures have colours


@pytest.mark.parametrize("match", ["adain", "histogram"])
def test_an_untrained_cel_model_is_the_filter_on_every_stylising_path(match, monkeypatch):
    """The last convolution starts at zero: the picture is `cel_filter` of the photo, through
    forward, style images, windows and row blocks alike; with alpha 0 the photo keeps its own
    colours (only the palette stays). So with colours matched by mean and std or by histogram."""
    cel_model = build_model(get_preset("demo", cel_match=match), use_weights=False).eval()
    assert cel_model.is_cel and not cel_model.last_layer.any()
    style = _styles(1)[0]
    x = photo(64, 64, seed=3)
    style = normalize(pil_to_tensor(to_pil_image(to_pixels(style)[0].clamp(0, 1)))[None] / 255)
    filtered = CEL.cel_filter(to_pixels(x), to_pixels(style), match=match)
    with torch.no_grad():
        torch.testing.assert_close(to_pixels(cel_model(x, style)), filtered, atol=1e-5, rtol=0)
    target = S.style_target(cel_model, [to_pil_image(to_pixels(style)[0].clamp(0, 1))], name="s")
    assert target.cel is not None and target.cel.palette.shape == (1, 10, 3)
    big = photo(232, 152, seed=4)  # several windows, tiles and (patched) row blocks
    assert cel_model.cel_simplify == 3 and cel_model.cel_clean == 3 and cel_model.cel_tone == 0.6
    want = CEL.cel_render(  # in one piece
        torch.zeros_like(big), to_pixels(big).clamp(0, 1), target.cel, 0.002, (0.08, 0.2), 3, 3, 0.6
    )
    monkeypatch.setattr(CEL, "ROWS_PER_CHUNK", 64)  # the blocks read the passes' context
    out = to_pixels(S.stylize_batch(cel_model, big, target))
    torch.testing.assert_close(out, want, atol=1e-5, rtol=0)
    monkeypatch.setattr(CEL, "ROWS_PER_CHUNK", 512)
    own = to_pixels(S.stylize_batch(cel_model, x, target, alpha=0.0))
    px = to_pixels(x).clamp(0, 1)
    mean, std = calc_mean_std(px)
    # the photo's own colour statistics, histogram and tones, the style's palette and ink
    c = target.cel
    q = CT.image_quantiles(px) if match == "histogram" else None
    tones = CT.image_quantiles(CT.luma(px))
    kept = CEL.CelStyle(mean, std, c.palette, c.ink_colour, c.ink_length, q, tones)
    want = CEL.cel_render(torch.zeros_like(px), px, kept, 0.002, (0.08, 0.2), 3, 3, 0.6)
    torch.testing.assert_close(own, want, atol=1e-4, rtol=0)


def test_a_cel_model_learns_its_change_and_renders_it_over_the_photo(cel_model):
    model = build_model(get_preset("demo", seed=1), use_weights=False)
    x, s = photo(64, 64, seed=5), _styles(1)[0]
    out, id_c, id_s = model(x, s, identity=True)
    (out.square().mean() + id_s.square().mean()).backward()
    assert model.last_layer.grad.abs().sum() > 0  # a zero layer still learns
    # identity images: each in its own colours and palette, without ink
    with torch.no_grad():
        want = CEL.cel_render(
            torch.zeros(1, 3, 64, 64), to_pixels(s), model.cel_style(s), 0.002, None
        )
        torch.testing.assert_close(to_pixels(id_s), want, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="paints over the photo with a style's palette"):
        model.decode(model.encode(x))
    with pytest.raises(ValueError, match="give style images, or a prototype built by this"):
        S.transfer(cel_model, x, torch.zeros(1, 192, 1, 1), torch.ones(1, 192, 1, 1))


def test_the_cleaning_and_the_tone_matching_only_when_stylising():
    """In training (train mode) the losses see the picture without the cleaning passes and the
    tone matching; when stylising (eval mode) it is cleaned (the eighth round) and its luma
    moves 0.6 of the way to the style's tones (the eleventh)."""
    model = build_model(get_preset("demo", seed=1), use_weights=False)
    x, s = photo(64, 64, seed=5), _styles(1)[0]
    raw = 0.5 * torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    cel, px = model.cel_style(s), to_pixels(x).clamp(0, 1)
    with torch.no_grad():
        trained = to_pixels(model.train().render(raw, x, cel))
        stylised = to_pixels(model.eval().render(raw, x, cel))
    for clean, tone, got in ((0, 0.0, trained), (3, 0.6, stylised)):
        want = CEL.cel_render(raw, px, cel, 0.002, (0.08, 0.2), 3, clean, tone)
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    assert (trained - stylised).abs().amax(1).gt(0.1).float().mean() > 0.01


def test_a_cel_prototype_holds_the_medoids_palette_and_old_ones_are_refused(cel_model, tmp_path):
    styles = torch.cat(_styles(3))
    proto = cel_model.style_prototype([styles[:2], styles[2:]])
    palettes = [cel_model.cel_style(s[None]).palette[0] for s in styles]
    assert any(torch.equal(proto["cel"]["palette"], p) for p in palettes)  # one drawing's
    target = S.target_from_prototype(proto)
    assert target.cel.palette.shape == (1, 10, 3)
    i = next(i for i, p in enumerate(palettes) if torch.equal(proto["cel"]["palette"], p))
    torch.testing.assert_close(
        target.cel.ink_colour, cel_model.cel_style(styles[i : i + 1]).ink_colour
    )
    before = {**proto, "cel": {k: v for k, v in proto["cel"].items() if k != "ink_colour"}}
    ink = S.target_from_prototype(before).cel.ink_colour  # made before the line colour: the darkest
    torch.testing.assert_close(ink, CEL.darkest_colour(target.cel.palette))
    torch.testing.assert_close(  # the medoid's ink length; one made before it: never simplified
        target.cel.ink_length, cel_model.cel_style(styles[i : i + 1]).ink_length
    )
    before = {**proto, "cel": {k: v for k, v in proto["cel"].items() if k != "ink_length"}}
    assert S.target_from_prototype(before).cel.ink_length.isinf().all()
    old = {k: proto[k] for k in ("mean", "std", "count")}
    with pytest.raises(P.PrototypeError, match="has no palette.*--save-prototype"):
        P.check_prototype(old, cel_model, "old.pt")
    P.check_prototype(proto, cel_model)
    assert target.cel.quantiles is None  # matched by mean and std
    hist_model = build_model(get_preset("demo", cel_match="histogram"), use_weights=False)
    hist = hist_model.style_prototype([styles[:2], styles[2:]])
    medoid = [hist_model.cel_style(s[None]) for s in styles]
    medoid = next(m for m in medoid if torch.equal(m.palette[0], hist["cel"]["palette"]))
    torch.testing.assert_close(  # the medoid's colour quantiles, for histogram matching
        S.target_from_prototype(hist).cel.quantiles, medoid.quantiles
    )
    P.check_prototype(hist, hist_model)
    with pytest.raises(P.PrototypeError, match="has no colour quantiles.*by histogram"):
        P.check_prototype(proto, hist_model, "old.pt")
    with pytest.raises(P.PrototypeError, match="has colour quantiles.*by adain"):
        P.check_prototype(hist, cel_model, "new.pt")
    assert cel_model.cel_tone == 0.6 and proto["cel"]["tones"].shape == (1, CT.QUANTILES)
    torch.testing.assert_close(  # the medoid's tones
        target.cel.tones, cel_model.cel_style(styles[i : i + 1]).tones
    )
    untoned = {**proto, "cel": {k: v for k, v in proto["cel"].items() if k != "tones"}}
    with pytest.raises(P.PrototypeError, match="has no tones.*0.6 of the way.*--save-prototype"):
        P.check_prototype(untoned, cel_model, "old.pt")  # made before the tone matching
    cel_model.cel_tone = 0.0  # a model without tone matching takes it
    try:
        P.check_prototype(untoned, cel_model, "old.pt")
    finally:
        cel_model.cel_tone = 0.6


# histogram (and tone) matching exports exactly, but it posterises each channel (the luma) to
# 1024 levels, so more pixels share a value near a tie between two palette colours, where float
# noise tips single pixels (on the export's pure-noise check photo one value of 74 100 beyond
# one 8-bit level)
@pytest.mark.parametrize(
    ("match", "tone", "alpha", "tolerance"),
    [("adain", 0.0, 1.0, 1e-3), ("adain", 0.6, 1.0, 1e-2), ("histogram", 0.6, 0.5, 5e-2)],
)
def test_a_cel_model_exports_to_onnx_with_its_palette(
    tmp_path, capsys, monkeypatch, match, tone, alpha, tolerance
):
    """The one-graph ONNX file and the tiled folder (whose stylize.json carries the palette and
    the render) give PyTorch's picture, with a decoder that paints a change; with colours
    matched by histogram the export carries the quantiles, with tone matching the tones (the
    one-graph file at alpha 0.5: the photo's own quantiles and tones in the graph); an export
    made before them renders without them."""
    cfg = get_preset("demo", cel_match=match, cel_tone=tone)
    torch.manual_seed(0)
    model = build_model(cfg, use_weights=False).eval()
    lively_weights(model, photo(64, 64), anime_target(model, n=2))
    proto = model.style_prototype([torch.cat(_styles(2))])
    path = C.save_checkpoint(tmp_path / "epoch_001.pt", model, cfg, epoch=1, prototype=proto)
    flag = ["--alpha", str(alpha)] if alpha < 1 else []
    assert E.main(["--checkpoint", str(path), "--out", str(tmp_path / "a.onnx"), *flag]) == 0
    printed = capsys.readouterr().out
    found = re.search(r"max \|diff\| (\S+) ", printed)
    assert found and float(found.group(1)) < tolerance, printed
    folder = tmp_path / "tiled"
    assert E.main(["--checkpoint", str(path), "--out", str(folder), "--tiled"]) == 0
    found = re.search(r"max \|diff\| (\S+) ", capsys.readouterr().out)
    assert found and float(found.group(1)) < tolerance
    runner = E.OnnxStylizer(folder)
    assert runner.meta["output_space"] == "cel" and len(runner.meta["cel"]["palette"]) == 10
    torch.testing.assert_close(runner.cel.ink_colour, S.prototype_cel(proto).ink_colour)
    torch.testing.assert_close(runner.cel.ink_length, S.prototype_cel(proto).ink_length)
    assert runner.meta["cel"]["simplify"] == cfg.cel_simplify == 3
    assert runner.meta["cel"]["clean"] == cfg.cel_clean == 3
    if match == "histogram":
        torch.testing.assert_close(runner.cel.quantiles, S.prototype_cel(proto).quantiles)
    else:
        assert runner.cel.quantiles is None and "quantiles" not in runner.meta["cel"]
    assert runner.meta["cel"]["tone"] == tone
    if tone > 0:
        torch.testing.assert_close(runner.cel.tones, S.prototype_cel(proto).tones)
    else:
        assert runner.cel.tones is None and "tones" not in runner.meta["cel"]
    meta = json.loads((folder / "stylize.json").read_text())
    del meta["cel"]["clean"]  # an export made before the cleaning
    (folder / "stylize.json").write_text(json.dumps(meta))
    unclean = E.OnnxStylizer(folder)
    for key in ("ink_colour", "ink_length", "simplify", "quantiles", "tone", "tones"):
        meta["cel"].pop(key, None)  # one made before them
    (folder / "stylize.json").write_text(json.dumps(meta))
    old = E.OnnxStylizer(folder)  # the darkest colour, never simplified, mean and std, no tones
    torch.testing.assert_close(old.cel.ink_colour, CEL.darkest_colour(old.cel.palette))
    assert old.cel.ink_length.isinf().all() and old.cel.quantiles is None
    assert old.cel.tones is None
    tones_used = []  # and renders without tone matching, where the new one renders with it
    render = E.render_output
    monkeypatch.setattr(E, "render_output", lambda *a: tones_used.append(a[-1]) or render(*a))
    with torch.no_grad():
        x = torch.rand(1, 3, 48, 40, generator=torch.Generator().manual_seed(5))
        old(x), runner(x)
    assert tones_used and set(tones_used) == ({0.0, tone} if tone else {0.0})
    monkeypatch.setattr(E, "render_output", render)
    loaded, _, own = S.load_for_inference(path, cpu_path="fp32")
    x = torch.rand(1, 3, 150, 100, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        want = E.PhotoToAnime(loaded, own)(x)
        diff = (runner(x) - want).abs()  # a noise photo: near-tie fills, whose sharpened
        assert diff.max() < max(1e-2, tolerance) and diff.mean() < 1e-5  # cleaning tips them
        direct = to_pixels(
            S.transfer(
                loaded, normalize(x), *_stats(own), tiling=Tiling(), cel=S.prototype_cel(own)
            )
        )
    assert (want - direct.clamp(0, 1)).abs().max() < 1e-5
    loaded.cel_clean = 0  # what an export made before the cleaning renders: no cleaning
    with torch.no_grad():
        got, want = unclean(x), E.PhotoToAnime(loaded, own)(x)
    assert (got - want).abs().max() < max(1e-2, tolerance) and (got - want).abs().mean() < 1e-5
    assert (got - runner(x)).abs().mean() > 1e-3


def _stats(proto):
    target = S.target_from_prototype(proto)
    return target.mean, target.std


def test_the_tone_flag_overrides_the_checkpoints_share(tmp_path, capsys, caplog):
    """`--tone` replaces the checkpoint's `cel_tone` when stylising: `--tone 0` paints what a
    checkpoint trained with `cel_tone=0` paints, and `--tone 0.6` gives that checkpoint the step,
    with style images or a prototype that has tones (its own stored prototype has none: set
    aside, saying why); a slim export carries the new share in its config, the tiled ONNX export
    in its stylize.json and paints the same, the video CLI takes it the same way, and a share
    outside [0, 1] is a usage error naming the flag."""
    torch.manual_seed(0)
    cfg = get_preset("demo")
    model = build_model(cfg, use_weights=False).eval()
    lively_weights(model, photo(64, 64), anime_target(model, n=2))
    styles = torch.cat(_styles(2))
    proto = model.style_prototype([styles])
    model.cel_tone = 0.0  # what a model trained without tone matching stores: no tones
    untoned_proto = model.style_prototype([styles])
    model.cel_tone = 0.6
    assert "tones" in proto["cel"] and "tones" not in untoned_proto["cel"]
    toned = C.save_checkpoint(tmp_path / "toned.pt", model, cfg, epoch=1, prototype=proto)
    cfg0 = get_preset("demo", cel_tone=0.0)
    untoned = C.save_checkpoint(tmp_path / "untoned.pt", model, cfg0, 1, prototype=untoned_proto)
    P.save_prototype(proto, tmp_path / "toned_proto.pt")
    (tmp_path / "styles").mkdir()
    for i, s in enumerate(styles):
        to_pil_image(to_pixels(s[None])[0].clamp(0, 1)).save(tmp_path / "styles" / f"s{i}.png")
    to_pil_image(to_pixels(photo(64, 64, seed=8))[0].clamp(0, 1)).save(tmp_path / "p.png")

    def stylised(ckpt, *flags: str) -> torch.Tensor:
        out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        argv = ["--checkpoint", str(ckpt), "--content", str(tmp_path / "p.png"), "--out", str(out)]
        assert INF.main([*argv, *flags]) == 0
        return pil_to_tensor(Image.open(next(out.iterdir()))).float()

    off = stylised(toned, "--tone", "0")
    assert torch.equal(off, stylised(untoned))
    assert not torch.equal(off, stylised(toned))
    given = ("--prototype", str(tmp_path / "toned_proto.pt"))
    assert torch.equal(stylised(toned), stylised(untoned, "--tone", "0.6", *given))
    folder = ("--style", str(tmp_path / "styles"))
    assert torch.equal(stylised(toned, *folder), stylised(untoned, "--tone", "0.6", *folder))
    capsys.readouterr()
    caplog.clear()
    argv = ["--checkpoint", str(untoned), "--content", str(tmp_path / "p.png"), "--tone", "0.6"]
    assert INF.main(argv) == 2
    assert "untoned.pt holds no style prototype: pass --style" in capsys.readouterr().err
    assert "untoned.pt has no tones (made with cel_tone 0), and tone 0.6 needs them" in caplog.text
    slim = tmp_path / "slim.pt"
    assert E.main(["--checkpoint", str(toned), "--out", str(slim), "--tone", "0.25"]) == 0
    assert torch.load(slim, weights_only=True)["config"]["cel_tone"] == 0.25
    assert E.main(["--checkpoint", str(untoned), "--out", str(slim), "--tone", "0.6"]) == 0
    saved = torch.load(slim, weights_only=True)  # not the tone-less prototype beside tone 0.6
    assert saved["config"]["cel_tone"] == 0.6 and saved.get("prototype") is None
    x = torch.rand(1, 3, 40, 48, generator=torch.Generator().manual_seed(3))

    def tiled(ckpt, want_tone: float, *flags: str) -> torch.Tensor:  # the tiled export carries it
        out = tmp_path / f"tiled{len(list(tmp_path.iterdir()))}"
        assert E.main(["--checkpoint", str(ckpt), "--out", str(out), "--tiled", *flags]) == 0
        runner = E.OnnxStylizer(out)
        assert runner.meta["cel"]["tone"] == want_tone
        with torch.no_grad():
            return runner(x)

    assert torch.equal(tiled(toned, 0, "--tone", "0"), tiled(untoned, 0))
    assert torch.equal(tiled(toned, 0.6), tiled(untoned, 0.6, "--tone", "0.6", *given))
    frames = [(to_pixels(photo(32, 32, seed=i))[0].clamp(0, 1) * 255).byte() for i in range(3)]
    clip = write_clip(tmp_path / "clip.mp4", [f.permute(1, 2, 0).numpy() for f in frames])

    def video(ckpt, *flags: str) -> np.ndarray:  # the video CLI takes --tone the same way
        out = tmp_path / f"v{len(list(tmp_path.iterdir()))}.mp4"
        argv = ["--checkpoint", str(ckpt), "--input", str(clip), "--out", str(out)]
        # lossless (--crf 0): x264's threads make lossy encodes of equal frames differ at times
        assert VID.main([*argv, "--temporal", "off", "--no-flicker", "--crf", "0", *flags]) == 0
        with av.open(str(out)) as c:
            return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])])

    frames_off = video(toned, "--tone", "0")
    assert len(frames_off) == 3 and np.array_equal(frames_off, video(untoned))
    assert not np.array_equal(frames_off, video(toned))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        INF.main(["--checkpoint", str(toned), "--content", str(tmp_path), "--tone", "1.5"])
    assert exit_.value.code == 2
    assert "--tone: takes a share in [0, 1] (0: off), got '1.5'" in capsys.readouterr().err
