"""Helpers for the evaluation tests: weight files in the libraries' own formats (random tensors),
and images as [0, 1] pixels."""

import math
from pathlib import Path

import torch
from PIL import Image
from torchvision.transforms.functional import pil_to_tensor

from vitst_utils import domain as D
from vitst_utils.data import load_image


def fake_inception_state() -> dict[str, torch.Tensor]:
    """torch-fidelity's InceptionV3 keys and shapes, random He-normal convs (features neither
    vanish nor explode, so FID is meaningful), BatchNorm at identity."""
    import torch_fidelity.feature_extractor_inceptionv3 as fi

    class Shapes(fi.FeatureExtractorInceptionV3):
        def load_state_dict(self, *args, **kwargs):  # the template needs no weights
            return None

    real_loader = fi.load_state_dict_from_url
    fi.load_state_dict_from_url = lambda *a, **k: {}
    try:
        template = Shapes("inception-v3-compat", ["2048"]).state_dict()
    finally:
        fi.load_state_dict_from_url = real_loader
    g = torch.Generator().manual_seed(0)
    state = {}
    for key, value in template.items():
        if key.endswith("conv.weight"):
            fan_in = value[0].numel()
            value = torch.randn(value.shape, generator=g) * math.sqrt(2 / fan_in)
        elif key == "fc.weight":
            value = torch.randn(value.shape, generator=g) * 0.01
        state[key] = value.clone()
    return state


def fake_sface(path: Path) -> None:
    """An ONNX model with SFace's input (1, 3, 112, 112) and output (1, 128), which OpenCV's
    FaceRecognizerSF runs as it runs SFace: the embedding of the crop's mean colour."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = np.random.default_rng(0).normal(size=(3, 128)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["data"], ["pool"]),
            helper.make_node("Flatten", ["pool"], ["flat"]),
            helper.make_node("MatMul", ["flat", "w"], ["fc1"]),
        ],
        "tiny_sface",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 112, 112])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, [1, 128])],
        [numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    onnx.save(model, path)


def pixels(n: int, seed: int, size: int = 32) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def images(folder: Path, size: int = 64) -> torch.Tensor:
    """The folder's drawn faces (not the messy files) as [0, 1] pixels, size x size."""
    paths = sorted(folder.glob(f"{folder.parent.name.lower()}_*"))
    return torch.cat([D.square_resize(tensor(load_image(p)), size) for p in paths])


def tensor(im: Image.Image) -> torch.Tensor:
    return pil_to_tensor(im.convert("RGB"))[None].float() / 255
