"""The neows_marts benchmark builds the real NeoWs models over synthetic asteroids at tiny sizes (timings unchecked)."""

from __future__ import annotations

import pytest

from benchmarks import neows_marts
from benchmarks.harness import BenchmarkContext, resolve_references
from benchmarks.run import select


def test_the_benchmark_builds_every_synthetic_asteroid_with_its_approaches_at_each_size(warehouse, tmp_path):
    context = BenchmarkContext(warehouse, rows=0, seed=0, workdir=tmp_path)
    measured = {m.metric: m for m in resolve_references(neows_marts.run_sizes(context, (10, 40), repeats=1))}

    small, large = measured["neows_marts.us_per_asteroid_10"], measured["neows_marts.us_per_asteroid_40"]
    assert large.reference == small.value
    assert measured["neows_marts.flatness"].value == pytest.approx(large.value / small.value)
    assert measured["neows_marts.command_seconds_40"].value > measured["neows_marts.node_seconds_40"].value > 0
    # run_sizes checked each size's marts against the raw rows (check_marts raises otherwise)
    assert [m for m in measured if m.startswith("neows_marts.node_seconds_")] == [
        "neows_marts.node_seconds_0",
        "neows_marts.node_seconds_10",
        "neows_marts.node_seconds_40",
    ]


def test_the_benchmark_is_discovered():
    assert "neows_marts" in [benchmark.name for benchmark in select(None)]
