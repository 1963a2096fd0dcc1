"""copies.py: the banded pHash pair search, near-copy pairs and the threshold calibration
(check_data's use of them is tested in test_dataquality.py)."""

import numpy as np
import pytest

from vitst_utils import copies as C
from vitst_utils.explore import format_table


def _brute(h: np.ndarray, t: int):
    i, j = np.triu_indices(len(h), 1)
    d = C.popcount64(h[i] ^ h[j])
    keep = d <= t
    return i[keep], j[keep], d[keep]


@pytest.mark.parametrize("threshold", [0, 3, 10, 21])
def test_pair_search_equals_brute_force(threshold, monkeypatch):
    rng = np.random.default_rng(threshold)
    base = rng.integers(0, 2**63, 150, dtype=np.int64).astype(np.uint64) << np.uint64(1)
    flips = [rng.choice(64, int(rng.integers(0, 24)), replace=False) for _ in range(250)]
    near = [base[k % 150] ^ np.uint64(sum(1 << int(b) for b in f)) for k, f in enumerate(flips)]
    h = rng.permutation(np.concatenate([base, np.array(near, dtype=np.uint64), base[:5]]))
    want = _brute(h, threshold)
    got = C.near_pairs(h, threshold, block=64)  # small blocks: the chunking is exercised
    assert len(want[0]) > 0 and all(np.array_equal(w, g) for w, g in zip(want, got, strict=True))
    ok = (want[0] + want[1]) % 2 == 0  # accept() filters exactly
    got = C.near_pairs(h, threshold, accept=lambda i, j: (i + j) % 2 == 0)
    assert all(np.array_equal(w[ok], g) for w, g in zip(want, got, strict=True))
    assert all(len(C.near_pairs(h[:k], threshold)[0]) == 0 for k in (0, 1))
    if threshold == 3:  # numpy < 2 has no bitwise_count: the lookup-table fallback agrees
        monkeypatch.delattr(np, "bitwise_count")
        assert all(
            np.array_equal(w, g) for w, g in zip(want, C.near_pairs(h, threshold), strict=True)
        )


def test_identical_images_pair_with_their_first_only():
    """A placeholder saved 300 times gives 299 pairs, not 44850; near copies still pair."""
    rng = np.random.default_rng(0)
    h = rng.integers(0, 2**63, 20, dtype=np.int64).astype(np.uint64)
    thumbs = rng.integers(0, 256, (20, C.THUMB_SIDE**2 * 3), dtype=np.uint8)
    h = np.concatenate([h, np.full(300, h[3]), [h[5] ^ np.uint64(0b101)]])
    thumbs = np.concatenate([thumbs, np.repeat(thumbs[3:4], 300, axis=0), thumbs[5:6] + 1])
    i, j, d = C.copy_pairs(h, thumbs, 4, 10.0)
    assert len(i) == 301 and set(i[:-1].tolist()) == {3} and list(j[:-1]) == list(range(20, 320))
    assert (int(i[-1]), int(j[-1]), int(d[-1])) == (5, 320, 2) and not d[:-1].any()
    thumbs[-1] += 20  # same hash neighbourhood, different picture: no pair
    assert len(C.copy_pairs(h, thumbs, 4, 10.0)[0]) == 300


def test_calibration_finds_planted_copies_and_few_distinct_pairs():
    """The measurements behind DEFAULT_THRESHOLD / DEFAULT_THUMB_TOL (README "Data quality")."""
    rows = C.calibrate(n=24, size=64)
    assert [r["pairs"] for r in rows[:5]] == [
        "copy: resize",
        "copy: jpeg",
        "copy: crop",
        "copy: all",
        "distinct",
    ]
    assert len(rows) == 10 and {r["domain"] for r in rows} == {"CelebA", "AnimeFace"}
    hit, both = f"pHash <= {C.DEFAULT_THRESHOLD}", f"and thumb <= {C.DEFAULT_THUMB_TOL:g}"
    for r in rows:
        if r["pairs"] == "copy: resize":
            assert r["n"] == 24 and r[hit] == r[both] == 24  # a resized copy is always found
        if r["pairs"] == "distinct":
            assert r["n"] == 24 * 23 // 2 and r[both] <= 2  # distinct faces: (almost) never
    assert C.calibrate(n=8, size=64, threshold=0, thumb_tol=0.0)[0]["pHash <= 0"] <= 8
    assert "copy: jpeg" in format_table(rows, floatfmt=".1f")
    with pytest.raises(ValueError, match="how must be"):
        C.make_copy(None, "rotate", np.random.default_rng(0))
