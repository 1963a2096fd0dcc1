"""Score checkpoints and runs side by side: "looks like anime" and "still this person".

    python -m vitst_utils.evaluate --run runs/seed runs/anime [--checkpoint FILE ...]
        [--images DIR ...] [--data-root DIR] [--split val|test] [--limit N] [--out DIR]
        [--device D] [--weights-dir DIR] [--max-checkpoints N] [--metric-size N]

Every checkpoint (of each run, or given as a file, seed state dicts included) stylises the same
pairs (content[i] with style[i], the first N usable images of the split); `--images DIR` scores
a folder of pictures another tool (or vitst) already made from those photos, named
`<photo stem>*.png` or paired by sorted order. Three baseline rows need no model: `photo` (the
content images as they are), `anime` (the split's style images, an unrelated pairing) and
`filter` (each photo in its style image's colours, tones and palette, cleaned of speckle,
simplified to its amount of line work, with its outlines, `cel.cel_filter`: a cartoon filter,
what an untrained cel model paints; a model should beat it).
Writes `<out>/metrics.csv`, `metrics.json` and `metrics.png` (default `<first run>/evaluation`).

Metrics that need no downloaded weights always run (`metrics.py`):
- domain_score: mean P(anime) from a small photo / anime / neither / smooth classifier trained on
  the train splits (a classifier two-sample test, never the training discriminator); blurred
  anime is "smooth"; its held-out accuracy is reported beside it.
- crispness: 1 - the blur measure of Crete-Roffet et al. 2007 (higher = crisper lines).
- structure: local correlation of blurred luminance, photo vs output (1 = layout kept, 0 =
  flat or unrelated).
- identity_top1: share of outputs whose own photo is the most similar of all the photos, in
  orientation histograms of luminance edges (chance: 1 / pairs).
- <term>_loss (content_loss, style_loss, and each other term of the checkpoint's recipe, but
  the adversarial one) and rec_loss, their weighted sum: the training losses, in the VGG19
  training used, named and weighted as history.csv's columns (`losses.weighted_total`), on the
  pictures as stylised (a cel model's cleaned, tone-matched ones; training's are neither).
Metrics that need pretrained weights (torch-fidelity's Inception, torchvision's AlexNet,
OpenCV's SFace face recogniser): fid, kid (outputs vs the split's anime images), lpips (photo
vs output), art_fid = (1 + lpips) x (1 + fid) and identity_cos (SFace cosine, photo vs
output). Their weights come from --weights-dir, the torch hub cache, or a download, never a
download when HF_HUB_OFFLINE or VITST_OFFLINE is set; without them they are "not available".

Here: the evaluation and its result, files and CLI; what is scored and how: `scoring.py`; the
metrics: `metrics.py`, their weights: `metric_weights.py`; the figure: `plots.plot_metrics`.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .explore import data_label, format_table
from .function import normalize
from .metrics import HIGHER_IS_BETTER, METRICS
from .plots import Figure, plot_checkpoint_grid, plot_metrics
from .rundir import EVALUATION
from .sample_data import is_synthetic
from .scoring import (
    LOSS_COLUMNS,
    Scorer,
    Source,
    collect_sources,
    find_root,
    load_pairs,
    score_all,
    score_folders,
    source_config,
)

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 200  # pairs per evaluation: enough to rank runs, fast on one GPU
ID_COLUMNS = ("run", "checkpoint", "epoch", "preset")
COLUMN_HIGHER_IS_BETTER = {**HIGHER_IS_BETTER, **dict.fromkeys(LOSS_COLUMNS, False)}
NA = "n/a"  # a metric that could not be computed (the reason is in `unavailable`)


def evaluate_runs(
    runs: Sequence[str | Path] = (),
    checkpoints: Sequence[str | Path] = (),
    *,
    images: Sequence[str | Path] = (),
    data_root: str | Path | None = None,
    split: str = "val",
    limit: int | None = DEFAULT_LIMIT,
    out: str | Path | None = None,
    device: str | torch.device | None = None,
    weights_dir: str | Path | None = None,
    max_checkpoints: int | None = None,
    metric_size: int | None = None,
    batch_size: int = 16,
    classifier_limit: int | None = 2000,
    cache_dir: str | Path | None = None,
    keep_samples: int = 4,
) -> EvaluationResult:
    """Score every checkpoint of `runs` (and the `checkpoints` files), and each folder of
    already-stylised pictures in `images` (`pair_image_folder`), on the same pairs of `split`,
    beside the `photo`, `anime` and `filter` baselines; write metrics.csv/.json/.png to `out`
    (default `<first run>/evaluation`).

    Outputs are compared at `metric_size` (default: the smallest image size among the
    checkpoints, else 224; others are resized, antialiased, and centre-cropped). A checkpoint
    or picture that fails is a `problem` and the rest are still scored; a metric that cannot
    run is `unavailable`. Raises FileNotFoundError when there are no pairs (no data root,
    missing split)."""
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1 or None (all pairs), got {limit}")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    sources, problems = collect_sources(runs, checkpoints, max_checkpoints)
    root = find_root(data_root, sources)
    photos, anime, notes = load_pairs(root, split, limit)
    if metric_size is None:
        sizes = [c.image_size for c in map(source_config, sources) if c is not None]
        metric_size = min(sizes) if sizes else 224
    scorer = Scorer(
        photos.at(metric_size),
        anime.at(metric_size),
        root,
        device,
        weights_dir,
        classifier_limit,
        cache_dir,
    )
    table, samples = score_all(
        sources, scorer, (photos, anime), metric_size, device, batch_size, keep_samples, problems
    )
    table += score_folders(images, photos, scorer, metric_size, problems)
    shown = [c for c in LOSS_COLUMNS if c in scorer.unavailable or any(c in r for r in table)]
    columns = (*ID_COLUMNS, *METRICS, *shown)
    for row in table:
        for m in columns[len(ID_COLUMNS) :]:
            row.setdefault(m, None)
    result = EvaluationResult(
        table=table,
        unavailable=scorer.unavailable,
        problems=problems,
        classifier=scorer.classifier_info(),
        data_root=root,
        split=split,
        pairs=len(scorer.photos),
        metric_size=metric_size,
        label=data_label(root),
        notes=notes,
        sample_content=normalize(scorer.photos[:keep_samples]) if keep_samples else None,
        sample_style=normalize(scorer.anime[:keep_samples]) if keep_samples else None,
        samples=samples,
        columns=columns,
    )
    out_dir = Path(out) if out is not None else _default_out(sources, runs)
    result.files = write_outputs(result, out_dir, scorer.nets.files)
    return result


def _default_out(sources: Sequence[Source], runs: Sequence[str | Path]) -> Path:
    """`<first run>/evaluation`; for checkpoint files alone, their run folder's or ./evaluation."""
    if runs:
        return Path(runs[0]).expanduser() / EVALUATION
    for s in sources:
        if s.run_dir is not None:
            return s.run_dir / EVALUATION
    return Path(EVALUATION)


def _spelled_out(
    row: dict[str, Any], unavailable: dict[str, str], columns: Sequence[str]
) -> dict[str, Any]:
    """The row's `columns`, a missing value as "n/a" (the metric could not run, the reason is
    in `unavailable`) or "" (it does not apply: a baseline has no epoch and no VGG losses)."""
    return {c: (NA if c in unavailable else "") if row.get(c) is None else row[c] for c in columns}


@dataclass
class EvaluationResult:
    """The table (one row per baseline and checkpoint) and everything needed to read it."""

    table: list[dict[str, Any]]
    unavailable: dict[str, str]
    problems: list[str]
    classifier: dict[str, Any]
    data_root: Path
    split: str
    pairs: int
    metric_size: int
    label: str
    notes: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    # the first pairs, normalised at metric_size: what went in, and each checkpoint's outputs
    sample_content: torch.Tensor | None = None
    sample_style: torch.Tensor | None = None
    samples: dict[str, torch.Tensor] = field(default_factory=dict)
    columns: tuple[str, ...] = (*ID_COLUMNS, *METRICS)  # and the loss columns of the rows

    def display_rows(self) -> list[dict[str, Any]]:
        """Rows for a text table: missing metrics as "n/a" (not available) or "" (no model)."""
        return [_spelled_out(r, self.unavailable, self.columns) for r in self.table]

    def text(self, floatfmt: str = ".4g") -> str:
        """The table, then the classifier's accuracy, what was not available and why."""
        lines = [
            f"{self.pairs} pairs of '{self.split}' in {self.data_root} ({self.label}); metrics "
            f"at {self.metric_size} px",
            format_table(self.display_rows(), self.columns, floatfmt=floatfmt),
        ]
        if self.classifier.get("summary"):
            lines.append(f"domain_score: {self.classifier['summary']}")
        lines.append(
            f"identity_top1: chance level 1/{self.pairs} = {1 / max(1, self.pairs):.3g} "
            "(rows scored on fewer pairs: 1/their pairs)"
        )
        by_reason: dict[str, list[str]] = {}
        for metric, why in self.unavailable.items():
            by_reason.setdefault(why, []).append(metric)
        lines += [f"{', '.join(ms)}: not available: {why}" for why, ms in by_reason.items()]
        lines += [f"problem: {p}" for p in self.problems]
        lines += [f"note: {note.splitlines()[0]}" for note in self.notes]
        return "\n".join(lines)

    def figure(self) -> Figure:
        return plot_metrics(self.table, self.unavailable, self.classifier, self.label)

    def rows_of(self, run: str | Path) -> list[dict[str, Any]]:
        """The checkpoint rows of one run, by its name in the table or its folder (e.g. for
        `plots.plot_val_losses`)."""
        folder = str(Path(run).expanduser().resolve()) if isinstance(run, Path) else None
        return [
            r
            for r in self.table
            if r["checkpoint"] != "baseline" and (r["run"] == run or r.get("run_dir") == folder)
        ]

    def pairs_figure(self, title: str = "") -> Figure:
        """The first pairs (content, style), then one column per checkpoint scored."""
        if self.sample_content is None or self.sample_style is None:
            raise ValueError("no sample pairs kept (keep_samples=0)")
        label = f"{self.split} pairs by checkpoint | {self.label}"
        return plot_checkpoint_grid(
            self.sample_content,
            self.sample_style,
            list(self.samples.items()),
            f"{title} | {label}" if title else label,
        )


def write_outputs(
    result: EvaluationResult, out: str | Path, weight_files: dict[str, str] | None = None
) -> dict[str, Path]:
    """metrics.csv (one row per baseline/checkpoint: "n/a" = not available, "" = not
    applicable), metrics.json (rows + reasons, classifier, data, problems) and metrics.png."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "csv": out / "metrics.csv",
        "json": out / "metrics.json",
        "figure": out / "metrics.png",
    }
    with open(files["csv"], "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(result.columns)
        for row in result.display_rows():
            writer.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in row.values()])
    meta = {
        "data_root": str(result.data_root),
        "synthetic": is_synthetic(result.data_root),
        "split": result.split,
        "pairs": result.pairs,
        "metric_size": result.metric_size,
        "columns": list(result.columns),
        "higher_is_better": {
            c: COLUMN_HIGHER_IS_BETTER[c] for c in result.columns if c in COLUMN_HIGHER_IS_BETTER
        },
        "rows": result.table,
        "unavailable": result.unavailable,
        "classifier": result.classifier,
        "weight_files": weight_files or {},
        "problems": result.problems,
        "notes": result.notes,
    }
    files["json"].write_text(json.dumps(meta, indent=2) + "\n")
    result.figure().savefig(files["figure"], dpi=100, bbox_inches="tight")
    return files


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m vitst_utils.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--run", nargs="+", default=[], action="extend", help="run folders")
    p.add_argument(
        "--checkpoint",
        nargs="+",
        default=[],
        action="extend",
        help="checkpoint files (vitst checkpoints or seed state dicts)",
    )
    p.add_argument(
        "--images",
        nargs="+",
        default=[],
        action="extend",
        metavar="DIR",
        help="folders of pictures already stylised from the split's photos (by vitst or another "
        "tool), named <photo stem>*.png or paired by sorted order",
    )
    p.add_argument("--data-root", help="the AvatarAnime folder (default: the first run's)")
    p.add_argument("--split", default="val", help="val (default), test, or train")
    p.add_argument(
        "--limit", type=int, default=DEFAULT_LIMIT, help=f"pairs (default {DEFAULT_LIMIT})"
    )
    p.add_argument("--out", help="output folder (default <first run>/evaluation)")
    p.add_argument("--device", default=None, help="cuda if available, else cpu")
    p.add_argument("--weights-dir", help="folder with the FID/KID/LPIPS weight files (README)")
    p.add_argument("--max-checkpoints", type=int, help="per run, spread evenly (default all)")
    p.add_argument(
        "--metric-size",
        type=int,
        help="side at which all metrics compare (default: the checkpoints' smallest, else 224)",
    )
    return p


def _check_args(args: argparse.Namespace) -> None:
    """Usage errors as ValueError (the CLI prints them and exits 2)."""
    if not args.run and not args.checkpoint and not args.images:
        raise ValueError("give --run RUN_DIR ..., --checkpoint FILE ... and/or --images DIR ...")
    if args.metric_size is not None and args.metric_size < 16:
        raise ValueError("--metric-size must be >= 16 pixels")
    if args.limit < 1 or (args.max_checkpoints is not None and args.max_checkpoints < 1):
        raise ValueError("--limit and --max-checkpoints must be >= 1")
    if args.weights_dir and not Path(args.weights_dir).is_dir():
        raise ValueError(f"--weights-dir {args.weights_dir}: no such folder")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        _check_args(args)
        result = evaluate_runs(
            args.run,
            args.checkpoint,
            images=args.images,
            data_root=args.data_root,
            split=args.split,
            limit=args.limit,
            out=args.out,
            device=args.device,
            weights_dir=args.weights_dir,
            max_checkpoints=args.max_checkpoints,
            metric_size=args.metric_size,
        )
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(result.text())
    for note in result.notes:
        print(note, file=sys.stderr)
    for path in result.files.values():
        print(f"wrote {path}")
    if len(result.table) == 2:
        print("error: nothing could be scored (see the problems above)", file=sys.stderr)
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
