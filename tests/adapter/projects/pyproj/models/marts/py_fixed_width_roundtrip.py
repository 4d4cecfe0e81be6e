"""Fixed-width columns with NULLs: read through binary COPY, written through CSV (NULLs)."""


def model(dbt, session):
    return dbt.ref("stg_fixed_width_samples")
