import time
import warnings

import pytest
import torch

from vitst_utils import env
from vitst_utils.presets import get_preset


def test_strategy_resolution():
    assert env.resolve_strategy("auto", 2) == "ddp"
    assert env.resolve_strategy("auto", 1) == "single"
    assert env.resolve_strategy("auto", 0) == "single"
    assert env.resolve_strategy("dp", 1) == "single" and env.resolve_strategy("dp", 2) == "dp"
    assert env.resolve_strategy("ddp", 0) == "ddp"  # gloo processes on the CPU


def test_kaggle_detection(tmp_path, monkeypatch):
    monkeypatch.setenv("VITST_KAGGLE_WORKING", str(tmp_path / "absent"))
    assert not env.on_kaggle()
    (tmp_path / "working").mkdir()
    monkeypatch.setenv("VITST_KAGGLE_WORKING", str(tmp_path / "working"))
    assert env.on_kaggle() and env.kaggle_working_dir() == tmp_path / "working"


def test_adapt_to_hardware_on_cpu(tmp_path, monkeypatch):
    monkeypatch.setenv("VITST_KAGGLE_WORKING", str(tmp_path / "absent"))
    with pytest.raises(RuntimeError, match="No GPU found.*VITST_PRESET=smoke"):
        env.adapt_to_hardware(get_preset("seed"))
    smoke = get_preset("smoke")
    assert env.adapt_to_hardware(smoke) == smoke  # nothing to change on a CPU outside Kaggle
    (tmp_path / "working").mkdir()
    monkeypatch.setenv("VITST_KAGGLE_WORKING", str(tmp_path / "working"))
    monkeypatch.delenv(env.SESSION_START_VAR, raising=False)
    on_kaggle = env.adapt_to_hardware(smoke)
    assert on_kaggle.keep_last == 3 and on_kaggle.deadline is not None
    left = on_kaggle.deadline - time.time()  # no recorded start: counted from now
    assert 11 * 3600 < left <= (12 * 60 - env.UPLOAD_MARGIN_MINUTES - env.EVALUATION_MINUTES) * 60


def _fake_gpus(monkeypatch, n, capability=(7, 5), name="Tesla T4", arch=None):
    """torch.cuda as a machine with `n` cards of `capability` and a torch built for `arch`."""
    arch = arch or ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120", "compute_120"]
    monkeypatch.setattr(env, "gpu_count", lambda: n)
    monkeypatch.setattr(torch.cuda, "get_arch_list", lambda: arch)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda i=0: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: name)


def test_adapt_to_hardware_with_gpus(monkeypatch, tmp_path):
    monkeypatch.setenv("VITST_KAGGLE_WORKING", str(tmp_path / "absent"))
    _fake_gpus(monkeypatch, 2)
    fast = env.adapt_to_hardware(get_preset("seed"))
    assert fast.amp and fast.strategy == "auto"
    exact = env.adapt_to_hardware(get_preset("seed"), exact=True)
    assert exact == get_preset("seed")  # DataParallel + fp32, as in the seed


@pytest.mark.parametrize(
    ("cap", "arch", "ok"),
    [
        ((7, 5), ["sm_75", "sm_80"], True),
        ((8, 9), ["sm_80", "sm_86"], True),  # a cubin of the same major, older minor, runs
        ((6, 0), ["sm_75", "sm_80", "sm_90", "compute_90"], False),  # P100 on Kaggle's torch
        ((7, 5), ["sm_80", "sm_90a"], False),
        ((7, 5), ["sm_50", "compute_70"], True),  # PTX of an older architecture is JIT-compiled
        ((9, 0), ["sm_90a"], True),
    ],
)
def test_arch_supported(cap, arch, ok):
    assert env.arch_supported(cap, arch) is ok


def test_a_card_without_kernels_is_an_error_naming_it_and_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("VITST_KAGGLE_WORKING", str(tmp_path / "absent"))
    _fake_gpus(monkeypatch, 2, (6, 0), "Tesla P100-PCIE-16GB", ["sm_75", "sm_80", "compute_90"])
    with pytest.raises(env.HardwareError) as caught:
        env.adapt_to_hardware(get_preset("anime"))
    msg = str(caught.value)
    assert "GPU 0 is a Tesla P100-PCIE-16GB" in msg and "sm_60" in msg and "sm_75 sm_80" in msg
    assert "no kernel image is available" in msg and "GPU T4 x2" in msg
    assert "--accelerator NvidiaTeslaT4" in msg and ">= 1.8.4" in msg


def test_fewer_gpus_than_expected_on_kaggle_warns_with_the_speed_cost(monkeypatch, tmp_path):
    (tmp_path / "working").mkdir()
    _fake_gpus(monkeypatch, 1)
    monkeypatch.setenv("VITST_KAGGLE_WORKING", str(tmp_path / "absent"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # off Kaggle one GPU is an ordinary machine
        env.adapt_to_hardware(get_preset("anime"))
    monkeypatch.setenv("VITST_KAGGLE_WORKING", str(tmp_path / "working"))
    with pytest.warns(env.HardwareWarning) as caught:
        cfg = env.adapt_to_hardware(get_preset("anime"))
    msg = str(caught[0].message)
    assert "1 GPU(s) (Tesla T4)" in msg and "expects 2 (GPU T4 x2)" in msg
    assert "50% of the planned speed" in msg and "2x as long" in msg and "--accelerator" in msg
    assert cfg.amp and cfg.strategy == "auto"  # it still trains
    _fake_gpus(monkeypatch, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env.adapt_to_hardware(get_preset("anime"))


def test_one_deadline_from_the_recorded_session_start(monkeypatch, tmp_path):
    start = time.time() - 3600  # the notebook's first cell ran an hour ago
    monkeypatch.setenv(env.SESSION_START_VAR, str(start))
    monkeypatch.setenv("VITST_KAGGLE_WORKING", str(tmp_path / "absent"))
    assert env.session_deadline() is None  # off Kaggle: no session limit
    off = env.adapt_to_hardware(get_preset("demo", time_budget_minutes=700))
    assert off.deadline is None and off.time_budget_minutes == 700  # the budget as before
    (tmp_path / "working").mkdir()
    monkeypatch.setenv("VITST_KAGGLE_WORKING", str(tmp_path / "working"))
    session_end = start + 12 * 3600 - env.UPLOAD_MARGIN_MINUTES * 60
    assert env.session_deadline() == pytest.approx(session_end)
    _fake_gpus(monkeypatch, 2)
    anime = env.adapt_to_hardware(get_preset("anime"))
    assert anime.deadline == pytest.approx(session_end - env.EVALUATION_MINUTES * 60)
    assert anime.time_budget_minutes is None  # 11 h from a process's start: the deadline rules
    rehearsal = env.adapt_to_hardware(get_preset("rehearsal"))
    assert rehearsal.time_budget_minutes == 10 and rehearsal.deadline == anime.deadline
    assert env.seconds_left(None) == float("inf") and env.seconds_left(100.0, now=40.0) == 60
    monkeypatch.setenv(env.SESSION_START_VAR, "yesterday")
    with pytest.raises(ValueError, match="VITST_SESSION_START='yesterday'"):
        env.session_deadline()


def test_environment_block_names_versions_and_devices():
    import timm

    text = env.describe_environment()
    assert f"torch {torch.__version__}" in text and f"timm {timm.__version__}" in text
    assert "vitst 0.1.0" in text and "Python 3." in text and "torchvision" in text
    assert "no GPU: CPU only" in text  # the test machine has no GPU
