"""The python_model_io benchmark runs end to end on a small data set (its numbers are not asserted)."""

from __future__ import annotations

from benchmarks import python_model_io
from benchmarks.harness import BenchmarkContext, resolve_references


def test_python_model_io_benchmark_round_trips_every_row(warehouse, tmp_path):
    measurements = resolve_references(
        python_model_io.run(BenchmarkContext(warehouse, rows=2000, seed=7, workdir=tmp_path))
    )
    by_metric = {m.metric: m for m in measurements}
    assert by_metric["python_model_io.read"].reference == by_metric["python_model_io.raw_copy_out"].value
    assert by_metric["python_model_io.write"].ratio is not None
    assert all(m.value > 0 for m in measurements)
