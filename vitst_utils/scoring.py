"""What an evaluation scores, and scoring it: the checkpoints of runs and files (`Source`), the
pairs of a split, folders of pictures made elsewhere, and the `Scorer` that puts every metric
of one image set against the same photos and anime images.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from .cel import cel_filter
from .checkpoint import (
    CheckpointError,
    load_checkpoint,
    model_from_checkpoint,
    run_config,
    split_loss_net,
)
from .config import CONTENT_DOMAIN, STYLE_DOMAIN, TrainConfig
from .data import (
    ImageSkipped,
    build_transform,
    domain_folder,
    format_skip_report,
    is_image_name,
    load_image,
    scan_folder,
)
from .dataroot import find_data_root, resolve_data_root
from .domain import DomainClassifier, get_domain_classifier, square_resize
from .function import normalize, to_pixels
from .losses import TERMS, loss_net, perceptual_losses, wants_identity, weighted_total
from .metric_weights import load_metric_nets
from .metrics import (
    crispness,
    fid_kid,
    identity_top1,
    inception_features,
    lpips_score,
    structure_score,
)
from .rundir import checkpoint_epoch, list_checkpoints, run_of, select_checkpoints
from .weights import PretrainedWeightsError

log = logging.getLogger(__name__)

# The training losses a checkpoint is scored with, as history.csv names them: each term the
# recipe has (unweighted; not the adversarial one: it needs the discriminator) and `rec_loss`,
# their weighted sum (`losses.weighted_total`). Only the columns some row has are written.
LOSS_COLUMNS = (*(f"{t}_loss" for t in TERMS if t != "adv"), "rec_loss")


class Scorer:
    """Every metric of one image set against the same photos and anime images; the
    networks are loaded once, and what cannot be had is recorded in `unavailable`."""

    def __init__(
        self,
        photos: torch.Tensor,
        anime: torch.Tensor,
        root: Path,
        device: torch.device,
        weights_dir: str | Path | None,
        classifier_limit: int | None,
        cache_dir: str | Path | None,
    ):
        self.photos, self.anime = photos, anime
        self.unavailable: dict[str, str] = {}
        self.clf: DomainClassifier | None = None
        try:
            self.clf = get_domain_classifier(
                root, train_limit=classifier_limit, cache_dir=cache_dir, device=device
            )
        except (OSError, ValueError, RuntimeError) as e:
            self.unavailable["domain_score"] = f"the photo-vs-anime classifier failed: {e}"
        self.nets = load_metric_nets(weights_dir, device)
        self.unavailable.update(self.nets.unavailable)
        if self.nets.inception is not None and len(anime) < 2:
            self.nets.inception = None
            why = f"needs at least 2 pairs, the split gave {len(anime)}"
            self.unavailable.update(fid=why, kid=why, art_fid=why)
        self.anime_features = (
            inception_features(self.nets.inception, anime) if self.nets.inception else None
        )
        self.device, self._loss_nets = device, {}
        for metric, why in self.unavailable.items():
            log.debug("%s not available: %s", metric, why)  # reported in the result

    def loss_net(self, cfg: TrainConfig, old_vgg: dict | None) -> nn.Module | None:
        """The VGG19 a checkpoint trained with: the one an older checkpoint carries, else its
        config's (pretrained, or random seeded: `losses.loss_net`), loaded once per config;
        None, with the reason in `unavailable`, when its weights cannot be had."""
        key = (cfg.pretrained, cfg.vgg_weights_file, cfg.seed)
        if old_vgg is None and key in self._loss_nets:
            return self._loss_nets[key]
        try:
            net = loss_net(cfg, old_vgg).to(self.device)
        except (PretrainedWeightsError, OSError) as e:
            for column in LOSS_COLUMNS:
                self.unavailable.setdefault(column, f"the VGG19 of the losses: {e}")
            return None
        if old_vgg is None:
            self._loss_nets[key] = net
        return net

    def classifier_info(self) -> dict[str, Any]:
        return {"summary": self.clf.summary(), **self.clf.info()} if self.clf else {}

    def score(
        self,
        images: torch.Tensor,
        features: torch.Tensor | None = None,
        index: Sequence[int] | None = None,
    ) -> dict[str, Any]:
        """The metrics of `images` ([0, 1] pixels, paired with the photos, or with the photos
        at `index` when only some have an image); `features`: their Inception features if
        already computed."""
        photos = self.photos if index is None else self.photos[list(index)]
        row: dict[str, Any] = {
            "domain_score": float(self.clf.prob_pixels(images).mean()) if self.clf else None,
            "crispness": crispness(images),
            "structure": structure_score(photos, images),
            "identity_top1": identity_top1(photos, images),
        }
        if self.nets.face is not None:
            row["identity_cos"] = self.nets.face.similarity(photos, images)
        if self.nets.inception is not None:
            if features is None:
                features = inception_features(self.nets.inception, images)
            row["fid"], row["kid"] = fid_kid(self.anime_features, features)
        if self.nets.lpips is not None:
            row["lpips"] = lpips_score(self.nets.lpips, photos, images)
        if row.get("fid") is not None and row.get("lpips") is not None:
            row["art_fid"] = (1 + row["lpips"]) * (1 + row["fid"])
        return row


@dataclass
class Source:
    """One checkpoint to score: its run's name and folder, file, epoch (from the name)."""

    run: str
    path: Path
    epoch: int | None = None
    run_dir: Path | None = None


def _unique_names(dirs: Sequence[Path]) -> list[str]:
    names = [d.name for d in dirs]
    return [f"{d.parent.name}/{d.name}" if names.count(d.name) > 1 else d.name for d in dirs]


def collect_sources(
    runs: Sequence[str | Path] = (),
    checkpoints: Sequence[str | Path] = (),
    max_checkpoints: int | None = None,
) -> tuple[list[Source], list[str]]:
    """The checkpoints to score (runs' numbered ones, then the given files) and the problems
    found on the way (a run folder without checkpoints, a missing file), each naming the path."""
    sources: list[Source] = []
    problems: list[str] = []
    run_dirs = [Path(r).expanduser() for r in runs]
    for run_dir, name in zip(run_dirs, _unique_names(run_dirs), strict=True):
        if not run_dir.is_dir():
            problems.append(f"{run_dir}: run folder not found")
            continue
        found = list_checkpoints(run_dir)
        if not found:
            problems.append(
                f"{run_dir}: no checkpoints (expected {run_dir / 'checkpoints'}/epoch_XXX.pt)"
            )
            continue
        if max_checkpoints is not None:
            found = select_checkpoints(found, max_checkpoints)
        sources += [Source(name, p, e, run_dir) for e, p in found]
    for item in checkpoints:
        path = Path(item).expanduser()
        if not path.is_file():
            problems.append(f"{path}: checkpoint file not found")
            continue
        run_dir = run_of(path)
        run = run_dir.name if run_dir is not None else path.stem
        sources.append(Source(run, path, checkpoint_epoch(path), run_dir))
    return sources, problems


def source_config(source: Source) -> TrainConfig | None:
    """The config a source trained with (`checkpoint.run_config`)."""
    return run_config(source.run_dir, source.path)


def find_root(data_root: str | Path | None, sources: Sequence[Source]) -> Path:
    """The data root: given, else the first run's own (its config, $VITST_DATA_ROOT, Kaggle
    input, or the synthetic set a smoke run trained on), else discovery."""
    if data_root is not None:
        return find_data_root(data_root)
    for s in sources:
        cfg = source_config(s)
        if cfg is not None and s.run_dir is not None:
            return resolve_data_root(cfg, s.run_dir)[0]
    return find_data_root(None)


class _Images:
    """The pairs' images, decoded once, as [0, 1] pixel batches at any size asked for."""

    def __init__(self, paths: Sequence[Path]):
        self.paths = list(paths)
        self.images = [load_image(p) for p in paths]
        self._by_size: dict[int, torch.Tensor] = {}

    def at(self, size: int) -> torch.Tensor:
        if size not in self._by_size:
            tf = build_transform(size, train=False)
            batch = torch.stack([tf(im) for im in self.images])
            self._by_size[size] = to_pixels(batch).clamp(0, 1)
        return self._by_size[size]


def load_pairs(root: Path, split: str, limit: int | None) -> tuple[_Images, _Images, list[str]]:
    """The first `limit` usable photos and anime faces of the split (as many of each), and
    the loader's report of the junk it skipped."""
    found, notes = [], []
    for domain in (CONTENT_DOMAIN, STYLE_DOMAIN):
        folder = domain_folder(root, domain, split)
        if not folder.is_dir():
            raise FileNotFoundError(
                f"No '{split}' split at {folder}: pick another split (val, test) or data root."
            )
        good, skipped = scan_folder(folder, limit)
        if skipped:
            notes.append(format_skip_report(skipped, folder, max_items=5))
        found.append(good)
    n = min(len(found[0]), len(found[1]))
    return _Images(found[0][:n]), _Images(found[1][:n]), notes


def _named_after(file: Path, photo: Path) -> bool:
    """`<photo stem>.png` or `<photo stem><not a letter or digit>....png`."""
    rest = file.stem[len(photo.stem) :] if file.stem.startswith(photo.stem) else None
    return rest is not None and (rest == "" or not rest[0].isalnum())


def pair_image_folder(
    folder: str | Path, photos: Sequence[Path]
) -> tuple[list[tuple[int, Path]], list[str]]:
    """(photo index, picture) pairs of a folder of stylised pictures, and the problems found:
    pictures named after their photo (`<photo stem>*`, the shortest name when several), else,
    when no name matches at all, paired by sorted order. Photos without a picture are named."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        return [], [f"{folder}: image folder not found"]
    files = sorted(p for p in folder.iterdir() if p.is_file() and is_image_name(p))
    if not files:
        return [], [f"{folder}: no image files"]
    named = {
        i: min(hits, key=lambda f: (len(f.name), f.name))
        for i, photo in enumerate(photos)
        if (hits := [f for f in files if _named_after(f, photo)])
    }
    if named:
        missing = [photos[i].name for i in range(len(photos)) if i not in named]
        problems = [f"{folder}: no picture named after {m}" for m in missing[:10]]
        if len(missing) > 10:
            problems.append(f"{folder}: ... and {len(missing) - 10} more photos without one")
        return sorted(named.items()), problems
    n = min(len(files), len(photos))
    problems = []
    if len(files) != len(photos):
        problems.append(
            f"{folder}: no file is named after a photo, and {len(files)} files for "
            f"{len(photos)} photos: paired the first {n} by sorted order"
        )
    return list(enumerate(files[:n])), problems


def _read_folder_images(
    pairs: Sequence[tuple[int, Path]], size: int, problems: list[str]
) -> tuple[list[int], torch.Tensor | None]:
    """The readable pictures of `pairs` as [0, 1] pixels at `size` (short side, centre crop,
    as the photos) and their photo indices; unreadable files go to `problems`."""
    tf = build_transform(size, train=False)
    index, images = [], []
    for i, path in pairs:
        try:
            images.append(to_pixels(tf(load_image(path))).clamp(0, 1))
            index.append(i)
        except (ImageSkipped, OSError) as e:
            problems.append(f"{path}: unreadable ({getattr(e, 'reason', e)}), not scored")
    return index, torch.stack(images) if images else None


def score_folders(
    folders: Sequence[str | Path],
    photos: _Images,
    scorer: Scorer,
    metric_size: int,
    problems: list[str],
) -> list[dict[str, Any]]:
    """One row per folder of already-stylised pictures (see `pair_image_folder`)."""
    dirs = [Path(f).expanduser() for f in folders]
    rows = []
    for folder, name in zip(dirs, _unique_names(dirs), strict=True):
        pairs, found = pair_image_folder(folder, photos.paths)
        problems += found
        index, images = _read_folder_images(pairs, metric_size, problems)
        if images is None:
            continue
        row = {**_baseline(name), "checkpoint": "images", "path": str(folder)}
        rows.append({**row, **scorer.score(images, index=index), "pairs": len(index)})
    return rows


def _baseline(name: str) -> dict[str, Any]:
    return dict(run=name, checkpoint="baseline", epoch=None, preset="", path=None, run_dir=None)


@torch.no_grad()
def _stylise(
    source: Source,
    photos: _Images,
    anime: _Images,
    metric_size: int,
    scorer: Scorer,
    batch_size: int,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Outputs as [0, 1] pixels at `metric_size`, and the checkpoint's row fields + losses
    (the mean of each term over the pairs, and of their weighted sum `rec_loss`)."""
    device = scorer.device
    ckpt = load_checkpoint(source.path, map_location="cpu")
    model, cfg = model_from_checkpoint(ckpt, source.path, map_location=device)
    epoch = ckpt.get("epoch") if ckpt.get("epoch") is not None else source.epoch
    vgg = scorer.loss_net(cfg, split_loss_net(ckpt["model"])[1])
    del ckpt
    c_all = normalize(photos.at(cfg.image_size))
    s_all = normalize(anime.at(cfg.image_size))
    identity = vgg is not None and wants_identity(cfg)
    outs, sums = [], {}
    for start in range(0, len(c_all), batch_size):
        c = c_all[start : start + batch_size].to(device)
        s = s_all[start : start + batch_size].to(device)
        out = model(c, s, identity=identity)
        g = out[0] if identity else out
        if vgg is not None:
            terms = perceptual_losses(vgg, cfg, g, c, s, out[1:] if identity else None)
            for k, v in {**terms, "rec": weighted_total(cfg, terms).rec}.items():
                sums[f"{k}_loss"] = sums.get(f"{k}_loss", 0.0) + float(v) * len(c)
        outs.append(square_resize(to_pixels(g.float()).clamp(0, 1), metric_size).cpu())
    row = {
        "run": source.run,
        "checkpoint": source.path.name,
        "epoch": epoch,
        "preset": cfg.preset,
        "path": str(source.path),
        "run_dir": str(source.run_dir.resolve()) if source.run_dir is not None else None,
        **{k: v / len(c_all) for k, v in sums.items()},
    }
    return torch.cat(outs), row


def _column_label(row: dict[str, Any]) -> str:
    """ "run · epoch N" (or the file name for checkpoints without an epoch)."""
    if row.get("epoch") is not None:
        return f"{row['run']} · epoch {row['epoch']}"
    return f"{row['run']} · {row['checkpoint']}"


def score_all(
    sources: Sequence[Source],
    scorer: Scorer,
    pairs: tuple[_Images, _Images],
    metric_size: int,
    device: torch.device,
    batch_size: int,
    keep_samples: int,
    problems: list[str],
) -> tuple[list[dict[str, Any]], dict[str, torch.Tensor]]:
    """The table (the three baselines, then one row per checkpoint, every metric present) and
    the first `keep_samples` outputs of the filter and of each checkpoint; a checkpoint that
    fails is added to `problems` and the rest are still scored."""
    filtered = cel_filter(scorer.photos, scorer.anime)  # the anime recipe's cel settings
    table = [
        {**_baseline("photo"), **scorer.score(scorer.photos)},
        {**_baseline("anime"), **scorer.score(scorer.anime, scorer.anime_features)},
        {**_baseline("filter"), **scorer.score(filtered)},
    ]
    samples = {"filter (no network)": normalize(filtered[:keep_samples])} if keep_samples else {}
    for source in tqdm(sources, desc="checkpoints", unit="ckpt", disable=len(sources) < 3):
        try:
            images, row = _stylise(source, *pairs, metric_size, scorer, batch_size)
        except (CheckpointError, OSError, ValueError, RuntimeError) as e:
            msg = str(e) if str(source.path) in str(e) else f"{source.path}: {e}"
            problems.append(msg)
            log.info("skipped: %s", msg)
            continue
        table.append({**row, **scorer.score(images)})
        if keep_samples:
            samples[_column_label(row)] = normalize(images[:keep_samples])
    return table, samples
