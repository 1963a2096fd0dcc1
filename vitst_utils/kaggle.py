"""Build a Kaggle push folder: one self-contained training notebook plus its kernel-metadata.json.

`kaggle kernels push` uploads only the text of `code_file`, never the files beside it, so a
notebook that imports `vitst_utils` must carry the package. The first code cell of the built
notebook holds every `vitst_utils/*.py` of the working tree (zip, base64) and unpacks it into
the Kaggle working directory; the training notebook's cells follow unchanged.

    python -m vitst_utils.kaggle build --user KAGGLE_USERNAME --out kaggle/build [--rehearsal]
        [--resume-from KAGGLE_USERNAME/SLUG] [--title TITLE]
    kaggle kernels push -p kaggle/build --accelerator NvidiaTeslaT4

The first cell also records the session's start (training and the final evaluation share its
deadline) and the build's choices: `--rehearsal` (a <= 15 min dress rehearsal of the full run,
with a verdict) and `--resume-from` (the notebook whose output to continue; listed in
`kernel_sources`, and the notebook refuses to train when nothing of it is found).

Importing this module does not import the `kaggle` CLI package (it authenticates on import);
the build checks the installed CLI's version from its package metadata.
"""

from __future__ import annotations

import argparse
import ast
import base64
import hashlib
import importlib.metadata
import io
import json
import platform
import re
import shlex
import sys
import zipfile
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
REPO = PACKAGE_DIR.parent
TEMPLATE = REPO / "kaggle" / "kernel-metadata.json"
REQUIREMENTS = REPO / "requirements.txt"
DEFAULT_NOTEBOOK = REPO / "notebooks" / "02_training.py"
DEFAULT_TITLE = "vitst training"
REHEARSAL_TITLE = "vitst rehearsal"  # its own kernel: the real run's versions stay its own
ACCELERATOR = "NvidiaTeslaT4"  # "GPU T4 x2" (kaggle-cli PR #1198)
MIN_KAGGLE_CLI = (1, 8, 4)  # the first CLI that sends machine_shape (REFERENCES.md)

# Every field the Kaggle CLI reads for `kernels push` (docker_image_pinning_type is optional).
METADATA_FIELDS = (
    "id",
    "title",
    "code_file",
    "language",
    "kernel_type",
    "is_private",
    "enable_gpu",
    "enable_tpu",
    "enable_internet",
    "dataset_sources",
    "competition_sources",
    "kernel_sources",
    "model_sources",
    "machine_shape",
)
BUNDLE_VAR = "_VITST_BUNDLE"
BUNDLE_TAG = "vitst-bundle"
BUNDLE_MARKER = "UNPACKED_FROM_NOTEBOOK.txt"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same sources give the same notebook
_FIND_USERNAME = (
    "Your Kaggle username is the `username` in ~/.kaggle/kaggle.json (or $KAGGLE_USERNAME), "
    "and the last part of your profile URL, kaggle.com/<username>."
)

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


# --- names -------------------------------------------------------------------------------------
def slugify(title: str) -> str:
    """Kaggle's slug of an ASCII title: lower case, runs of other characters become one '-'."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def check_user(user: str) -> str:
    """The Kaggle username, stripped; a clear error when it cannot be one."""
    user = (user or "").strip()
    if not user or "/" in user or re.search(r"\s", user):
        raise KaggleBuildError(
            f"--user {user!r} is not a Kaggle username (it must be non-empty, without '/' or "
            f"spaces). {_FIND_USERNAME}"
        )
    if user == "KAGGLE_USERNAME":
        raise KaggleBuildError(
            f"--user: put your own username, not the placeholder. {_FIND_USERNAME}"
        )
    return user


def title_slug(title: str) -> str:
    """The slug of `title`, checked against Kaggle's rule of 5 to 50 characters of [a-z0-9-]."""
    if not title.isascii():
        raise KaggleBuildError(
            f"--title {title!r}: use ASCII letters, digits, spaces and hyphens only, so the "
            "slug Kaggle derives from it is predictable (e.g. --title 'vitst training')."
        )
    slug = slugify(title)
    if not 5 <= len(slug) <= 50:
        raise KaggleBuildError(
            f"--title {title!r} gives the slug {slug!r} ({len(slug)} characters); Kaggle needs "
            "5 to 50 characters of [a-z0-9-]. Pick another title, e.g. --title 'vitst training'."
        )
    return slug


# --- the bundle --------------------------------------------------------------------------------
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


def timm_pin(requirements: Path = REQUIREMENTS) -> str:
    """The `timm==X` version pinned in requirements.txt (installed on Kaggle only if missing)."""
    return requirement(requirements, "timm", pinned=True).split("==", 1)[1]


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


def kaggle_installs(requirements: Path = REQUIREMENTS) -> list[tuple[str, str]]:
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
    timm_version: str,
    installs: list[tuple[str, str]] | None = None,
    settings: dict[str, str] | None = None,
) -> str:
    """The first code cell: the session start and `settings` (`build_settings()`) recorded in
    the environment, the zipped package as base64, the code that unpacks it, and the packages
    it installs when missing (`kaggle_installs()`, with timm at `timm_version`)."""
    installs = [
        (m, f"timm=={timm_version}" if m == "timm" else r)
        for m, r in (installs if installs is not None else kaggle_installs())
    ]
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
    raise KaggleBuildError(
        f"No {BUNDLE_VAR} bundle cell in this notebook: build it with "
        "`python -m vitst_utils.kaggle build`."
    )


# --- the notebook ------------------------------------------------------------------------------
def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return str(path)


def read_training_notebook(path: Path) -> Any:
    """The jupytext percent-format `.py` notebook at `path` (the source of truth, not .ipynb)."""
    import jupytext

    if path.suffix != ".py":
        raise KaggleBuildError(
            f"--notebook {path}: pass the jupytext percent-format .py file (e.g. "
            "notebooks/02_training.py), not the paired .ipynb."
        )
    if not path.is_file():
        raise KaggleBuildError(f"--notebook {path}: no such file. Pass an existing notebook .py.")
    if not re.search(r"^# %%", path.read_text(encoding="utf-8"), re.MULTILINE):
        raise KaggleBuildError(
            f"{path} has no '# %%' cell markers: it is not a jupytext percent-format notebook."
        )
    nb = jupytext.read(path, fmt="py:percent")
    if not any(c.cell_type == "code" and c.source.strip() for c in nb.cells):
        raise KaggleBuildError(f"{path} has no code cells: nothing to run on Kaggle.")
    return nb


def build_notebook(
    notebook: Path,
    title: str,
    timm_version: str | None = None,
    settings: dict[str, str] | None = None,
) -> Any:
    """The self-contained notebook: an intro, the bundle cell, then the training cells."""
    import nbformat
    from nbformat import v4

    files = package_files()
    timm_version = timm_version or timm_pin()
    source_nb = read_training_notebook(notebook)
    settings = settings if settings is not None else build_settings()
    bundle = bundle_cell_source(files, timm_version, settings=settings)
    sha = re.search(r"sha256:[0-9a-f]+", bundle).group(0)
    intro = (
        f"# {title} (Kaggle build)\n\n"
        f"Generated by `python -m vitst_utils.kaggle build` from `{_display(notebook)}`. "
        "`kaggle kernels push` uploads only this file, so the next cell carries the project's "
        f"`vitst_utils` package ({len(files)} files, bundle {sha}) and unpacks it into the "
        "working directory; the cells after it are the training notebook, unchanged.\n\n"
        "Do not edit this copy: change the repository and run the build again."
    )
    if settings.get("VITST_REHEARSAL") == "1":
        intro += (
            "\n\n**Rehearsal build**: a dress rehearsal of the full run in under 15 minutes, "
            "ending with a verdict (speed, memory, non-finite steps, the time of a full run)."
        )
    if settings.get("VITST_RESUME_FROM"):
        intro += (
            f"\n\n**Continues** `{settings['VITST_RESUME_FROM']}` (in `kernel_sources`): the "
            "notebook stops before training if nothing of that run is found in the inputs."
        )
    cells = [
        v4.new_markdown_cell(intro, id="vitst-intro"),
        v4.new_code_cell(
            bundle,
            id=BUNDLE_TAG,
            metadata={"tags": [BUNDLE_TAG], "jupyter": {"source_hidden": True}},
        ),
    ]
    makers = {"code": v4.new_code_cell, "markdown": v4.new_markdown_cell, "raw": v4.new_raw_cell}
    for i, cell in enumerate(source_nb.cells):
        meta = {k: v for k, v in cell.metadata.items() if k != "lines_to_next_cell"}
        cells.append(makers[cell.cell_type](cell.source, metadata=meta, id=f"cell-{i:03d}"))
    nb = v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "vitst": {"source": _display(notebook), "bundle": sha, "settings": settings},
        },
    )
    nbformat.validate(nb)
    return nb


def load_template(template: Path = TEMPLATE) -> dict[str, Any]:
    """The kernel-metadata.json template, with every field a push reads."""
    try:
        meta = json.loads(template.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise KaggleBuildError(f"Cannot read the metadata template {template}: {e}") from e
    missing = [f for f in METADATA_FIELDS if f not in meta]
    if missing:
        raise KaggleBuildError(f"{template} lacks {missing}; restore it from git.")
    return meta


def check_kernel_ref(ref: str) -> str:
    """A notebook reference "user/slug" (what --resume-from takes), checked."""
    ref = (ref or "").strip()
    owner, sep, slug = ref.partition("/")
    if not sep or "/" in slug or slug != slugify(slug) or not 5 <= len(slug) <= 50:
        raise KaggleBuildError(
            f"--resume-from {ref!r}: give the notebook as USER/SLUG (e.g. alice/vitst-training: "
            "the last two parts of its URL kaggle.com/code/USER/SLUG)."
        )
    check_user(owner)
    return ref


def build_push_folder(
    user: str,
    out: str | Path,
    title: str | None = None,
    notebook: str | Path | None = None,
    resume_from: str | None = None,
    rehearsal: bool = False,
) -> Path:
    """Write `out/kernel-metadata.json` and `out/<slug>.ipynb`; return the notebook's path.
    `resume_from` ("user/slug") goes into `kernel_sources` and makes the notebook continue that
    run or stop; `rehearsal` builds the dress rehearsal (default title REHEARSAL_TITLE)."""
    title = title or (REHEARSAL_TITLE if rehearsal else DEFAULT_TITLE)
    user, slug = check_user(user), title_slug(title)
    resume_from = check_kernel_ref(resume_from) if resume_from else None
    out = Path(out)
    if out.resolve() == TEMPLATE.parent.resolve():
        raise KaggleBuildError(
            f"--out {out} would overwrite the template {TEMPLATE}; use e.g. --out kaggle/build."
        )
    if out.exists() and not out.is_dir():
        raise KaggleBuildError(f"--out {out} is a file; pass a folder (e.g. kaggle/build).")
    meta = load_template()
    settings = build_settings(rehearsal, resume_from)
    path = Path(notebook) if notebook is not None else DEFAULT_NOTEBOOK
    nb = build_notebook(path, title, settings=settings)
    meta.update(id=f"{user}/{slug}", title=title, code_file=f"{slug}.ipynb")
    if resume_from:
        meta["kernel_sources"] = sorted({*meta["kernel_sources"], resume_from})

    import nbformat

    out.mkdir(parents=True, exist_ok=True)
    nb_path = out / meta["code_file"]
    nbformat.write(nb, str(nb_path))
    (out / "kernel-metadata.json").write_text(json.dumps(meta, indent=2) + "\n")
    return nb_path


def next_steps(out: Path, kernel_id: str) -> str:
    """The commands that push the folder (the accelerator named: "GPU T4 x2"), follow the run
    and fetch its outputs."""
    return (
        "Next steps (kaggle CLI; credentials in ~/.kaggle/kaggle.json or "
        "$KAGGLE_USERNAME/$KAGGLE_KEY):\n"
        f"  kaggle kernels push -p {shlex.quote(str(out))} --accelerator {ACCELERATOR}\n"
        f"  kaggle kernels status {kernel_id}\n"
        f"  kaggle kernels output {kernel_id} -p out/"
    )


def kaggle_cli_version() -> str | None:
    """The version of the `kaggle` package installed in this Python (from its metadata, so
    nothing is imported or authenticated), or None."""
    try:
        return importlib.metadata.version("kaggle")
    except importlib.metadata.PackageNotFoundError:
        return None


def check_kaggle_cli(version: str | None) -> str | None:
    """Raise KaggleBuildError when the installed kaggle CLI is too old to send the accelerator
    (before 1.8.4 it drops `machine_shape` silently and Kaggle picks the card); a note to print
    when none is installed here; None when it is fine."""
    py = "Python >= 3.11"
    if sys.version_info < (3, 11):
        py += f"; this is {platform.python_version()}"
    need = ".".join(map(str, MIN_KAGGLE_CLI))
    if version is None:
        return (
            f"note: no kaggle CLI in this Python; to push, install kaggle>={need} (it needs "
            f"{py}): pip install 'kaggle>={need}' six"
        )
    parts = tuple(int(x) for x in re.findall(r"\d+", version)[:3])
    if parts < MIN_KAGGLE_CLI:
        raise KaggleBuildError(
            f"the installed kaggle CLI {version} is older than {need}: it never sends "
            f"machine_shape, so Kaggle would choose the card (a P100 that its torch cannot use, "
            f"or one T4). Upgrade first: pip install -U 'kaggle>={need}' six (needs {py})."
        )
    return None


# --- CLI ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vitst_utils.kaggle",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="write a push folder: kernel-metadata.json + notebook")
    build.add_argument("--user", required=True, help="your Kaggle username")
    build.add_argument("--out", required=True, type=Path, help="push folder, e.g. kaggle/build")
    build.add_argument(
        "--title",
        help=f"default {DEFAULT_TITLE!r} ({REHEARSAL_TITLE!r} with --rehearsal)",
    )
    build.add_argument(
        "--notebook",
        type=Path,
        help=f"jupytext percent-format .py notebook (default {_display(DEFAULT_NOTEBOOK)})",
    )
    build.add_argument(
        "--rehearsal",
        action="store_true",
        help="a <= 15 min dress rehearsal of the full run (real data and weights, both GPUs, "
        "fp16, a checkpoint and its resume, the evaluation) ending with a verdict: push it first",
    )
    build.add_argument(
        "--resume-from",
        metavar="USER/SLUG",
        help="continue that notebook's run: listed in kernel_sources; the notebook stops before "
        "training if nothing of it is found in its inputs",
    )
    args = parser.parse_args(argv)
    try:
        note = check_kaggle_cli(kaggle_cli_version())
        nb_path = build_push_folder(
            args.user, args.out, args.title, args.notebook, args.resume_from, args.rehearsal
        )
    except KaggleBuildError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    meta = json.loads((args.out / "kernel-metadata.json").read_text())
    n = len(embedded_files(nb_path))
    kind = "rehearsal" if args.rehearsal else "training"
    print(f"wrote {nb_path} ({kind} notebook; vitst_utils: {n} files embedded)")
    print(f"wrote {args.out / 'kernel-metadata.json'} (id {meta['id']})")
    if args.resume_from:
        print(
            f"kernel_sources: {args.resume_from}. If the push warns that a source is invalid, "
            "Kaggle did not attach it: the notebook then stops before training."
        )
    if note:
        print(note)
    print(next_steps(args.out, meta["id"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
