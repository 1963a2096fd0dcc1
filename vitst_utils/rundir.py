"""The run folder: its names and every read and write of it. Anything else asks here.

    <run>/config.json                the run's TrainConfig
    <run>/history.csv                one row per epoch: the mean of every loss term, lr, ...
    <run>/summary.json               epochs completed, why the run stopped, peak memory
    <run>/train.log                  the run's log; worker_errors.log: a DDP worker's traceback
    <run>/samples/epoch_XXX.png      the fixed validation pairs after each epoch
    <run>/checkpoints/epoch_XXX.pt   numbered checkpoints (`checkpoint.py` writes their insides)
    <run>/evaluation/                `evaluate`'s default output folder

Every file here is written by `write_atomic` (a temp file beside it, fsync, rename), so a crash
or a `kill -9` never leaves a half-written one. Run folders live in `default_run_dir`: `runs/`
here, `/kaggle/working/vitst/` on Kaggle; an earlier session's run attached as a Kaggle input is
found and continued with `restore_previous_run`.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from .config import TrainConfig
from .env import kaggle_input_dir, kaggle_working_dir, on_kaggle

log = logging.getLogger(__name__)

CONFIG = "config.json"
HISTORY = "history.csv"
SUMMARY = "summary.json"
LOG = "train.log"
WORKER_ERRORS = "worker_errors.log"
CHECKPOINTS = "checkpoints"
EVALUATION = "evaluation"
_CHECKPOINT_NAME = re.compile(r"^epoch_(\d+)\.pt$")
# Columns every history.csv has; each active loss term adds its own (`<term>_loss`, `d_loss`).
HISTORY_FIELDS = (
    "epoch",
    "total_loss",
    "rec_loss",
    "content_loss",
    "style_loss",
    "lr",
    "skipped_steps",
    "seconds",
    "images_per_s",
)


class ResumeError(RuntimeError):
    """A run was asked to continue an earlier one, and nothing of it was found."""


# --- writing ------------------------------------------------------------------------------------
def write_atomic(path: str | Path, content: str | bytes | Callable[[IO[bytes]], Any]) -> Path:
    """Write `content` (text, bytes, or a function writing to a binary file, such as
    `lambda f: torch.save(payload, f)`) to a temp file beside `path`, fsync, then rename it
    over `path`: readers see the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            if callable(content):
                content(f)
            else:
                f.write(content.encode("utf-8") if isinstance(content, str) else content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# --- names --------------------------------------------------------------------------------------
def checkpoint_path(run_dir: str | Path, epoch: int) -> Path:
    return Path(run_dir) / CHECKPOINTS / f"epoch_{epoch:03d}.pt"


def sample_path(run_dir: str | Path, epoch: int) -> Path:
    return Path(run_dir) / "samples" / f"epoch_{epoch:03d}.png"


def checkpoint_epoch(path: str | Path) -> int | None:
    """The epoch in a numbered checkpoint's name (`epoch_012.pt` -> 12), else None."""
    m = _CHECKPOINT_NAME.match(Path(path).name)
    return int(m.group(1)) if m else None


def run_of(path: str | Path) -> Path | None:
    """The run folder a checkpoint file lies in (`<run>/checkpoints/<file>`), else None."""
    path = Path(path)
    return path.parent.parent if path.parent.name == CHECKPOINTS else None


def default_run_dir(preset: str) -> Path:
    """$VITST_RUN_DIR, else /kaggle/working/vitst/<preset> on Kaggle, else ./runs/<preset>."""
    if "VITST_RUN_DIR" in os.environ:
        return Path(os.environ["VITST_RUN_DIR"])
    return default_out_dir(preset)


def default_out_dir(name: str) -> Path:
    """Where a tool writes by default: `runs/<name>` (ignored by git), on Kaggle
    `/kaggle/working/vitst/<name>`: never next to the data, which may be read-only."""
    base = kaggle_working_dir() / "vitst" if on_kaggle() else Path("runs")
    return base / name


# --- checkpoints --------------------------------------------------------------------------------
def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """(epoch, path) of the numbered checkpoints in `run_dir/checkpoints`, oldest first."""
    folder = Path(run_dir) / CHECKPOINTS
    if not folder.is_dir():
        return []
    found = [(e, p) for p in folder.iterdir() if (e := checkpoint_epoch(p)) is not None]
    return sorted(found)


def prune_checkpoints(run_dir: str | Path, keep_last: int) -> list[Path]:
    """Delete all but the newest `keep_last` numbered checkpoints (0 keeps all) and stale temp
    files from interrupted writes; return what was removed."""
    removed = []
    ckpts = list_checkpoints(run_dir)
    if keep_last > 0:
        removed = [p for _, p in ckpts[:-keep_last]]
    folder = Path(run_dir) / CHECKPOINTS
    if folder.is_dir():
        removed += [p for p in folder.glob(".epoch_*.pt.tmp-*")]
    for p in removed:
        p.unlink(missing_ok=True)
    return removed


def select_checkpoints(
    checkpoints: Sequence[tuple[int, Path]], max_n: int = 8
) -> list[tuple[int, Path]]:
    """At most `max_n` checkpoints spread evenly, always with the first and the last."""
    if max_n < 1:
        raise ValueError(f"max_n must be >= 1, got {max_n}")
    checkpoints = list(checkpoints)
    if len(checkpoints) <= max_n:
        return checkpoints
    if max_n == 1:
        return checkpoints[-1:]
    idx = np.unique(np.linspace(0, len(checkpoints) - 1, max_n).round().astype(int))
    return [checkpoints[i] for i in idx]


# --- config, history, summary -------------------------------------------------------------------
def write_config(run_dir: str | Path, cfg: TrainConfig) -> Path:
    return write_atomic(Path(run_dir) / CONFIG, cfg.to_json())


def read_config(run_dir: str | Path | None) -> TrainConfig | None:
    """The run's config.json, or None when there is none (or it does not parse)."""
    path = Path(run_dir) / CONFIG if run_dir is not None else None
    if path is None or not path.is_file():
        return None
    try:
        return TrainConfig.from_json(path)
    except (OSError, ValueError):
        return None


def history_column(term: str) -> str:
    """history.csv's column of a loss term (`losses.TERMS` key, "total", "rec" or "d_loss")."""
    return term if term == "d_loss" else f"{term}_loss"


def write_history(run_dir: str | Path, history: list[dict[str, Any]]) -> Path:
    """One row per epoch; loss columns first. A term that starts later (the adversary after
    its warm-up epochs) is blank before."""
    keys = list(dict.fromkeys(k for row in history for k in row))
    keys.sort(key=lambda k: (k != "epoch", not k.endswith("loss")))  # stable: keeps the order
    lines = [",".join(keys)]
    for row in history:
        cells = (row.get(k, "") for k in keys)
        lines.append(",".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in cells))
    return write_atomic(Path(run_dir) / HISTORY, "\n".join(lines) + "\n")


def read_history(run_dir: str | Path) -> list[dict[str, Any]]:
    """The rows of the run's history.csv as numbers (blank cells: NaN); [] without one."""
    path = Path(run_dir) / HISTORY
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [
            {
                k: (int(v) if k in ("epoch", "skipped_steps") else float(v) if v else math.nan)
                for k, v in r.items()
            }
            for r in csv.DictReader(f)
        ]


def write_summary(
    run_dir: str | Path,
    epochs: int,
    stopped: str,
    seconds: float,
    peaks: list[float] | None = None,
) -> Path:
    """summary.json: epochs completed, why the run stopped (completed | time_budget |
    already_complete), its seconds, the checkpoints kept and each GPU's peak memory."""
    summary = {
        "epochs_completed": epochs,
        "stopped": stopped,
        "seconds": round(seconds, 2),
        "checkpoints": [p.name for _, p in list_checkpoints(run_dir)],
        "peak_memory_mib": peaks or [],
    }
    return write_atomic(Path(run_dir) / SUMMARY, json.dumps(summary, indent=2) + "\n")


def read_summary(run_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / SUMMARY).read_text())


@dataclass
class TrainResult:
    """What a run did: read back from its run directory, whichever process trained."""

    run_dir: Path
    epochs_completed: int
    stopped: str  # completed | time_budget | already_complete
    history: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[Path] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)  # summary.json as written

    @classmethod
    def from_run_dir(cls, run_dir: str | Path) -> TrainResult:
        run_dir = Path(run_dir)
        summary = read_summary(run_dir)
        return cls(
            run_dir,
            summary["epochs_completed"],
            summary["stopped"],
            read_history(run_dir),
            [p for _, p in list_checkpoints(run_dir)],
            summary,
        )


def note_worker_error(run_dir: str | Path, rank: int, error: BaseException, traceback: str) -> None:
    """A failed DDP worker: one line in train.log (which the launcher relays) and its
    traceback in worker_errors.log. Never raises: the error itself matters more than its log."""
    run = Path(run_dir)
    try:
        run.mkdir(parents=True, exist_ok=True)
        with open(run / WORKER_ERRORS, "a") as f:
            f.write(f"DDP rank {rank} failed:\n{traceback}\n")
        with open(run / LOG, "a") as f:
            f.write(f"DDP rank {rank} failed: {type(error).__name__}: {error} (traceback in ")
            f.write(f"{run / WORKER_ERRORS})\n")
    except OSError:
        pass


# --- earlier runs: attached Kaggle outputs, notebooks ------------------------------------------
def find_previous_runs(name: str, search: str | Path | None = None) -> list[Path]:
    """Run folders `.../vitst/<name>` with checkpoints under the Kaggle inputs (up to 4 levels
    down): an earlier session's or notebook's output attached as an input."""
    base = Path(search) if search is not None else kaggle_input_dir()
    pattern = f"vitst/{name}/{CHECKPOINTS}"
    found = {p.parent for depth in range(5) for p in base.glob("*/" * depth + pattern)}
    return sorted(p for p in found if list_checkpoints(p))


def restore_previous_run(
    run_dir: str | Path, search: str | Path | None = None, source: str | None = None
) -> Path | None:
    """Continue a run across Kaggle sessions: when `run_dir` holds no checkpoint yet and an
    earlier session's output is attached as an input (see `find_previous_runs`), copy its
    newest checkpoint, history and samples into `run_dir`, so that `train(..., resume=True)`
    picks up there. Returns the folder it copied from, or None.

    With `source` ("user/slug": the notebook whose output the build's `--resume-from` attached)
    only that source's folders are searched, and finding nothing there raises ResumeError:
    the run stops before training instead of silently starting over.
    """
    run_dir = Path(run_dir)
    if list_checkpoints(run_dir):
        return None
    if source:
        base = Path(search) if search is not None else kaggle_input_dir()
        slug = source.rstrip("/").rsplit("/", 1)[-1]
        mounts = {d for depth in range(4) for d in base.glob("*/" * depth + slug) if d.is_dir()}
        runs = [r for m in sorted(mounts) for r in find_previous_runs(run_dir.name, m)]
    else:
        runs = find_previous_runs(run_dir.name, search)
    found = [p for r in runs for _, p in list_checkpoints(r)]
    if not found and source:
        raise ResumeError(_nothing_to_resume(source, run_dir.name, base, sorted(mounts)))
    if not found:
        return None
    newest = max(found, key=lambda p: (p.name, str(p)))
    source = newest.parent.parent
    (run_dir / CHECKPOINTS).mkdir(parents=True, exist_ok=True)
    shutil.copy2(newest, run_dir / CHECKPOINTS / newest.name)
    for name in (HISTORY, CONFIG, LOG):
        if (source / name).is_file():
            shutil.copy2(source / name, run_dir / name)
    if (source / "samples").is_dir():
        shutil.copytree(source / "samples", run_dir / "samples", dirs_exist_ok=True)
    return source


def _nothing_to_resume(source: str, name: str, base: Path, mounts: list[Path]) -> str:
    held = sorted(str(p.relative_to(base)) for p in base.glob("*/*")) if base.is_dir() else []
    where = ", ".join(map(str, mounts)) if mounts else f"no '{source.split('/')[-1]}' folder"
    return (
        f"--resume-from {source}: nothing to continue from, so nothing was trained. Looked for "
        f"vitst/{name}/checkpoints/epoch_*.pt under {base} ({where}; {base} holds: "
        f"{', '.join(held[:12]) or 'nothing'}). Likely Kaggle did not attach {source} (the "
        "CLI only warns about a kernel source it refuses, then pushes anyway: read the push "
        f"output), or that run saved no {name!r} checkpoint. Fix: attach its output (notebook "
        f"editor: Add Input > Your Work > Notebooks) and run again, or build with a new --title "
        f"and --resume-from {source}; build without --resume-from to start afresh."
    )


@dataclass
class RunCheckpoints:
    """A run folder's numbered checkpoints (oldest first), and whether they were trained now."""

    run_dir: Path
    checkpoints: list[tuple[int, Path]]
    trained_now: bool = False

    @property
    def latest(self) -> Path:
        return self.checkpoints[-1][1]

    def summary(self) -> str:
        epochs = ", ".join(str(e) for e, _ in self.checkpoints)
        folder = self.run_dir / CHECKPOINTS
        text = f"{len(self.checkpoints)} checkpoint(s) in {folder} (epochs {epochs})"
        if self.trained_now:
            text += "; the run folder had none, so the smoke preset was trained just now"
        return text


def ensure_checkpoints(
    cfg: TrainConfig, run_dir: str | Path, search: str | Path | None = None
) -> RunCheckpoints:
    """The checkpoints a notebook works with: those in `run_dir`; else those of an earlier run
    of the same preset under `search` (default on Kaggle: the inputs, where an attached
    02_training output lies); else, for the smoke preset only, a tiny run trained here and now
    into `run_dir`. Otherwise an error that says how to get one: nothing is trained silently
    outside smoke mode."""
    run_dir = Path(run_dir)
    found = list_checkpoints(run_dir)
    if found:
        return RunCheckpoints(run_dir, found)
    if search is None and on_kaggle():
        search = kaggle_input_dir()
    earlier = find_previous_runs(cfg.run_name, search) if search is not None else []
    if earlier:
        return RunCheckpoints(earlier[0], list_checkpoints(earlier[0]))
    if cfg.preset == "smoke":
        from .train import train  # here: the training stack is only needed in this case

        log.info("No checkpoint in %s: training %s first.", run_dir, cfg.run_name)
        train(cfg, run_dir, resume=True)
        found = list_checkpoints(run_dir)
        if found:
            return RunCheckpoints(run_dir, found, trained_now=True)
    searched = f" or under {search}" if search is not None else ""
    raise FileNotFoundError(
        f"No checkpoint in {run_dir / CHECKPOINTS}{searched}. Train first: run 02_training "
        f"with the same preset ({cfg.preset!r}), or set VITST_RUN_DIR to the run folder that "
        "holds checkpoints/epoch_XXX.pt (on Kaggle, add the 02_training notebook's output as an "
        "input: it is found there). For a quick CPU try, VITST_PRESET=smoke trains a tiny model."
    )
