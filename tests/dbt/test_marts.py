"""Marts: access by role, contracts, incremental equals full refresh, the users snapshot over two days."""

from itertools import pairwise

import pytest
from psycopg import errors

from elt.connection import connect
from tests.warehouse_checksums import table_checksums

MARTS = (
    "marts.dim_users",
    "marts.fct_transactions",
    "marts.fct_daily_revenue_by_country",
    "marts.fct_cohort_retention",
    "marts.dim_asteroids",
    "marts.fct_close_approaches",
    "marts_pii.dim_users_pii",
)


@pytest.mark.parametrize("relation", MARTS)
def test_every_mart_has_rows_and_a_primary_key(demo_env, relation):
    with connect(demo_env.target) as conn:
        rows = conn.execute(f"select count(*) from {relation}").fetchone()[0]
        keys = conn.execute(
            "select count(*) from pg_constraint where conrelid = %s::regclass and contype = 'p'", (relation,)
        ).fetchone()[0]
    assert rows > 0
    assert keys == 1


def test_every_table_dbt_builds_is_analyzed_by_its_build(demo_env):
    with connect(demo_env.target) as conn:
        unanalyzed = conn.execute(
            """
            select schemaname || '.' || relname
            from pg_stat_user_tables
            where
                (schemaname in ('marts', 'marts_pii') or (schemaname, relname) = ('intermediate', 'int_customers_rfm'))
                and last_analyze is null
            """
        ).fetchall()
        analyzed = conn.execute(
            "select count(*) from pg_stat_user_tables where schemaname = 'marts' and last_analyze is not null"
        ).fetchone()[0]
    assert unanalyzed == []
    assert analyzed >= len([relation for relation in MARTS if relation.startswith("marts.")])


@pytest.mark.parametrize("column", ["loaded_at", "user_loaded_at"])
def test_fct_transactions_finds_its_window_start_through_an_index(demo_env, column):
    with connect(demo_env.target) as conn:
        plan = "\n".join(row[0] for row in conn.execute(f"explain select max({column}) from marts.fct_transactions"))
    assert "Index Only Scan Backward" in plan or "Index Scan Backward" in plan, plan


def test_reporter_reads_marts_but_neither_pii_nor_snapshots(demo_env):
    with connect(demo_env.target, role="reporter") as conn:
        users = conn.execute("select count(*) from marts.dim_users").fetchone()[0]
        columns = {row[0] for row in conn.execute("select * from marts.dim_users limit 0").description}
    assert users > 0
    assert "email" not in columns
    for relation in ("marts_pii.dim_users_pii", "snapshots.snap_users"):
        with connect(demo_env.target, role="reporter") as conn, pytest.raises(errors.InsufficientPrivilege):
            conn.execute(f"select count(*) from {relation}")


def test_incremental_run_took_only_the_changes_and_equals_a_full_refresh(demo_env, dbt_session):
    with connect(demo_env.target) as conn:
        total = conn.execute("select count(*) from marts.fct_transactions").fetchone()[0]
        corrected = conn.execute(
            """
            select fact.total_cost_usd = raw.total_cost
            from marts.fct_transactions as fact
            inner join raw_transactions.transactions as raw on fact.transaction_id = raw.transaction_id
            where fact.transaction_id = %s
            """,
            (demo_env.corrected_transaction_id,),
        ).fetchone()
        late = conn.execute(
            "select count(*) from marts.fct_transactions where transaction_id = %s", (demo_env.late_transaction_id,)
        ).fetchone()[0]
    # new day, the corrected and the late row, and the transactions of users changed that day
    assert demo_env.next_day.transactions + 2 <= demo_env.incremental_rows_merged < total / 2
    assert corrected == (True,)
    assert late == 1
    incremental = table_checksums(demo_env.target, ["marts"])
    dbt_session.invoke("run", "--full-refresh", "--select", "fct_transactions+")
    assert table_checksums(demo_env.target, ["marts"]) == incremental


def test_users_snapshot_keeps_versions_with_contiguous_validity(demo_env):
    with connect(demo_env.target) as conn:
        versions = conn.execute(
            """
            select user_id, dbt_valid_from, dbt_valid_to, deleted_at is not null
            from snapshots.snap_users
            order by user_id, dbt_valid_from
            """
        ).fetchall()
        hard_deleted = {
            row[0]
            for row in conn.execute(
                "select deleted_id from staging.stg_app__deleted_keys where source_table = 'users' and is_deleted"
            )
        }
        present = conn.execute("select count(*) from intermediate.int_users_present").fetchone()[0]
    by_user: dict[int, list[tuple]] = {}
    for user_id, valid_from, valid_to, is_soft_deleted in versions:
        by_user.setdefault(user_id, []).append((valid_from, valid_to, is_soft_deleted))
    changed = [history for history in by_user.values() if len(history) > 1]
    for history in by_user.values():
        for (_, previous_to, _), (next_from, _, _) in pairwise(history):
            assert previous_to == next_from
    next_day = demo_env.next_day
    assert len(changed) == next_day.users_updated + next_day.users_soft_deleted
    assert sum(1 for history in changed if history[-1][2]) == next_day.users_soft_deleted
    assert sum(1 for history in by_user.values() if history[-1][1] is None) == present
    assert len(hard_deleted) == next_day.users_hard_deleted
    for user_id in hard_deleted:
        assert by_user[user_id][-1][1] is not None, user_id
