"""The evaluation (evaluate.py): every metric of a smoke run beside the baselines, the training
losses named and weighted as in training, the CLI end to end, bad inputs named and the rest
scored, and folders of pictures made by other tools. Never downloads (see test_metric_weights)."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vitst_utils import evaluate as E
from vitst_utils import losses as L
from vitst_utils.config import TrainConfig
from vitst_utils.data import load_image

pytestmark = pytest.mark.usefixtures("no_downloads")
REPO = Path(__file__).resolve().parents[1]


def test_evaluate_runs_with_weights(
    smoke_run, data_root, clf, weights_dir, tmp_path, small_inception
):
    result = E.evaluate_runs(
        [smoke_run],
        data_root=data_root,
        limit=3,
        out=tmp_path / "out",
        device="cpu",
        weights_dir=weights_dir,
        max_checkpoints=1,
    )
    assert result.unavailable == {} and result.problems == [] and result.pairs == 3
    photo, anime, cel_filter, last = result.table
    assert (photo["run"], anime["run"], last["epoch"]) == ("photo", "anime", 2)
    assert cel_filter["run"] == "filter" and cel_filter["checkpoint"] == "baseline"
    assert anime["fid"] == pytest.approx(0.0, abs=1e-3) and photo["fid"] > 1.0
    assert photo["lpips"] == pytest.approx(0.0, abs=1e-6) and photo["structure"] > 0.99
    assert photo["identity_cos"] == pytest.approx(1.0, abs=1e-5) and photo["identity_top1"] == 1
    for row in result.table:
        assert row["art_fid"] == pytest.approx((1 + row["lpips"]) * (1 + row["fid"]))
    assert photo["content_loss"] is None and last["content_loss"] > 0


def test_losses_are_named_and_weighted_as_in_training(smoke_run, data_root, clf, tmp_path):
    """Each term as history.csv names it and `rec_loss`, the recipe's weighted sum of them (the
    same function as training's); no `total_loss` (it needs the discriminator). A checkpoint
    written before issue 19 is scored in the VGG19 it carries."""
    new = smoke_run / "checkpoints" / "epoch_001.pt"
    raw = torch.load(new, weights_only=True)
    cfg = TrainConfig.from_dict(raw["config"])
    files = []
    for name, vgg in (("same", L.loss_net(cfg)), ("other", L.loss_net(cfg.replace(seed=9)))):
        carried = {f"vgg_loss_net.{k}": v for k, v in vgg.state_dict().items()}
        torch.save({**raw, "model": {**raw["model"], **carried}}, tmp_path / f"{name}.pt")
        files.append(tmp_path / f"{name}.pt")
    result = E.evaluate_runs(
        checkpoints=[new, *files], data_root=data_root, limit=3, out=tmp_path / "out"
    )
    assert "rec_loss" in result.columns and "total_loss" not in result.columns
    own, same, other = result.table[3:]
    assert own["rec_loss"] == pytest.approx(
        cfg.lambda_content * own["content_loss"] + cfg.lambda_style * own["style_loss"]
    )
    assert same["content_loss"] == pytest.approx(own["content_loss"])  # the config's VGG19
    assert other["content_loss"] != pytest.approx(own["content_loss"])  # the carried one


def _run_cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "vitst_utils.evaluate", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=REPO,
    )


def test_cli_on_a_smoke_run_end_to_end(smoke_run, clf, data_root, tmp_path):
    done = _run_cli("--run", str(smoke_run), "--device", "cpu")
    assert done.returncode == 0, done.stderr
    out = smoke_run / "evaluation"
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["run"] for r in rows] == ["photo", "anime", "filter", "smoke", "smoke"]
    assert list(rows[0])[:4] == ["run", "checkpoint", "epoch", "preset"]
    assert [r["epoch"] for r in rows] == ["", "", "", "1", "2"]
    for r in rows:
        assert 0 <= float(r["domain_score"]) <= 1 and float(r["structure"]) <= 1.0001
        assert r["fid"] == r["kid"] == r["lpips"] == r["art_fid"] == "n/a"  # offline, no files
    assert float(rows[0]["domain_score"]) < 0.2 and float(rows[1]["domain_score"]) > 0.8
    assert rows[0]["content_loss"] == "" and float(rows[3]["content_loss"]) > 0
    # the cartoon filter keeps the layout and is as crisp as drawn anime
    assert float(rows[2]["structure"]) > 0.3 and float(rows[2]["crispness"]) > 0.8
    meta = json.loads((out / "metrics.json").read_text())
    assert meta["synthetic"] and meta["split"] == "val" and meta["pairs"] == 4
    assert (
        "offline" in meta["unavailable"]["fid"] and meta["classifier"]["heldout_accuracy"] >= 0.85
    )
    assert (out / "metrics.png").stat().st_size > 0
    assert "not available" in done.stdout and "held-out balanced accuracy" in done.stdout


def test_cli_bad_inputs_name_the_path_and_score_the_rest(
    smoke_run, data_root, clf, tmp_path, capsys
):
    empty = tmp_path / "empty_run"
    empty.mkdir()
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"\x00 truncated")
    lone = tmp_path / "lone.pt"
    lone.write_bytes((smoke_run / "checkpoints" / "epoch_001.pt").read_bytes())
    out = tmp_path / "out"
    code = E.main(
        [
            "--run",
            str(empty),
            str(smoke_run),
            "--checkpoint",
            str(broken),
            str(lone),
            "--data-root",
            str(data_root),
            "--split",
            "test",
            "--limit",
            "3",
            "--out",
            str(out),
            "--max-checkpoints",
            "1",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert f"{empty}: no checkpoints" in captured.out
    assert f"problem: {broken}" in captured.out  # checkpoint.py's own words follow
    assert "Skipped" in captured.err and "AnimeFace/test" in captured.err  # junk reported
    rows = json.loads((out / "metrics.json").read_text())["rows"]
    assert [(r["run"], r["checkpoint"], r["epoch"]) for r in rows] == [
        ("photo", "baseline", None),
        ("anime", "baseline", None),
        ("filter", "baseline", None),
        ("smoke", "epoch_002.pt", 2),
        ("lone", "lone.pt", 1),
    ]

    assert E.main(["--run", str(smoke_run), "--data-root", str(data_root), "--split", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "CelebA/nope" in err and "Traceback" not in err
    assert E.main(["--split", "val"]) == 2 and "error: give --run" in capsys.readouterr().err
    missing = tmp_path / "missing"
    assert E.main(["--run", str(smoke_run), "--weights-dir", str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err


def test_cli_scores_folders_of_stylised_images_and_names_the_bad_ones(
    data_root, clf, tmp_path, capsys
):
    """Another tool's outputs in the same table: the photos themselves (a perfect keep), the
    anime faces (an unrelated pairing), and a folder with a missing and an unreadable file."""
    photos = sorted((data_root / "CelebA" / "val").glob("celeba_*.jpg"))
    anime = sorted((data_root / "AnimeFace" / "val").glob("animeface_*.png"))
    same, other, broken = tmp_path / "same", tmp_path / "other", tmp_path / "broken"
    for folder in (same, other, broken):
        folder.mkdir()
    for p in photos:
        load_image(p).save(same / f"{p.stem}_x_anime.png")
    for p, a in zip(photos, anime, strict=True):
        load_image(a).save(other / f"{p.stem}.png")
    for p in photos[1:]:
        load_image(p).save(broken / f"{p.stem}.png")
    (broken / f"{photos[1].stem}.png").write_bytes(b"\x89PNG truncated")
    out = tmp_path / "out"
    argv = ["--images", str(same), str(other), str(broken), "--data-root", str(data_root)]
    code = E.main([*argv, "--out", str(out), "--metric-size", "64"])
    captured = capsys.readouterr()
    assert code == 1  # problems were named, the rest scored
    assert f"{broken}: no picture named after {photos[0].name}" in captured.out
    assert f"{broken / photos[1].stem}.png: unreadable" in captured.out
    rows = {r["run"]: r for r in json.loads((out / "metrics.json").read_text())["rows"]}
    assert rows["same"]["checkpoint"] == "images" and rows["same"]["structure"] > 0.99
    assert rows["same"]["identity_top1"] == 1.0 and rows["same"]["domain_score"] < 0.2
    assert rows["other"]["domain_score"] > 0.8 and rows["other"]["structure"] < 0.5
    assert rows["broken"]["pairs"] == len(photos) - 2 and rows["broken"]["structure"] > 0.99
