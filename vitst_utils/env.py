"""Where we run: Kaggle or not, which folders to read and write, which devices exist."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import torch

from .config import TrainConfig

# Kaggle stops GPU sessions after 12 h; stop at 11 h with a checkpoint to resume from.
KAGGLE_TIME_BUDGET_MINUTES = 11 * 60
CPU_PRESETS = ("smoke", "demo")  # the presets sized for a CPU


def kaggle_input_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Kaggle's read-only inputs ($VITST_KAGGLE_INPUT overrides, e.g. for tests)."""
    environ = os.environ if environ is None else environ
    return Path(environ.get("VITST_KAGGLE_INPUT") or "/kaggle/input")


def kaggle_working_dir() -> Path:
    """Kaggle's kept outputs, about 20 GB ($VITST_KAGGLE_WORKING overrides)."""
    return Path(os.environ.get("VITST_KAGGLE_WORKING", "/kaggle/working"))


def on_kaggle() -> bool:
    return "KAGGLE_KERNEL_RUN_TYPE" in os.environ or kaggle_working_dir().is_dir()


def default_run_dir(preset: str) -> Path:
    """$VITST_RUN_DIR, else /kaggle/working/vitst/<preset> on Kaggle, else ./runs/<preset>."""
    if "VITST_RUN_DIR" in os.environ:
        return Path(os.environ["VITST_RUN_DIR"])
    base = kaggle_working_dir() / "vitst" if on_kaggle() else Path("runs")
    return base / preset


def gpu_count() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def resolve_strategy(strategy: str, n_gpus: int | None = None) -> str:
    """`auto` -> ddp with several GPUs, else single; dp/ddp need several GPUs for their point,
    but dp on one device is simply single."""
    n = gpu_count() if n_gpus is None else n_gpus
    if strategy == "auto":
        return "ddp" if n > 1 else "single"
    if strategy == "dp" and n < 2:
        return "single"
    return strategy


def describe_hardware() -> str:
    """One line on the devices torch sees, for logs and notebooks."""
    n = gpu_count()
    if n == 0:
        return f"CPU only ({os.cpu_count()} cores), torch {torch.__version__}"
    names = [torch.cuda.get_device_name(i) for i in range(n)]
    return f"{n} GPU(s): {', '.join(names)}; torch {torch.__version__}, CUDA {torch.version.cuda}"


def adapt_to_hardware(cfg: TrainConfig, exact: bool = False) -> TrainConfig:
    """The runtime settings a notebook wants here: on GPUs fp16 AMP and DDP across them (unless
    `exact`, which keeps the preset's own strategy and precision); on Kaggle a time budget under
    the 12 h session limit and at most 3 checkpoints (outputs are capped at 20 GB).

    Without a GPU only the CPU presets (smoke, demo) run: anything else is an error, never a
    silent switch.
    """
    if gpu_count() == 0 and cfg.preset not in CPU_PRESETS:
        raise RuntimeError(
            f"No GPU found, and the {cfg.preset!r} preset needs one ({cfg.vit_name} + VGG19 for "
            f"{cfg.epochs} epochs). Run on a GPU (Kaggle: Settings > Accelerator > GPU T4 x2), "
            "or set VITST_PRESET=demo (minutes) or VITST_PRESET=smoke (seconds) on the CPU."
        )
    overrides: dict = {}
    if gpu_count() > 0 and not exact:
        overrides.update(amp=True, strategy="auto")
    if on_kaggle():
        overrides.update(time_budget_minutes=KAGGLE_TIME_BUDGET_MINUTES, keep_last=3)
    return cfg.replace(**overrides)


def find_previous_runs(name: str, search: str | Path | None = None) -> list[Path]:
    """Run folders `.../vitst/<name>` with checkpoints under the Kaggle inputs (up to 4 levels
    down): an earlier session's or notebook's output attached as an input."""
    base = Path(search) if search is not None else kaggle_input_dir()
    pattern = f"vitst/{name}/checkpoints"
    found = {p.parent for depth in range(5) for p in base.glob("*/" * depth + pattern)}
    return sorted(p for p in found if list(p.glob("checkpoints/epoch_*.pt")))


def restore_previous_run(run_dir: str | Path, search: str | Path | None = None) -> Path | None:
    """Continue a run across Kaggle sessions: when `run_dir` holds no checkpoint yet and an
    earlier session's output is attached as an input (see `find_previous_runs`), copy its
    newest checkpoint, history and samples into `run_dir`, so that `train(..., resume=True)`
    picks up there. Returns the folder it copied from, or None.
    """
    run_dir = Path(run_dir)
    if list(run_dir.glob("checkpoints/epoch_*.pt")):
        return None
    found = [
        p
        for r in find_previous_runs(run_dir.name, search)
        for p in r.glob("checkpoints/epoch_*.pt")
    ]
    if not found:
        return None
    newest = max(found, key=lambda p: (p.name, str(p)))
    source = newest.parent.parent
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    shutil.copy2(newest, run_dir / "checkpoints" / newest.name)
    for name in ("history.csv", "config.json", "train.log"):
        if (source / name).is_file():
            shutil.copy2(source / name, run_dir / name)
    if (source / "samples").is_dir():
        shutil.copytree(source / "samples", run_dir / "samples", dirs_exist_ok=True)
    return source
