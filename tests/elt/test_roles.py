"""The three warehouse roles have exactly the privileges the architecture gives them."""

import psycopg
import pytest

from elt.bootstrap import DBT_SCHEMAS, RAW_SCHEMAS, apply_bootstrap
from elt.connection import connect


def _execute(target, role, statement):
    with connect(target, role=role) as conn:
        return (
            conn.execute(statement).fetchall() if statement.lstrip().startswith("select") else conn.execute(statement)
        )


def _denied(target, role, statement):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _execute(target, role, statement)


@pytest.fixture
def populated(warehouse):
    """A raw table written by the loader, and a mart and a PII table written by the transformer."""
    _execute(warehouse, "loader", "create table raw_app.users (id int primary key, email text)")
    _execute(warehouse, "loader", "insert into raw_app.users values (1, 'a@example.com')")
    _execute(warehouse, "transformer", "create table marts.dim_users as select id from raw_app.users")
    _execute(warehouse, "transformer", "create table marts_pii.dim_users_pii as select id, email from raw_app.users")
    return warehouse


def test_sessions_run_as_the_requested_role(warehouse):
    with connect(warehouse, role="loader") as conn:
        assert conn.execute("select current_user").fetchone()[0] == warehouse.role("loader")


def test_schemas_are_owned_by_their_writers(warehouse):
    with connect(warehouse) as conn:
        owners = dict(
            conn.execute(
                "select nspname, pg_get_userbyid(nspowner) from pg_namespace where nspname = any(%s)",
                ([*RAW_SCHEMAS, *(f"{s}_staging" for s in RAW_SCHEMAS), *DBT_SCHEMAS],),
            ).fetchall()
        )
    assert len(owners) == 2 * len(RAW_SCHEMAS) + len(DBT_SCHEMAS)
    for schema in RAW_SCHEMAS:
        assert owners[schema] == owners[f"{schema}_staging"] == warehouse.role("loader")
    for schema in DBT_SCHEMAS:
        assert owners[schema] == warehouse.role("transformer")


def test_loader_writes_raw_but_cannot_read_or_write_dbt_schemas(populated):
    assert _execute(populated, "loader", "select count(*) from raw_app.users") == [(1,)]
    _denied(populated, "loader", "select * from marts.dim_users")
    _denied(populated, "loader", "select * from marts_pii.dim_users_pii")
    _denied(populated, "loader", "create table marts.intruder (id int)")
    _denied(populated, "loader", "create table staging.intruder (id int)")
    _denied(populated, "loader", "create schema loader_playground")


def test_transformer_reads_raw_but_cannot_write_it(populated):
    assert _execute(populated, "transformer", "select email from raw_app.users") == [("a@example.com",)]
    _denied(populated, "transformer", "insert into raw_app.users values (2, 'b@example.com')")
    _denied(populated, "transformer", "create table raw_app.intruder (id int)")
    _denied(populated, "transformer", "create schema transformer_playground")


def test_reporter_reads_marts_only(populated):
    assert _execute(populated, "reporter", "select id from marts.dim_users") == [(1,)]
    _denied(populated, "reporter", "select * from raw_app.users")
    _denied(populated, "reporter", "select * from marts_pii.dim_users_pii")
    _denied(populated, "reporter", "insert into marts.dim_users values (2)")
    _denied(populated, "reporter", "create table marts.reporter_table (id int)")
    _denied(populated, "reporter", "delete from marts.dim_users")


def test_reporter_cannot_read_snapshots_or_staging(populated):
    _execute(populated, "transformer", "create table snapshots.users_snapshot as select * from raw_app.users")
    _execute(populated, "transformer", "create view staging.stg_users as select id from raw_app.users")
    _denied(populated, "reporter", "select * from snapshots.users_snapshot")
    _denied(populated, "reporter", "select * from staging.stg_users")


def test_bootstrap_is_idempotent_and_keeps_grants(populated):
    apply_bootstrap(populated)
    apply_bootstrap(populated)
    assert _execute(populated, "reporter", "select count(*) from marts.dim_users") == [(1,)]
    assert _execute(populated, "transformer", "select count(*) from raw_app.users") == [(1,)]


def test_bootstrap_reclaims_a_raw_schema_created_by_someone_else(warehouse):
    with connect(warehouse) as conn:
        conn.execute("drop schema raw_neows cascade")
        conn.execute("create schema raw_neows")
    apply_bootstrap(warehouse)
    _execute(warehouse, "loader", "create table raw_neows.feed (id int)")
    assert _execute(warehouse, "transformer", "select count(*) from raw_neows.feed") == [(0,)]
