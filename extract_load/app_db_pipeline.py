"""Load the application database (``APP_DB_URL``) into ``raw_app`` (run directly, or via ``elt load app_db``)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta

import dlt
from dlt.common.pipeline import LoadInfo

from extract_load.app_db import app_db_source
from extract_load.common.running import run_pipeline, warehouse_pipeline

PIPELINE_NAME = "app_db"
DATASET_NAME = "raw_app"


def pipeline() -> dlt.Pipeline:
    """The dlt pipeline (destination credentials come from the environment, see ``elt env``)."""
    return warehouse_pipeline(PIPELINE_NAME, DATASET_NAME)


def run() -> LoadInfo:
    """Copy new and updated rows, and record hard deletes."""
    return run_pipeline(pipeline(), _source(), loader_file_format="csv")


def backfill(start: date | None = None, end: date | None = None, files: list[str] | None = None) -> LoadInfo:
    """Re-read rows whose ``updated_at`` falls between ``start`` and ``end`` (inclusive days, UTC).

    The incremental cursor is left where it is (a dlt backfill with an end value does not move it).
    """
    if files:
        raise ValueError("the application database has no files: backfill it by --from/--to dates")
    low = datetime.combine(start or date(1970, 1, 1), time(0), tzinfo=UTC)
    high = datetime.combine((end or datetime.now(UTC).date()) + timedelta(days=1), time(0), tzinfo=UTC)
    return run_pipeline(pipeline(), _source(updated_between=(low, high)), loader_file_format="csv")


def _source(**options: object) -> dlt.sources.DltSource:
    url = os.environ.get("APP_DB_URL")
    return app_db_source(credentials=url, **options) if url else app_db_source(**options)


if __name__ == "__main__":
    print(run())
