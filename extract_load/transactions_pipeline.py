"""Load transaction file drops into ``raw_transactions`` (run directly, or through ``elt load transactions``)."""

from __future__ import annotations

from datetime import date

import dlt
from dlt.common.pipeline import LoadInfo

from extract_load.common.running import run_pipeline, warehouse_pipeline
from extract_load.transactions import transactions_source

PIPELINE_NAME = "transactions"
DATASET_NAME = "raw_transactions"


def pipeline() -> dlt.Pipeline:
    """The dlt pipeline (destination credentials come from the environment, see ``elt env``)."""
    return warehouse_pipeline(PIPELINE_NAME, DATASET_NAME)


def run() -> LoadInfo:
    """Load every new or changed file of the configured landing area."""
    return run_pipeline(pipeline(), transactions_source(), loader_file_format="csv")


def backfill(start: date | None = None, end: date | None = None, files: list[str] | None = None) -> LoadInfo:
    """Read again the files modified between ``start`` and ``end`` (inclusive) or matching ``files`` patterns."""
    between = (start or date.min, end or date.max) if start or end else None
    source = transactions_source(reload_files=files, reload_modified_between=between)
    return run_pipeline(pipeline(), source, loader_file_format="csv")


if __name__ == "__main__":
    print(run())
