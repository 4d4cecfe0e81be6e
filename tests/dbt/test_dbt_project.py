"""Real dbt runs of the project against a warehouse loaded with small demo data, as the transformer role."""

import json

from elt.connection import connect
from elt.dbt_invocation import DbtSession


def test_build_creates_marts_in_fixed_schemas_owned_by_the_transformer(demo_env):
    warehouse = demo_env.target
    with connect(warehouse) as conn:
        rows = conn.execute("select schemaname, tableowner from pg_tables where tablename = 'dim_dates'").fetchall()
    assert rows == [("marts", warehouse.role("transformer"))]


def test_reporter_reads_the_marts_dbt_built(demo_env):
    with connect(demo_env.target, role="reporter") as conn:
        days, first, last = conn.execute(
            "select count(*), min(date_day), max(date_day) from marts.dim_dates"
        ).fetchone()
    assert (str(first), str(last)) == ("2015-01-01", "2030-12-31")
    assert days == (last - first).days + 1


def test_contract_is_enforced_with_a_primary_key(demo_env):
    with connect(demo_env.target) as conn:
        constraint = conn.execute(
            """
            select c.contype, a.attname
            from pg_constraint as c
            join pg_attribute as a on a.attrelid = c.conrelid and a.attnum = any(c.conkey)
            where c.conrelid = 'marts.dim_dates'::regclass and c.contype = 'p'
            """
        ).fetchall()
    assert constraint == [("p", "date_day")]


def test_docs_generate_catalogs_every_model_with_persisted_descriptions(demo_env, dbt_session, repo_paths):
    dbt_session.invoke("docs", "generate")
    catalog = json.loads((repo_paths.dbt_project_dir / "target" / "catalog.json").read_text())
    assert "model.warehouse_elt.dim_dates" in catalog["nodes"]
    with connect(demo_env.target) as conn:
        comment = conn.execute("select obj_description('marts.dim_dates'::regclass)").fetchone()[0]
    assert comment.startswith("Calendar dimension")


def test_documented_columns_match_the_built_relations(demo_env, dbt_session, repo_paths):
    dbt_session.invoke("docs", "generate")
    target = repo_paths.dbt_project_dir / "target"
    catalog = json.loads((target / "catalog.json").read_text())["nodes"]
    manifest = json.loads((target / "manifest.json").read_text())["nodes"]
    models = [key for key, node in manifest.items() if node["resource_type"] == "model"]
    assert models
    for key in models:
        built_columns = {name.lower() for name in catalog[key]["columns"]}
        assert built_columns == set(manifest[key]["columns"]), key


def test_every_model_and_column_is_documented(demo_env, repo_paths):
    manifest = DbtSession(repo_paths).invoke("parse").result
    missing = []
    for node in manifest.nodes.values():
        if node.resource_type != "model":
            continue
        if not node.description.strip():
            missing.append(node.name)
        missing += [f"{node.name}.{column}" for column, info in node.columns.items() if not info.description.strip()]
    assert missing == []
    assert any(node.resource_type == "model" for node in manifest.nodes.values())


def test_daily_selector_leaves_out_weekly_models_full_history_tests_and_unit_tests(demo_env, dbt_session):
    def listed(*args: str) -> set[str]:
        return set(dbt_session.invoke("ls", "--selector", "daily", "--output", "name", *args).result)

    daily = listed("--resource-type", "all")
    everything = set(dbt_session.invoke("ls", "--output", "name", "--resource-type", "all").result)
    assert {
        "stg_transactions__transactions",
        "fct_transactions",
        "transaction_anomaly_scores",
        "fct_flagged_transactions",
        "fct_daily_revenue_by_country",
        "dim_users",
        "snap_users",
        "dim_asteroids",
        "not_null_fct_transactions_transaction_id",
        "not_null_transaction_anomaly_scores_transaction_id",
        "unique_dim_users_user_id",
    } <= daily
    weekly = {
        "int_customers_rfm",
        "clv_model_parameters",
        "customer_lifetime_value",
        "fct_customer_value_by_country_cohort",
        "fct_cohort_retention",
    }
    assert weekly <= everything and not weekly & daily
    full_history = {
        "unique_fct_transactions_transaction_id",
        "unique_transaction_anomaly_scores_transaction_id",
        "unique_stg_transactions__transactions_transaction_id",
        "unique_int_transactions_joined_to_users_transaction_id",
        "source_unique_transactions_transactions_transaction_id",
        "equal_row_count_fct_transactions_ref_stg_transactions__transactions_",
        "assert_mart_revenue_equals_valid_raw_revenue",
        "assert_dim_users_purchases_equal_daily_purchases",
    }
    assert full_history <= everything and not full_history & daily
    assert not any(name.startswith(("unique_int_customers_rfm", "not_null_clv_")) for name in daily)
    assert listed("--resource-type", "unit_test") == set()


def _views(target, schema: str) -> dict[str, int]:
    with connect(target) as conn:
        rows = conn.execute(
            "select c.relname, c.oid::bigint from pg_class as c join pg_namespace as n on n.oid = c.relnamespace "
            "where n.nspname = %s and c.relkind = 'v'",
            (schema,),
        ).fetchall()
    return dict(rows)


def test_partial_build_of_staging_keeps_the_views_on_top(demo_env, dbt_session):
    # dbt-postgres swapped each rebuilt view in and dropped the old one with cascade, which dropped every
    # intermediate view on top: the eager tests on them errored and the next snapshot failed
    intermediate = _views(demo_env.target, "intermediate")
    staging = _views(demo_env.target, "staging")
    assert intermediate and staging

    result = dbt_session.invoke("build", "--select", "staging")

    assert {str(node.status) for node in result.result.results} <= {"pass", "success", "warn"}
    assert _views(demo_env.target, "intermediate") == intermediate
    assert _views(demo_env.target, "staging") == staging
    dbt_session.invoke("snapshot")
    daily = dbt_session.invoke("build", "--selector", "daily")
    assert {str(node.status) for node in daily.result.results} <= {"pass", "success", "warn", "no-op"}


def test_dbt_usage_tracking_is_off(demo_env, repo_paths):
    # dbt_project.yml's flag, as dbt itself reads it: every dbt command and the docs site send nothing
    import dbt.tracking

    DbtSession(repo_paths).invoke("parse")
    assert dbt.tracking.active_user is not None
    assert dbt.tracking.active_user.do_not_track is True
