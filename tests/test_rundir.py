"""The run folder (rundir.py): names, listing, retention and selection of checkpoints, the files
of a run, the default folders, earlier runs attached as Kaggle inputs, and the notebooks'
checkpoints."""

from pathlib import Path

import pytest
import torch

import vitst_utils.train as T
from vitst_utils import checkpoint as C
from vitst_utils import rundir as R
from vitst_utils.model import build_model
from vitst_utils.presets import get_preset


@pytest.fixture(scope="module")
def smoke_model():
    torch.manual_seed(0)
    cfg = get_preset("smoke")
    return build_model(cfg, use_weights=False).eval(), cfg


def test_default_run_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VITST_KAGGLE_WORKING", str(tmp_path / "absent"))
    assert str(R.default_run_dir("seed")) == "runs/seed"
    assert str(R.default_out_dir("data_quality")) == "runs/data_quality"
    (tmp_path / "working").mkdir()
    monkeypatch.setenv("VITST_KAGGLE_WORKING", str(tmp_path / "working"))
    assert R.default_run_dir("seed") == tmp_path / "working/vitst/seed"
    assert R.default_out_dir("data_quality") == tmp_path / "working/vitst/data_quality"
    monkeypatch.setenv("VITST_RUN_DIR", str(tmp_path / "mine"))
    assert R.default_run_dir("seed") == tmp_path / "mine"


def test_list_and_prune(smoke_cfg, tmp_path):
    model = build_model(smoke_cfg)
    for e in (1, 2, 3, 10):
        C.save_checkpoint(R.checkpoint_path(tmp_path, e), model, smoke_cfg, epoch=e)
    stale = tmp_path / "checkpoints" / ".epoch_011.pt.tmp-123"
    stale.write_bytes(b"half")
    assert [e for e, _ in R.list_checkpoints(tmp_path)] == [1, 2, 3, 10]
    R.prune_checkpoints(tmp_path, keep_last=2)
    assert [e for e, _ in R.list_checkpoints(tmp_path)] == [3, 10] and not stale.exists()
    R.prune_checkpoints(tmp_path, keep_last=0)
    assert len(R.list_checkpoints(tmp_path)) == 2


def test_select_checkpoints_keeps_ends() -> None:
    ckpts = [(e, Path(f"epoch_{e:03d}.pt")) for e in range(1, 11)]
    picked = R.select_checkpoints(ckpts, 4)
    assert len(picked) == 4 and picked[0] == ckpts[0] and picked[-1] == ckpts[-1]
    assert R.select_checkpoints(ckpts, 20) == ckpts
    assert R.select_checkpoints(ckpts, 1) == ckpts[-1:]


def test_restore_previous_run_copies_the_newest_checkpoint(smoke_cfg, tmp_path):
    prev = tmp_path / "input" / "vitst-training" / "vitst" / "smoke"
    model = build_model(smoke_cfg)
    for e in (2, 4):
        C.save_checkpoint(R.checkpoint_path(prev, e), model, smoke_cfg, epoch=e)
    (prev / "history.csv").write_text("epoch\n1\n")
    (prev / "samples").mkdir()
    (prev / "samples" / "epoch_004.png").write_bytes(b"png")
    run_dir = tmp_path / "working" / "vitst" / "smoke"
    assert R.restore_previous_run(run_dir, tmp_path / "input") == prev
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["epoch_004.pt"]
    assert (run_dir / "history.csv").read_text() == "epoch\n1\n"
    assert (run_dir / "samples" / "epoch_004.png").is_file()
    assert R.restore_previous_run(run_dir, tmp_path / "input") is None  # already has one
    assert R.restore_previous_run(tmp_path / "other" / "seed", tmp_path / "input") is None


def test_resume_from_a_source_restores_from_it_or_refuses(smoke_cfg, tmp_path):
    """`--resume-from alice/vitst-training`: the checkpoint is taken from that notebook's
    mount only; with nothing there the run refuses before training (it never starts over)."""
    inputs = tmp_path / "input"
    other = inputs / "notebooks" / "alice" / "other-run" / "vitst" / "smoke"
    C.save_checkpoint(R.checkpoint_path(other, 3), build_model(smoke_cfg), smoke_cfg, epoch=3)
    run_dir = tmp_path / "working" / "vitst" / "smoke"
    with pytest.raises(R.ResumeError) as caught:
        R.restore_previous_run(run_dir, inputs, source="alice/vitst-training")
    msg = str(caught.value)
    assert msg.startswith("--resume-from alice/vitst-training: nothing to continue from")
    assert "vitst/smoke/checkpoints/epoch_*.pt" in msg and "notebooks/alice" in msg
    assert "Add Input" in msg and "--title" in msg and not run_dir.exists()
    prev = inputs / "notebooks" / "alice" / "vitst-training" / "vitst" / "smoke"
    C.save_checkpoint(R.checkpoint_path(prev, 2), build_model(smoke_cfg), smoke_cfg, epoch=2)
    assert R.restore_previous_run(run_dir, inputs, source="alice/vitst-training") == prev
    assert [p.name for p in (run_dir / "checkpoints").iterdir()] == ["epoch_002.pt"]
    # a second call in the same session: the run folder already continues, nothing to refuse
    assert R.restore_previous_run(run_dir, tmp_path / "empty", source="alice/x-run") is None


def _fake_run(run_dir: Path, model, cfg, epochs=(1, 2)) -> list[Path]:
    run_dir.mkdir(parents=True, exist_ok=True)
    cfg.to_json(run_dir / "config.json")
    return [
        C.save_checkpoint(R.checkpoint_path(run_dir, e), model, cfg, e, history=[]) for e in epochs
    ]


def test_ensure_checkpoints(smoke_model, tmp_path: Path, monkeypatch) -> None:
    model, cfg = smoke_model
    run = tmp_path / "run"
    paths = _fake_run(run, model, cfg)
    found = R.ensure_checkpoints(cfg, run)
    assert found.run_dir == run and found.latest == paths[-1] and not found.trained_now
    assert "epochs 1, 2" in found.summary()

    # A 02_training output attached as a Kaggle input is found there.
    attached = tmp_path / "input" / "my-training" / "vitst" / "smoke"
    _fake_run(attached, model, cfg, epochs=(3,))
    found = R.ensure_checkpoints(cfg, tmp_path / "empty", search=tmp_path / "input")
    assert found.run_dir == attached and [e for e, _ in found.checkpoints] == [3]

    # Outside smoke mode: an error that says what to do; nothing trained.
    seed = get_preset("seed", pretrained=False)
    with pytest.raises(FileNotFoundError, match="02_training"):
        R.ensure_checkpoints(seed, tmp_path / "empty")

    # Smoke mode: trains first (train() stubbed: the real one is covered by test_train).
    calls = []

    def fake_train(c, run_dir, resume=False):
        calls.append((c.preset, Path(run_dir), resume))
        _fake_run(Path(run_dir), model, cfg, epochs=(1,))

    monkeypatch.setattr(T, "train", fake_train)
    found = R.ensure_checkpoints(cfg, tmp_path / "fresh")
    assert calls == [("smoke", tmp_path / "fresh", True)] and found.trained_now
    assert "trained just now" in found.summary()
