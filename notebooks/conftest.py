"""How the test suite runs the notebooks (nbmake): smoke mode, offline, on synthetic data
sprinkled with messy real-world files, in a throw-away run folder. The settings apply only
while a notebook runs, so the unit tests never see them."""

import os
import tempfile
from pathlib import Path

_saved: dict[str, str | None] = {}
_env: dict[str, str] = {}


def _notebook_env() -> dict[str, str]:
    if not _env:
        from vitst_utils.sample_data import add_messy_files, make_sample_dataset

        base = Path(tempfile.mkdtemp(prefix="vitst-notebooks-"))
        root = make_sample_dataset(base / "AvatarAnime", size=64)
        for domain in ("CelebA", "AnimeFace"):
            for split in ("train", "val"):
                add_messy_files(root / domain / split)
        _env.update(
            VITST_PRESET="smoke",
            VITST_DATA_ROOT=str(root),
            VITST_RUN_DIR=str(base / "run"),
            HF_HUB_OFFLINE="1",
            VITST_OFFLINE="1",
        )
    return _env


def pytest_runtest_setup(item):
    if item.path.suffix == ".ipynb":
        for key, value in _notebook_env().items():
            _saved[key] = os.environ.get(key)
            os.environ[key] = value


def pytest_runtest_teardown(item):
    for key, value in _saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    _saved.clear()
