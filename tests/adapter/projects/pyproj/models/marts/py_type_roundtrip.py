"""Every sample value read from the source with COPY and written back unchanged."""


def model(dbt, session):
    return dbt.source("raw_app", "type_samples")
