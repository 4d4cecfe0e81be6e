"""Load NASA NeoWs feed windows and browse pages into ``raw_neows``.

Offline by default: ``[sources.neows] base_url = "replay"`` in ``.dlt/config.toml`` serves the in-repo
recorded responses from a local replay server for the duration of the run. For the live API set
``SOURCES__NEOWS__BASE_URL=https://api.nasa.gov/neo/rest/v1`` and a key (see extract_load/neows/README.md).
"""

from __future__ import annotations

import dlt
from dlt.common.pipeline import LoadInfo

from extract_load.neows import neows_source, open_base_url

PIPELINE_NAME = "neows"
DATASET_NAME = "raw_neows"


def run() -> LoadInfo:
    """Extract and load one NeoWs run (destination and its credentials come from the environment)."""
    pipeline = dlt.pipeline(pipeline_name=PIPELINE_NAME, destination="postgres", dataset_name=DATASET_NAME)
    with open_base_url(dlt.config["sources.neows.base_url"]) as base_url:
        return pipeline.run(neows_source(base_url=base_url))


if __name__ == "__main__":
    print(run())
