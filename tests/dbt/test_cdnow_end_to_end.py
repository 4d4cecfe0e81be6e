"""CDNOW, the real data set of the BTYD literature, through the project's own path, against ``lifetimes``.

The transaction logs ``lifetimes`` ships (``CDNOW_sample.txt``: 2,357 customers, 6,919 rows; ``CDNOW_master.txt``:
23,570 customers, 69,659 rows, January 1997 to June 1998) are written as monthly CSV file drops in the transactions
source's contract, loaded by ``elt load transactions`` alone (no application database), then the transaction path
of the customer-value models (``+customer_lifetime_value``: staging, daily purchases, RFM, both fits, CLV) is built
by dbt with weekly units. One warehouse database per data set; the master is built at two observation ends.

References: Fader, Hardie & Lee (2005) for the sample's BG/NBD fit; ``lifetimes`` 0.11.3's ``BetaGeoFitter`` and
``GammaGammaFitter`` fitted on the exact summary of the same log (its own ``summary_data_from_transaction_data``,
by day, times divided by 7), and its prediction methods at the project's parameters.

CDNOW master has repeat customers whose repeat purchases total $0.00 (customer 10244 by 1997-09-30): they crashed
``clv_model_parameters`` before it left them out of Gamma-Gamma (``lifetimes`` refuses them too).
"""

from __future__ import annotations

import csv
import json
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from psycopg import sql

from elt.bootstrap import apply_bootstrap
from elt.connection import connect
from elt.project import ProjectPaths
from elt.warehouse_target import WarehouseTarget
from tests.conftest import drop_warehouse_database
from tests.elt.test_cli import run_elt

with warnings.catch_warnings():
    # lifetimes 0.11.3 imports pkg_resources and sets a pandas option that pandas 3 deprecates
    warnings.simplefilter("ignore")
    import lifetimes
    from lifetimes.utils import summary_data_from_transaction_data

pytestmark = pytest.mark.slow

LOGS = Path(lifetimes.__file__).parent / "datasets"
CALIBRATION_END = "1997-09-30"  # the papers' 39 weeks
MASTER_END = "1998-06-30"  # the last day of the master log
HORIZONS_DAYS = (30, 90, 365)  # the project's default clv_horizons_days
MODELS = "+customer_lifetime_value"  # the transaction path: no model reading the application database


@dataclass(frozen=True)
class Cdnow:
    """A warehouse with one CDNOW log loaded, the log itself, and how to build the models at an observation end."""

    name: str
    target: WarehouseTarget
    log: pd.DataFrame  # customer_id, date, value (float dollars)
    environment: dict[str, str]
    repo_paths: ProjectPaths

    def build(self, observation_end: str) -> None:
        """``elt transform`` of the customer-value models at ``observation_end`` in weeks (unit tests included)."""
        variables = json.dumps({"clv_time_unit": "week", "clv_observation_end": observation_end})
        built = run_elt("transform", "--vars", variables, "--select", MODELS, env=self.environment, timeout=900)
        assert built.returncode == 0, (
            f"elt transform at {observation_end} failed:\n{built.stdout[-6000:]}{built.stderr}"
        )
        assert "ERROR=0" in built.stdout and "SKIP=0" in built.stdout


def read_log(name: str) -> pd.DataFrame:
    """A CDNOW log as (customer_id, date, value, text of the value as in the file)."""
    if name == "sample":  # master id, sample id, date, CDs, dollars; no header
        columns = ["master_id", "customer_id", "date", "cds", "text"]
        log = pd.read_csv(LOGS / "CDNOW_sample.txt", sep=r"\s+", header=None, names=columns, dtype=str)
    else:  # customer id, date, CDs, dollars; a header line
        columns = ["customer_id", "date", "cds", "text"]
        log = pd.read_csv(LOGS / "CDNOW_master.txt", sep=r"\s+", header=None, skiprows=1, names=columns, dtype=str)
    return pd.DataFrame(
        {
            "customer_id": log["customer_id"].astype(int),
            "date": pd.to_datetime(log["date"], format="%Y%m%d"),
            "value": log["text"].astype(float),
            "text": log["text"],
        }
    )


def write_drops(name: str, log: pd.DataFrame, landing: Path) -> None:
    """One CSV file per month in the transactions contract; the transaction id is the log's line number."""
    landing.mkdir(parents=True)
    lines = log.assign(transaction_id=[f"cdnow-{name}-{i:06d}" for i in range(1, len(log) + 1)])
    for month, rows in lines.groupby(lines["date"].dt.strftime("%Y-%m")):
        with (landing / f"cdnow_{name}_{month}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(("transaction_id", "user_id", "total_cost", "dt"))
            for row in rows.itertuples():
                writer.writerow((row.transaction_id, row.customer_id, row.text, f"{row.date:%Y-%m-%d}"))


@contextmanager
def loaded_cdnow(name: str, server_admin, repo_paths, folder: Path) -> Iterator[Cdnow]:
    """Create a warehouse database, write the log as file drops and run ``elt load transactions`` on it."""
    target = server_admin.with_database(f"elt_test_{uuid.uuid4().hex[:10]}")
    with connect(server_admin) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(target.dbname)))
    try:
        apply_bootstrap(target)
        log = read_log(name)
        landing = folder / "landing"
        write_drops(name, log, landing)
        environment = {
            "WAREHOUSE_URL": target.url(),
            "ELT_HOME": str(folder / "home"),
            "DLT_DATA_DIR": str(folder / "dlt-data"),
            "SOURCES__TRANSACTIONS__BUCKET_URL": str(landing),
        }
        loaded = run_elt("load", "transactions", env=environment)
        assert loaded.returncode == 0, loaded.stderr
        with connect(target) as conn:
            assert conn.execute("select count(*) from raw_transactions.transactions").fetchone()[0] == len(log)
            assert conn.execute("select count(*) from raw_transactions.rejected_rows").fetchone()[0] == 0
        yield Cdnow(name, target, log, environment, repo_paths)
    finally:
        drop_warehouse_database(server_admin, target)


@pytest.fixture(scope="module")
def sample(server_admin, repo_paths, tmp_path_factory) -> Iterator[Cdnow]:
    """CDNOW sample loaded, models built at the calibration end."""
    with loaded_cdnow("sample", server_admin, repo_paths, tmp_path_factory.mktemp("cdnow-sample")) as cdnow:
        cdnow.build(CALIBRATION_END)
        yield cdnow


@pytest.fixture(scope="module")
def master(server_admin, repo_paths, tmp_path_factory) -> Iterator[Cdnow]:
    """CDNOW master loaded (built by the tests, at each observation end in turn)."""
    with loaded_cdnow("master", server_admin, repo_paths, tmp_path_factory.mktemp("cdnow-master")) as cdnow:
        yield cdnow


def exact_summary(log: pd.DataFrame, observation_end: str) -> pd.DataFrame:
    """lifetimes' RFM summary of the log by day (exact dollars), times in weeks, indexed by customer id."""
    summary = summary_data_from_transaction_data(
        log, "customer_id", "date", monetary_value_col="value", observation_period_end=observation_end, freq="D"
    )
    return summary.assign(recency=summary["recency"] / 7.0, T=summary["T"] / 7.0).sort_index()


def fitted(cdnow: Cdnow, observation_end: str) -> dict:
    """The project's parameters row of the fit at ``observation_end``."""
    with connect(cdnow.target) as conn:
        cursor = conn.execute(
            "select * from marts.clv_model_parameters where observation_end = %s and time_unit = 'week'",
            (observation_end,),
        )
        names = [column.name for column in cursor.description]
        rows = cursor.fetchall()
    assert len(rows) == 1
    return dict(zip(names, rows[0], strict=True))


def predictions(cdnow: Cdnow) -> pd.DataFrame:
    """customer_lifetime_value as a frame indexed by (horizon_days, user_id)."""
    with connect(cdnow.target) as conn:
        rows = conn.execute(
            "select horizon_days, user_id, probability_alive, expected_purchases, expected_average_order_value_usd, "
            "clv_usd, observation_end from marts.customer_lifetime_value order by horizon_days, user_id"
        ).fetchall()
    columns = ["horizon_days", "user_id", "alive", "purchases", "order_value", "clv", "observation_end"]
    return pd.DataFrame(rows, columns=columns).set_index(["horizon_days", "user_id"])


def project_summary(cdnow: Cdnow) -> pd.DataFrame:
    """int_customers_rfm as lifetimes names it."""
    with connect(cdnow.target) as conn:
        rows = conn.execute(
            "select user_id, frequency, recency, t, monetary_value from intermediate.int_customers_rfm order by 1"
        ).fetchall()
    frame = pd.DataFrame(rows, columns=["customer_id", "frequency", "recency", "T", "monetary_value"])
    return frame.set_index("customer_id").astype(float)


def check_against_lifetimes(cdnow: Cdnow, observation_end: str) -> dict:
    """The summary, both fits and the per-customer predictions against lifetimes'; returns the parameters row."""
    reference = exact_summary(cdnow.log, observation_end)
    ours = project_summary(cdnow)
    assert ours.index.tolist() == reference.index.tolist()
    np.testing.assert_array_equal(ours["frequency"], reference["frequency"])
    np.testing.assert_allclose(ours[["recency", "T"]], reference[["recency", "T"]], rtol=1e-12)
    np.testing.assert_allclose(ours["monetary_value"], reference["monetary_value"], rtol=1e-12, atol=1e-9)

    row = fitted(cdnow, observation_end)
    assert row["not_identified_reason"] is None
    assert (row["n_customers"], row["n_repeat_customers"]) == (len(reference), int((reference["frequency"] > 0).sum()))
    spenders = reference[(reference["frequency"] > 0) & (reference["monetary_value"] > 0)]
    zero_spend = int(((reference["frequency"] > 0) & (reference["monetary_value"] == 0)).sum())
    assert row["n_zero_spend_repeat_customers"] == zero_spend

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bgf = lifetimes.BetaGeoFitter().fit(reference["frequency"], reference["recency"], reference["T"])
        ggf = lifetimes.GammaGammaFitter().fit(spenders["frequency"], spenders["monetary_value"])
    bg_params = [row[name] for name in ("r", "alpha", "a", "b")]
    gg_params = [row[name] for name in ("p", "q", "v")]
    np.testing.assert_allclose(bg_params, bgf.params_[["r", "alpha", "a", "b"]], rtol=1e-5)
    np.testing.assert_allclose(gg_params, ggf.params_[["p", "q", "v"]], rtol=1e-6)

    # lifetimes' predictions at the project's parameters
    bgf.params_ = pd.Series(bg_params, index=["r", "alpha", "a", "b"])
    ggf.params_ = pd.Series(gg_params, index=["p", "q", "v"])
    got = predictions(cdnow)
    assert set(got["observation_end"].astype(str)) == {observation_end}
    x, t_x, big_t = reference["frequency"], reference["recency"], reference["T"]
    alive = bgf.conditional_probability_alive(x, t_x, big_t)
    value = ggf.conditional_expected_average_profit(x, reference["monetary_value"].where(x > 0, 0.0))
    for days in HORIZONS_DAYS:
        horizon = got.loc[days]
        assert horizon.index.tolist() == reference.index.tolist()
        expected = bgf.conditional_expected_number_of_purchases_up_to_time(days / 7.0, x, t_x, big_t)
        np.testing.assert_allclose(horizon["alive"], alive, rtol=1e-9)
        np.testing.assert_allclose(horizon["purchases"], expected, rtol=1e-9)
        np.testing.assert_allclose(horizon["order_value"], value, rtol=1e-9)
        assert (horizon["clv"] > 0).all()
    return row


def test_sample_reproduces_the_published_bgnbd_fit(sample):
    row = fitted(sample, CALIBRATION_END)
    published = (0.243, 4.414, 0.793, 2.426)
    assert tuple(round(row[name], 3) for name in ("r", "alpha", "a", "b")) == published
    assert round(row["bgnbd_log_likelihood"], 1) == -9582.4
    assert (row["n_customers"], row["n_repeat_customers"], row["n_zero_spend_repeat_customers"]) == (2357, 946, 0)


def test_sample_equals_lifetimes(sample):
    check_against_lifetimes(sample, CALIBRATION_END)


@pytest.mark.parametrize("observation_end", [CALIBRATION_END, MASTER_END])
def test_master_with_zero_spend_repeat_customers_equals_lifetimes(master, observation_end):
    master.build(observation_end)
    row = check_against_lifetimes(master, observation_end)
    assert row["n_customers"] == 23570 and row["n_zero_spend_repeat_customers"] > 0
    # a zero-spend repeat customer expects p v / (p x + q - 1): below the population mean, not 0
    got = predictions(master).loc[HORIZONS_DAYS[0]].loc[10244, "order_value"]
    frequency = project_summary(master).loc[10244, "frequency"]
    p, q, v = row["p"], row["q"], row["v"]
    assert got == pytest.approx(p * v / (p * frequency + q - 1), rel=1e-12)
    assert 0 < got < p * v / (q - 1)
