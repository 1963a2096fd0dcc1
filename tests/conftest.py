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


# --- a smoke model and its style images, for the stylising tests (stylize, prototype, photos,
# --- face, inference) -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def cfg(sample_root):
    from vitst_utils.config import get_preset

    return get_preset("smoke", data_root=str(sample_root))


@pytest.fixture(scope="module")
def model(cfg):
    from vitst_utils.model import build_model

    torch.manual_seed(0)
    return build_model(cfg, use_weights=False).eval()


@pytest.fixture(scope="module")
def styles(sample_root):
    return sorted((sample_root / "AnimeFace" / "test").iterdir())


@pytest.fixture(scope="module")
def prototype(model, styles):
    from vitst_utils.prototype import build_prototype

    return build_prototype(model, styles[0].parent)


@pytest.fixture(scope="module")
def ckpt_with_prototype(cfg, model, prototype, tmp_path_factory):
    """A training-style checkpoint that stores its prototype, as train does."""
    from vitst_utils.checkpoint import save_checkpoint
    from vitst_utils.model import build_model

    torch.manual_seed(0)
    full = build_model(cfg)  # same seed: same ViT and decoder as `model`
    own = {k: prototype[k] for k in ("mean", "std", "count")}
    path = tmp_path_factory.mktemp("ck") / "with_proto.pt"
    return save_checkpoint(path, full, cfg, epoch=1, prototype=own)


@pytest.fixture
def photo(tmp_path):
    """A 640 x 480 'photo' with a drawn face the Haar cascade finds (checked by test_face)."""
    import numpy as np
    from PIL import Image

    from vitst_utils.sample_data import draw_photo_face

    canvas = Image.new("RGB", (640, 480), (120, 140, 160))
    canvas.paste(draw_photo_face(np.random.default_rng(5), 160), (400, 100))
    path = tmp_path / "photo_640x480.jpg"
    canvas.save(path, quality=95)
    return path
