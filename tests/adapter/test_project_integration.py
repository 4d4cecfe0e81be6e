"""Python models as ordinary dbt nodes: docs (catalog, lineage, code), dbt ls and selectors, threads: 2."""

from __future__ import annotations

import json

from tests.adapter.conftest import DbtProject, query

SLOW_MODEL = '''"""Sleeps, so that two of these overlap when dbt runs them on two threads."""

import time

import pyarrow as pa


def model(dbt, session):
    started = time.time()
    time.sleep(1.5)
    return pa.table({{"model": ["{name}"], "started": [started], "finished": [time.time()]}})
'''


def test_docs_generate_catalogs_python_models_with_their_code(built_pyproj: DbtProject) -> None:
    built_pyproj.dbt("docs", "generate")
    target = built_pyproj.path / "target"
    catalog = json.loads((target / "catalog.json").read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    node = catalog["nodes"]["model.pgpython_tests.py_user_totals"]
    assert node["metadata"]["type"] == "BASE TABLE"
    assert node["columns"]["total"]["type"] == "numeric(14,2)"
    assert set(node["columns"]) == {"user_id", "events", "total", "bonus_cents", "is_incremental", "this_relation"}
    model = manifest["nodes"]["model.pgpython_tests.py_user_totals"]
    assert model["language"] == "python"
    assert "def model(dbt, session):" in model["raw_code"]
    assert model["depends_on"]["nodes"] == ["model.pgpython_tests.stg_events"]
    children = manifest["child_map"]["model.pgpython_tests.py_user_totals"]
    assert sorted(child.rsplit(".", 1)[0] if child.startswith("test.") else child for child in children) == [
        "model.pgpython_tests.sql_user_counts",
        "test.pgpython_tests.not_null_py_user_totals_user_id",
        "test.pgpython_tests.unique_py_user_totals_user_id",
    ]
    assert (
        "source.pgpython_tests.raw_app.type_samples" in manifest["parent_map"]["model.pgpython_tests.py_type_roundtrip"]
    )


def test_ls_and_selectors_find_python_models(built_pyproj: DbtProject) -> None:
    def ls(*selection: str) -> list[str]:
        result = built_pyproj.dbt("ls", "--resource-type", "model", "--output", "name", *selection)
        return sorted(result.result)

    assert ls("--select", "config.materialized:incremental") == [
        "py_events_append",
        "py_events_delete_insert",
        "py_events_merge",
        "sql_events_merge",
    ]
    assert ls("--select", "+py_user_totals+") == ["py_user_totals", "sql_user_counts", "stg_events"]
    assert ls("--select", "path:models/marts/py_type_roundtrip.py") == ["py_type_roundtrip"]
    assert ls("--select", "source:raw_app.type_samples+") == [
        "py_fixed_width_dense",
        "py_fixed_width_roundtrip",
        "py_type_roundtrip",
        "stg_fixed_width_samples",
    ]


def test_two_python_models_run_concurrently(pyproj: DbtProject) -> None:
    for name in ("py_slow_a", "py_slow_b"):
        pyproj.write_model(f"models/marts/{name}.py", SLOW_MODEL.format(name=name))
    pyproj.dbt("run", "--threads", "2", "--select", "py_slow_a", "py_slow_b")
    (a_start, a_end), (b_start, b_end) = query(
        pyproj.target,
        """
        select started, finished from marts.py_slow_a
        union all
        select started, finished from marts.py_slow_b
        """,
    )
    assert a_start < b_end and b_start < a_end, "the two Python models did not overlap"
