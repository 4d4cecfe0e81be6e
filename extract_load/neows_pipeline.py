"""Load NASA NeoWs feed windows and browse pages into ``raw_neows``.

Offline by default: ``[sources.neows] base_url = "replay"`` in ``.dlt/config.toml`` serves the in-repo
recorded responses from a local replay server for the duration of the run. For the live API set
``SOURCES__NEOWS__BASE_URL=https://api.nasa.gov/neo/rest/v1`` and a key (see extract_load/neows/README.md).
"""

from __future__ import annotations

from datetime import date

import dlt
from dlt.common.pipeline import LoadInfo

from extract_load.common.running import warehouse_pipeline
from extract_load.neows import neows_source, open_base_url

PIPELINE_NAME = "neows"
DATASET_NAME = "raw_neows"


def pipeline() -> dlt.Pipeline:
    """The dlt pipeline (destination credentials come from the environment, see ``elt env``)."""
    return warehouse_pipeline(PIPELINE_NAME, DATASET_NAME)


def run() -> LoadInfo:
    """Load new feed windows (plus the lookback) and the next browse pages."""
    with open_base_url(dlt.config["sources.neows.base_url"]) as base_url:
        return pipeline().run(neows_source(base_url=base_url))


def backfill(start: date | None = None, end: date | None = None, files: list[str] | None = None) -> LoadInfo:
    """Fetch again every feed window from ``start`` to ``end`` (inclusive; default: the configured dates).

    The windows are laid from ``start``; browse pages are not touched. NeoWs has no files: ``files`` must be empty.
    """
    if files:
        raise ValueError("neows has no files to backfill: give dates (--from/--to)")
    dates = {"start_date": start.isoformat()} if start else {}
    if end:
        dates["end_date"] = end.isoformat()
    with open_base_url(dlt.config["sources.neows.base_url"]) as base_url:
        source = neows_source(base_url=base_url, refetch=True, **dates).with_resources("feed")
        return pipeline().run(source)


if __name__ == "__main__":
    print(run())
