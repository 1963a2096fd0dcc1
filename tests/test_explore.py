"""Data exploration (explore.py) and the figures drawn from it (plots.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from vitst_utils import explore as E
from vitst_utils import plots as P
from vitst_utils.data import DOMAINS, SPLITS, build_transform
from vitst_utils.sample_data import add_messy_files, make_sample_dataset

COUNTS = {"train": 3, "val": 2, "test": 2}


@pytest.fixture(scope="module")
def clean_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sample_dataset(tmp_path_factory.mktemp("clean"), COUNTS, size=64)


@pytest.fixture(scope="module")
def messy_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """Synthetic data with junk in CelebA/train, an empty AnimeFace/test, no CelebA/test."""
    root = make_sample_dataset(tmp_path_factory.mktemp("messy"), {"train": 2, "val": 1}, size=64)
    expected = add_messy_files(root / "CelebA" / "train")
    (root / "AnimeFace" / "test").mkdir()
    return root, expected


@pytest.fixture(scope="module")
def overview(clean_root: Path) -> list[dict]:
    return E.dataset_overview(clean_root)


@pytest.fixture(scope="module")
def stats(overview: list[dict]) -> dict[str, dict]:
    return E.stats_by_domain(overview, max_per_split=2)


def _n_axes(fig: Figure) -> int:
    return len(fig.axes)


# --- overview --------------------------------------------------------------------------------
def test_overview_counts_equal_the_files(clean_root: Path, overview: list[dict]) -> None:
    assert [(r["domain"], r["split"]) for r in overview] == [
        (d, s) for d in DOMAINS for s in SPLITS
    ]
    for r in overview:
        files = sorted(p for p in r["folder"].iterdir())
        assert r["exists"] and r["error"] is None and r["complete"]
        assert r["entries"] == r["image_files"] == r["checked"] == COUNTS[r["split"]]
        assert r["good"] == files and r["skipped"] == []
        assert r["role"] == ("content" if r["domain"] == "CelebA" else "style")
    table = E.overview_table(overview)
    assert [t["usable"] for t in table] == [COUNTS[s] for _ in DOMAINS for s in SPLITS]
    assert E.skipped_table(overview) == []


def test_overview_lists_skipped_files_with_reasons(messy_root) -> None:
    root, expected = messy_root
    rows = {(r["domain"], r["split"]): r for r in E.dataset_overview(root)}
    messy = rows["CelebA", "train"]
    skipped = {p.name: reason for p, reason in messy["skipped"]}
    assert set(skipped) == {n for n, v in expected.items() if v == "skipped"}
    assert all(reason for reason in skipped.values())
    assert (
        skipped["notes.txt"].startswith("not an image file") and skipped["nested"] == "sub-folder"
    )
    kept = sum(v == "kept" for v in expected.values())
    assert len(messy["good"]) == 2 + kept and messy["checked"] == messy["entries"]
    assert messy["entries"] == len(list((root / "CelebA" / "train").iterdir()))

    assert not rows["CelebA", "test"]["exists"]
    assert rows["CelebA", "test"]["error"] == "folder missing"
    assert (
        rows["AnimeFace", "test"]["exists"]
        and "No usable image" in rows["AnimeFace", "test"]["error"]
    )

    table = E.skipped_table(list(rows.values()))
    assert sum(t["count"] for t in table) == len(messy["skipped"])
    kinds = {t["reason"] for t in table}
    assert {"hidden file", "empty file", "too small", "not an image file"} <= kinds
    assert all(t["example"] in skipped for t in table)


def test_overview_limit_stops_early(messy_root) -> None:
    rows = E.dataset_overview(
        messy_root[0], domains=["CelebA"], splits=["train"], limit_per_split=3
    )
    (r,) = rows
    assert len(r["good"]) == 3 and not r["complete"] and r["checked"] < r["entries"]
    assert "first" in E.overview_table(rows)[0]["note"]
    assert E.usable_paths(rows, "CelebA", "train") == r["good"]
    assert E.usable_paths(rows, "CelebA", "val") == []


def test_reason_kind_and_table_formatting() -> None:
    assert E.reason_kind("corrupt or truncated: image file is truncated") == "corrupt or truncated"
    assert E.reason_kind("too small (1x1, need 2 px a side)") == "too small"
    assert E.reason_kind("hidden file") == "hidden file"
    text = E.format_table([{"name": "a", "n": 1, "x": 0.5}, {"name": "long", "n": 22, "x": ""}])
    lines = text.splitlines()
    assert lines[0].split() == ["name", "n", "x"] and set(lines[1]) <= {"-", " "}
    assert lines[2].startswith("a   ") and lines[3].startswith("long")
    assert lines[2].index("1") == lines[3].index("22") + 1  # numbers right-aligned
    assert "0.500" in text
    assert E.format_table([]) == "(no rows)"


def test_data_label_says_synthetic(clean_root: Path, tmp_path: Path) -> None:
    assert "SYNTHETIC" in E.data_label(clean_root)
    assert "SYNTHETIC" not in E.data_label(tmp_path)


# --- statistics ------------------------------------------------------------------------------
def test_sample_paths_is_deterministic_and_ordered() -> None:
    paths = [Path(f"{i:03d}.jpg") for i in range(50)]
    a, b = E.sample_paths(paths, 10, seed=3), E.sample_paths(paths, 10, seed=3)
    assert a == b and len(a) == 10 and a == sorted(a) and len(set(a)) == 10
    assert E.sample_paths(paths, 10, seed=4) != a
    assert E.sample_paths(paths[:5], 10) == paths[:5] == E.sample_paths(paths[:5], None)
    with pytest.raises(ValueError):
        E.sample_paths(paths, 0)


def test_image_stats_shapes_and_ranges(clean_root: Path, tmp_path: Path) -> None:
    folder = clean_root / "AnimeFace" / "train"
    paths = sorted(folder.iterdir())
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    s = E.image_stats([*paths, bad], max_images=None)
    n = len(paths)
    assert s["paths"] == paths and [p.name for p, _ in s["skipped"]] == ["bad.png"]
    for key in ("width", "height", "aspect", "pixels", "brightness", "saturation"):
        assert s[key].shape == (n,)
    assert s["mean"].shape == s["std"].shape == (n, 3)
    sizes = [Image.open(p).size for p in paths]
    assert list(zip(s["width"], s["height"], strict=True)) == sizes
    np.testing.assert_allclose(s["aspect"], [w / h for w, h in sizes])
    for key in ("mean", "std", "brightness", "saturation"):
        assert np.all((s[key] >= 0) & (s[key] <= 1))
    for key in ("brightness_hist", "saturation_hist"):
        assert s[key].shape == (E.HIST_BINS,) and s[key].sum() == pytest.approx(1.0)
    assert s["bin_edges"].shape == (E.HIST_BINS + 1,)

    empty = E.image_stats([])
    assert empty["width"].shape == (0,) and empty["mean"].shape == (0, 3)
    assert np.isnan(E.channel_summary(empty)["mean"]).all()
    assert len(E.image_stats(paths, max_images=2)["paths"]) == 2


def test_channel_summary_pools_pixels(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8), (255, 0, 0)).save(tmp_path / "red.png")
    Image.new("RGB", (8, 8), (0, 0, 255)).save(tmp_path / "blue.png")
    s = E.image_stats(sorted(tmp_path.iterdir()))
    c = E.channel_summary(s)
    np.testing.assert_allclose(c["mean"], [0.5, 0.0, 0.5], atol=1e-6)
    np.testing.assert_allclose(c["std"], [0.5, 0.0, 0.5], atol=1e-6)  # between, not within
    np.testing.assert_allclose(s["std"], 0.0, atol=1e-6)
    np.testing.assert_allclose(s["saturation"], 1.0)


def test_tables_per_domain(stats: dict[str, dict]) -> None:
    assert list(stats) == list(DOMAINS)
    assert all(len(s["paths"]) == 2 * len(SPLITS) for s in stats.values())  # 2 per split
    sizes = E.size_table(stats, image_size=224)
    assert [r["domain"] for r in sizes] == list(DOMAINS)
    assert all(r["side < 224"] == "100%" for r in sizes)  # synthetic images are ~64 px
    colours = E.colour_table(stats)
    assert [r["domain"] for r in colours][-1].startswith("ImageNet")
    assert all(0 <= r["mean R"] <= 1 and 0 <= r["std B"] <= 1 for r in colours)
    assert "mean R" in E.format_table(colours)


def test_transform_examples_are_deterministic(clean_root: Path) -> None:
    paths = sorted((clean_root / "CelebA" / "train").iterdir())[:2]
    state = torch.get_rng_state()
    a = E.transform_examples(paths, 32, draws=3, seed=1)
    assert torch.equal(state, torch.get_rng_state()), "the global RNG must be left alone"
    b = E.transform_examples(paths, 32, draws=3, seed=1)
    assert len(a) == 2 and all(len(e["train"]) == 3 for e in a)
    assert a[0]["eval"].shape == (3, 32, 32) and a[0]["train"][0].shape == (3, 32, 32)
    assert all(torch.equal(x, y) for x, y in zip(a[0]["train"], b[0]["train"], strict=True))
    expected = build_transform(32, train=False)(a[0]["original"])
    assert torch.equal(a[0]["eval"], expected)
    with pytest.raises(ValueError):
        E.transform_examples(paths, 32, draws=0)


def test_load_samples_shrinks_and_captions(messy_root) -> None:
    big = messy_root[0] / "CelebA" / "train" / "large_4000x3000.jpg"
    images, captions = E.load_samples([big], max_side=100)
    assert max(images[0].size) == 100 and images[0].mode == "RGB"
    assert "4000x3000" in captions[0]
    assert E.short_name("a" * 40 + ".jpeg", 22).endswith(".jpeg")
    assert len(E.short_name("a" * 40 + ".jpeg", 22)) == 22


# --- plots -----------------------------------------------------------------------------------
def test_exploration_figures(overview: list[dict], stats: dict[str, dict], clean_root) -> None:
    assert _n_axes(P.plot_counts(overview, "counts")) == 1
    assert _n_axes(P.plot_image_sizes(stats, 64, "sizes")) == 3
    assert _n_axes(P.plot_colour_stats(stats, "colours")) == 3
    paths = sorted((clean_root / "AnimeFace" / "train").iterdir())[:3]
    fig = P.plot_transform_examples(E.transform_examples(paths, 32, draws=2), "tf")
    assert isinstance(fig, Figure) and _n_axes(fig) == 3 * 4
    assert fig.get_suptitle() == "tf"


def test_image_sizes_handle_an_empty_domain(stats: dict[str, dict]) -> None:
    fig = P.plot_image_sizes({**stats, "Empty": E.image_stats([])}, None)
    assert _n_axes(fig) == 3


# --- inference helpers ------------------------------------------------------------------------
