import pytest

from vitst_utils import env
from vitst_utils.checkpoint import checkpoint_path, save_checkpoint
from vitst_utils.config import get_preset
from vitst_utils.model import build_model


def test_strategy_resolution():
    assert env.resolve_strategy("auto", 2) == "ddp"
    assert env.resolve_strategy("auto", 1) == "single"
    assert env.resolve_strategy("auto", 0) == "single"
    assert env.resolve_strategy("dp", 1) == "single" and env.resolve_strategy("dp", 2) == "dp"
    assert env.resolve_strategy("ddp", 0) == "ddp"  # gloo processes on the CPU


def test_run_dir_and_kaggle_detection(tmp_path, monkeypatch):
    monkeypatch.setenv("VITST_KAGGLE_WORKING", str(tmp_path / "absent"))
    assert not env.on_kaggle() and str(env.default_run_dir("seed")) == "runs/seed"
    (tmp_path / "working").mkdir()
    monkeypatch.setenv("VITST_KAGGLE_WORKING", str(tmp_path / "working"))
    assert env.on_kaggle() and env.default_run_dir("seed") == tmp_path / "working/vitst/seed"
    monkeypatch.setenv("VITST_RUN_DIR", str(tmp_path / "mine"))
    assert env.default_run_dir("seed") == tmp_path / "mine"


def test_adapt_to_hardware_on_cpu(tmp_path, monkeypatch):
    monkeypatch.setenv("VITST_KAGGLE_WORKING", str(tmp_path / "absent"))
    with pytest.raises(RuntimeError, match="No GPU found.*VITST_PRESET=smoke"):
        env.adapt_to_hardware(get_preset("seed"))
    smoke = get_preset("smoke")
    assert env.adapt_to_hardware(smoke) == smoke  # nothing to change on a CPU outside Kaggle
    (tmp_path / "working").mkdir()
    monkeypatch.setenv("VITST_KAGGLE_WORKING", str(tmp_path / "working"))
    on_kaggle = env.adapt_to_hardware(smoke)
    assert on_kaggle.time_budget_minutes == 660 and on_kaggle.keep_last == 3


def test_adapt_to_hardware_with_gpus(monkeypatch, tmp_path):
    monkeypatch.setenv("VITST_KAGGLE_WORKING", str(tmp_path / "absent"))
    monkeypatch.setattr(env, "gpu_count", lambda: 2)
    fast = env.adapt_to_hardware(get_preset("seed"))
    assert fast.amp and fast.strategy == "auto"
    exact = env.adapt_to_hardware(get_preset("seed"), exact=True)
    assert exact == get_preset("seed")  # DataParallel + fp32, as in the seed


def test_restore_previous_run_copies_the_newest_checkpoint(smoke_cfg, tmp_path):
    prev = tmp_path / "input" / "vitst-training" / "vitst" / "smoke"
    model = build_model(smoke_cfg)
    for e in (2, 4):
        save_checkpoint(checkpoint_path(prev, e), model, smoke_cfg, epoch=e)
    (prev / "history.csv").write_text("epoch\n1\n")
    (prev / "samples").mkdir()
    (prev / "samples" / "epoch_004.png").write_bytes(b"png")
    run_dir = tmp_path / "working" / "vitst" / "smoke"
    assert env.restore_previous_run(run_dir, tmp_path / "input") == prev
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["epoch_004.pt"]
    assert (run_dir / "history.csv").read_text() == "epoch\n1\n"
    assert (run_dir / "samples" / "epoch_004.png").is_file()
    assert env.restore_previous_run(run_dir, tmp_path / "input") is None  # already has one
    assert env.restore_previous_run(tmp_path / "other" / "seed", tmp_path / "input") is None
