"""Inference: stylise content/style pairs with a trained checkpoint, and score checkpoints.

    python -m vitst_utils.inference --checkpoint runs/smoke/checkpoints/epoch_002.pt \
        --content me.jpg --style anime.png --out stylised/
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from .checkpoint import load_model
from .data import build_transform, load_image, to_pil
from .model import ViTStyleTransfer


def image_tensor(path: str | Path, image_size: int) -> torch.Tensor:
    """One image file -> a normalised (1, 3, S, S) batch (the seed's eval transform)."""
    return build_transform(image_size, train=False)(load_image(path)).unsqueeze(0)


def _device(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def stylize(model: ViTStyleTransfer, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Generated images for normalised (B, 3, S, S) content and style batches (on CPU)."""
    model.eval()
    dev = _device(model)
    return model(content.to(dev), style.to(dev)).float().cpu()


def stylize_files(
    model: ViTStyleTransfer, content_path: str | Path, style_path: str | Path
) -> Image.Image:
    """Stylise one content file with one style file; returns the picture."""
    size = model.cfg.image_size
    out = stylize(model, image_tensor(content_path, size), image_tensor(style_path, size))
    return to_pil(out[0])


def stylize_to_folder(
    checkpoint: str | Path,
    contents: Sequence[str | Path],
    style: str | Path,
    out_dir: str | Path,
    device: str = "cpu",
) -> list[Path]:
    """Stylise every content file with one style; save `<content>_x_<style>.png` files."""
    model, _ = load_model(checkpoint, map_location=device)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for c in tqdm(contents, desc="stylising", disable=len(contents) < 4):
        path = out_dir / f"{Path(c).stem}_x_{Path(style).stem}.png"
        stylize_files(model, c, style).save(path)
        written.append(path)
    return written


class _Pairs(Dataset):
    def __init__(self, content: Dataset, style: Dataset):
        self.content, self.style = content, style

    def __len__(self) -> int:
        return min(len(self.content), len(self.style))

    def __getitem__(self, i: int):
        return self.content[i], self.style[i]


@torch.no_grad()
def evaluate(
    model: ViTStyleTransfer, content: Dataset, style: Dataset, batch_size: int = 8
) -> dict[str, float]:
    """Mean content, style and weighted total loss over the pairs (content[i], style[i])."""
    model.eval()
    dev, cfg = _device(model), model.cfg
    sums = torch.zeros(3, dtype=torch.float64)
    n = 0
    for c, s in DataLoader(_Pairs(content, style), batch_size=batch_size):
        c, s = c.to(dev), s.to(dev)
        c_loss, s_loss = model.calculate_loss(model(c, s), c, s)
        total = cfg.lambda_content * c_loss + cfg.lambda_style * s_loss
        sums += torch.tensor([c_loss.item(), s_loss.item(), total.item()]) * len(c)
        n += len(c)
    if n == 0:
        raise ValueError("evaluate() needs at least one content/style pair")
    c_mean, s_mean, t_mean = (sums / n).tolist()
    return {"content_loss": c_mean, "style_loss": s_mean, "total_loss": t_mean, "pairs": n}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m vitst_utils.inference",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--checkpoint", required=True, help="a vitst checkpoint or a seed state dict")
    p.add_argument("--content", required=True, nargs="+", help="content (photo) image files")
    p.add_argument("--style", required=True, help="style (anime) image file")
    p.add_argument("--out", default="stylised", help="output folder")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args(argv)
    for path in stylize_to_folder(args.checkpoint, args.content, args.style, args.out, args.device):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
