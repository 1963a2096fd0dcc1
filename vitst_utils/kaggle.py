"""Build a Kaggle push folder: one self-contained training notebook plus its kernel-metadata.json.

`kaggle kernels push` uploads only the text of `code_file`, never the files beside it, so a
notebook that imports `vitst_utils` must carry the package. The first code cell of the built
notebook holds every `vitst_utils/*.py` (`bundle.py`: zip, base64) and unpacks it into the
Kaggle working directory; the training notebook's cells follow unchanged.

    python -m vitst_utils.kaggle build --user KAGGLE_USERNAME --out kaggle/build [--rehearsal]
        [--resume-from KAGGLE_USERNAME/SLUG] [--title TITLE] [--repo CHECKOUT]
    kaggle kernels push -p kaggle/build --accelerator NvidiaTeslaT4

The first cell also records the session's start (training and the final evaluation share its
deadline) and the build's choices: `--rehearsal` (a <= 15 min dress rehearsal of the full run,
with a verdict) and `--resume-from` (the notebook whose output to continue; listed in
`kernel_sources`, and the notebook refuses to train when nothing of it is found).

The build reads the repository's kaggle/kernel-metadata.json, requirements.txt and training
notebook: from the checkout this package lives in, or, for an installed package, from the
clone named by --repo or the current folder (`find_repo`); the package it embeds is always the
one running the build.

Importing this module does not import the `kaggle` CLI package (it authenticates on import);
the build checks the installed CLI's version from its package metadata.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import platform
import re
import shlex
import sys
from pathlib import Path
from typing import Any

from .bundle import (
    BUNDLE_TAG,
    PACKAGE_DIR,
    KaggleBuildError,
    build_settings,
    bundle_cell_source,
    embedded_files,
    kaggle_installs,
    package_files,
)

# What the build reads from the repository checkout (`find_repo`), relative to its root.
TEMPLATE = Path("kaggle") / "kernel-metadata.json"
REQUIREMENTS = Path("requirements.txt")
DEFAULT_NOTEBOOK = Path("notebooks") / "02_training.py"
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
_FIND_USERNAME = (
    "Your Kaggle username is the `username` in ~/.kaggle/kaggle.json (or $KAGGLE_USERNAME), "
    "and the last part of your profile URL, kaggle.com/<username>."
)


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


# --- the checkout ------------------------------------------------------------------------------
def find_repo(repo: str | Path | None = None) -> Path:
    """The vitst checkout whose metadata template and requirements.txt the build reads: `repo`,
    else the folder holding this package when that is a checkout (`pip install -e .`, or
    PYTHONPATH), else the current folder. An installed package builds from a clone this way."""
    candidates = [Path(repo).expanduser()] if repo is not None else [PACKAGE_DIR.parent, Path.cwd()]
    for folder in candidates:
        if all((folder / f).is_file() for f in (TEMPLATE, REQUIREMENTS)):
            return folder.resolve()
    where = candidates[-1]
    missing = [str(f) for f in (TEMPLATE, REQUIREMENTS) if not (where / f).is_file()]
    raise KaggleBuildError(
        f"{where} is not a vitst checkout: it lacks {' and '.join(missing)}, which the build "
        "reads. Run the build in a clone of the repository, or pass --repo PATH_OF_THE_CLONE."
    )


def _display(path: Path, repo: Path) -> str:
    try:
        return path.resolve().relative_to(repo).as_posix()
    except ValueError:
        return str(path)


# --- the notebook ------------------------------------------------------------------------------


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
    repo: Path,
    settings: dict[str, str] | None = None,
) -> Any:
    """The self-contained notebook: an intro, the bundle cell (the installs pinned as in the
    checkout `repo`'s requirements.txt), then the training cells."""
    import nbformat
    from nbformat import v4

    files = package_files()
    source_nb = read_training_notebook(notebook)
    settings = settings if settings is not None else build_settings()
    bundle = bundle_cell_source(files, kaggle_installs(repo / REQUIREMENTS), settings=settings)
    sha = re.search(r"sha256:[0-9a-f]+", bundle).group(0)
    intro = (
        f"# {title} (Kaggle build)\n\n"
        f"Generated by `python -m vitst_utils.kaggle build` from `{_display(notebook, repo)}`. "
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
            "vitst": {"source": _display(notebook, repo), "bundle": sha, "settings": settings},
        },
    )
    nbformat.validate(nb)
    return nb


def load_template(template: Path) -> dict[str, Any]:
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
    repo: str | Path | None = None,
) -> Path:
    """Write `out/kernel-metadata.json` and `out/<slug>.ipynb`; return the notebook's path.
    `resume_from` ("user/slug") goes into `kernel_sources` and makes the notebook continue that
    run or stop; `rehearsal` builds the dress rehearsal (default title REHEARSAL_TITLE). The
    template, requirements.txt and default notebook come from the checkout (`find_repo`)."""
    title = title or (REHEARSAL_TITLE if rehearsal else DEFAULT_TITLE)
    user, slug = check_user(user), title_slug(title)
    resume_from = check_kernel_ref(resume_from) if resume_from else None
    out, root = Path(out), find_repo(repo)
    template = root / TEMPLATE
    if out.resolve() == template.parent.resolve():
        raise KaggleBuildError(
            f"--out {out} would overwrite the template {template}; use e.g. --out kaggle/build."
        )
    if out.exists() and not out.is_dir():
        raise KaggleBuildError(f"--out {out} is a file; pass a folder (e.g. kaggle/build).")
    meta = load_template(template)
    settings = build_settings(rehearsal, resume_from)
    path = Path(notebook) if notebook is not None else root / DEFAULT_NOTEBOOK
    nb = build_notebook(path, title, root, settings=settings)
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
        help=f"jupytext percent-format .py notebook (default: the checkout's {DEFAULT_NOTEBOOK})",
    )
    build.add_argument(
        "--repo",
        type=Path,
        help="the vitst checkout to read kaggle/kernel-metadata.json and requirements.txt from "
        "(default: the folder holding this package if it is one, else the current folder)",
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
            args.user,
            args.out,
            args.title,
            args.notebook,
            args.resume_from,
            args.rehearsal,
            args.repo,
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
