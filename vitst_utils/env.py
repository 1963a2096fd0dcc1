"""Where we run: Kaggle or not, which folders to read and write, which devices exist, whether
they can run this torch, and when a Kaggle session's work must be done."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from .config import TrainConfig

# Kaggle stops GPU sessions after 12 h (REFERENCES.md, "Kaggle"). A session's work ends earlier:
# the outputs are uploaded after the notebook ends, and the final evaluation follows training.
KAGGLE_SESSION_HOURS = 12
UPLOAD_MARGIN_MINUTES = 20  # /kaggle/working (a few checkpoints) saved after the last cell
EVALUATION_MINUTES = 25  # kept after training for the final evaluation (README, Evaluation)
# A time budget at least this long is session-sized: on Kaggle the deadline replaces it.
KAGGLE_TIME_BUDGET_MINUTES = 11 * 60
SESSION_START_VAR = "VITST_SESSION_START"  # Unix seconds, set by the Kaggle build's first cell
CPU_PRESETS = ("smoke", "demo")  # the presets sized for a CPU
ACCELERATOR = "NvidiaTeslaT4"  # "GPU T4 x2" (kaggle-cli PR #1198)
PUSH_FIX = (
    f'push again asking for "GPU T4 x2": kernel-metadata.json "machine_shape": "{ACCELERATOR}" '
    f"with a kaggle CLI >= 1.8.4 (`kaggle kernels push -p DIR --accelerator {ACCELERATOR}`; "
    "older CLIs drop the choice silently), or pick Settings > Accelerator > GPU T4 x2 in the "
    "notebook editor"
)


class HardwareError(RuntimeError):
    """The GPUs here cannot run this torch build."""


class HardwareWarning(UserWarning):
    """Training runs, but slower than the preset was planned for."""


class ResumeError(RuntimeError):
    """A run was asked to continue an earlier one, and nothing of it was found."""


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


def describe_environment() -> str:
    """The startup block for train.log and notebooks: versions (vitst, Python, torch, CUDA,
    cuDNN, torchvision, timm), the NVIDIA driver and each card; what a bug report needs."""
    import timm
    import torchvision

    from . import __version__

    cuda = torch.version.cuda or "none"
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else "none"
    lines = [
        f"vitst {__version__} | Python {platform.python_version()} | torch {torch.__version__} "
        f"(CUDA {cuda}, cuDNN {cudnn}) | torchvision {torchvision.__version__} | "
        f"timm {timm.__version__}"
    ]
    n = gpu_count()
    if n == 0:
        lines.append(f"no GPU: CPU only ({os.cpu_count()} cores, {platform.machine()})")
        return "\n".join(lines)
    lines.append(f"NVIDIA driver {_driver_version()}")
    for i in range(n):
        p = torch.cuda.get_device_properties(i)
        lines.append(f"GPU {i}: {p.name}, sm_{p.major}{p.minor}, {p.total_memory / 2**20:.0f} MiB")
    return "\n".join(lines)


def _driver_version() -> str:
    if shutil.which("nvidia-smi") is None:
        return "unknown (no nvidia-smi)"
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return "unknown (nvidia-smi failed)"
    return out[0] if out else "unknown"


# --- can these GPUs run this torch? -----------------------------------------------------------
def arch_supported(capability: tuple[int, int], arch_list: Sequence[str]) -> bool:
    """Whether a card of `capability` (major, minor) runs a torch built for `arch_list`
    (`torch.cuda.get_arch_list()`): a cubin of the same major version and a minor at most the
    card's (CUDA's binary compatibility, as torch's own check), or PTX at most the card's."""
    major, minor = capability
    card = major * 10 + minor
    for arch in arch_list:
        m = re.fullmatch(r"(sm|compute)_(\d+)[a-z]?", arch)
        if not m:
            continue
        v = int(m.group(2))
        if (m.group(1) == "sm" and v // 10 == major and v <= card) or (
            m.group(1) == "compute" and v <= card
        ):
            return True
    return False


def check_gpus(cfg: TrainConfig) -> None:
    """Raise HardwareError when a visible card has no kernels in this torch build (Kaggle has
    handed out P100s, sm_60, which its current torch lacks: the first CUDA call would fail with
    "no kernel image is available"). On Kaggle, warn (HardwareWarning) when fewer GPUs are
    visible than `cfg.expected_gpus`."""
    n = gpu_count()
    arch = torch.cuda.get_arch_list() if n else []
    for i in range(n):
        cap = torch.cuda.get_device_capability(i)
        if not arch_supported(cap, arch):
            raise HardwareError(
                f"GPU {i} is a {torch.cuda.get_device_name(i)} (compute capability "
                f"sm_{cap[0]}{cap[1]}), but this torch {torch.__version__} has kernels for "
                f"{' '.join(arch) or 'no GPU'} only: its first CUDA call would fail with 'no "
                f"kernel image is available'. On Kaggle: {PUSH_FIX}. Elsewhere: install a torch "
                "build for this card, or use another card."
            )
    if on_kaggle() and cfg.expected_gpus and n < cfg.expected_gpus:
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(n)) or "none"
        warnings.warn(
            f"Kaggle gave this session {n} GPU(s) ({names}), but the {cfg.preset!r} preset "
            f"expects {cfg.expected_gpus} (GPU T4 x2). Training runs at about "
            f"{n / cfg.expected_gpus:.0%} of the planned speed: each epoch takes about "
            f"{cfg.expected_gpus / max(n, 1):.0f}x as long, and a session covers that much "
            f"fewer epochs (a resume continues the rest). To get both: {PUSH_FIX}.",
            HardwareWarning,
            stacklevel=2,
        )


# --- a Kaggle session's deadline -------------------------------------------------------------
def session_start(environ: Mapping[str, str] | None = None) -> float | None:
    """When this Kaggle session started (Unix s), as the built notebook's first cell recorded
    it in $VITST_SESSION_START (child processes inherit it); None when not recorded."""
    raw = (os.environ if environ is None else environ).get(SESSION_START_VAR, "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValueError(
            f"${SESSION_START_VAR}={raw!r} is not a time in Unix seconds; unset it (the Kaggle "
            "notebook's first cell sets it)"
        ) from None


def session_deadline(
    environ: Mapping[str, str] | None = None, now: float | None = None
) -> float | None:
    """When a Kaggle session's work must be over (Unix s): its start + 12 h - the upload margin;
    None off Kaggle. Without a recorded start, counted from `now` (later than the truth)."""
    if not on_kaggle():
        return None
    start = session_start(environ)
    start = start if start is not None else (time.time() if now is None else now)
    return start + KAGGLE_SESSION_HOURS * 3600 - UPLOAD_MARGIN_MINUTES * 60


def seconds_left(deadline: float | None, now: float | None = None) -> float:
    """Seconds until `deadline` (inf for None)."""
    if deadline is None:
        return float("inf")
    return deadline - (time.time() if now is None else now)


def describe_hardware() -> str:
    """One line on the devices torch sees, for logs and notebooks."""
    n = gpu_count()
    if n == 0:
        return f"CPU only ({os.cpu_count()} cores), torch {torch.__version__}"
    names = [torch.cuda.get_device_name(i) for i in range(n)]
    return f"{n} GPU(s): {', '.join(names)}; torch {torch.__version__}, CUDA {torch.version.cuda}"


def adapt_to_hardware(cfg: TrainConfig, exact: bool = False) -> TrainConfig:
    """The runtime settings a notebook wants here: on GPUs fp16 AMP and DDP across them (unless
    `exact`, which keeps the preset's own strategy and precision), after `check_gpus`; on Kaggle
    at most 3 checkpoints (outputs are capped at 20 GB) and a `deadline`: the session's (see
    `session_deadline`) less `EVALUATION_MINUTES` for the final evaluation. There a
    session-sized `time_budget_minutes` (>= 11 h, counted from the training process's start)
    gives way to the deadline, which counts from the session's start; a shorter one stays.

    Without a GPU only the CPU presets (smoke, demo) run: anything else is an error, never a
    silent switch.
    """
    if gpu_count() == 0 and cfg.preset not in CPU_PRESETS:
        raise RuntimeError(
            f"No GPU found, and the {cfg.preset!r} preset needs one ({cfg.vit_name} + VGG19 for "
            f"{cfg.epochs} epochs). Run on a GPU (Kaggle: Settings > Accelerator > GPU T4 x2), "
            "or set VITST_PRESET=demo (minutes) or VITST_PRESET=smoke (seconds) on the CPU."
        )
    if gpu_count() > 0:
        check_gpus(cfg)
    overrides: dict = {}
    if gpu_count() > 0 and not exact:
        overrides.update(amp=True, strategy="auto")
    if on_kaggle():
        budget = cfg.time_budget_minutes
        if budget and budget >= KAGGLE_TIME_BUDGET_MINUTES:
            budget = None
        deadline = session_deadline() - EVALUATION_MINUTES * 60
        overrides.update(deadline=deadline, time_budget_minutes=budget, keep_last=3)
    return cfg.replace(**overrides)


def find_previous_runs(name: str, search: str | Path | None = None) -> list[Path]:
    """Run folders `.../vitst/<name>` with checkpoints under the Kaggle inputs (up to 4 levels
    down): an earlier session's or notebook's output attached as an input."""
    base = Path(search) if search is not None else kaggle_input_dir()
    pattern = f"vitst/{name}/checkpoints"
    found = {p.parent for depth in range(5) for p in base.glob("*/" * depth + pattern)}
    return sorted(p for p in found if list(p.glob("checkpoints/epoch_*.pt")))


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
    if list(run_dir.glob("checkpoints/epoch_*.pt")):
        return None
    if source:
        base = Path(search) if search is not None else kaggle_input_dir()
        slug = source.rstrip("/").rsplit("/", 1)[-1]
        mounts = {d for depth in range(4) for d in base.glob("*/" * depth + slug) if d.is_dir()}
        runs = [r for m in sorted(mounts) for r in find_previous_runs(run_dir.name, m)]
    else:
        runs = find_previous_runs(run_dir.name, search)
    found = [p for r in runs for p in r.glob("checkpoints/epoch_*.pt")]
    if not found and source:
        raise ResumeError(_nothing_to_resume(source, run_dir.name, base, sorted(mounts)))
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
