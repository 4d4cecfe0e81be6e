"""BG/NBD and Gamma-Gamma parameters fitted by maximum likelihood on int_customers_rfm, one row per distinct fit.

Keyed by (time_unit, observation_end, input_hash); input_hash fingerprints the RFM rows the fit saw. A rerun on
the same data finds its key and adds nothing (the first fit and its fitted_at stay), new data adds a row: the
history of fits is kept for comparison. Fails with the fitting module's ModelNotIdentifiedError message when
the data cannot identify a model (too few customers or repeat buyers, flat likelihood, boundary solution).
Customers first seen on the observation end day (T = 0) carry no information and are left out of the BG/NBD fit.
Repeat customers whose repeat purchases total $0.00 are left out of the Gamma-Gamma fit, which models positive
transaction values (m > 0); their number is recorded in ``n_zero_spend_repeat_customers`` (their expected spend:
see customer_lifetime_value).

When the numeric core refuses the data (a ValueError: the data cannot identify a model, or invalid summaries), the
var ``clv_not_identified`` decides: ``error`` fails the run with the reason (a ModelNotIdentifiedError whose cause
is the refusal); ``warn`` (the default: small or short data sets, e.g. a month of demo data without observable
dropout, must not stop the build) records the attempt with null parameters and the reason in
``not_identified_reason``, prints it, and the model's warn-severity test reports it.
"""

import datetime
import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from numeric.fingerprint import array_fingerprint
from numeric.fitting import ModelNotIdentifiedError, fit_bgnbd, fit_gamma_gamma

SCHEMA = pa.schema(
    [
        ("r", pa.float64()),
        ("alpha", pa.float64()),
        ("a", pa.float64()),
        ("b", pa.float64()),
        ("p", pa.float64()),
        ("q", pa.float64()),
        ("v", pa.float64()),
        ("bgnbd_log_likelihood", pa.float64()),
        ("gg_log_likelihood", pa.float64()),
        ("n_customers", pa.int64()),
        ("n_repeat_customers", pa.int64()),
        ("n_zero_spend_repeat_customers", pa.int64()),
        ("time_unit", pa.string()),
        ("observation_end", pa.date32()),
        ("input_hash", pa.string()),
        ("not_identified_reason", pa.string()),
        ("fitted_at", pa.timestamp("us", tz="UTC")),
    ]
)


def rfm_arrays(rfm):
    """(user_id, frequency, recency, t, monetary_value) as numpy arrays sorted by user_id."""
    rfm = rfm.sort_by("user_id")
    user_id = rfm.column("user_id").to_numpy().astype(np.int64)
    columns = [
        rfm.column(name).cast(pa.float64()).to_numpy() for name in ("frequency", "recency", "t", "monetary_value")
    ]
    return (user_id, *columns)


def single_value(rfm, name, default):
    """The one value of a column that is constant by construction (``default`` for an empty table)."""
    values = pc.unique(rfm.column(name)).to_pylist()
    if len(values) > 1:
        raise ValueError(f"int_customers_rfm has several values of {name}: {values}")
    return values[0] if values else default


def model(dbt, session):
    """The fit of the current int_customers_rfm rows, or nothing when their key is already present."""
    dbt.config(
        materialized="incremental",
        incremental_strategy="merge",
        unique_key=["time_unit", "observation_end", "input_hash"],
        on_schema_change="append_new_columns",
    )
    rfm = dbt.ref("int_customers_rfm")
    if rfm.num_rows == 0:  # no customer up to the observation end: nothing to fit, nothing recorded
        return SCHEMA.empty_table()
    time_unit = single_value(rfm, "time_unit", "day")
    observation_end = single_value(rfm, "observation_end_date", None)
    user_id, frequency, recency, t, monetary = rfm_arrays(rfm)
    input_hash = array_fingerprint(user_id, frequency, recency, t, monetary)

    on_not_identified = dbt.config.meta_get("clv_not_identified", "warn")
    if on_not_identified not in ("warn", "error"):
        raise ValueError(f"var clv_not_identified must be 'warn' or 'error', not {on_not_identified!r}")
    where = f"int_customers_rfm (time_unit {time_unit}, observation end {observation_end}, {len(user_id)} customers)"

    if dbt.is_incremental and observation_end is not None:
        # count(*) too: a result of one null text column is an empty CSV line, which the adapter's reader skips
        existing = session.sql(
            f"select count(*) as n, max(not_identified_reason) as reason from {dbt.this} "
            f"where time_unit = '{time_unit}' and observation_end = '{observation_end.isoformat()}'::date "
            f"and input_hash = '{input_hash}'"
        )
        if existing.column("n")[0].as_py() > 0:  # fitted (or found not identified) on these very rows before
            reason = existing.column("reason")[0].as_py()
            if reason is not None and on_not_identified == "error":
                raise ModelNotIdentifiedError(f"clv_model_parameters: cannot fit on {where}: {reason}")
            return SCHEMA.empty_table()

    # a customer first seen on the observation end day (T = 0) has likelihood 1 whatever the parameters
    observed = t > 0
    repeat = frequency > 0
    zero_spend = repeat & (monetary <= 0)
    counts = {
        "n_customers": int(observed.sum()),
        "n_repeat_customers": int(repeat.sum()),
        "n_zero_spend_repeat_customers": int(zero_spend.sum()),
    }
    try:
        purchases = fit_bgnbd(frequency[observed], recency[observed], t[observed])
        spend = fit_gamma_gamma(frequency[repeat & ~zero_spend], monetary[repeat & ~zero_spend])
    except ValueError as error:  # the numeric core refuses: not identified (ModelNotIdentifiedError) or invalid
        reason = str(error) if isinstance(error, ModelNotIdentifiedError) else f"{type(error).__name__}: {error}"
        message = f"clv_model_parameters: cannot fit on {where}: {reason}"
        if on_not_identified == "error":
            raise ModelNotIdentifiedError(message) from error
        print(f"WARNING {message}", file=sys.stderr)
        row = dict.fromkeys(SCHEMA.names)
        row.update(
            counts,
            time_unit=time_unit,
            observation_end=observation_end,
            input_hash=input_hash,
            not_identified_reason=reason,
            fitted_at=datetime.datetime.now(datetime.UTC),
        )
        return pa.Table.from_pylist([row], schema=SCHEMA)

    row = {
        "r": purchases.r,
        "alpha": purchases.alpha,
        "a": purchases.a,
        "b": purchases.b,
        "p": spend.p,
        "q": spend.q,
        "v": spend.v,
        "bgnbd_log_likelihood": purchases.log_likelihood,
        "gg_log_likelihood": spend.log_likelihood,
        **counts,
        "time_unit": time_unit,
        "observation_end": observation_end,
        "input_hash": input_hash,
        "not_identified_reason": None,
        "fitted_at": datetime.datetime.now(datetime.UTC),
    }
    return pa.Table.from_pylist([row], schema=SCHEMA)
