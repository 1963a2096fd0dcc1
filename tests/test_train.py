import csv
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import vitst_utils.losses as L
import vitst_utils.train as T
from vitst_utils import checkpoint as C
from vitst_utils import distributed
from vitst_utils import rundir as R
from vitst_utils.model import ViTStyleTransfer, build_model
from vitst_utils.presets import get_preset

REPO = Path(__file__).resolve().parents[1]


def _cli(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "vitst_utils.train", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,
    )


def _epochs_in_history(run_dir: Path) -> list[int]:
    with open(run_dir / "history.csv") as f:
        return [int(r["epoch"]) for r in csv.DictReader(f)]


def test_cli_smoke_run_writes_everything(tmp_path):
    """The README's main job: no data root, so the smoke preset makes its synthetic set."""
    run = tmp_path / "run"
    proc = _cli("--preset", "smoke", "--out", str(run))
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert "SYNTHETIC" in out and "epoch   2/2" in out and "done: 2/2 epochs" in out
    assert (run / "config.json").is_file() and (run / "summary.json").is_file()
    assert _epochs_in_history(run) == [1, 2]
    with open(run / "history.csv") as f:
        row = next(csv.DictReader(f))
    shares = {"content_share", "style_share"}  # the seed's two terms' loss balance
    assert set(R.HISTORY_FIELDS) | shares == set(row) and float(row["images_per_s"]) > 0
    assert float(row["content_share"]) + float(row["style_share"]) == pytest.approx(1.0, abs=1e-4)
    assert row["rec_loss"] == row["total_loss"]  # no adversary: what G minimised is rec
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch_001.png", "epoch_002.png"]
    assert [e for e, _ in R.list_checkpoints(run)] == [1, 2]
    ck = C.load_checkpoint(R.checkpoint_path(run, 2))
    assert ck["epoch"] == 2 and len(ck["history"]) == 2 and "optimizer" in ck
    model, cfg = C.load_model(R.checkpoint_path(run, 2))
    assert cfg.preset == "smoke" and isinstance(model, ViTStyleTransfer)


def test_bad_cli_input_reads_well(tmp_path):
    out = _cli("--preset", "smoke", "--out", str(tmp_path), "--set", "lrr=1").communicate()[0]
    assert "unknown TrainConfig field" in out and "Traceback" not in out


def test_repeated_set_flags_all_apply():
    # a second --set used to replace the first: "--set lambda_edges=50 --set seed=1" ran seed 1
    args = T.parse_args(
        ["--preset", "demo", "--set", "lambda_edges=5", "--set", "seed=1", "lr=0.01"]
    )
    cfg = T.config_from_args(args)
    assert (cfg.lambda_edges, cfg.seed, cfg.lr) == (5.0, 1, 0.01)


def test_overfitting_a_fixed_batch_lowers_the_loss(smoke_cfg):
    torch.manual_seed(0)
    model, vgg = build_model(smoke_cfg).train(), L.loss_net(smoke_cfg)
    s = smoke_cfg.image_size
    content, style = torch.randn(2, 3, s, s).clamp(-2, 2), torch.randn(2, 3, s, s).clamp(-2, 2)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        terms = L.perceptual_losses(vgg, smoke_cfg, model(content, style), content, style)
        total = 3 * terms["content"] + terms["style"]
        total.backward()
        opt.step()
        losses.append(total.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_in_process_run_then_resume_extends_and_refuses_overwrite(smoke_cfg, tmp_path):
    res = T.train(smoke_cfg.replace(epochs=1), tmp_path)
    assert (res.epochs_completed, res.stopped) == (1, "completed")
    with pytest.raises(FileExistsError, match="already holds checkpoints.*--resume"):
        T.train(smoke_cfg, tmp_path)
    res = T.train(smoke_cfg.replace(epochs=3), tmp_path, resume=True)
    assert res.epochs_completed == 3 and [r["epoch"] for r in res.history] == [1, 2, 3]
    assert T.train(smoke_cfg.replace(epochs=3), tmp_path, resume=True).stopped == "already_complete"
    with pytest.raises(C.CheckpointError, match="Cannot resume.*differs"):
        T.train(smoke_cfg.replace(epochs=4, decoder_channels=(8, 8, 8, 8)), tmp_path, resume=True)


def test_an_older_checkpoint_resumes_with_the_vgg19_it_carries(smoke_cfg, tmp_path, monkeypatch):
    """A checkpoint written before issue 19 carries the generator's VGG19 (`vgg_loss_net.*`):
    resumed, the run continues that objective (that VGG19, not the one its config would draw)
    and ends bit-identical to a run that trained with that VGG19 throughout; the checkpoints
    it writes from then on hold the generator alone."""
    cfg = smoke_cfg.replace(epochs=2, save_every=1, keep_last=0)
    carried = L.loss_net(cfg.replace(seed=7))  # not the net cfg draws
    real = L.loss_net
    monkeypatch.setattr(L, "loss_net", lambda c, state=None: real(c, state or carried.state_dict()))
    T.train(cfg, tmp_path / "full")  # both epochs with `carried`
    monkeypatch.undo()
    old = C.load_checkpoint(R.checkpoint_path(tmp_path / "full", 1))
    old["model"] = {
        **old["model"],
        **{f"vgg_loss_net.{k}": v for k, v in carried.state_dict().items()},
    }
    R.write_atomic(R.checkpoint_path(tmp_path / "cut", 1), lambda f: torch.save(old, f))
    assert T.train(cfg, tmp_path / "cut", resume=True).epochs_completed == 2
    a = C.load_checkpoint(R.checkpoint_path(tmp_path / "full", 2))["model"]
    b = C.load_checkpoint(R.checkpoint_path(tmp_path / "cut", 2))["model"]
    assert a.keys() == b.keys() and not any(k.startswith("vgg_loss_net.") for k in b)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)


def test_keep_last_retention(smoke_cfg, tmp_path):
    T.train(smoke_cfg.replace(epochs=4, keep_last=2), tmp_path)
    assert [e for e, _ in R.list_checkpoints(tmp_path)] == [3, 4]


def test_amp_path_runs_on_cpu_with_autocast_disabled(smoke_cfg, tmp_path, caplog):
    caplog.set_level("INFO", logger="vitst_utils.train")
    res = T.train(smoke_cfg.replace(amp=True, epochs=1), tmp_path)
    assert res.epochs_completed == 1 and "amp off" in caplog.text
    assert "scaler" in C.load_checkpoint(R.checkpoint_path(tmp_path, 1))


def _nan_on(bad_calls, monkeypatch):
    """Make the content loss NaN on the given calls of the training step's loss function."""
    real = L.perceptual_losses
    calls = {"n": 0}

    def fake(*args, **kwargs):
        calls["n"] += 1
        out = real(*args, **kwargs)
        if bad_calls(calls["n"]):
            out["content"] = out["content"] * float("nan")
        return out

    monkeypatch.setattr(L, "perceptual_losses", fake)


def test_one_nonfinite_step_is_skipped_and_counted(smoke_cfg, tmp_path, monkeypatch):
    _nan_on(lambda n: n == 2, monkeypatch)
    res = T.train(smoke_cfg.replace(epochs=2), tmp_path)
    assert [r["skipped_steps"] for r in res.history] == [1, 0]
    assert all(torch.isfinite(torch.tensor(r["total_loss"])) for r in res.history)


def test_persistent_nonfinite_loss_stops_with_clear_error(smoke_cfg, tmp_path, monkeypatch):
    _nan_on(lambda n: n > 2, monkeypatch)  # epoch 1 (2 steps) is fine, then only NaN
    cfg = smoke_cfg.replace(epochs=5, max_nonfinite_steps=3)
    with pytest.raises(T.NonFiniteLossError, match="3 consecutive non-finite.*epoch_002.pt"):
        T.train(cfg, tmp_path)
    # epoch 2 skipped both its steps: no mean loss, weights untouched and still finite
    rows = R.read_history(tmp_path)
    assert [r["skipped_steps"] for r in rows] == [0, 2] and math.isnan(rows[1]["total_loss"])
    assert [e for e, _ in R.list_checkpoints(tmp_path)] == [1, 2]
    model, _ = C.load_model(R.checkpoint_path(tmp_path, 2))
    assert all(torch.isfinite(p).all() for p in model.parameters())


class _FakeClock:
    """Each call to monotonic() advances one second; everything else is the real time module."""

    def __init__(self):
        self.t = 0.0

    def monotonic(self):
        self.t += 1.0
        return self.t

    def __getattr__(self, name):
        return getattr(time, name)


def test_time_budget_stops_with_a_checkpoint_and_resumes(smoke_cfg, tmp_path, monkeypatch):
    monkeypatch.setattr(T, "time", _FakeClock())
    cfg = smoke_cfg.replace(epochs=5, save_every=10, time_budget_minutes=10 / 60)
    res = T.train(cfg, tmp_path)
    assert res.stopped == "time_budget" and 1 <= res.epochs_completed < 5
    assert [e for e, _ in R.list_checkpoints(tmp_path)] == [res.epochs_completed]
    monkeypatch.undo()
    res = T.train(cfg.replace(time_budget_minutes=None), tmp_path, resume=True)
    assert res.epochs_completed == 5 and _epochs_in_history(tmp_path) == [1, 2, 3, 4, 5]


def test_ddp_two_cpu_processes_agree(smoke_cfg, tmp_path):
    import torch.multiprocessing as mp
    from ddp_helpers import train_and_dump

    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(distributed.free_port())
    cfg = smoke_cfg.replace(epochs=2, strategy="ddp")
    mp.start_processes(
        train_and_dump, args=(2, cfg.to_dict(), str(tmp_path)), nprocs=2, start_method="spawn"
    )
    s0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    s1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    ck = C.load_checkpoint(R.checkpoint_path(tmp_path, 2))["model"]
    initial = build_model(cfg).state_dict()
    moved = [k for k in s0 if not torch.equal(s0[k], initial[k])]
    assert moved, "training changed no weight"
    assert all(torch.equal(s0[k], s1[k]) for k in s0)  # ranks identical after the steps
    assert all(torch.equal(s0[k], ck[k]) for k in s0)  # and the checkpoint is the same model
    assert _epochs_in_history(tmp_path) == [1, 2]


def test_ddp_anime_ranks_stop_after_the_same_epoch_when_their_clocks_disagree(
    sample_root, tmp_path
):
    """The anime recipe (discriminator included) in 2 gloo processes; rank 1's clock says the
    time is up after epoch 1, rank 0's does not. Deciding alone, rank 0 would start epoch 2's
    collectives while rank 1 waits in a barrier: a hang. Agreed, both stop after epoch 1, and
    rank 0 alone writes the one checkpoint stream."""
    from ddp_helpers import hang_guard, train_with_rank1_late

    cfg = get_preset(
        "demo",
        data_root=str(sample_root),
        train_limit=8,
        val_limit=2,
        num_samples=2,
        prototype_images=2,
        epochs=3,
        adv_start_epoch=1,
        save_every=2,
        warmup_steps=1,
        time_budget_minutes=60,
        strategy="ddp",
    )
    distributed.spawn(
        train_with_rank1_late, (cfg.to_dict(), str(tmp_path)), 2, poll=hang_guard(240)
    )
    assert [(tmp_path / f"rank{r}_epochs.txt").read_text() for r in (0, 1)] == ["1", "1"]
    result = T.TrainResult.from_run_dir(tmp_path)
    assert (result.stopped, result.epochs_completed) == ("time_budget", 1)
    assert [e for e, _ in R.list_checkpoints(tmp_path)] == [1]  # saved when the stop came
    assert _epochs_in_history(tmp_path) == [1] and result.history[0]["d_loss"] > 0
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["epoch_001.pt"]


def test_launch_ddp_fetches_weights_first_and_reports_a_config_error_once(
    smoke_cfg, tmp_path, monkeypatch
):
    """A download failure shows in the launching process before any worker starts; an error
    every worker hits (an indivisible batch) arrives as one plain ValueError."""
    from vitst_utils.weights import PretrainedWeightsError

    started = []
    monkeypatch.setattr(distributed, "spawn", lambda *a, **k: started.append(a))
    with pytest.raises(PretrainedWeightsError, match="offline"):
        T.launch_ddp(smoke_cfg.replace(pretrained=True), tmp_path / "weights")
    assert not started
    monkeypatch.undo()
    with pytest.raises(ValueError, match="batch_size=3 must be divisible by the 2 DDP"):
        T.launch_ddp(smoke_cfg.replace(batch_size=3), tmp_path / "batch", nprocs=2)
    logged = (tmp_path / "batch" / "train.log").read_text()
    assert "failed: ValueError: batch_size=3" in logged and "Traceback" not in logged
    assert "Traceback" in (tmp_path / "batch" / "worker_errors.log").read_text()


def test_step_bar_is_throttled_in_ddp():
    ctx = T._Ctx(get_preset("smoke"), Path("."), 0, 2, torch.device("cpu"), "ddp", False)
    assert ctx.bar_options["mininterval"] >= 30 and not ctx.bar_options["disable"]
    ctx.rank = 1
    assert ctx.bar_options["disable"]
    single = T._Ctx(get_preset("smoke"), Path("."), 0, 1, torch.device("cpu"), "single", False)
    assert "mininterval" not in single.bar_options


def test_kill_9_then_resume_reaches_the_planned_epochs(tmp_path, sample_root):
    run = tmp_path / "run"
    args = [
        "--preset",
        "smoke",
        "--data-root",
        str(sample_root),
        "--out",
        str(run),
        "--epochs",
        "6",
        "--save-every",
        "1",
    ]
    proc = _cli(*args)
    deadline = time.monotonic() + 120
    while not R.list_checkpoints(run) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(0.3)  # somewhere in a later epoch or inside a checkpoint write
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    # a kill during a write leaves at most a temp file, never a broken epoch_XXX.pt
    for _, p in R.list_checkpoints(run):
        C.load_checkpoint(p)
    proc = _cli(*args, "--resume")
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert "resumed from" in out and "done: 6/6 epochs" in out
    assert _epochs_in_history(run) == [1, 2, 3, 4, 5, 6]
    assert not list((run / "checkpoints").glob(".*tmp*"))


def test_resume_passes_over_a_broken_newest_checkpoint(smoke_cfg, tmp_path):
    T.train(smoke_cfg.replace(epochs=2), tmp_path)
    R.checkpoint_path(tmp_path, 3).write_bytes(b"PK\x03\x04 half a file")
    res = T.train(smoke_cfg.replace(epochs=3), tmp_path, resume=True)
    assert res.epochs_completed == 3 and _epochs_in_history(tmp_path) == [1, 2, 3]
    assert C.load_checkpoint(R.checkpoint_path(tmp_path, 3))["epoch"] == 3


def test_torchrun_two_processes(tmp_path, sample_root):
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "-m",
        "vitst_utils.train",
        "--preset",
        "smoke",
        "--data-root",
        str(sample_root),
        "--strategy",
        "ddp",
        "--out",
        str(run),
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "strategy ddp x2" in proc.stdout and proc.stdout.count("done: 2/2 epochs") == 1
    assert _epochs_in_history(run) == [1, 2] and len(R.list_checkpoints(run)) == 2
