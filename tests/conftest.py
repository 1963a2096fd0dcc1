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

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402
from eval_helpers import fake_inception_state, fake_sface  # noqa: E402

from vitst_utils import domain as D  # noqa: E402
from vitst_utils import metric_weights as W  # noqa: E402
from vitst_utils.checkpoint import save_checkpoint  # noqa: E402
from vitst_utils.model import build_model  # noqa: E402
from vitst_utils.presets import get_preset  # noqa: E402
from vitst_utils.sample_data import add_messy_files, make_sample_dataset  # noqa: E402

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def sample_root(tmp_path_factory):
    """A small synthetic AvatarAnime-layout dataset shared by the tests (read-only)."""
    from vitst_utils.sample_data import make_sample_dataset

    return make_sample_dataset(tmp_path_factory.mktemp("data"), size=64)


@pytest.fixture
def smoke_cfg(sample_root):
    from vitst_utils.presets import get_preset

    return get_preset("smoke", data_root=str(sample_root))


# --- a smoke model and its style images, for the stylising tests (stylize, prototype, photos,
# --- face, inference) -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def cfg(sample_root):
    from vitst_utils.presets import get_preset

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


# --- evaluation: one data root, one classifier cache, one smoke run, one weights folder --------
@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    """Synthetic AvatarAnime with junk in the classifier's train split and in `test`."""
    root = make_sample_dataset(tmp_path_factory.mktemp("eval") / "AvatarAnime", size=64)
    add_messy_files(root / "CelebA" / "train")
    add_messy_files(root / "AnimeFace" / "test")
    return root


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def no_downloads(monkeypatch, cache_dir):
    """Weight downloads fail the test; the domain classifier's cache is the session's."""

    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to download weights")

    monkeypatch.setattr(W, "_download", refuse)
    monkeypatch.setenv(D.CACHE_ENV, str(cache_dir))  # the CLI shares the trained classifier


@pytest.fixture(scope="session")
def clf(data_root, cache_dir) -> D.DomainClassifier:
    """Trained once, in the folder the CLI's default cache resolves to ($VITST_CACHE_DIR)."""
    return D.get_domain_classifier(data_root, cache_dir=cache_dir / "domain_classifier")


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, data_root) -> Path:
    """A run folder as `train --preset smoke` leaves it (config.json, checkpoints/epoch_XXX.pt),
    written directly: untrained weights, no training time."""
    run = tmp_path_factory.mktemp("runs") / "smoke"
    cfg = get_preset("smoke", data_root=str(data_root))
    run.mkdir()
    cfg.to_json(run / "config.json")
    torch.manual_seed(0)
    model = build_model(cfg, use_weights=False)
    for epoch in (1, 2):
        save_checkpoint(run / "checkpoints" / f"epoch_{epoch:03d}.pt", model, cfg, epoch)
        with torch.no_grad():
            model.decoder[-2].bias.add_(0.3)  # epoch 2 differs from epoch 1
    return run


@pytest.fixture(scope="session")
def weights_dir(tmp_path_factory) -> Path:
    """The three weight files under their canonical names, in the libraries' own formats."""
    from torchvision.models import alexnet

    folder = tmp_path_factory.mktemp("weights")
    torch.save(fake_inception_state(), folder / W.INCEPTION.name)
    torch.manual_seed(0)
    torch.save(alexnet(weights=None).state_dict(), folder / W.ALEXNET.name)
    fake_sface(folder / W.SFACE.name)
    return folder


@pytest.fixture
def small_inception(monkeypatch):
    """Inception resizes every image to 299 px (about 6 GFLOPs each, slow on a 2-core CPU);
    the tests run the same loader and network at its smallest input, 75 px."""
    from torchmetrics.image.fid import NoTrainInceptionV3

    monkeypatch.setattr(NoTrainInceptionV3, "INPUT_IMAGE_SIZE", 75)
