"""The published CDNOW results, reproduced with numeric.fitting on the CDNOW sample that ``lifetimes`` ships.

BG/NBD: Fader, Hardie & Lee (2005), "Counting your customers the easy way", fit on the 2,357-customer summary
(weeks; ``cdnow_customers_summary.csv``): r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4.

Gamma-Gamma: Fader & Hardie (2013), "The Gamma-Gamma model of monetary value", fit on the 946 customers with
repeat purchases in the 39 calibration weeks: p = 6.25, q = 3.74, v = 15.44. The note averages the exact dollar
values of the repeat transactions, which we rebuild from the transaction log (``CDNOW_sample.txt``); the
summary file ``lifetimes`` ships rounds those averages to cents, which moves the MLE of v to 15.448
(0.05 %, a hundredth of its standard error).

Predictions (P(alive), conditional expected purchases, conditional expected average value, discounted CLV)
are compared with ``lifetimes`` 0.11.3's own methods at the same parameters, to 1e-9 relative: both evaluate
the same closed forms in float64 (``lifetimes`` with ``scipy.special.hyp2f1``); the largest difference measured is
9e-12, expected purchases over one day, where ``1 - ...`` cancels most digits.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

with warnings.catch_warnings():
    # lifetimes 0.11.3 imports pkg_resources and sets a pandas option that pandas 3 deprecates
    warnings.simplefilter("ignore")
    import lifetimes
    from lifetimes.datasets import load_cdnow_summary, load_cdnow_summary_data_with_monetary_value

from numeric import bgnbd, gamma_gamma
from numeric.clv import customer_lifetime_value
from numeric.fitting import fit_bgnbd, fit_gamma_gamma

CALIBRATION_END = pd.Timestamp("1997-09-30")  # 39 weeks from 1997-01-01
PREDICTION_RTOL = 1e-9
# weeks: a day, a week, a quarter, the 39-week holdout of the paper, a year, 78 weeks
HORIZONS_WEEKS = (1 / 7, 1.0, 13.0, 39.0, 52.0, 78.0)


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    return load_cdnow_summary(index_col=[0])


@pytest.fixture(scope="module")
def bgnbd_fit(summary):
    return fit_bgnbd(summary["frequency"].to_numpy(), summary["recency"].to_numpy(), summary["T"].to_numpy())


def repeat_spend_from_transactions() -> pd.DataFrame:
    """Per customer with repeat purchases in the calibration weeks: their count and exact average value.

    As in the papers, a customer's transactions of one day are one transaction and the first is not a repeat.
    """
    log = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"
    rows = pd.read_csv(log, sep=r"\s+", header=None, names=["master_id", "id", "date", "cds", "value"], dtype=str)
    rows = rows.assign(date=pd.to_datetime(rows["date"], format="%Y%m%d"), value=rows["value"].astype(float))
    days = rows[rows["date"] <= CALIBRATION_END].groupby(["id", "date"], as_index=False)["value"].sum()
    days = days.sort_values(["id", "date"])
    repeats = days[days.groupby("id").cumcount() > 0]
    spend = repeats.groupby("id")["value"].agg(["count", "mean"])
    spend.index = spend.index.astype(int)
    return spend


def test_bgnbd_reproduces_the_published_cdnow_fit(bgnbd_fit):
    assert bgnbd_fit.converged
    assert (bgnbd_fit.n_customers, bgnbd_fit.n_repeat_customers) == (2357, 946)
    published = (0.243, 4.414, 0.793, 2.426)
    assert tuple(round(v, 3) for v in bgnbd_fit.params) == published
    assert round(bgnbd_fit.log_likelihood, 1) == -9582.4


def test_gamma_gamma_reproduces_the_published_cdnow_fit(summary):
    spend = repeat_spend_from_transactions()
    # the rebuilt repeat counts are those of the published summary, customer by customer
    repeat = summary[summary["frequency"] > 0]
    assert spend.index.tolist() == repeat.index.tolist()
    np.testing.assert_array_equal(spend["count"].to_numpy(), repeat["frequency"].to_numpy())

    fit = fit_gamma_gamma(spend["count"].to_numpy(), spend["mean"].to_numpy())
    assert fit.converged and fit.n_customers == 946
    assert tuple(round(v, 2) for v in fit.params) == (6.25, 3.74, 15.44)
    # the log-likelihood at the optimum is the one CLVTools' tests expect for this fit (-4055.9177)
    assert fit.log_likelihood == pytest.approx(-4055.9177, abs=5e-4)

    # lifetimes' summary rounds the averages to cents: the same p and q, v 0.05 % higher, well within its error
    rounded = load_cdnow_summary_data_with_monetary_value()
    rounded = rounded[rounded["frequency"] > 0]
    assert np.abs(rounded["monetary_value"].to_numpy() - spend["mean"].to_numpy()).max() <= 0.005 + 1e-9
    fit_rounded = fit_gamma_gamma(rounded["frequency"].to_numpy(), rounded["monetary_value"].to_numpy())
    assert tuple(round(v, 2) for v in fit_rounded.params[:2]) == (6.25, 3.74)
    assert fit_rounded.v == pytest.approx(15.448, abs=5e-4)
    assert abs(np.log(fit_rounded.v / fit.v)) < 0.01 * fit.log_param_se[2]


def test_lifetimes_fits_the_same_parameters(summary, bgnbd_fit):
    """lifetimes' own fit (BFGS from its default start, tol 1e-7) lands on our optimum (measured: 4e-7 relative)."""
    bgf = lifetimes.BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    np.testing.assert_allclose(bgf.params_[["r", "alpha", "a", "b"]].to_numpy(), bgnbd_fit.params, rtol=1e-5)
    rounded = load_cdnow_summary_data_with_monetary_value()
    rounded = rounded[rounded["frequency"] > 0]
    ggf = lifetimes.GammaGammaFitter().fit(rounded["frequency"], rounded["monetary_value"])
    ours = fit_gamma_gamma(rounded["frequency"].to_numpy(), rounded["monetary_value"].to_numpy())
    np.testing.assert_allclose(ggf.params_[["p", "q", "v"]].to_numpy(), ours.params, rtol=1e-5)


def lifetimes_models(bg_params, gg_params):
    """lifetimes fitters carrying the given parameters, set as their ``fit`` sets them (without fitting)."""
    bgf = lifetimes.BetaGeoFitter()
    bgf.params_ = pd.Series(bg_params, index=["r", "alpha", "a", "b"])
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time
    ggf = lifetimes.GammaGammaFitter()
    ggf.params_ = pd.Series(gg_params, index=["p", "q", "v"])
    return bgf, ggf


def test_predictions_equal_lifetimes_at_the_same_parameters(bgnbd_fit):
    data = load_cdnow_summary_data_with_monetary_value()
    gg_fit = fit_gamma_gamma(*(data.loc[data["frequency"] > 0, c].to_numpy() for c in ("frequency", "monetary_value")))
    bgf, ggf = lifetimes_models(bgnbd_fit.params, gg_fit.params)
    x, t_x, big_t, m = (data[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T", "monetary_value"))

    np.testing.assert_allclose(
        bgnbd.probability_alive(*bgnbd_fit.params, x, t_x, big_t),
        bgf.conditional_probability_alive(data["frequency"], data["recency"], data["T"]),
        rtol=PREDICTION_RTOL,
    )
    for horizon in HORIZONS_WEEKS:
        theirs = bgf.conditional_expected_number_of_purchases_up_to_time(
            horizon, data["frequency"], data["recency"], data["T"]
        )
        mine = bgnbd.conditional_expected_purchases(*bgnbd_fit.params, horizon, x, t_x, big_t)
        np.testing.assert_allclose(mine, theirs, rtol=PREDICTION_RTOL, err_msg=f"horizon {horizon} weeks")
    np.testing.assert_allclose(
        gamma_gamma.conditional_expected_average_value(*gg_fit.params, x, m),
        ggf.conditional_expected_average_profit(data["frequency"], data["monetary_value"]),
        rtol=PREDICTION_RTOL,
    )


@pytest.mark.parametrize(("months", "monthly_rate"), [(12, 0.01), (3, 0.0), (24, 0.05)])
def test_discounted_clv_equals_lifetimes(bgnbd_fit, months, monthly_rate):
    """lifetimes discounts month k's purchases (a month = 4.345 weeks for weekly data) by (1 + rate) ** k.

    That is numeric.clv with step = one month, horizon = ``months`` months and a "year" of one month.
    """
    data = load_cdnow_summary_data_with_monetary_value()
    gg_fit = fit_gamma_gamma(*(data.loc[data["frequency"] > 0, c].to_numpy() for c in ("frequency", "monetary_value")))
    bgf, ggf = lifetimes_models(bgnbd_fit.params, gg_fit.params)
    month_weeks = 4.345
    theirs = ggf.customer_lifetime_value(
        bgf, data["frequency"], data["recency"], data["T"], data["monetary_value"], months, monthly_rate, freq="W"
    )
    x, t_x, big_t, m = (data[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T", "monetary_value"))
    mine = customer_lifetime_value(
        bgnbd_fit.params, gg_fit.params, x, t_x, big_t, m, months * month_weeks, month_weeks, monthly_rate, month_weeks
    )
    np.testing.assert_allclose(mine.clv, theirs.to_numpy(), rtol=PREDICTION_RTOL)
    assert (mine.clv > 0).all()
