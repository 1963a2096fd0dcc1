"""Photos as files: stylising folders of photos into files (batched by size, junk skipped and
reported, inputs never written over), and many (content, style) pairs at once for the
notebooks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .data import ImageSkipped, chunks, image_batch, load_image, to_pil
from .face import Detector, crop_face, face_detector
from .model import ViTStyleTransfer
from .stylize import Size, StyleTarget, photo_tensor, resolve_color_method, stylize, stylize_batch


@dataclass
class StylizeReport:
    """What `stylize_files` did: (photo, output) in input order, skipped files with reasons,
    and the photos in which no face was found (stylised whole instead)."""

    outputs: list[tuple[Path, Path]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    no_face: list[Path] = field(default_factory=list)


def _safe_name(out_dir: Path, stem: str, taken: set[Path]) -> Path:
    """`out_dir/stem.png`, or `stem_2.png`, `stem_3.png` ... when that path is `taken`."""
    path, k = out_dir / f"{stem}.png", 2
    while path.resolve() in taken:
        path, k = out_dir / f"{stem}_{k}.png", k + 1
    taken.add(path.resolve())
    return path


Indexed = tuple[int, torch.Tensor]  # (position in the input, normalised (1, 3, h, w) photo)


def _read_photos(
    photos: Sequence[Path],
    size: Size,
    detector: Detector | None,
    report: StylizeReport,
    progress: bool,
) -> Iterator[Indexed]:
    """The readable photos as tensors (face-cropped when there is a `detector`); unreadable
    files and faceless photos go to `report`."""
    bar = tqdm(photos, desc="stylising", unit="photo", disable=not progress or len(photos) < 2)
    for i, path in enumerate(bar):
        try:
            image = load_image(path)
        except (ImageSkipped, OSError) as e:
            report.skipped.append((path, getattr(e, "reason", str(e))))
            continue
        if detector is not None:
            image, face = crop_face(image, detector)
            if face is None:
                report.no_face.append(path)
        yield i, photo_tensor(image, size)


def _same_size_batches(photos: Iterable[Indexed], batch_size: int) -> Iterator[list[Indexed]]:
    """Batches of photos of one size: a size's batch goes as soon as it is full, and every
    waiting batch once 2 x batch_size photos wait in all (memory stays bounded)."""
    pending: dict[tuple[int, ...], list[Indexed]] = {}
    for i, x in photos:
        key = tuple(x.shape[-2:])
        pending.setdefault(key, []).append((i, x))
        if len(pending[key]) >= batch_size:
            yield pending.pop(key)
        elif sum(map(len, pending.values())) >= 2 * batch_size:
            yield from (pending.pop(k) for k in list(pending))
    yield from (pending.pop(k) for k in list(pending))


def stylize_files(
    model: ViTStyleTransfer,
    photos: Sequence[str | Path],
    target: StyleTarget,
    out_dir: str | Path,
    size: Size = None,
    alpha: float = 1.0,
    preserve_color: bool | str | None = None,
    face_crop: bool = False,
    batch_size: int = 8,
    detector: Detector | None = None,
    protect: Iterable[str | Path] = (),
    progress: bool = True,
) -> StylizeReport:
    """Stylise photo files into `out_dir` as `<photo>_x_<target.name>.png`, whole frame.

    Photos of the same output size are batched (`batch_size`, fp16 on CUDA); photos of other
    sizes wait in their own group, and every group is flushed once 2 x batch_size photos are
    waiting, so memory stays bounded. A file that cannot be read is skipped and reported, as
    is a photo without a face under `face_crop` (stylised whole). An output never replaces a
    photo, a file in `protect` or another output of the run: it gets a `_2`, `_3` ... suffix."""
    resolve_color_method(preserve_color, target)  # bad options fail before any work
    if face_crop and detector is None:
        detector = face_detector()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    photos = [Path(p) for p in photos]
    taken = {Path(p).resolve() for p in [*photos, *protect]}
    report = StylizeReport()
    size = model.image_size if size is None else size
    read = _read_photos(photos, size, detector if face_crop else None, report, progress)
    done: dict[int, Path] = {}
    for group in _same_size_batches(read, batch_size):
        batch = torch.cat([x for _, x in group])
        result = stylize_batch(model, batch, target, alpha, preserve_color)
        for (i, _), image in zip(group, result, strict=True):
            done[i] = _safe_name(out, f"{photos[i].stem}_x_{target.name}", taken)
            to_pil(image).save(done[i])
    report.outputs = [(photos[i], done[i]) for i in sorted(done)]
    return report


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
    """Stylise (content file, style file) pairs in batches, both centre-cropped to the model's
    size as in validation; with `out_dir`, also save each result as `<content>_x_<style>.png`
    (a repeated name gets a `_2`, `_3` ... suffix). For whole photos, see `stylize_files`."""
    pairs = [(Path(c), Path(s)) for c, s in pairs]
    if not pairs:
        raise ValueError("stylize_pairs() needs at least one (content, style) pair")
    size = model.image_size
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    cs, ss, gs, written, taken = [], [], [], [], set()
    for chunk in chunks(pairs, batch_size, "stylising"):
        c, s = image_batch([p for p, _ in chunk], size), image_batch([p for _, p in chunk], size)
        g = stylize(model, c, s)
        cs.append(c)
        ss.append(s)
        gs.append(g)
        if out is not None:
            for (cp, sp), image in zip(chunk, g, strict=True):
                written.append(_safe_name(out, f"{cp.stem}_x_{sp.stem}", taken))
                to_pil(image).save(written[-1])
    return StylizedPairs(torch.cat(cs), torch.cat(ss), torch.cat(gs), written)


def stylize_matrix(
    model: ViTStyleTransfer, content: torch.Tensor, style: torch.Tensor
) -> torch.Tensor:
    """Every content in every style: (C, S, 3, H, W) from normalised (C, ...) and (S, ...)."""
    n_s = style.shape[0]
    return torch.stack([stylize(model, c.expand(n_s, -1, -1, -1), style) for c in content])
