"""Where the data is: the dataset root from an explicit path (`TrainConfig.data_root`, a CLI's
--data-root), $VITST_DATA_ROOT or a search of the Kaggle input folder, else the built-in
synthetic set for a preset that allows it. What a root holds, and reading it: `data`."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from .config import TrainConfig
from .data import DOMAINS, LAYOUT
from .env import kaggle_input_dir
from .sample_data import make_sample_dataset

logger = logging.getLogger(__name__)

DATA_ROOT_ENV = "VITST_DATA_ROOT"
KAGGLE_DATASET = "tuantai229/avataranime"


def _has_domains(path: Path) -> bool:
    return all((path / d).is_dir() for d in DOMAINS)


def _resolve_root(root: Path, source: str) -> Path:
    """A user-given root: itself, or its `AvatarAnime` child, if it holds both domains."""
    root = root.expanduser()
    if not root.is_dir():
        raise FileNotFoundError(
            f"Data root {root} (from {source}) does not exist or is not a folder. "
            f"Expected layout: {LAYOUT}."
        )
    if _has_domains(root):
        return root
    for child in sorted(root.iterdir()):
        if child.is_dir() and child.name.lower() == "avataranime" and _has_domains(child):
            return child
    missing = [d for d in DOMAINS if not (root / d).is_dir()]
    raise FileNotFoundError(
        f"Data root {root} (from {source}) has no {' or '.join(missing)} folder. "
        f"Expected layout: {LAYOUT}."
    )


def _search_kaggle_input(base: Path, max_depth: int = 6) -> Path | None:
    """Breadth-first search under `base` for a folder holding both domains, named
    AvatarAnime (any case) first, e.g. `avataranime/AvatarAnime` or
    `datasets/<owner>/<slug>/AvatarAnime`."""
    level = [base] if base.is_dir() else []
    for _ in range(max_depth + 1):
        candidates = [p for p in level if _has_domains(p)]
        named = [p for p in candidates if p.name.lower() == "avataranime"]
        if named or candidates:
            return (named or candidates)[0]
        next_level: list[Path] = []
        for folder in level:
            try:  # scandir: no stat per entry, so a folder of 200k images is cheap to pass
                with os.scandir(folder) as it:
                    dirs = [Path(e.path) for e in it if e.is_dir() and not e.name.startswith(".")]
            except OSError:
                continue
            next_level += sorted(dirs)
        level = next_level
    return None


def find_data_root(
    explicit: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    kaggle_input: str | Path | None = None,
) -> Path:
    """The dataset root: `explicit` > $VITST_DATA_ROOT > a search of the Kaggle input folder.

    `env` defaults to `os.environ`; `kaggle_input` to $VITST_KAGGLE_INPUT or /kaggle/input.
    """
    env = os.environ if env is None else env
    base = Path(kaggle_input) if kaggle_input else kaggle_input_dir(env)
    if explicit not in (None, ""):
        source = "the given data root"
        root = _resolve_root(Path(explicit), source)
    elif env.get(DATA_ROOT_ENV):
        source = f"${DATA_ROOT_ENV}"
        root = _resolve_root(Path(env[DATA_ROOT_ENV]), source)
    else:
        source, root = f"a search of {base}", _search_kaggle_input(base)
    if root is not None:
        logger.info("Data root: %s (from %s)", root, source)
        return root
    searched = f"searched {base}" if base.is_dir() else f"{base} does not exist"
    raise FileNotFoundError(
        f"No dataset found: no data root given, no ${DATA_ROOT_ENV}, and no AvatarAnime folder "
        f"with {' and '.join(DOMAINS)} in the Kaggle input ({searched}).\n"
        f"Get the data:\n"
        f"  kaggle datasets download -d {KAGGLE_DATASET}\n"
        f"  unzip avataranime.zip -d data\n"
        f"  export {DATA_ROOT_ENV}=$PWD/data/AvatarAnime\n"
        f"Expected layout: {LAYOUT}."
    )


def resolve_data_root(cfg: TrainConfig, run_dir: str | Path) -> tuple[Path, bool]:
    """(data root, is_synthetic). Discovery first (cfg.data_root > $VITST_DATA_ROOT > Kaggle
    input); a preset with `synthetic_data` (smoke, demo) that finds no data at all generates the
    built-in sample set in run_dir/sample_data. A configured root that is wrong stays an error."""
    try:
        return find_data_root(cfg.data_root), False
    except FileNotFoundError:
        if not cfg.synthetic_data or cfg.data_root or os.environ.get(DATA_ROOT_ENV):
            raise
    counts = {"train": cfg.train_limit or 8, "val": cfg.val_limit or 4, "test": 4}
    size = max(96, cfg.image_size)
    return make_sample_dataset(Path(run_dir) / "sample_data", counts, size=size), True
