"""The moid_dbt_run benchmark runs the real asteroid_earth_moid model in dbt run on a few orbits (timings unchecked)."""

from __future__ import annotations

import pytest

from benchmarks import moid_dbt_run
from benchmarks.harness import BenchmarkContext, resolve_references
from benchmarks.run import select
from elt.connection import connect


def test_the_model_in_dbt_run_computes_the_kernels_moids_and_is_timed(warehouse, tmp_path):
    context = BenchmarkContext(warehouse, rows=0, seed=3, workdir=tmp_path)
    measured = {m.metric: m for m in resolve_references(moid_dbt_run.run_orbits(context, orbits=40, repeats=1))}

    assert measured["moid_dbt_run.max_difference"].value <= moid_dbt_run.AGREEMENT_AU
    kernel = measured["moid_dbt_run.kernel"]
    node = measured["moid_dbt_run.model_in_dbt_run"]
    assert kernel.value == pytest.approx(40 / measured["moid_dbt_run.kernel_seconds"].value)
    assert node.value == pytest.approx(40 / measured["moid_dbt_run.model_node_seconds"].value)
    assert node.reference == kernel.value and node.ratio == pytest.approx(node.value / kernel.value)
    parts = sum(measured[f"moid_dbt_run.model_{part}_seconds"].value for part in ("read", "compute", "write"))
    assert parts == pytest.approx(measured["moid_dbt_run.model_node_seconds"].value)
    assert measured["moid_dbt_run.dbt_run_seconds"].value > measured["moid_dbt_run.model_node_seconds"].value
    assert measured["moid_dbt_run.command_seconds"].value > measured["moid_dbt_run.command_node_seconds"].value > 0
    # the model built from the project's real file and YAML: its declared columns, one row per orbit
    with connect(warehouse) as conn:
        rows, valid = conn.execute(
            "select count(*), count(*) filter (where invalid_reason is null and moid_km > 0) "
            "from bench.asteroid_earth_moid"
        ).fetchone()
        types = dict(
            conn.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'bench' and table_name = 'asteroid_earth_moid'"
            ).fetchall()
        )
    assert rows == valid == 40
    assert types["moid_au"] == "double precision" and types["asteroid_id"] == "text"


def test_the_benchmark_is_discovered():
    assert "moid_dbt_run" in [benchmark.name for benchmark in select(None)]
