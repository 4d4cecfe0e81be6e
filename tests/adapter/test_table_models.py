"""Python table models on PostgreSQL through the pgpython adapter: dbt build, exact type round trip, reruns."""

from __future__ import annotations

from decimal import Decimal

from tests.adapter.conftest import DbtProject, query, relation_names
from tests.warehouse_checksums import table_checksums

MART_MODELS = [
    "py_events_append",
    "py_events_delete_insert",
    "py_events_merge",
    "py_fixed_width_dense",
    "py_fixed_width_roundtrip",
    "py_type_roundtrip",
    "py_user_totals",
    "sql_events_merge",
    "sql_user_counts",
]


def column_types(project: DbtProject, schema: str, table: str) -> dict[str, str]:
    rows = query(
        project.target,
        """
        select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute as a
        where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum
        """,
        (f"{schema}.{table}",),
    )
    return dict(rows)


def test_build_runs_python_models_with_their_tests(built_pyproj: DbtProject) -> None:
    relations = relation_names(built_pyproj.target)
    assert [f"marts.{name}" for name in MART_MODELS] == [r for r in relations if r.startswith("marts.")]
    assert not [r for r in relations if "__dbt" in r], "temporary or backup relations were left behind"


def test_every_sample_value_round_trips_exactly(built_pyproj: DbtProject) -> None:
    differences = query(
        built_pyproj.target,
        """
        (select * from raw_app.type_samples except all select * from marts.py_type_roundtrip)
        union all
        (select * from marts.py_type_roundtrip except all select * from raw_app.type_samples)
        """,
    )
    assert differences == []
    source_types = column_types(built_pyproj, "raw_app", "type_samples")
    model_types = column_types(built_pyproj, "marts", "py_type_roundtrip")
    # unconstrained numeric comes back as the narrowest numeric(p, s) that holds every value, exactly
    assert model_types.pop("free_numeric") == "numeric(50,20)"
    del source_types["free_numeric"]
    assert model_types == source_types
    # the text form (what md5 checksums see) is identical too, for every column but the widened numeric
    columns = ", ".join(source_types)
    checksum = "select md5(string_agg(row({cols})::text, E'\\n' order by sample_id)) from {table}"
    source = query(built_pyproj.target, checksum.format(cols=columns, table="raw_app.type_samples"))
    model = query(built_pyproj.target, checksum.format(cols=columns, table="marts.py_type_roundtrip"))
    assert source == model


def test_special_values_survive(built_pyproj: DbtProject) -> None:
    rows = query(
        built_pyproj.target,
        """
        select sample_id, label, code, ratio::text, day::text, happened_at = timestamptz '1969-07-20 20:17:40.5+00'
        from marts.py_type_roundtrip where sample_id in (1, 2, 3, 5) order by sample_id
        """,
    )
    assert rows == [
        (1, None, None, None, None, None),
        (2, 'two\nlines, "quoted", \ttabbed', "x", "0.1", "1899-12-31", True),
        (3, "", "", "NaN", "0001-01-01", False),
        (5, "NULL", "\\N", "-Infinity", "2038-01-19", False),
    ]


def test_pandas_model_reads_a_sql_ref_and_its_config(built_pyproj: DbtProject) -> None:
    rows = query(built_pyproj.target, "select * from marts.py_user_totals order by user_id")
    relation = f'"{built_pyproj.target.dbname}"."marts"."py_user_totals"'
    assert rows == [
        (10, 2, Decimal("10.51"), 7, False, relation),
        (20, 1, Decimal("0.00"), 7, False, relation),
        (30, 1, Decimal("-5.25"), 7, False, relation),
    ]
    # YAML data_types decide the column types; undeclared columns get the type matching the Arrow type
    assert column_types(built_pyproj, "marts", "py_user_totals") == {
        "user_id": "integer",
        "events": "integer",
        "total": "numeric(14,2)",
        "bonus_cents": "smallint",
        "is_incremental": "boolean",
        "this_relation": "text",
    }


def test_rerun_is_idempotent(pyproj: DbtProject) -> None:
    pyproj.dbt("build")
    first = table_checksums(pyproj.target, ["marts"])
    relations = relation_names(pyproj.target)
    pyproj.dbt("build")
    assert table_checksums(pyproj.target, ["marts"]) == first
    assert relation_names(pyproj.target) == relations
    assert len(first) == len(MART_MODELS)


def test_fixed_width_columns_round_trip_through_binary_copy(built_pyproj: DbtProject) -> None:
    # both read through binary COPY; the dense one (rows 1 and 4 hold NULLs) is written through binary COPY too
    for model, rows in [("py_fixed_width_roundtrip", "true"), ("py_fixed_width_dense", "sample_id not in (1, 4)")]:
        source = f"select * from staging.stg_fixed_width_samples where {rows}"
        differences = query(
            built_pyproj.target,
            f"({source} except all select * from marts.{model}) union all "
            f"(select * from marts.{model} except all {source})",
        )
        assert differences == [], model
        assert column_types(built_pyproj, "marts", model) == column_types(
            built_pyproj, "staging", "stg_fixed_width_samples"
        )
    assert query(built_pyproj.target, "select count(*) from marts.py_fixed_width_dense") == [(5,)]
