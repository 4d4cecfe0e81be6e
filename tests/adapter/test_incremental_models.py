"""Incremental Python models: append, delete+insert and merge on a unique key, reruns and --full-refresh."""

from __future__ import annotations

from decimal import Decimal

from tests.adapter.conftest import SECOND_EVENTS, DbtProject, insert_events, query, relation_names
from tests.warehouse_checksums import table_checksums

INCREMENTAL = "py_events_append py_events_delete_insert py_events_merge sql_events_merge"
KEYED = ["marts.py_events_delete_insert", "marts.py_events_merge", "marts.sql_events_merge"]


def events(project: DbtProject, table: str) -> list[tuple]:
    return query(project.target, f"select * from {table} order by event_id, updated_at")


def test_strategies_apply_new_and_changed_rows(pyproj: DbtProject) -> None:
    pyproj.dbt("build")
    assert all(len(events(pyproj, f"marts.{name}")) == 4 for name in INCREMENTAL.split())

    insert_events(pyproj.target, SECOND_EVENTS)
    pyproj.dbt("build", "--select", *INCREMENTAL.split())
    source = events(pyproj, "raw_app.events")
    assert len(source) == 6
    assert (2, 10, Decimal("100.00")) in [row[:3] for row in source]
    for table in KEYED:  # merge and delete+insert on event_id: the target equals the source
        assert events(pyproj, table) == source, table
    appended = events(pyproj, "marts.py_events_append")  # append: the old version of event 2 stays
    assert len(appended) == 7
    assert [row[0] for row in appended].count(2) == 2

    # an incremental run with nothing new changes nothing
    before = table_checksums(pyproj.target, ["marts"])
    pyproj.dbt("run", "--select", *INCREMENTAL.split())
    assert table_checksums(pyproj.target, ["marts"]) == before

    # a full refresh rebuilds from the source: keyed strategies give exactly what the increments gave
    pyproj.dbt("run", "--full-refresh", "--select", *INCREMENTAL.split())
    after = table_checksums(pyproj.target, ["marts"])
    for table in KEYED:
        assert after[table] == before[table], table
    assert events(pyproj, "marts.py_events_append") == source
    assert not [r for r in relation_names(pyproj.target) if "__dbt" in r]


def test_incremental_run_reads_its_own_table_in_the_transaction(pyproj: DbtProject) -> None:
    pyproj.dbt("run", "--select", "+py_events_merge")
    insert_events(pyproj.target, SECOND_EVENTS)
    result = pyproj.dbt("run", "--select", "py_events_merge")
    (node,) = result.result.results
    # the Python model read its own table (max updated_at) and returned the increment: event 2 updated, 5 and 6
    assert node.message == "MERGE 3"
    assert events(pyproj, "marts.py_events_merge") == events(pyproj, "raw_app.events")
