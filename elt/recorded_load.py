"""One pipeline run under the pipeline lock, recorded in ``raw_ops.pipeline_runs`` (``elt load`` and Dagster)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from elt.pipeline_runs import PipelineRun, RunCounts, count_rows
from elt.pipelines import collapsed_rows, extracted_rows, landed_rows, load_entry_point
from elt.warehouse_target import WarehouseTarget


@dataclass(frozen=True)
class LoadOutcome:
    """What one recorded run loaded: its counts, rows extracted per table, and duplicates collapsed per table."""

    counts: RunCounts
    per_table: dict[str, int]
    collapsed: dict[str, int]


def run_recorded(target: WarehouseTarget, name: str, script: Path) -> LoadOutcome:
    """Run ``script``'s ``run()`` holding pipeline ``name``'s lock; record its start and outcome.

    A held lock raises EltError with the holder; a failed run is recorded as failed and its error re-raised.
    """
    with PipelineRun(target, name) as run:
        result = load_entry_point(script)()
        per_table, collapsed = extracted_rows(result), collapsed_rows(result)
        outcome = LoadOutcome(count_rows(per_table, landed_rows(result), collapsed), per_table, collapsed)
        run.succeeded(outcome.counts)
    return outcome
