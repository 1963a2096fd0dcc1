"""Inference: stylise content/style pairs with a trained checkpoint, and score checkpoints.

    python -m vitst_utils.inference --checkpoint runs/smoke/checkpoints/epoch_002.pt \
        --content me.jpg my_photos/ --style anime.png --out stylised/

Writes `<content>_x_<style>.png` per photo. The notebooks also use the helpers below to find a
run's checkpoints (training a smoke one when asked to) and to compare checkpoints.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from .checkpoint import CheckpointError, list_checkpoints, load_checkpoint, load_model
from .config import TrainConfig
from .data import ImageSkipped, build_transform, load_image, scan_folder, to_pil
from .env import find_previous_runs, kaggle_input_dir, on_kaggle
from .model import ViTStyleTransfer

log = logging.getLogger(__name__)


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


# --- notebooks: finding checkpoints, many pairs at once, comparing checkpoints ----------------
@dataclass
class RunCheckpoints:
    """A run folder's numbered checkpoints (oldest first), and whether they were trained now."""

    run_dir: Path
    checkpoints: list[tuple[int, Path]]
    trained_now: bool = False

    @property
    def latest(self) -> Path:
        return self.checkpoints[-1][1]

    def config(self) -> TrainConfig:
        """The run's config: its config.json, else the one stored in the newest checkpoint."""
        path = self.run_dir / "config.json"
        if path.is_file():
            return TrainConfig.from_json(path)
        return TrainConfig.from_dict(load_checkpoint(self.latest)["config"])

    def summary(self) -> str:
        epochs = ", ".join(str(e) for e, _ in self.checkpoints)
        folder = self.run_dir / "checkpoints"
        text = f"{len(self.checkpoints)} checkpoint(s) in {folder} (epochs {epochs})"
        if self.trained_now:
            text += "; the run folder had none, so the smoke preset was trained just now"
        return text


def ensure_checkpoints(
    cfg: TrainConfig, run_dir: str | Path, search: str | Path | None = None
) -> RunCheckpoints:
    """The checkpoints a notebook works with: those in `run_dir`; else those of an earlier run
    of the same preset under `search` (default on Kaggle: the inputs, where an attached
    02_training output lies); else, for the smoke preset only, a tiny run trained here and now
    into `run_dir`. Otherwise an error that says how to get one: nothing is trained silently
    outside smoke mode."""
    run_dir = Path(run_dir)
    found = list_checkpoints(run_dir)
    if found:
        return RunCheckpoints(run_dir, found)
    if search is None and on_kaggle():
        search = kaggle_input_dir()
    earlier = find_previous_runs(cfg.preset, search) if search is not None else []
    if earlier:
        return RunCheckpoints(earlier[0], list_checkpoints(earlier[0]))
    if cfg.preset == "smoke":
        from .train import train  # here: the training stack is only needed in this case

        log.info("No checkpoint in %s: training the smoke preset first.", run_dir)
        train(cfg, run_dir, resume=True)
        found = list_checkpoints(run_dir)
        if found:
            return RunCheckpoints(run_dir, found, trained_now=True)
    searched = f" or under {search}" if search is not None else ""
    raise FileNotFoundError(
        f"No checkpoint in {run_dir / 'checkpoints'}{searched}. Train first: run 02_training "
        f"with the same preset ({cfg.preset!r}), or set VITST_RUN_DIR to the run folder that "
        "holds checkpoints/epoch_XXX.pt (on Kaggle, add the 02_training notebook's output as an "
        "input: it is found there). For a quick CPU try, VITST_PRESET=smoke trains a tiny model."
    )


def select_checkpoints(
    checkpoints: Sequence[tuple[int, Path]], max_n: int = 8
) -> list[tuple[int, Path]]:
    """At most `max_n` checkpoints spread evenly, always with the first and the last."""
    if max_n < 1:
        raise ValueError(f"max_n must be >= 1, got {max_n}")
    checkpoints = list(checkpoints)
    if len(checkpoints) <= max_n:
        return checkpoints
    if max_n == 1:
        return checkpoints[-1:]
    idx = np.unique(np.linspace(0, len(checkpoints) - 1, max_n).round().astype(int))
    return [checkpoints[i] for i in idx]


def gather_images(
    sources: str | Path | Sequence[str | Path] | None,
) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Usable image files from files and folders, and the (path, reason) of those skipped.

    `sources`: a list of paths, or one string of paths joined by os.pathsep (as in an
    environment variable); folders contribute their images (flat, as `scan_folder`). A path
    that does not exist is an error (a typo must not pass silently); None or empty gives [].
    """
    if sources is None:
        return [], []
    if isinstance(sources, str):
        items: list[str | Path] = [s for s in sources.split(os.pathsep) if s.strip()]
    elif isinstance(sources, Path):
        items = [sources]
    else:
        items = list(sources)
    good: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for item in items:
        path = Path(item).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"Your image {path} does not exist (check the path)")
        if path.is_dir():
            g, s = scan_folder(path)
            good += g
            skipped += s
            continue
        try:
            load_image(path)
            good.append(path)
        except ImageSkipped as e:
            skipped.append((path, e.reason))
    return list(dict.fromkeys(good)), skipped


@dataclass
class StylizedPairs:
    """Normalised (N, 3, S, S) CPU batches of what went in and came out, and the saved files."""

    content: torch.Tensor
    style: torch.Tensor
    generated: torch.Tensor
    paths: list[Path]


def stylize_pairs(
    model: ViTStyleTransfer,
    pairs: Sequence[tuple[str | Path, str | Path]],
    out_dir: str | Path | None = None,
    batch_size: int = 8,
) -> StylizedPairs:
    """Stylise (content file, style file) pairs in batches; with `out_dir`, also save each
    result as `<content>_x_<style>.png` (a repeated name gets a `_2`, `_3` ... suffix)."""
    pairs = [(Path(c), Path(s)) for c, s in pairs]
    if not pairs:
        raise ValueError("stylize_pairs() needs at least one (content, style) pair")
    size = model.cfg.image_size
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    cs, ss, gs, written = [], [], [], []
    starts = range(0, len(pairs), batch_size)
    for start in tqdm(starts, desc="stylising", unit="batch", disable=len(starts) < 4):
        chunk = pairs[start : start + batch_size]
        c = torch.cat([image_tensor(p, size) for p, _ in chunk])
        s = torch.cat([image_tensor(p, size) for _, p in chunk])
        g = stylize(model, c, s)
        cs.append(c)
        ss.append(s)
        gs.append(g)
        if out is not None:
            for (cp, sp), image in zip(chunk, g, strict=True):
                stem, k = f"{cp.stem}_x_{sp.stem}", 2
                path = out / f"{stem}.png"
                while path in written:
                    path, k = out / f"{stem}_{k}.png", k + 1
                to_pil(image).save(path)
                written.append(path)
    return StylizedPairs(torch.cat(cs), torch.cat(ss), torch.cat(gs), written)


def stylize_matrix(
    model: ViTStyleTransfer, content: torch.Tensor, style: torch.Tensor
) -> torch.Tensor:
    """Every content in every style: (C, S, 3, H, W) from normalised (C, ...) and (S, ...)."""
    n_s = style.shape[0]
    return torch.stack([stylize(model, c.expand(n_s, -1, -1, -1), style) for c in content])


def compare_checkpoints(
    checkpoints: Sequence[tuple[int, Path]],
    content: torch.Tensor,
    style: torch.Tensor,
    val_content: Dataset | None = None,
    val_style: Dataset | None = None,
    device: str | torch.device = "cpu",
    batch_size: int = 8,
) -> list[dict[str, Any]]:
    """The same pairs through every checkpoint, one model in memory at a time.

    One row per checkpoint: epoch, checkpoint (file name), generated (normalised CPU batch for
    `content`/`style`) and, given validation datasets, `evaluate`'s mean losses over them.
    """
    rows = []
    bar = tqdm(checkpoints, desc="checkpoints", unit="ckpt", disable=len(checkpoints) < 3)
    for epoch, path in bar:
        model, _ = load_model(path, map_location=device)
        row: dict[str, Any] = {
            "epoch": epoch,
            "checkpoint": Path(path).name,
            "generated": stylize(model, content, style),
        }
        if val_content is not None and val_style is not None:
            row.update(evaluate(model, val_content, val_style, batch_size))
        rows.append(row)
        del model
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m vitst_utils.inference",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--checkpoint", required=True, help="a vitst checkpoint or a seed state dict")
    p.add_argument("--content", required=True, nargs="+", help="content (photo) files or folders")
    p.add_argument("--style", required=True, help="style (anime) image file")
    p.add_argument("--out", default="stylised", help="output folder")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args(argv)
    try:
        contents, skipped = gather_images(args.content)
        if not contents:
            raise FileNotFoundError(f"no usable content image in {args.content}")
        load_image(args.style)
        model, _ = load_model(args.checkpoint, map_location=args.device)
    except (OSError, ValueError, CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for path, reason in skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    result = stylize_pairs(model, [(c, args.style) for c in contents], args.out)
    for path in result.paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
