"""What a data-quality check found, and the files it writes: the findings (`Issue`), the
`QualityReport` with its table of kinds and its summary, `<out>/data_quality.csv` and
`<out>/exclude.txt` (the list `data.read_exclude_file` reads back). `dataquality` finds them."""

from __future__ import annotations

import csv
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# every kind of finding, in the order the report lists them
KINDS = (
    "duplicate",
    "leak",
    "uniform",
    "small",
    "aspect",
    "huge",
    "grayscale",
    "other_domain",
    "unreadable",
)

CSV_COLUMNS = ("domain", "split", "file", "kind", "detail")


@dataclass
class Issue:
    """One row of data_quality.csv; `other` is the original of a duplicate or leak."""

    domain: str
    split: str
    file: str  # relative to the data root, e.g. "AnimeFace/val/00012.png"
    kind: str
    detail: str
    excluded: bool
    other: str | None = None
    distance: int | None = None  # pHash distance to `other`


@dataclass
class QualityReport:
    """Everything one check found, with the settings it used."""

    root: Path
    issues: list[Issue]
    images: dict[tuple[str, str], int]  # images measured per (domain, split)
    threshold: int
    thumb_tol: float
    exclude_kinds: tuple[str, ...]
    limit: int | None = None  # set when it cut a folder short
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    hashed: int = 0  # files decoded this time
    cached: int = 0  # images whose measurements came from the hash cache

    @property
    def exclude(self) -> dict[str, str]:
        """{file: reason} of the files left out of training (first excluded issue each)."""
        out: dict[str, str] = {}
        for issue in self.issues:
            if issue.excluded and issue.file not in out:
                out[issue.file] = f"{issue.kind}: {issue.detail}"
        return out

    def of_kind(self, *kinds: str) -> list[Issue]:
        return [i for i in self.issues if i.kind in kinds]

    def kind_table(self) -> list[dict[str, Any]]:
        """Counts per kind and (domain, split), plus whether the kind is excluded."""
        counts = Counter((i.kind, i.domain, i.split) for i in self.issues)
        rows = []
        for kind in KINDS:
            per = {f"{d}/{s}": counts[(kind, d, s)] for d, s in self.images}
            verdict = "excluded" if kind in self.exclude_kinds else "reported"
            rows.append({"kind": kind, **per, "total": sum(per.values()), "training": verdict})
        per = {f"{d}/{s}": n for (d, s), n in self.images.items()}
        left_out = f"{len(self.exclude)} left out"
        rows.append(
            {"kind": "images checked", **per, "total": sum(per.values()), "training": left_out}
        )
        return rows

    def summary(self) -> str:
        lines = [
            f"{sum(self.images.values())} images in {len(self.images)} folders of {self.root} "
            f"({self.hashed} files decoded, {self.cached} from the cache) in {self.seconds:.1f} s; "
            f"near-duplicate = pHash distance <= {self.threshold} and thumbnail "
            f"difference <= {self.thumb_tol:g}",
            f"{len(self.issues)} findings; {len(self.exclude)} files to leave out of training "
            f"({', '.join(self.exclude_kinds) or 'no kind excluded'})",
        ]
        if self.limit:
            lines.append(f"limit: only the first {self.limit} images of each folder were checked")
        return "\n".join(lines + self.notes)


def _listable(rel: str) -> bool:
    """Whether `data.read_exclude_file` can read `rel` back: it cuts comments at "#" and strips
    whitespace, so such names cannot be listed."""
    return "#" not in rel and rel == rel.strip() and "\n" not in rel and "\r" not in rel


def write_outputs(report: QualityReport, out: str | Path) -> tuple[Path, Path]:
    """Write `<out>/data_quality.csv` and `<out>/exclude.txt` (the format
    `data.read_exclude_file` reads); return their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, exclude_path = out / "data_quality.csv", out / "exclude.txt"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for i in report.issues:
            writer.writerow([i.domain, i.split, i.file, i.kind, i.detail])
    exclude = report.exclude
    listed = {rel: why for rel, why in exclude.items() if _listable(rel)}
    unlisted = sorted(set(exclude) - set(listed))
    stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    listed_at = exclude_path.resolve()
    header = [
        f"# Exclude list written by vitst_utils.dataquality on {stamp}",
        f"# data root: {report.root.resolve()}",
        f"# near-duplicate: pHash Hamming distance <= {report.threshold} (of 64 bits) and "
        f"8x8 thumbnail difference <= {report.thumb_tol:g}",
        f"# left out: {', '.join(report.exclude_kinds) or 'nothing'}; {len(listed)} files"
        + (f" (limit: first {report.limit} images per folder checked)" if report.limit else ""),
        "# paths are relative to the data root; train without them:",
        f"#   python -m vitst_utils.train --preset anime --set exclude_file={listed_at}",
    ]
    header += [f"# NOT listed (its name holds '#' or edge spaces): {rel}" for rel in unlisted]
    lines = [f"{rel}  # {why.replace(chr(10), ' ')}" for rel, why in sorted(listed.items())]
    exclude_path.write_text("\n".join(header + lines) + "\n", encoding="utf-8")
    return csv_path, exclude_path
