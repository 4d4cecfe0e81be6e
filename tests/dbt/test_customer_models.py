"""Customer lifetime value and anomaly models (Python models over numeric/) against direct kernel calls.

The shared two-day warehouse (a month of demo data for 300 users) does not identify BG/NBD (no observable
dropout yet): there the fits are recorded as not identified. The predictions are checked on a warehouse of the
module's own with the demo's default size (120 days, 2,000 users, as ``elt demo``), which identifies them.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import yaml
from psycopg import sql

from elt.bootstrap import apply_bootstrap
from elt.connection import connect
from elt.dbt_invocation import DbtSession
from elt.project import ProjectPaths
from extract_load.demo_data.generator import DemoConfig, DemoData
from numeric import bgnbd
from numeric.clv import DAYS_PER_YEAR, customer_lifetime_value
from numeric.fingerprint import array_fingerprint
from tests.conftest import REPO_ROOT, drop_warehouse_database
from tests.dbt.conftest import demo_environment, exported, run_pipelines
from tests.warehouse_checksums import table_checksums

PARAMETERS = (
    "r, alpha, a, b, p, q, v, bgnbd_log_likelihood, gg_log_likelihood, n_customers, n_repeat_customers, "
    "time_unit, observation_end, input_hash, not_identified_reason, fitted_at"
)


def _rfm(conn) -> tuple[np.ndarray, ...]:
    rows = conn.execute(
        "select user_id, frequency, recency, t, monetary_value from intermediate.int_customers_rfm order by user_id"
    ).fetchall()
    user_id, frequency, recency, t, monetary = (np.array(column) for column in zip(*rows, strict=True))
    return user_id.astype(np.int64), *(c.astype(np.float64) for c in (frequency, recency, t, monetary))


def _parameters(conn) -> list[tuple]:
    return conn.execute(f"select {PARAMETERS} from marts.clv_model_parameters order by fitted_at").fetchall()


def _counts(conn) -> tuple:
    return conn.execute(
        "select count(*) filter (where t > 0), count(*) filter (where frequency > 0), max(observation_end_date) "
        "from intermediate.int_customers_rfm"
    ).fetchone()


@pytest.fixture(scope="module")
def clv_warehouse(server_admin, repo_paths, tmp_path_factory) -> Iterator[tuple]:
    """A warehouse with the default demo period (identifies the models), customer marts built; (target, session)."""
    target = server_admin.with_database(f"elt_test_{uuid.uuid4().hex[:10]}")
    with connect(server_admin) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(target.dbname)))
    try:
        apply_bootstrap(target)
        folder = tmp_path_factory.mktemp("dbt-clv")
        generator = DemoData(
            f"sqlite:///{folder / 'app.sqlite'}", folder / "landing", folder / "state.json", DemoConfig()
        )
        session = DbtSession(repo_paths)
        with exported(demo_environment(target, repo_paths, generator, folder)):
            generator.generate_base()
            run_pipelines(("transactions", "app_db"))
            session.invoke("run", "--select", "+fct_customer_value_by_country_cohort", "+fct_flagged_transactions")
            yield target, session
    finally:
        drop_warehouse_database(server_admin, target)


def test_unidentified_fits_are_recorded_per_input_with_the_reason(demo_env):
    with connect(demo_env.target) as conn:
        fits = _parameters(conn)
        arrays = _rfm(conn)
        customers, repeat, end = _counts(conn)
        predictions = conn.execute("select count(*) from marts.customer_lifetime_value").fetchone()[0]
    # day 1 and day 2 saw different RFM rows: two attempts, the latest on the current rows
    assert len(fits) == 2
    assert len({fit[13] for fit in fits}) == 2
    latest = fits[-1]
    assert latest[9:14] == (customers, repeat, "day", end, array_fingerprint(*arrays))
    assert "do not identify" in latest[14]
    assert latest[:9] == (None,) * 9
    assert predictions == 0


def _fresh_dbt(repo_paths, *args: str):
    """A dbt invocation that parses the project itself: the Python models' settings are vars rendered into their
    YAML config at parse time, which a manifest parsed once without the vars (DbtSession) keeps."""
    from dbt.cli.main import dbtRunner

    location = ["--project-dir", str(repo_paths.dbt_project_dir), "--profiles-dir", str(repo_paths.profiles_dir)]
    return dbtRunner().invoke([*args, *location])


def test_not_identified_fails_the_run_with_the_reason_when_asked(demo_env, repo_paths, capfd):
    with connect(demo_env.target) as conn:
        before = _parameters(conn)
    result = _fresh_dbt(repo_paths, "run", "--select", "clv_model_parameters", "--vars", "{clv_not_identified: error}")
    assert not result.success
    output = capfd.readouterr()
    assert "ModelNotIdentifiedError" in output.out + output.err
    assert "do not identify the model" in output.out + output.err
    with connect(demo_env.target) as conn:
        assert _parameters(conn) == before


def test_clv_parameters_are_sane(clv_warehouse):
    target, _ = clv_warehouse
    with connect(target) as conn:
        fits = [fit for fit in _parameters(conn) if fit[11] == "day"]
        arrays = _rfm(conn)
        customers, repeat, end = _counts(conn)
    assert len(fits) == 1
    r, alpha, a, b, p, q, v, ll_bgnbd, ll_gg, n, n_repeat, unit, observation_end, input_hash, reason, _ = fits[0]
    assert reason is None
    assert (n, n_repeat, unit, observation_end, input_hash) == (
        customers,
        repeat,
        "day",
        end,
        array_fingerprint(*arrays),
    )
    # the demo simulates BG/NBD with r = 0.6, alpha = 18 days, a = 0.8, b = 4 (loose: a few hundred customers)
    assert 0.1 < r < 3 and 3 < alpha < 100 and 0.05 < a < 10 and 0.3 < b < 100
    assert 0 < p < 1e3 and 1 < q < 1e3 and 0 < v < 1e5
    assert ll_bgnbd < 0 and np.isfinite(ll_gg)


def test_clv_parameters_rerun_adds_no_row(clv_warehouse):
    target, session = clv_warehouse
    with connect(target) as conn:
        before = _parameters(conn)
    with exported({"WAREHOUSE_DB": target.dbname, "WAREHOUSE_URL": target.url()}):
        session.invoke("run", "--select", "clv_model_parameters")
    with connect(target) as conn:
        assert _parameters(conn) == before


def test_clv_equals_a_direct_call_of_the_kernels(clv_warehouse):
    target, _ = clv_warehouse
    with connect(target) as conn:
        r, alpha, a, b, p, q, v = conn.execute(
            "select r, alpha, a, b, p, q, v from marts.clv_model_parameters"
        ).fetchone()
        user_id, x, t_x, big_t, monetary = _rfm(conn)
        rows = conn.execute(
            """
            select horizon_days, user_id, probability_alive, expected_purchases, expected_average_order_value_usd,
                clv_usd
            from marts.customer_lifetime_value order by horizon_days, user_id
            """
        ).fetchall()
    assert {row[0] for row in rows} == {30, 90, 365}
    big_t = np.maximum(big_t, 1e-9)
    alive = bgnbd.probability_alive(r, alpha, a, b, x, t_x, big_t)
    for horizon in (30, 90, 365):
        got = np.array([row[1:] for row in rows if row[0] == horizon], dtype=np.float64)
        expected = customer_lifetime_value(
            (r, alpha, a, b), (p, q, v), x, t_x, big_t, monetary, horizon, 30.0, 0.1, DAYS_PER_YEAR
        )
        np.testing.assert_array_equal(got[:, 0], user_id)
        np.testing.assert_allclose(got[:, 1], alive, rtol=1e-12)
        np.testing.assert_allclose(got[:, 2], expected.expected_purchases, rtol=1e-12)
        np.testing.assert_allclose(got[:, 3], expected.expected_average_value, rtol=1e-12)
        np.testing.assert_allclose(got[:, 4], expected.clv, rtol=1e-12)
    # longer horizons expect more
    clv = {h: sum(row[5] for row in rows if row[0] == h) for h in (30, 90, 365)}
    assert 0 < clv[30] < clv[90] < clv[365]


def _reference_scores(rows: list[tuple], half_life: float, threshold: float, min_prior: int) -> dict:
    """Per transaction (mean, std, z, flag) the plain way: explicit decay weights over the user's earlier rows."""
    by_user: dict[int, list[tuple]] = {}
    for transaction_id, user_id, day, cost in sorted(rows, key=lambda row: (row[1], row[2], row[0])):
        by_user.setdefault(user_id, []).append((transaction_id, day.toordinal(), float(cost)))
    scores = {}
    for sequence in by_user.values():
        for i, (transaction_id, _, value) in enumerate(sequence):
            prior = sequence[:i]
            mean = std = z = None
            if prior:
                weights = [0.5 ** ((prior[-1][1] - t) / half_life) for _, t, _ in prior]
                total = sum(weights)
                mean = sum(w * x for w, (_, _, x) in zip(weights, prior, strict=True)) / total
                denominator = total - sum(w * w for w in weights) / total
                if len(prior) >= 2 and denominator > 0:
                    m2 = sum(w * (x - mean) ** 2 for w, (_, _, x) in zip(weights, prior, strict=True))
                    std = (m2 / denominator) ** 0.5
                    z = (value - mean) / std if std > 0 else (0.0 if value == mean else float("inf"))
            flag = z is not None and len(prior) >= min_prior and abs(z) > threshold
            scores[transaction_id] = (len(prior), mean, std, z, flag)
    return scores


def test_anomaly_scores_equal_a_plain_python_computation(demo_env):
    with connect(demo_env.target) as conn:
        facts = conn.execute(
            "select transaction_id, user_id, transaction_date, total_cost_usd from marts.fct_transactions"
        ).fetchall()
        rows = conn.execute(
            """
            select transaction_id, prior_transaction_count, ewma_mean_before, ewma_std_before, z_score, is_anomaly
            from marts.transaction_anomaly_scores
            """
        ).fetchall()
    expected = _reference_scores(facts, 30.0, 3.0, 5)
    assert len(rows) == len(expected)
    for transaction_id, *got in rows:
        want = expected[transaction_id]
        assert got[0] == want[0] and got[4] == want[4], transaction_id
        for g, w in zip(got[1:4], want[1:4], strict=True):
            assert (g is None) == (w is None), transaction_id
            if w is not None:
                assert g == pytest.approx(w, rel=1e-9, abs=1e-9), transaction_id


def test_anomaly_state_sits_on_each_users_last_row(demo_env):
    with connect(demo_env.target) as conn:
        wrong = conn.execute(
            """
            select count(*) from (
                select
                    state_count is not null as has_state,
                    row_number() over (partition by user_id order by transaction_date desc, transaction_id desc) = 1
                        as is_last,
                    state_count = prior_transaction_count + 1 as count_matches
                from marts.transaction_anomaly_scores
            ) as rows
            where has_state <> is_last or (has_state and not count_matches)
            """
        ).fetchone()[0]
    assert wrong == 0


def test_anomaly_incremental_run_equals_a_full_refresh_with_a_late_row(demo_env, dbt_session):
    with connect(demo_env.target) as conn:
        late = conn.execute(
            """
            select late.transaction_date < max(other.transaction_date)
            from marts.transaction_anomaly_scores as late
            inner join marts.transaction_anomaly_scores as other on other.user_id = late.user_id
            where late.transaction_id = %s
            group by late.transaction_date
            """,
            (demo_env.late_transaction_id,),
        ).fetchone()
    assert late == (True,)  # the late row sorts before the user's rows of the first day's build
    incremental = table_checksums(demo_env.target, ["marts"])
    dbt_session.invoke("run", "--full-refresh", "--select", "transaction_anomaly_scores")
    assert table_checksums(demo_env.target, ["marts"]) == incremental


def test_anomaly_model_refuses_to_write_a_transaction_twice():
    path = REPO_ROOT / "dbt_project" / "models" / "marts" / "customers" / "transaction_anomaly_scores.py"
    spec = importlib.util.spec_from_file_location("transaction_anomaly_scores", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    unique = pa.table({"transaction_id": ["t1", "t2", "t3"], "user_id": [1, 1, 2]})
    assert module.one_row_per_transaction(unique) is unique
    with pytest.raises(ValueError, match=r"2 rows repeat a transaction_id \(e.g. 't2'\)"):
        module.one_row_per_transaction(pa.table({"transaction_id": ["t1", "t2", "t2", "t2"]}))


def test_value_by_country_and_cohort_reconciles_with_the_predictions(clv_warehouse):
    target, _ = clv_warehouse
    with connect(target) as conn:
        marts = conn.execute(
            """
            select horizon_days, sum(customer_count), sum(clv_usd), sum(expected_purchases), sum(observed_spend_usd),
                count(*)
            from marts.fct_customer_value_by_country_cohort group by horizon_days order by horizon_days
            """
        ).fetchall()
        predictions = conn.execute(
            """
            select horizon_days, count(*), sum(clv_usd), sum(expected_purchases), sum(rfm.total_spend_usd)
            from marts.customer_lifetime_value as clv
            inner join intermediate.int_customers_rfm as rfm on clv.user_id = rfm.user_id
            group by horizon_days order by horizon_days
            """
        ).fetchall()
        countries = conn.execute(
            "select count(distinct country_code) from marts.fct_customer_value_by_country_cohort"
        ).fetchone()[0]
    assert [row[0] for row in marts] == [row[0] for row in predictions] == [30, 90, 365]
    for (_, customers, clv, purchases, spend, groups), (_, n, clv_sum, purchases_sum, spend_sum) in zip(
        marts, predictions, strict=True
    ):
        assert customers == n
        assert float(clv) == pytest.approx(clv_sum, abs=0.005 * groups + 1e-6)
        assert purchases == pytest.approx(purchases_sum, rel=1e-12)
        assert spend == spend_sum
    assert countries > 1


def _flagged_reconciles(target) -> int:
    with connect(target) as conn:
        flagged = conn.execute(
            "select transaction_id, user_id, total_cost_usd, z_score from marts.fct_flagged_transactions"
        ).fetchall()
        scored = conn.execute(
            """
            select transaction_id, user_id, total_cost_usd, z_score from marts.transaction_anomaly_scores
            where is_anomaly
            """
        ).fetchall()
    assert sorted(flagged) == sorted(scored)
    return len(flagged)


def test_flagged_transactions_are_the_flagged_scores(demo_env, clv_warehouse):
    _flagged_reconciles(demo_env.target)
    # four months of demo data: some users have enough history for a flag
    assert _flagged_reconciles(clv_warehouse[0]) > 0


def _clv_by_customer(conn) -> dict:
    rows = conn.execute(
        "select user_id, horizon_days, expected_purchases, clv_usd, time_unit from marts.customer_lifetime_value"
    ).fetchall()
    return {(user_id, horizon): (purchases, clv, unit) for user_id, horizon, purchases, clv, unit in rows}


def test_clv_in_weeks_equals_clv_in_days(clv_warehouse):
    # the same data in another time unit: an equivalent fit (alpha in weeks), horizons converted from days
    target, session = clv_warehouse
    models = ("int_customers_rfm", "clv_model_parameters", "customer_lifetime_value")
    with connect(target) as conn:
        days = _clv_by_customer(conn)
    try:
        with exported({"WAREHOUSE_DB": target.dbname, "WAREHOUSE_URL": target.url()}):
            session.invoke("run", "--select", *models, "--vars", "{clv_time_unit: week}")
        with connect(target) as conn:
            weeks = _clv_by_customer(conn)
            alphas = dict(conn.execute("select time_unit, alpha from marts.clv_model_parameters").fetchall())
    finally:
        with exported({"WAREHOUSE_DB": target.dbname, "WAREHOUSE_URL": target.url()}):
            session.invoke("run", "--select", *models)
    assert weeks.keys() == days.keys()
    assert {unit for *_, unit in weeks.values()} == {"week"}
    assert alphas["week"] == pytest.approx(alphas["day"] / 7, rel=1e-3)
    for key, (purchases, clv, _) in days.items():
        assert weeks[key][0] == pytest.approx(purchases, rel=2e-3, abs=1e-9), key
        assert weeks[key][1] == pytest.approx(clv, rel=2e-3, abs=1e-6), key
    with connect(target) as conn:
        assert _clv_by_customer(conn) == days


def test_no_customer_before_the_observation_end_fits_and_predicts_nothing(clv_warehouse):
    target, session = clv_warehouse
    models = ("int_customers_rfm", "clv_model_parameters", "customer_lifetime_value")
    with connect(target) as conn:
        before = _parameters(conn)
        days = _clv_by_customer(conn)
    try:
        with exported({"WAREHOUSE_DB": target.dbname, "WAREHOUSE_URL": target.url()}):
            session.invoke("run", "--select", *models, "--vars", "{clv_observation_end: '2000-01-01'}")
        with connect(target) as conn:
            fits = _parameters(conn)
            predictions = conn.execute("select count(*) from marts.customer_lifetime_value").fetchone()[0]
    finally:
        with exported({"WAREHOUSE_DB": target.dbname, "WAREHOUSE_URL": target.url()}):
            session.invoke("run", "--select", *models)
    assert fits == before
    assert predictions == 0
    with connect(target) as conn:
        assert _clv_by_customer(conn) == days


NON_DEFAULT_VARS = {"clv_time_unit": "week", "clv_observation_end": "2024-06-15", "clv_horizons_days": [7, 28]}


def _project_with_vars(tmp_path: Path, values: dict) -> ProjectPaths:
    """A copy of the checkout's dbt project (and profile) whose dbt_project.yml sets ``values`` as vars."""
    shutil.copytree(
        REPO_ROOT / "dbt_project", tmp_path / "dbt_project", ignore=shutil.ignore_patterns("target", "logs")
    )
    shutil.copy(REPO_ROOT / "profiles.yml", tmp_path / "profiles.yml")
    project_file = tmp_path / "dbt_project" / "dbt_project.yml"
    project = yaml.safe_load(project_file.read_text())
    project["vars"].update(values)
    project_file.write_text(yaml.safe_dump(project, sort_keys=False))
    return ProjectPaths(tmp_path)


@pytest.mark.parametrize("where", ["--vars", "dbt_project.yml"])
def test_customer_value_builds_with_non_default_vars(clv_warehouse, repo_paths, tmp_path, where):
    # every unit test pins the vars it assumes, so a build with other vars runs the unit tests, the models
    # and their data tests instead of failing a unit test and skipping the models
    target, session = clv_warehouse
    if where == "--vars":
        other = DbtSession(repo_paths, vars=json.dumps(NON_DEFAULT_VARS))
    else:
        other = DbtSession(_project_with_vars(tmp_path, NON_DEFAULT_VARS))
    environment = {"WAREHOUSE_DB": target.dbname, "WAREHOUSE_URL": target.url()}
    try:
        with exported(environment):
            result = other.invoke("build", "--select", "int_customers_rfm+")
        with connect(target) as conn:
            horizons = {h for (h,) in conn.execute("select distinct horizon_days from marts.customer_lifetime_value")}
            units = conn.execute(
                "select distinct time_unit, observation_end_date from intermediate.int_customers_rfm"
            ).fetchall()
            fit = conn.execute(
                "select not_identified_reason from marts.clv_model_parameters where time_unit = 'week' "
                "and observation_end = '2024-06-15'"
            ).fetchall()
    finally:
        with exported(environment):
            session.invoke("run", "--select", "int_customers_rfm+")
    statuses = {str(node.status) for node in result.result.results}
    assert statuses <= {"pass", "success", "warn"}
    assert {node.node.resource_type for node in result.result.results} >= {"unit_test", "model", "test"}
    assert units == [("week", date(2024, 6, 15))]
    assert fit == [(None,)]
    assert horizons == {7, 28}
