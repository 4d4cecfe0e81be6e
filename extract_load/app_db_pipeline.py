"""Load the application database (``APP_DB_URL``) into ``raw_app`` (run directly, or via ``elt load app_db``)."""

from __future__ import annotations

import os

import dlt
from dlt.common.pipeline import LoadInfo

from extract_load.app_db import app_db_source


def run() -> LoadInfo:
    """Copy new and updated rows, and record hard deletes."""
    url = os.environ.get("APP_DB_URL")
    source = app_db_source(credentials=url) if url else app_db_source()
    pipeline = dlt.pipeline(pipeline_name="app_db", destination="postgres", dataset_name="raw_app")
    return pipeline.run(source, loader_file_format="csv")


if __name__ == "__main__":
    print(run())
