"""Where we run: Kaggle or not, its input and working folders, which devices exist, whether
they can run this torch, and when a Kaggle session's work must be done. (Run folders:
`rundir.py`.)"""

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


def kaggle_input_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Kaggle's read-only inputs ($VITST_KAGGLE_INPUT overrides, e.g. for tests)."""
    environ = os.environ if environ is None else environ
    return Path(environ.get("VITST_KAGGLE_INPUT") or "/kaggle/input")


def kaggle_working_dir() -> Path:
    """Kaggle's kept outputs, about 20 GB ($VITST_KAGGLE_WORKING overrides)."""
    return Path(os.environ.get("VITST_KAGGLE_WORKING", "/kaggle/working"))


def on_kaggle() -> bool:
    return "KAGGLE_KERNEL_RUN_TYPE" in os.environ or kaggle_working_dir().is_dir()


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
