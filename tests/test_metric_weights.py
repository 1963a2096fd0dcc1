"""The weights of the optional metrics (metric_weights.py): the canonical files, the networks
they load into, found in the hub cache or downloaded online (never offline), refused when they
carry code or other keys. Never downloads: weight files live in tmp_path, TORCH_HOME is a temp
dir (conftest), and a download attempt fails the test."""

import datetime

import pytest
import torch
from eval_helpers import pixels

from vitst_utils import metric_weights as W
from vitst_utils import metrics as M

_real_download = W._download
pytestmark = pytest.mark.usefixtures("no_downloads")


def test_weight_urls_match_the_libraries():
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
    from torchvision.models import AlexNet_Weights

    assert W.INCEPTION.url == URL_INCEPTION_V3 and W.INCEPTION.url.endswith(W.INCEPTION.name)
    assert W.ALEXNET.url == AlexNet_Weights.IMAGENET1K_V1.url
    assert W.SFACE.url.endswith("/face_recognition_sface/" + W.SFACE.name)


def test_weighted_metrics_from_written_weight_files(weights_dir, small_inception):
    nets = W.load_metric_nets(weights_dir)
    assert nets.unavailable == {} and nets.inception is not None and nets.lpips is not None
    assert nets.face is not None
    x, y = pixels(3, 1, 64), pixels(3, 2, 64) * torch.tensor([1.0, 0.2, 0.5]).view(1, 3, 1, 1)
    assert nets.face.similarity(x, x) == pytest.approx(1.0, abs=1e-5)
    assert nets.face.similarity(x, y) < 0.999
    a, b = pixels(4, 1), pixels(4, 2) * 0.3
    fa, fb = M.inception_features(nets.inception, a), M.inception_features(nets.inception, b)
    assert fa.shape == (4, 2048)
    fid_self, kid_self = M.fid_kid(fa, fa)
    fid_other, kid_other = M.fid_kid(fa, fb)
    assert abs(fid_self) < 1e-3 and abs(kid_self) < 1e-2
    assert fid_other > 0.1 and fid_other > 100 * abs(fid_self) and kid_other > kid_self
    assert M.lpips_score(nets.lpips, a, a) == pytest.approx(0.0, abs=1e-6)
    assert M.lpips_score(nets.lpips, a, b) > 0.01


def test_offline_without_files_is_not_available_with_the_reason(tmp_path):
    nets = W.load_metric_nets(tmp_path)  # empty weights dir, empty TORCH_HOME, offline
    assert nets.inception is None and nets.lpips is None and nets.face is None
    assert set(nets.unavailable) == {"fid", "kid", "lpips", "art_fid", "identity_cos"}
    assert W.SFACE.name in nets.unavailable["identity_cos"]
    assert W.INCEPTION.name in nets.unavailable["fid"] and "offline" in nets.unavailable["fid"]
    assert (
        W.ALEXNET.name in nets.unavailable["lpips"] and str(tmp_path) in nets.unavailable["lpips"]
    )


def test_weight_files_found_in_the_hub_cache_and_downloaded_online(
    tmp_path, weights_dir, monkeypatch
):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cache = W.hub_cache_dir()
    assert cache == tmp_path / "torch" / "hub" / "checkpoints"
    with pytest.raises(W.WeightsUnavailable, match="offline"):
        W.find_weights(W.ALEXNET)
    cache.mkdir(parents=True)
    (cache / W.ALEXNET.name).symlink_to(weights_dir / W.ALEXNET.name)
    assert W.find_weights(W.ALEXNET) == cache / W.ALEXNET.name

    # online: a download (here from a file:// URL) lands in the cache; a bad hash is refused
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("VITST_OFFLINE", "0")
    monkeypatch.setattr(W, "_download", _real_download)
    source = (weights_dir / W.INCEPTION.name).as_uri()
    spec = W.WeightFile(W.INCEPTION.name, source, "test")
    assert W.find_weights(spec) == cache / W.INCEPTION.name
    assert (cache / W.INCEPTION.name).stat().st_size == (
        weights_dir / W.INCEPTION.name
    ).stat().st_size
    bad = W.WeightFile("model-0123abcd.pth", source, "test", sha256_prefix="0123abcd")
    with pytest.raises(W.WeightsUnavailable, match="sha256"):
        W.find_weights(bad)
    assert not (cache / "model-0123abcd.pth").exists()


def test_weight_files_with_code_or_wrong_keys_are_refused(tmp_path):
    torch.save({"when": datetime.date(2020, 1, 1)}, tmp_path / W.INCEPTION.name)
    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / W.ALEXNET.name)
    (tmp_path / W.SFACE.name).write_bytes(b"not an onnx model")
    nets = W.load_metric_nets(tmp_path)
    assert "weights_only" in nets.unavailable["fid"]
    assert "not a torchvision AlexNet state dict" in nets.unavailable["lpips"]
    assert "not an SFace ONNX model" in nets.unavailable["identity_cos"]
