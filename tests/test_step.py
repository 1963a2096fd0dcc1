"""The training step and the anime recipe's parts: losses, the adversary, schedules, resume."""

import copy

import numpy as np
import pytest
import torch

import vitst_utils.train as T
from vitst_utils import checkpoint as C
from vitst_utils import losses as L
from vitst_utils import rundir as R
from vitst_utils.function import (
    adaptive_instance_normalization,
    calc_mean_std,
    edge_mask,
    edge_smooth,
    gram_matrix,
    normalize,
)
from vitst_utils.model import build_model
from vitst_utils.presets import get_preset
from vitst_utils.sample_data import draw_anime_face
from vitst_utils.step import WarmupCosine, build_trainer

# Every term of the anime recipe on, at smoke size.
RECIPE = dict(
    decoder="upsample",
    output_space="pixels",
    content_norm=True,
    lambda_gram_gray=1.0,
    lambda_identity_pixel=1.0,
    lambda_identity_feature=1.0,
    lambda_tv=1.0,
    lambda_color=1.0,
    lambda_luma=1.0,
    lambda_adv=1.0,
    d_blur_weight=1.0,
    d_channels=8,
    lr_schedule="cosine",
    warmup_steps=2,
)


@pytest.fixture
def recipe_cfg(smoke_cfg):
    return smoke_cfg.replace(**RECIPE)


def _trainer(cfg, seed=0):
    torch.manual_seed(seed)
    return build_trainer(cfg, build_model(cfg), torch.device("cpu"), total_steps=10)


def _batch(cfg, n=2, seed=1):
    g = torch.Generator().manual_seed(seed)
    s = cfg.image_size
    return torch.randn(n, 3, s, s, generator=g), torch.randn(n, 3, s, s, generator=g)


@pytest.mark.parametrize("recipe", [False, True], ids=["seed-losses", "anime-recipe"])
def test_fast_path_trains_exactly_what_the_seeds_way_does(smoke_cfg, recipe):
    """Batched encoder and VGG passes compute the same losses and the same update in fp32."""
    cfg = smoke_cfg.replace(**RECIPE) if recipe else smoke_cfg
    fast, slow = (
        _trainer(cfg.replace(batched_passes=True)),
        _trainer(cfg.replace(batched_passes=False)),
    )
    content, style = _batch(cfg)
    a, b = fast.step(content, style), slow.step(content, style)
    assert set(a.losses) == set(b.losses) and ("adv" in a.losses) == recipe
    for k in a.losses:
        torch.testing.assert_close(a.losses[k], b.losses[k], rtol=1e-4, atol=1e-6, msg=k)
    for (n, p), q in zip(fast.model.named_parameters(), slow.model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-6, msg=n)


def test_each_update_moves_only_its_own_network(recipe_cfg):
    """G's adversarial term leaves no gradient in D; D's loss none in G (generated detached)."""
    t = _trainer(recipe_cfg)
    t.disc.eval()  # no power-iteration update: the same D for the hand computation below
    g0, d0 = copy.deepcopy(t.model), copy.deepcopy(t.disc)
    content, style = _batch(recipe_cfg)
    out = t.step(content, style, adversarial=True)
    assert not out.skipped and "adv" in out.losses and "d_loss" in out.losses

    # by hand: G's total alone, D's loss alone, on the networks as they were
    t2 = _trainer(recipe_cfg)
    t2.model.load_state_dict(g0.state_dict())
    t2.disc.load_state_dict(d0.state_dict())
    t2.disc.eval()
    gen, *identity = t2.model(content, style, identity=True)
    terms = L.perceptual_losses(t2.loss_net, recipe_cfg, gen, content, style, identity)
    t2.disc.requires_grad_(False)
    terms["adv"] = L.generator_adv_loss("lsgan", t2.disc(gen))
    t2.disc.requires_grad_(True)
    sum(getattr(recipe_cfg, L.TERMS[k]) * v for k, v in terms.items()).backward()
    assert all(p.grad is None for p in t2.disc.parameters())
    d_loss = t2._discriminator_loss(style, gen.detach())
    d_loss.backward()
    for p, q in zip(t.model.parameters(), t2.model.parameters(), strict=True):
        if p.requires_grad:
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-7)
    for p, q in zip(t.disc.parameters(), t2.disc.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-7)


def test_reconstruction_only_steps_leave_the_discriminator_alone(recipe_cfg):
    t = _trainer(recipe_cfg)
    d0 = copy.deepcopy(t.disc.state_dict())
    out = t.step(*_batch(recipe_cfg), adversarial=False)
    assert "adv" not in out.losses and "d_loss" not in out.losses
    for k, v in t.disc.state_dict().items():
        torch.testing.assert_close(v, d0[k], msg=k)


def test_edge_smoothing_blurs_only_near_edges():
    pixels = torch.full((1, 3, 40, 40), 0.8)
    pixels[..., :, 20:] = 0.1  # one vertical edge at x = 20
    pixels[..., 0, 30, 30] = 1.0  # one bright dot on the dark side
    out = edge_smooth(pixels)
    changed = (out - pixels).abs().amax(1)[0] > 1e-6
    cols = changed.any(0).nonzero().flatten().tolist()
    assert min(cols) >= 16 and max(cols) <= 32  # the edge (+-2 dilation, +-2 blur) and the dot
    assert not changed[:, :16].any() and not changed[10, 22:28].any()
    # the mask agrees with AnimeGANv2's Canny(100, 200) + 5x5 dilation on a drawn face
    cv2 = pytest.importorskip("cv2")
    face = np.asarray(draw_anime_face(np.random.default_rng(3), 96))
    gray = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY)
    ref = cv2.dilate(cv2.Canny(gray, 100, 200), np.ones((5, 5), np.uint8)) > 0
    t = torch.from_numpy(face.copy()).permute(2, 0, 1)[None].float() / 255
    ours = edge_mask(t)[0, 0].numpy()
    iou = (ours & ref).sum() / (ours | ref).sum()
    assert iou > 0.8, iou


def test_warmup_then_cosine():
    f = WarmupCosine("cosine", warmup=10, total=110, min_ratio=0.1)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0) and f(60) == pytest.approx(0.55)
    assert f(110) == pytest.approx(0.1) and f(500) == pytest.approx(0.1)  # never back up
    assert WarmupCosine("constant", 0, 100)(50) == 1.0


def test_recipe_run_warms_up_then_resumes_exactly(recipe_cfg, tmp_path, monkeypatch):
    """Epoch 1 trains reconstruction only; the adversary starts at epoch 2. A run killed
    during epoch 3 and resumed ends bit-identical to an uninterrupted one: generator,
    discriminator, both optimizers and the LR schedules come back from the checkpoint."""
    cfg = recipe_cfg.replace(epochs=3, adv_start_epoch=2, save_every=1, keep_last=0)
    full = T.train(cfg, tmp_path / "full")
    assert "adv_loss" not in full.history[0] or np.isnan(full.history[0]["adv_loss"])
    assert full.history[1]["adv_loss"] > 0 and full.history[1]["d_loss"] > 0
    row = full.history[1]  # total: what G minimised, rec + the weighted adversarial term
    assert row["total_loss"] == pytest.approx(row["rec_loss"] + cfg.lambda_adv * row["adv_loss"])
    lrs = [r["lr"] for r in full.history]  # 2 steps an epoch: warm-up, then the cosine
    assert lrs[0] == pytest.approx(cfg.lr) and lrs[0] > lrs[1] > lrs[2]
    real_epoch = T._train_epoch

    def killed_in_epoch_3(ctx, trainer, data, epoch):
        if epoch == 3:
            raise KeyboardInterrupt("killed")
        return real_epoch(ctx, trainer, data, epoch)

    monkeypatch.setattr(T, "_train_epoch", killed_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        T.train(cfg, tmp_path / "cut")
    monkeypatch.undo()
    assert [e for e, _ in R.list_checkpoints(tmp_path / "cut")] == [1, 2]
    T.train(cfg, tmp_path / "cut", resume=True)
    a = C.load_checkpoint(R.checkpoint_path(tmp_path / "full", 3))
    b = C.load_checkpoint(R.checkpoint_path(tmp_path / "cut", 3))
    for key in ("model", "discriminator"):
        for k in a[key]:
            torch.testing.assert_close(a[key][k], b[key][k], rtol=0, atol=0, msg=f"{key}.{k}")
    for key in ("scheduler", "scheduler_d"):
        assert a[key]["last_epoch"] == b[key]["last_epoch"] == 3 * 2
    assert a["optimizer_d"]["state"] and "prototype" in a
    assert a["prototype"]["mean"].shape == a["prototype"]["std"].shape


# --- balance: adaptive adversarial weight, gradient shares, scale-free terms ----------------------
def test_trainer_reports_balance_on_its_schedule_and_adapts_the_adversary(recipe_cfg):
    cfg = recipe_cfg.replace(adv_adaptive=True, balance_every=4)
    t = _trainer(cfg)
    content, style = _batch(cfg)
    measured = []
    for _ in range(9):
        out = t.step(content, style)
        measured.append(out.balance is not None)
        assert out.adv_weight is not None and out.adv_weight > 0
        if out.balance is not None:
            assert set(out.balance) == set(out.losses) - {"total", "rec", "d_loss"}
            assert sum(out.balance.values()) == pytest.approx(1.0)
    assert measured == [True, True, True, False, True, False, False, False, True]
    plain = _trainer(recipe_cfg).step(content, style)
    assert plain.adv_weight == recipe_cfg.lambda_adv  # not adaptive: the configured weight


def test_blurred_anime_is_a_negative_for_the_discriminator(recipe_cfg, monkeypatch):
    seen = {}

    def capture(kind, real, negatives):
        seen["negatives"] = negatives
        return real[0].sum() * 0

    monkeypatch.setattr(L, "discriminator_loss", capture)
    style = normalize(torch.rand(2, 3, 64, 64))
    t = _trainer(recipe_cfg)
    t._discriminator_loss(style, style)
    weights = [w for _, w in seen["negatives"]]
    assert weights == [1.7, 1.0, 1.0, 1.7]  # generated, edge-smoothed, blurred, grayscale


def test_history_has_the_balance_columns_and_the_log_its_first_line(recipe_cfg, tmp_path):
    cfg = recipe_cfg.replace(epochs=2, adv_adaptive=True, balance_every=1, save_every=2)
    result = T.train(cfg, tmp_path / "run")
    for row in result.history:
        shares = {k: v for k, v in row.items() if k.endswith("_share")}
        assert {k.removesuffix("_share") for k in shares} >= {"content", "style", "luma", "adv"}
        assert sum(shares.values()) == pytest.approx(1.0, abs=1e-4)
        assert row["adv_weight"] > 0
    log = (tmp_path / "run" / "train.log").read_text()
    assert "loss balance (epoch 1, step 1; share of the generator's gradient):" in log


# --- fp16 autocast (CUDA's AMP, reproduced on the CPU) ------------------------------------------
def test_gram_matrix_survives_fp16_autocast():
    """Regression: `f @ f.T` under autocast runs in fp16 and overflows once a channel's RMS
    passes about 9 over 784 positions (relu4_1 at 224 px); pretrained VGG19 gets there."""
    feat = torch.randn(2, 64, 28, 28) * 30
    ref = gram_matrix(feat.double()).float()
    with torch.autocast("cpu", dtype=torch.float16):
        gram = gram_matrix(feat)
    assert gram.dtype == torch.float32 and torch.isfinite(gram).all()
    torch.testing.assert_close(gram, ref, rtol=1e-4, atol=1e-2)


def test_statistics_and_pixel_losses_run_in_fp32_under_autocast():
    """calc_mean_std / AdaIN on fp16 features whose variance passes fp16's 65504, TV and colour
    on fp16 images: finite, fp32, and what fp32 computes."""
    g = torch.Generator().manual_seed(0)
    feat = (torch.randn(2, 8, 16, 16, generator=g) * 300).half()  # variance ~9e4 > 65504
    style = (torch.randn(2, 8, 16, 16, generator=g) * 3).half()
    image = torch.randn(2, 3, 32, 32, generator=g).half()
    photo = torch.randn(2, 3, 32, 32, generator=g).half()
    ref_mean, ref_std = calc_mean_std(feat.float())
    ref_adain = adaptive_instance_normalization(feat.float(), style.float())
    ref_tv, ref_color = L.tv_loss(image.float()), L.color_loss(image.float(), photo.float())
    with torch.autocast("cpu", dtype=torch.float16):
        mean, std = calc_mean_std(feat)
        adain = adaptive_instance_normalization(feat, style)
        tv, color = L.tv_loss(image), L.color_loss(image, photo)
    for got, ref in ((mean, ref_mean), (std, ref_std), (adain, ref_adain)):
        assert got.dtype == torch.float32 and torch.isfinite(got).all()
        torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-3)
    for got, ref in ((tv, ref_tv), (color, ref_color)):
        assert got.dtype == torch.float32
        torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6)


def _loud_vgg(trainer, content, rms=60.0):
    """Scale the random VGG19's first conv so relu4_1 has pretrained-like magnitudes (RMS >= 30
    on these images): with zero biases a ReLU net scales with its first layer's weights."""
    vgg = trainer.loss_net
    with torch.no_grad():
        now = L.vgg_features(vgg, content, (20,))[0].square().mean().sqrt()
        vgg[0].weight.mul_(rms / now)
        assert L.vgg_features(vgg, content, (20,))[0].square().mean().sqrt() >= 30


def _seeded(fn, *args):
    torch.manual_seed(0)
    return fn(*args)


@pytest.fixture(scope="module")
def loud_anime():
    """The demo preset (the anime recipe, the adversary from the first step, plus the VGG
    content and grey Gram terms it leaves off, so that every term runs) at 32 px with a loud
    VGG19, built once: config, generator, the loud VGG19, discriminator weights, a batch.
    (32 px and one pair: fp16 convolution backward on a CPU is a slow reference kernel.)"""
    cfg = get_preset(
        "demo", adv_start_epoch=1, image_size=32, lambda_content=2.0, lambda_gram_gray=50.0
    )
    ref = _trainer(cfg)
    content, style = _batch(cfg, n=1)
    _loud_vgg(ref, content, rms=100.0)  # relu4_1 has 4 x 4 positions here: 16 x 100^2 > 65504
    return cfg, ref.model, ref.loss_net, ref.disc.state_dict(), content, style


def test_anime_step_under_fp16_autocast_matches_fp32_and_the_scaler_skips(loud_anime):
    """The whole anime step under CPU fp16 autocast (CUDA AMP's numerics): every loss finite,
    fp32, and what fp32 computes. The GradScaler path too: a scale so large that the fp16
    backward overflows skips both optimizers' steps and halves the scale; a sane one trains."""
    cfg, model, vgg, disc, content, style = loud_anime
    ref, half = (
        build_trainer(
            cfg, copy.deepcopy(model), torch.device("cpu"), amp=amp, loss_net=copy.deepcopy(vgg)
        )
        for amp in (False, True)
    )
    for t in (ref, half):
        t.disc.load_state_dict(disc)
    assert half.scaler.is_enabled() and not ref.scaler.is_enabled()
    half.scaler = torch.amp.GradScaler("cpu", init_scale=2.0**100)
    before = [p.clone() for p in (*half.model.decoder.parameters(), *half.disc.parameters())]
    a, b = (_seeded(t.step, content, style) for t in (ref, half))  # the same DiffAugment draws
    assert not a.skipped and not b.skipped  # finite losses; before the fix gram_gray was inf
    assert set(a.losses) == set(b.losses) >= {"gram_gray", "style", "adv", "d_loss", "total"}
    # the features are loud: relu4_1's Gram sums 16 positions of RMS 100, over fp16's 65504
    assert L.gram_matrix(L.vgg_features(vgg, content, (20,))[0]).abs().max() * 16 > 65504
    for k, v in b.losses.items():
        assert v.dtype == torch.float32 and torch.isfinite(v), k
        if k != "total":  # the total carries the adaptive weight: below
            torch.testing.assert_close(
                v, a.losses[k], rtol=2e-2, atol=1e-3, msg=lambda m, k=k: f"{k}: {m}"
            )
    # the adaptive weight is a ratio of two gradient norms; this step's fp16 gradients overflow
    # (the scale is 2^100), so it falls back to 1 (x lambda_adv), and the total is still the sum
    assert b.adv_weight == pytest.approx(cfg.lambda_adv) and a.adv_weight != b.adv_weight
    for r in (a, b):
        total = r.losses["rec"] + r.adv_weight * r.losses["adv"]
        torch.testing.assert_close(r.losses["total"], total, rtol=1e-5, atol=1e-5)
    after = [*half.model.decoder.parameters(), *half.disc.parameters()]
    assert half.scaler.get_scale() == 2.0**99  # the scaled gradients overflowed: no update
    assert all(torch.equal(p, q) for p, q in zip(before, after, strict=True))
    half.scaler.update(2.0**-8)  # loud features, large gradients
    assert not half.step(content, style).skipped
    assert half.scaler.get_scale() == 2.0**-8  # no overflow at this scale: both nets stepped
    assert all(not torch.equal(p, q) for p, q in zip(before, after, strict=True))
    assert all(torch.isfinite(p).all() for p in after)


def test_style_prototype_under_autocast_matches_fp32(loud_anime):
    model = loud_anime[1].eval()
    batches = [torch.randn(4, 3, 32, 32) for _ in range(2)]
    ref = model.style_prototype(iter(batches))
    with torch.autocast("cpu", dtype=torch.float16):
        half = model.style_prototype(iter(batches))
    assert half["count"] == ref["count"] == 8 and half["mean"].dtype == torch.float32
    for k in ("mean", "std"):
        torch.testing.assert_close(half[k], ref[k], rtol=2e-2, atol=2e-2, msg=k)
