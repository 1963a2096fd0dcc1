"""Test-wide settings: never touch the network, never write into a real weights cache."""

import os
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"  # before anything imports huggingface_hub
os.environ["VITST_OFFLINE"] = "1"
os.environ["TORCH_HOME"] = tempfile.mkdtemp(prefix="vitst-torch-home-")
for var in (
    "VITST_DATA_ROOT",
    "VITST_PRESET",
    "VITST_RUN_DIR",
    "VITST_KAGGLE_INPUT",
    "VITST_KAGGLE_WORKING",
    "KAGGLE_KERNEL_RUN_TYPE",
    "VITST_SESSION_START",
    "VITST_REHEARSAL",
    "VITST_RESUME_FROM",
):
    os.environ.pop(var, None)

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def sample_root(tmp_path_factory):
    """A small synthetic AvatarAnime-layout dataset shared by the tests (read-only)."""
    from vitst_utils.sample_data import make_sample_dataset

    return make_sample_dataset(tmp_path_factory.mktemp("data"), size=64)


@pytest.fixture
def smoke_cfg(sample_root):
    from vitst_utils.config import get_preset

    return get_preset("smoke", data_root=str(sample_root))
