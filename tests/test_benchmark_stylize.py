"""The benchmark's measurements (benchmark.py): timed side by side in one process."""

import copy

import pytest

from vitst_utils import benchmark_stylize as B


def test_measure_inference_times_both_ways(model):
    r = B.measure_inference(copy.deepcopy(model), image_size=64, repeats=1, warmup=0)
    assert r["prototype_s"] > 0 and r["seed_way_s"] > 0 and r["device"] == "cpu"
    assert r["speedup"] == pytest.approx(r["seed_way_s"] / r["prototype_s"])
    assert "prototype" in B.format_inference(r)
