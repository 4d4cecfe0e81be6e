"""Load transaction file drops into ``raw_transactions`` (run directly, or through ``elt load transactions``)."""

from __future__ import annotations

import dlt
from dlt.common.pipeline import LoadInfo

from extract_load.transactions import transactions_source


def run() -> LoadInfo:
    """Load every new or changed file of the configured landing area."""
    pipeline = dlt.pipeline(pipeline_name="transactions", destination="postgres", dataset_name="raw_transactions")
    return pipeline.run(transactions_source(), loader_file_format="csv")


if __name__ == "__main__":
    print(run())
