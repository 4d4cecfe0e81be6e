"""Fixed-width columns without NULLs: read and written through binary COPY."""


def model(dbt, session):
    return dbt.ref("stg_fixed_width_samples").drop_null()
