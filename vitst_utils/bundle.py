"""The package carried inside a notebook: every `vitst_utils/*.py` zipped (deterministically)
into the notebook's first code cell, which unpacks it on Kaggle, imports it from there and
installs what the Kaggle image lacks (never torch).

`kaggle kernels push` uploads only the text of the notebook, never the files beside it, so the
package has to travel inside it. Everything here works from an installed package: the files
come from this package's own folder; the pins from the requirements.txt the caller names.
`kaggle.py` builds the push folder around it.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import io
import re
import zipfile
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLE_VAR = "_VITST_BUNDLE"
BUNDLE_TAG = "vitst-bundle"
BUNDLE_MARKER = "UNPACKED_FROM_NOTEBOOK.txt"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same sources give the same notebook

# The bundle cell; @TOKENS@ are filled in by `bundle_cell_source`.
_BUNDLE_CELL = '''\
# vitst_utils, bundled by `python -m vitst_utils.kaggle build` (payload at the bottom).
# `kaggle kernels push` uploads only this notebook, so the package travels inside it. This cell
# records the session's start, unpacks the package into ./vitst_utils (replacing an older copy),
# imports it from there, and installs what Kaggle lacks (timm, torch-fidelity, ...) without
# dependencies, never torch. Generated: edit the repository and rebuild, not this cell.
import os as _vitst_os
import time as _vitst_time

# The session's clock, first of all: training and the final evaluation share one deadline
# counted from here (child processes inherit it; a second run of this cell keeps it).
_vitst_os.environ.setdefault("@START_VAR@", repr(_vitst_time.time()))
_vitst_os.environ.update(@SETTINGS@)  # the build's choices, read by the training cells
del _vitst_os, _vitst_time


def _vitst_unpack(payload: str) -> None:
    import base64
    import importlib
    import importlib.util
    import io
    import shutil
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    pkg = Path.cwd() / "vitst_utils"
    marker = pkg / "@MARKER@"
    if pkg.exists():
        if not marker.is_file():
            raise RuntimeError(
                f"{pkg} exists but was not unpacked by this notebook (a source checkout?). "
                "Run the notebook from another folder, or move that folder away."
            )
        shutil.rmtree(pkg)
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(payload))) as zf:
        zf.extractall(pkg)
    marker.write_text("Unpacked from the vitst_utils bundle @SHA@ of a notebook.\\n")
    root = str(pkg.parent)
    sys.path[:] = [root] + [p for p in sys.path if p != root]
    for name in [m for m in sys.modules if m == "vitst_utils" or m.startswith("vitst_utils.")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    # (module, requirement) pairs, pinned as in requirements.txt; only the missing ones install
    installs = @INSTALLS@
    missing = [req for module, req in installs if importlib.util.find_spec(module) is None]
    if missing:
        print(f"missing here: pip install --no-deps {' '.join(missing)}")
        pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", *missing]
        subprocess.check_call(pip)
        importlib.invalidate_caches()
    import vitst_utils

    print(f"vitst_utils {vitst_utils.__version__} (bundle @SHA@, @N@ files)")
    print(f"vitst_utils imported from {vitst_utils.__file__}")


@VAR@ = """
@PAYLOAD@
"""
_vitst_unpack(@VAR@)
del _vitst_unpack, @VAR@
'''


class KaggleBuildError(ValueError):
    """The push folder cannot be built; the message names the file or option and the fix."""


def package_files(package_dir: Path = PACKAGE_DIR) -> dict[str, bytes]:
    """{name: bytes} of every `*.py` in the package folder, each checked to compile."""
    files = {p.name: p.read_bytes() for p in sorted(package_dir.glob("*.py"))}
    if "__init__.py" not in files:
        raise KaggleBuildError(f"{package_dir} has no __init__.py: is this the vitst_utils folder?")
    for name, data in files.items():
        try:
            compile(data, str(package_dir / name), "exec")
        except SyntaxError as e:
            raise KaggleBuildError(
                f"{package_dir / name} does not compile ({e}); fix it before building, since "
                "the notebook would carry the broken file to Kaggle."
            ) from e
    return files


def pack(files: dict[str, bytes]) -> bytes:
    """A deterministic zip (sorted names, fixed timestamps, deflate) of `files`."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, files[name], compresslevel=9)
    return buf.getvalue()


def requirement(requirements: Path, name: str, pinned: bool = False) -> str:
    """The requirement of `name` in requirements.txt ("torch-fidelity==0.4.0",
    "torchmetrics>=1.4"); `pinned` insists on an exact `==` pin."""
    try:
        text = requirements.read_text()
    except OSError as e:
        raise KaggleBuildError(f"Cannot read {requirements}: {e}") from e
    match = re.search(rf"^\s*({re.escape(name)}\s*(?:[=<>!~]=?[^\s;#,]+\s*,?\s*)+)", text, re.M)
    spec = re.sub(r"\s+", "", match.group(1)).rstrip(",") if match else ""
    if not spec or (pinned and not re.fullmatch(rf"{re.escape(name)}==[^,]+", spec)):
        raise KaggleBuildError(
            f"{requirements} has no '{name}{'==<version>' if pinned else '<version spec>'}' "
            f"line; add it, since the Kaggle notebook installs {name} from it when missing."
        )
    return spec


# What the Kaggle image may lack: (import name, requirements.txt name, exact pin needed).
# Installed with --no-deps, so Kaggle's own torch is never touched; torchmetrics (preinstalled
# there) brings lightning-utilities only when it has to be installed itself.
KAGGLE_INSTALLS = (
    ("timm", "timm", True),
    ("torch_fidelity", "torch-fidelity", True),
    ("torchmetrics", "torchmetrics", False),
    ("av", "av", False),  # notebook 03's video section (PyAV; its wheels carry FFmpeg)
)
NEVER_INSTALL = frozenset({"torch", "torchvision", "torchaudio"})


def kaggle_installs(requirements: Path) -> list[tuple[str, str]]:
    """(module, requirement) pairs the bundle cell installs when the module is missing."""
    pairs = [(mod, requirement(requirements, name, pin)) for mod, name, pin in KAGGLE_INSTALLS]
    pairs.insert(2, ("lightning_utilities", "lightning-utilities"))  # torchmetrics' own need
    for _, req in pairs:
        if re.split(r"[=<>!~]", req, maxsplit=1)[0].lower() in NEVER_INSTALL:
            raise KaggleBuildError(f"the Kaggle bundle must never install {req}: Kaggle's own")
    return pairs


def build_settings(rehearsal: bool = False, resume_from: str | None = None) -> dict[str, str]:
    """The environment the bundle cell sets for the training notebook: VITST_REHEARSAL ("1"
    or "0") and VITST_RESUME_FROM ("user/slug" or "")."""
    return {"VITST_REHEARSAL": "1" if rehearsal else "0", "VITST_RESUME_FROM": resume_from or ""}


def bundle_cell_source(
    files: dict[str, bytes],
    installs: list[tuple[str, str]],
    settings: dict[str, str] | None = None,
) -> str:
    """The first code cell: the session start and `settings` (`build_settings()`) recorded in
    the environment, the zipped package as base64, the code that unpacks it, and the packages
    it installs when missing (`kaggle_installs(requirements.txt)`)."""
    data = pack(files)
    b64 = base64.b64encode(data).decode("ascii")
    payload = "\n".join(b64[i : i + 100] for i in range(0, len(b64), 100))
    fill = {
        "@START_VAR@": "VITST_SESSION_START",  # env.SESSION_START_VAR (not imported: light)
        "@SETTINGS@": repr(settings if settings is not None else build_settings()),
        "@MARKER@": BUNDLE_MARKER,
        "@SHA@": "sha256:" + hashlib.sha256(data).hexdigest()[:12],
        "@INSTALLS@": "[" + "".join(f"\n        {pair!r}," for pair in installs) + "\n    ]",
        "@N@": str(len(files)),
        "@VAR@": BUNDLE_VAR,
        "@PAYLOAD@": payload,
    }
    return re.sub("|".join(fill), lambda m: fill[m.group(0)], _BUNDLE_CELL)


def embedded_files(nb: Any) -> dict[str, bytes]:
    """{name: bytes} of the package carried by a built notebook (a NotebookNode or a path)."""
    import nbformat

    if isinstance(nb, (str, Path)):
        nb = nbformat.read(str(nb), as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or BUNDLE_VAR not in cell.source:
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == BUNDLE_VAR for t in node.targets)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                data = base64.b64decode(node.value.value)
                with zipfile.ZipFile(io.BytesIO(data)) as zf:
                    return {name: zf.read(name) for name in zf.namelist()}
    raise KaggleBuildError(f"No {BUNDLE_VAR} bundle cell in this notebook: it was not built here.")
