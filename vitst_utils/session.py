"""The end of a Kaggle session: the final evaluation in what the deadline leaves, and the
rehearsal's verdict on the real run.

Training and the final evaluation share one deadline (`env.session_deadline`). The evaluation
runs in a child process with a timeout, so that it can never run past the deadline, and a
failure there is reported, never raised: the run's checkpoints and outputs stay as they are.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import env
from .config import TrainConfig
from .data import IMAGE_EXTENSIONS, domain_folder

MIN_EVALUATION_MINUTES = 3  # less left than this: the evaluation is skipped, not started
STARTUP_MINUTES = 10  # of a session, before training starts: installs, downloads, DDP start
PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the folder holding vitst_utils/


@dataclass
class EvaluationOutcome:
    """How the final evaluation went: `status` done | skipped | failed | timed_out; `text` the
    metrics table (done) or why not; `log` the file holding its full output."""

    status: str
    text: str
    seconds: float = 0.0
    log: Path | None = None

    def __str__(self) -> str:
        head = f"final evaluation: {self.status}" + (
            f" after {self.seconds / 60:.1f} min" if self.seconds else ""
        )
        return f"{head}\n{self.text}" + (f"\n(full output: {self.log})" if self.log else "")


def final_evaluation(
    run_dir: str | Path,
    data_root: str | Path | None = None,
    split: str = "val",
    limit: int | None = None,
    deadline: float | None = None,
    max_checkpoints: int = 1,
) -> EvaluationOutcome:
    """Score the run's newest checkpoint(s) with `python -m vitst_utils.evaluate` in a child
    process that is stopped at `deadline` (Unix s; None: no limit). Never raises: too little
    time (< MIN_EVALUATION_MINUTES), an error or the deadline end it with a status, written
    with the child's whole output to `<run_dir>/evaluation.log`; nothing else is touched."""
    run_dir = Path(run_dir)
    left = env.seconds_left(deadline)
    if left < MIN_EVALUATION_MINUTES * 60:
        return EvaluationOutcome(
            "skipped",
            f"{max(left, 0) / 60:.1f} min left before the session deadline, under the "
            f"{MIN_EVALUATION_MINUTES} min an evaluation needs. The checkpoints are kept: score "
            f"them later with `python -m vitst_utils.evaluate --run {run_dir}`.",
        )
    cmd = [sys.executable, "-m", "vitst_utils.evaluate", "--run", str(run_dir)]
    cmd += ["--split", split, "--max-checkpoints", str(max_checkpoints)]
    cmd += ["--out", str(run_dir / "evaluation")]
    cmd += ["--limit", str(limit)] if limit else []
    cmd += ["--data-root", str(data_root)] if data_root else []
    path = os.pathsep.join(p for p in (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")) if p)
    log_file = run_dir / "evaluation.log"
    t0 = time.monotonic()
    try:
        done = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=None if math.isinf(left) else left,
            env={**os.environ, "PYTHONPATH": path},
        )
    except subprocess.TimeoutExpired as e:
        _write_log(log_file, cmd, e.stdout, e.stderr)
        return EvaluationOutcome(
            "timed_out",
            f"stopped at the session deadline after {left / 60:.1f} min; the checkpoints are "
            "kept (score them later with `python -m vitst_utils.evaluate`).",
            time.monotonic() - t0,
            log_file,
        )
    except OSError as e:
        return EvaluationOutcome("failed", f"could not start the evaluation: {e}")
    _write_log(log_file, cmd, done.stdout, done.stderr)
    seconds = time.monotonic() - t0
    if done.returncode in (0, 1) and done.stdout.strip():  # 1: some checkpoint had a problem
        return EvaluationOutcome("done", done.stdout.strip(), seconds, log_file)
    tail = "\n".join((done.stderr or done.stdout or "").strip().splitlines()[-5:])
    text = f"exit code {done.returncode}; the checkpoints are kept.\n{tail}"
    return EvaluationOutcome("failed", text, seconds, log_file)


def _write_log(path: Path, cmd: list[str], stdout: Any, stderr: Any) -> None:
    def text(x: Any) -> str:
        return x.decode(errors="replace") if isinstance(x, bytes) else (x or "")

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"$ {' '.join(cmd)}\n{text(stdout)}\n--- stderr ---\n{text(stderr)}")


# --- the rehearsal's verdict -------------------------------------------------------------------
def count_training_pairs(root: str | Path, cfg: TrainConfig) -> int:
    """How many (content, style) training pairs an epoch of `cfg` has on this data: image
    files by extension (not decoded, so fast on the full set), within `cfg.train_limit`."""
    counts = []
    for domain in (cfg.content_domain, cfg.style_domain):
        folder = domain_folder(root, domain, cfg.train_split)
        n = sum(
            1
            for p in folder.iterdir()
            if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
        )
        counts.append(min(n, cfg.train_limit) if cfg.train_limit else n)
    return min(counts)


@dataclass
class Verdict:
    """The rehearsal's findings (`lines`), whether the run is `ready` (with the `problems`
    if not) and whether the full plan `fits` one session."""

    lines: list[str]
    ready: bool
    fits: bool
    epoch_seconds: float
    problems: list[str] = field(default_factory=list)
    sessions: int = 1  # sessions the full run needs

    def text(self) -> str:
        if self.ready:
            last = "VERDICT: ready. Push the full run (build without --rehearsal)."
            if self.sessions > 1:
                last += f" It needs about {self.sessions} sessions: resume with --resume-from."
        else:
            last = "VERDICT: NOT ready: " + "; ".join(self.problems)
        return "\n".join(["Rehearsal verdict", *(f"  {line}" for line in self.lines), last])


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def rehearsal_verdict(
    history: list[dict[str, Any]],
    summary: dict[str, Any],
    environment: str,
    full: TrainConfig,
    full_pairs: int,
    planned_epochs: int,
    evaluation: EvaluationOutcome | None = None,
    session_s: float | None = None,
) -> Verdict:
    """What the rehearsal says about the full run of `full` on `full_pairs` training pairs:
    the cards and versions (`environment`: `env.describe_environment()`), the speed of its
    last epoch (the adversary on, as in most `anime` epochs), each GPU's peak memory, the
    non-finite steps, the time a full epoch takes and whether `full.epochs` fit the training
    time of one session (`session_s`, default: 12 h less the upload, evaluation and startup
    margins). Ready when all `planned_epochs` trained with no non-finite step and the
    evaluation (if given) ran."""
    if session_s is None:
        session_s = (
            env.KAGGLE_SESSION_HOURS * 60
            - env.UPLOAD_MARGIN_MINUTES
            - env.EVALUATION_MINUTES
            - STARTUP_MINUTES
        ) * 60
    env_lines = environment.splitlines()
    cards = [line for line in env_lines if line.startswith(("GPU ", "no GPU"))]
    lines = [f"versions: {env_lines[0]}" if env_lines else "versions: unknown"]
    lines += [f"driver: {line}" for line in env_lines if line.startswith("NVIDIA driver")]
    lines.append(f"cards: {'; '.join(cards) or 'unknown'}")
    problems = []
    done = len(history)
    if done < planned_epochs:
        problems.append(f"only {done}/{planned_epochs} epochs trained ({summary.get('stopped')})")
    img_s = history[-1]["images_per_s"] if history else math.nan
    adversary = bool(history) and math.isfinite(history[-1].get("d_loss", math.nan))
    lines.append(
        f"speed: {img_s:.1f} img/s in epoch {done} (the adversary {'on' if adversary else 'off'})"
    )
    peaks = summary.get("peak_memory_mib") or []
    lines.append(
        "peak memory: "
        + (", ".join(f"GPU {i} {m:.0f} MiB" for i, m in enumerate(peaks)) or "n/a (no GPU)")
    )
    skipped = sum(int(r.get("skipped_steps", 0)) for r in history)
    lines.append(f"non-finite steps: {skipped}")
    if skipped:
        problems.append(f"{skipped} non-finite steps (fp16?): see train.log")
    steps = full_pairs // full.batch_size
    epoch_s = steps * full.batch_size / img_s if img_s > 0 else math.inf
    total_s = full.epochs * epoch_s
    lines.append(
        f"full {full.preset} epoch: {full_pairs} pairs = {steps} steps of {full.batch_size} "
        f"-> {_hours(epoch_s)} (training steps; checkpoints and samples add a little)"
    )
    fits = total_s <= session_s
    per_session = int(session_s // epoch_s) if epoch_s > 0 else 0
    lines.append(
        f"{full.epochs} epochs: {_hours(total_s)} of the {_hours(session_s)} a session leaves "
        "for training -> "
        + (
            "fit in one session"
            if fits
            else f"do NOT fit: about {per_session} per session, the rest after a resume "
            "(--resume-from)"
        )
    )
    if evaluation is not None:
        lines.append(f"final evaluation: {evaluation.status}")
        if evaluation.status != "done":
            problems.append(f"the final evaluation {evaluation.status}: {evaluation.text[:200]}")
    if not math.isfinite(epoch_s):
        problems.append("no speed measured")
    sessions = 1 if fits or not per_session else math.ceil(full.epochs / per_session)
    return Verdict(lines, not problems, fits, epoch_s, problems, sessions)
