"""Views are rebuilt in place when their columns allow it, so what depends on them survives a partial build."""

from __future__ import annotations

from elt.connection import connect
from tests.adapter.conftest import DbtProject, query

VIEW = "staging.stg_events"
DEPENDANT = "staging.events_per_user"
STG_EVENTS = "models/staging/stg_events.sql"


def _view_oid(project: DbtProject) -> int | None:
    return query(project.target, "select to_regclass(%s)::oid", (VIEW,))[0][0]


def _dependant_exists(project: DbtProject) -> bool:
    return query(project.target, "select to_regclass(%s) is not null", (DEPENDANT,))[0][0]


def _build_view_with_a_dependant(project: DbtProject) -> int:
    """Run stg_events, then create a view on it the way another dbt model would (as the transformer)."""
    project.dbt("run", "--select", "stg_events")
    with connect(project.target, role="transformer") as conn:
        conn.execute(f"create view {DEPENDANT} as select user_id, count(*) as events from {VIEW} group by user_id")
    oid = _view_oid(project)
    assert oid is not None
    return oid


def test_unchanged_view_is_replaced_in_place_and_keeps_its_dependants(pyproj: DbtProject) -> None:
    oid = _build_view_with_a_dependant(pyproj)

    pyproj.dbt("run", "--select", "stg_events")

    assert _view_oid(pyproj) == oid
    assert _dependant_exists(pyproj)
    assert query(pyproj.target, f"select count(*) from {DEPENDANT}")[0][0] == 3


def test_view_with_a_column_added_at_the_end_is_replaced_in_place(pyproj: DbtProject) -> None:
    oid = _build_view_with_a_dependant(pyproj)
    text = (pyproj.path / STG_EVENTS).read_text()
    extended = text.replace("updated_at\nfrom", "updated_at,\n    amount * 2 as double_amount\nfrom")
    pyproj.write_model(STG_EVENTS, extended)

    pyproj.dbt("run", "--select", "stg_events")

    assert _view_oid(pyproj) == oid
    assert _dependant_exists(pyproj)
    columns = query(
        pyproj.target,
        "select column_name from information_schema.columns where table_schema = 'staging' "
        "and table_name = 'stg_events' order by ordinal_position",
    )
    assert [name for (name,) in columns] == ["event_id", "user_id", "amount", "updated_at", "double_amount"]


def test_view_whose_column_changed_type_is_swapped(pyproj: DbtProject) -> None:
    oid = _build_view_with_a_dependant(pyproj)
    text = (pyproj.path / STG_EVENTS).read_text()
    pyproj.write_model(STG_EVENTS, text.replace("    amount,", "    amount::double precision as amount,"))

    pyproj.dbt("run", "--select", "stg_events")

    # create or replace cannot change a column's type: the new view was swapped in, the old one dropped
    # with its dependants, as dbt-postgres does
    assert _view_oid(pyproj) not in {None, oid}
    assert not _dependant_exists(pyproj)
    data_type = query(
        pyproj.target,
        "select data_type from information_schema.columns where table_schema = 'staging' "
        "and table_name = 'stg_events' and column_name = 'amount'",
    )
    assert data_type == [("double precision",)]


def test_view_that_lost_a_column_is_swapped(pyproj: DbtProject) -> None:
    oid = _build_view_with_a_dependant(pyproj)
    text = (pyproj.path / STG_EVENTS).read_text()
    pyproj.write_model(STG_EVENTS, text.replace("    amount,\n", ""))

    pyproj.dbt("run", "--select", "stg_events")

    assert _view_oid(pyproj) not in {None, oid}
    assert not _dependant_exists(pyproj)


def test_table_turned_into_a_view_is_swapped(pyproj: DbtProject) -> None:
    text = (pyproj.path / STG_EVENTS).read_text()
    pyproj.write_model(STG_EVENTS, "{{ config(materialized='table') }}\n" + text)
    pyproj.dbt("run", "--select", "stg_events")
    assert query(pyproj.target, "select relkind::text from pg_class where oid = to_regclass(%s)", (VIEW,)) == [("r",)]

    pyproj.write_model(STG_EVENTS, text)
    pyproj.dbt("run", "--select", "stg_events")

    assert query(pyproj.target, "select relkind::text from pg_class where oid = to_regclass(%s)", (VIEW,)) == [("v",)]
    assert query(pyproj.target, f"select count(*) from {VIEW}")[0][0] == 4
