"""Sources and staging views over the demo data the real dlt pipelines loaded."""

import pytest

from elt.connection import connect
from elt.dbt_invocation import DbtSession

# staging view -> (raw table, its key): one staging row per distinct raw key
STAGED = {
    "stg_transactions__transactions": ("raw_transactions.transactions", "transaction_id"),
    "stg_app__users": ("raw_app.users", "id"),
    "stg_app__orders": ("raw_app.orders", "id"),
    "stg_app__deleted_keys": ("raw_app.deleted_keys", "(source_table, id)"),
    "stg_neows__asteroids": ("raw_neows.asteroids", "neo_reference_id"),
    "stg_neows__browse_asteroids": ("raw_neows.browse_asteroids", "neo_reference_id"),
    "stg_neows__close_approaches": (
        "raw_neows.close_approaches",
        "(neo_reference_id, close_approach_date, orbiting_body)",
    ),
    "stg_neows__browse_close_approaches": (
        "raw_neows.browse_close_approaches",
        "(neo_reference_id, close_approach_date, orbiting_body)",
    ),
}


@pytest.mark.parametrize("model", sorted(STAGED))
def test_staging_has_one_row_per_raw_key(demo_env, model):
    raw, key = STAGED[model]
    with connect(demo_env.target) as conn:
        staged = conn.execute(f"select count(*) from staging.{model}").fetchone()[0]
        distinct_keys = conn.execute(f"select count(distinct {key}) from {raw}").fetchone()[0]
    assert staged == distinct_keys > 0


def test_staging_views_are_owned_by_the_transformer_and_not_readable_by_the_reporter(demo_env):
    warehouse = demo_env.target
    with connect(warehouse) as conn:
        owners = conn.execute("select distinct viewowner from pg_views where schemaname = 'staging'").fetchall()
    assert owners == [(warehouse.role("transformer"),)]
    with connect(warehouse, role="reporter") as conn:
        readable = conn.execute("select has_schema_privilege('staging', 'usage')").fetchone()[0]
    assert readable is False


def test_amounts_and_dates_keep_their_types(demo_env):
    with connect(demo_env.target) as conn:
        types = dict(
            conn.execute(
                """
                select column_name, data_type
                from information_schema.columns
                where table_schema = 'staging' and table_name = 'stg_transactions__transactions'
                """
            ).fetchall()
        )
        raw_total, staged_total = conn.execute(
            """
            select
                (select sum(total_cost) from raw_transactions.transactions),
                (select sum(total_cost_usd) from staging.stg_transactions__transactions)
            """
        ).fetchone()
    assert types["total_cost_usd"] == "numeric"
    assert types["transaction_date"] == "date"
    assert types["loaded_at"] == "timestamp with time zone"
    assert staged_total == raw_total


def test_neows_decimal_strings_are_cast_without_losing_values(demo_env):
    with connect(demo_env.target) as conn:
        mismatches = conn.execute(
            """
            select count(*)
            from raw_neows.browse_close_approaches as raw
            inner join staging.stg_neows__browse_close_approaches as staged
                on
                    raw.neo_reference_id = staged.asteroid_id
                    and raw.close_approach_date::date = staged.close_approach_date
                    and raw.orbiting_body = staged.orbiting_body
            where
                abs(raw.miss_distance__astronomical::numeric - staged.miss_distance_au::numeric) > 1e-12
                or staged.relative_velocity_km_per_s is null
            """
        ).fetchone()[0]
        moid_missing = conn.execute(
            "select count(*) from staging.stg_neows__browse_asteroids where minimum_orbit_intersection_au is null"
        ).fetchone()[0]
    assert mismatches == 0
    assert moid_missing == 0


def test_deleted_keys_reflect_the_hard_deletes_of_the_next_day(demo_env):
    with connect(demo_env.target) as conn:
        deleted = conn.execute(
            "select count(*) from staging.stg_app__deleted_keys where is_deleted and source_table = 'users'"
        ).fetchone()[0]
        soft = conn.execute("select count(*) from staging.stg_app__users where is_soft_deleted").fetchone()[0]
    assert deleted == demo_env.next_day.users_hard_deleted
    assert soft == demo_env.next_day.users_soft_deleted


def test_source_freshness_passes_on_load_time_although_business_dates_are_old(demo_env, dbt_session):
    result = dbt_session.invoke("source", "freshness")
    statuses = {
        node.node.unique_id: str(node.status) for node in result.result.results if node.node.resource_type == "source"
    }
    assert "source.warehouse_elt.transactions.transactions" in statuses
    assert "source.warehouse_elt.app.dlt_loads" in statuses
    assert set(statuses.values()) == {"pass"}
    with connect(demo_env.target) as conn:
        newest_business_date = conn.execute("select max(dt) from raw_transactions.transactions").fetchone()[0]
    assert newest_business_date.year == 2024


def test_staging_of_a_raw_table_not_created_yet_is_empty_instead_of_failing(warehouse_env, repo_paths):
    # dlt creates raw_app.deleted_keys only with a first detected deletion
    DbtSession(repo_paths).invoke("run", "--select", "stg_app__deleted_keys")
    with connect(warehouse_env) as conn:
        rows = conn.execute("select count(*) from staging.stg_app__deleted_keys").fetchone()[0]
        columns = conn.execute(
            """
            select column_name, data_type from information_schema.columns
            where table_schema = 'staging' and table_name = 'stg_app__deleted_keys'
            order by ordinal_position
            """
        ).fetchall()
    assert rows == 0
    assert columns == [
        ("deleted_id", "bigint"),
        ("source_table", "character varying"),
        ("is_deleted", "boolean"),
        ("detected_at", "timestamp with time zone"),
    ]


def _staging_columns(target) -> dict[str, list[tuple[str, str]]]:
    with connect(target) as conn:
        rows = conn.execute(
            """
            select table_name, column_name, data_type from information_schema.columns
            where table_schema = 'staging' order by table_name, ordinal_position
            """
        ).fetchall()
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        columns.setdefault(table, []).append((column, data_type))
    return columns


def test_staging_of_never_loaded_sources_has_the_columns_and_types_of_loaded_ones(
    demo_warehouse, warehouse_env, repo_paths
):
    # a warehouse where no pipeline ever ran: every staging view reads empty stand-ins of its sources, built
    # from the data types the source YAML declares; they must be the types dlt gives the raw tables, or the
    # views would change type (and be swapped, dropping their dependants) once a source arrives
    result = DbtSession(repo_paths).invoke(
        "build", "--select", "staging", "source:*", "--indirect-selection", "cautious"
    )
    assert {str(node.status) for node in result.result.results} <= {"pass", "success", "warn"}
    with connect(warehouse_env) as conn:
        counts = {
            name: conn.execute(f"select count(*) from staging.{name}").fetchone()[0]
            for name in _staging_columns(warehouse_env)
        }
    assert set(counts.values()) == {0}
    assert _staging_columns(warehouse_env) == _staging_columns(demo_warehouse.target)


def test_application_timestamps_without_time_zone_are_read_as_utc(demo_env):
    with connect(demo_env.target) as conn:
        raw_type, staged_type = conn.execute(
            """
            select
                (select data_type from information_schema.columns
                 where table_schema = 'raw_app' and table_name = 'users' and column_name = 'created_at'),
                (select data_type from information_schema.columns
                 where table_schema = 'staging' and table_name = 'stg_app__users' and column_name = 'created_at')
            """
        ).fetchone()
        shifted = conn.execute(
            """
            select count(*)
            from raw_app.users as raw
            inner join staging.stg_app__users as staged on raw.id = staged.user_id
            where to_char(raw.created_at, 'YYYY-MM-DD HH24:MI:SS')
                != to_char(staged.created_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS')
            """
        ).fetchone()[0]
    # the test's application database is SQLite: dlt lands naive timestamps
    assert raw_type == "timestamp without time zone"
    assert staged_type == "timestamp with time zone"
    assert shifted == 0


def test_source_table_loaded_before_its_newer_columns_stages_them_as_nulls(warehouse_env, repo_paths):
    # dlt adds a column with the first row that carries it: raw_neows.asteroids loaded from plain feeds
    # before detailed feeds existed has no orbital_data__* columns, and the orbits staging reads them
    with connect(warehouse_env, role="loader") as conn:
        conn.execute(
            "create table raw_neows.asteroids (neo_reference_id varchar, name varchar, absolute_magnitude_h "
            "double precision, is_potentially_hazardous_asteroid boolean, _dlt_load_id varchar)"
        )
        conn.execute("insert into raw_neows.asteroids values ('2000433', '433 Eros', 10.4, false, '1700000000.1')")

    DbtSession(repo_paths).invoke("run", "--select", "stg_neows__asteroids", "stg_neows__orbits")

    with connect(warehouse_env) as conn:
        asteroids = conn.execute("select asteroid_id, asteroid_name, designation from staging.stg_neows__asteroids")
        orbits = conn.execute("select count(*) from staging.stg_neows__orbits").fetchone()[0]
        assert asteroids.fetchall() == [("2000433", "433 Eros", None)]
    assert orbits == 0
