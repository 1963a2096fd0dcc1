"""The end of a session: the guarded final evaluation and the rehearsal's verdict."""

import math
import time

import pytest

from vitst_utils import session as S
from vitst_utils.presets import get_preset

ENVIRONMENT = "\n".join(  # env.describe_environment() on Kaggle's GPU T4 x2
    [
        "vitst 0.1.0 | Python 3.12.3 | torch 2.10.0+cu128 (CUDA 12.8, cuDNN 91002) | "
        "torchvision 0.25.0 | timm 1.0.31",
        "NVIDIA driver 560.35.03",
        "GPU 0: Tesla T4, sm_75, 15095 MiB",
        "GPU 1: Tesla T4, sm_75, 15095 MiB",
    ]
)


def _history(img_s=60.0, skipped=(0, 0)):
    rows = [{"epoch": 1, "images_per_s": img_s * 0.8, "skipped_steps": skipped[0]}]
    rows.append({"epoch": 2, "images_per_s": img_s, "skipped_steps": skipped[1], "d_loss": 0.4})
    return rows


SUMMARY = {"stopped": "completed", "epochs_completed": 2, "peak_memory_mib": [6144.0, 6010.5]}


def test_verdict_reports_what_the_full_run_needs():
    full = get_preset("anime")  # batch 16, 30 epochs
    done = S.EvaluationOutcome("done", "table", 90.0)
    v = S.rehearsal_verdict(_history(60.0), SUMMARY, ENVIRONMENT, full, 32_000, 2, done)
    text = v.text()
    assert (
        v.ready
        and v.fits
        and text.endswith("VERDICT: ready. Push the full run (build " + ("without --rehearsal)."))
    )
    assert "cards: GPU 0: Tesla T4, sm_75, 15095 MiB; GPU 1: Tesla T4" in text
    assert "torch 2.10.0+cu128" in text and "driver: NVIDIA driver 560.35.03" in text
    assert "speed: 60.0 img/s in epoch 2 (the adversary on)" in text
    assert "peak memory: GPU 0 6144 MiB, GPU 1 6010 MiB" in text
    assert "non-finite steps: 0" in text
    # 32000 pairs = 2000 steps of 16 at 60 img/s: 533 s an epoch, 30 epochs 4.4 h
    assert v.epoch_seconds == pytest.approx(2000 * 16 / 60)
    assert "32000 pairs = 2000 steps of 16 -> 8.9 min" in text
    assert "30 epochs: 4.4 h of the 11.1 h a session leaves for training -> fit" in text


def test_verdict_says_when_the_plan_does_not_fit_or_is_not_ready():
    full = get_preset("anime")
    slow = S.rehearsal_verdict(_history(20.0), SUMMARY, ENVIRONMENT, full, 32_000, 2)
    assert not slow.fits and slow.ready  # it trains, over two sessions
    # 2000 steps of 16 at 20 img/s: 26.7 min an epoch; 12 h - 20 - 25 - 10 min leaves 665 min
    assert "do NOT fit: about 24 per session, the rest after a resume" in slow.text()
    assert slow.sessions == 2 and "It needs about 2 sessions" in slow.text()
    failed = S.EvaluationOutcome("failed", "exit code 2; the checkpoints are kept.")
    bad = S.rehearsal_verdict(
        _history(60.0, skipped=(3, 0))[:1],
        {"stopped": "time_budget", "peak_memory_mib": []},
        "vitst 0.1.0 | ...\nno GPU: CPU only (2 cores, x86_64)",
        full,
        32_000,
        2,
        failed,
    )
    assert not bad.ready and "VERDICT: NOT ready" in bad.text()
    assert any("only 1/2 epochs trained (time_budget)" in p for p in bad.problems)
    assert any("3 non-finite steps" in p for p in bad.problems)
    assert any("final evaluation failed" in p for p in bad.problems)
    assert "peak memory: n/a (no GPU)" in bad.text() and "(the adversary off)" in bad.text()


def test_count_training_pairs(sample_root):
    cfg = get_preset("anime")
    assert S.count_training_pairs(sample_root, cfg) == 8  # the sample set: 8 train per domain
    assert S.count_training_pairs(sample_root, cfg.replace(train_limit=5)) == 5


def test_final_evaluation_never_raises_and_keeps_within_the_deadline(tmp_path, monkeypatch):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "epoch_001.pt").write_bytes(b"a checkpoint")
    late = S.final_evaluation(run, deadline=time.time() + 60)  # under 3 min left: not started
    assert late.status == "skipped" and "1.0 min left" in late.text and late.log is None
    failed = S.final_evaluation(run, data_root=tmp_path / "no-data")  # the child fails
    assert failed.status == "failed" and "the checkpoints are kept" in failed.text
    assert "no-data" in failed.log.read_text()
    monkeypatch.setattr(S, "MIN_EVALUATION_MINUTES", 0)
    cut = S.final_evaluation(run, deadline=time.time() + 0.2)  # the child is stopped
    assert cut.status == "timed_out" and "session deadline" in cut.text
    assert (run / "checkpoints" / "epoch_001.pt").read_bytes() == b"a checkpoint"
    assert "final evaluation: timed_out" in str(cut) and math.isfinite(cut.seconds)
