"""Per customer and horizon: P(alive), expected purchases, expected average order value and discounted CLV.

Uses the fit in clv_model_parameters for the current RFM rows (same time_unit, observation_end and input_hash
fingerprint, so the parameters always belong to the data scored). Horizons (var clv_horizons_days) and the
discounting step (var clv_discount_step_days) are given in days and converted to the fitted time unit; the
yearly discount rate is the var clv_annual_discount_rate. A customer first seen on the observation end day
(T = 0) is scored as a brand-new customer: T = MIN_AGE, the limit T -> 0 of the formulas (which need T > 0).
When the current data did not identify the models (a recorded not_identified_reason) the table is empty; the
fit of these same rows validated the summaries, so the kernels here do not refuse them. A repeat customer whose
repeat purchases total $0.00 (left out of the Gamma-Gamma fit) gets the Gamma-Gamma expectation at m = 0,
p v / (p x + q - 1): the posterior mean given values below half a cent (numeric.gamma_gamma).
"""

import json
import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from numeric import bgnbd
from numeric.clv import DAYS_PER_YEAR, customer_lifetime_value
from numeric.fingerprint import array_fingerprint

DAYS_PER_UNIT = {"day": 1.0, "week": 7.0}
MIN_AGE = 1e-9  # T of customers first seen on the observation end day, in model time units

SCHEMA = pa.schema(
    [
        ("user_id", pa.int64()),
        ("horizon_days", pa.int32()),
        ("probability_alive", pa.float64()),
        ("expected_purchases", pa.float64()),
        ("expected_average_order_value_usd", pa.float64()),
        ("clv_usd", pa.float64()),
        ("time_unit", pa.string()),
        ("observation_end", pa.date32()),
        ("input_hash", pa.string()),
    ]
)


def parsed(value):
    """A var rendered into the YAML meta: native, or its text when dbt rendered it as a string."""
    return json.loads(value) if isinstance(value, str) else value


def model(dbt, session):
    """One row per customer and horizon (empty when the current fit is not identified)."""
    dbt.config(materialized="table")
    horizons = [int(days) for days in parsed(dbt.config.meta_get("clv_horizons_days"))]
    rate = float(parsed(dbt.config.meta_get("clv_annual_discount_rate")))
    step_days = float(parsed(dbt.config.meta_get("clv_discount_step_days")))
    if not horizons or min(horizons) <= 0 or step_days <= 0 or rate < 0:
        raise ValueError("need clv_horizons_days > 0, clv_discount_step_days > 0 and clv_annual_discount_rate >= 0")

    rfm = dbt.ref("int_customers_rfm").sort_by("user_id")
    fits = dbt.ref("clv_model_parameters")
    if rfm.num_rows == 0:
        return SCHEMA.empty_table()
    time_unit = rfm.column("time_unit")[0].as_py()
    observation_end = rfm.column("observation_end_date")[0].as_py()
    user_id = rfm.column("user_id").to_numpy().astype(np.int64)
    x, t_x, big_t, monetary = (
        rfm.column(name).cast(pa.float64()).to_numpy() for name in ("frequency", "recency", "t", "monetary_value")
    )
    input_hash = array_fingerprint(user_id, x, t_x, big_t, monetary)
    mask = pc.and_(
        pc.and_(pc.equal(fits.column("time_unit"), time_unit), pc.equal(fits.column("input_hash"), input_hash)),
        pc.equal(fits.column("observation_end"), pa.scalar(observation_end, pa.date32())),
    )
    fit = fits.filter(mask).to_pylist()
    if not fit:
        raise ValueError(
            f"customer_lifetime_value: clv_model_parameters has no fit for the current int_customers_rfm "
            f"(time_unit {time_unit}, observation end {observation_end}, input_hash {input_hash}): build it first"
        )
    fit = fit[0]
    if fit["not_identified_reason"] is not None:
        print(
            f"WARNING customer_lifetime_value: no prediction, the models are not identified: "
            f"{fit['not_identified_reason']}",
            file=sys.stderr,
        )
        return SCHEMA.empty_table()

    days_per_unit = DAYS_PER_UNIT[time_unit]
    purchases = (fit["r"], fit["alpha"], fit["a"], fit["b"])
    spend = (fit["p"], fit["q"], fit["v"])
    big_t = np.maximum(big_t, MIN_AGE)
    alive = bgnbd.probability_alive(*purchases, x, t_x, big_t)
    parts = []
    for days in horizons:
        result = customer_lifetime_value(
            purchases,
            spend,
            x,
            t_x,
            big_t,
            monetary,
            horizon=days / days_per_unit,
            step=step_days / days_per_unit,
            annual_discount_rate=rate,
            time_units_per_year=DAYS_PER_YEAR / days_per_unit,
        )
        n = user_id.shape[0]
        parts.append(
            pa.table(
                {
                    "user_id": user_id,
                    "horizon_days": np.full(n, days, dtype=np.int32),
                    "probability_alive": alive,
                    "expected_purchases": result.expected_purchases,
                    "expected_average_order_value_usd": result.expected_average_value,
                    "clv_usd": result.clv,
                    "time_unit": pa.array([time_unit] * n, pa.string()),
                    "observation_end": pa.array([observation_end] * n, pa.date32()),
                    "input_hash": pa.array([input_hash] * n, pa.string()),
                },
                schema=SCHEMA,
            )
        )
    return pa.concat_tables(parts)
