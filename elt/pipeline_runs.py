"""Operating ``elt load``: one run at a time per pipeline, and a history of every run in ``raw_ops``.

The lock is a PostgreSQL advisory lock held by a connection of the run for its whole duration, so it is
shared by every machine loading into the same warehouse, and a crashed run (its session gone) never
leaves a stale lock behind; its history row is marked ``crashed`` by the next run of the pipeline.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from types import TracebackType

import psycopg

from elt.connection import connect
from elt.error_chain import describe_causes
from elt.errors import EltError
from elt.warehouse_target import WarehouseTarget

LOCK_NAMESPACE = "elt.pipeline"
QUARANTINE_PREFIX = "rejected_"
"""Every source's quarantine tables are named ``rejected_<what>`` (``raw_transactions.rejected_rows``,
``raw_neows.rejected_records``): their rows count as rejected, not as extracted or loaded."""


def is_quarantine_table(table: str) -> bool:
    """True for a source's quarantine table (named ``rejected_...``)."""
    return table.startswith(QUARANTINE_PREFIX)


@dataclass(frozen=True)
class RunCounts:
    """Rows a run extracted and loaded (quarantine excluded), rejected, and collapsed as duplicates.

    ``loaded`` is measured in the warehouse (rows carrying the run's load ids, plus direct writes), so rows
    a merge collapsed show as ``extracted - loaded``; ``collapsed`` counts duplicates a source dropped by
    its own documented rule before loading.
    """

    extracted: int
    loaded: int
    rejected: int
    collapsed: int = 0

    @property
    def status(self) -> str:
        """``success``, or ``partial`` when some records were quarantined."""
        return "partial" if self.rejected else "success"


def count_rows(
    extracted: dict[str, int], landed: dict[str, int] | None = None, collapsed: dict[str, int] | None = None
) -> RunCounts:
    """Counts of a finished run from its rows per table: extracted, landed (default: as extracted), collapsed."""
    landed = extracted if landed is None else landed
    return RunCounts(
        extracted=sum(rows for table, rows in extracted.items() if not is_quarantine_table(table)),
        loaded=sum(rows for table, rows in landed.items() if not is_quarantine_table(table)),
        rejected=sum(rows for table, rows in extracted.items() if is_quarantine_table(table)),
        collapsed=sum((collapsed or {}).values()),
    )


class PipelineRun:
    """Context manager around one pipeline run: takes the lock, records start and outcome."""

    def __init__(self, target: WarehouseTarget, pipeline: str) -> None:
        self.target = target
        self.pipeline = pipeline
        self.run_id = uuid.uuid4()
        self._conn: psycopg.Connection | None = None

    def __enter__(self) -> PipelineRun:
        conn = connect(self.target, role="loader")
        locked = conn.execute(
            "select pg_try_advisory_lock(hashtext(%s), hashtext(%s))", (LOCK_NAMESPACE, self.pipeline)
        ).fetchone()[0]
        if not locked:
            holder = conn.execute(
                "select started_at, host, pid from raw_ops.pipeline_runs where pipeline = %s and status = 'running' "
                "order by started_at desc limit 1",
                (self.pipeline,),
            ).fetchone()
            conn.close()
            since = f" since {holder[0]:%Y-%m-%d %H:%M:%S %Z} on {holder[1]} (pid {holder[2]})" if holder else ""
            raise EltError(f"pipeline {self.pipeline} is already running{since}: wait for it to finish")
        conn.execute(
            "update raw_ops.pipeline_runs set status = 'crashed', finished_at = now(), "
            "error = 'the run ended without recording an outcome' where pipeline = %s and status = 'running'",
            (self.pipeline,),
        )
        conn.execute(
            "insert into raw_ops.pipeline_runs (run_id, pipeline, status, started_at, host, pid) "
            "values (%s, %s, 'running', now(), %s, %s)",
            (self.run_id, self.pipeline, socket.gethostname(), os.getpid()),
        )
        self._conn = conn
        return self

    def succeeded(self, counts: RunCounts) -> None:
        """Record a completed run with its counts."""
        self._finish(counts.status, counts, None)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _: TracebackType | None) -> None:
        if error is not None:
            self._finish("failed", None, "\n".join(describe_causes(error)))
        if self._conn is not None:
            self._conn.close()

    def _finish(self, status: str, counts: RunCounts | None, error: str | None) -> None:
        assert self._conn is not None
        self._conn.execute(
            "update raw_ops.pipeline_runs set status = %s, finished_at = now(), rows_extracted = %s, "
            "rows_loaded = %s, rows_rejected = %s, rows_collapsed = %s, error = %s where run_id = %s",
            (
                status,
                counts.extracted if counts else None,
                counts.loaded if counts else None,
                counts.rejected if counts else None,
                counts.collapsed if counts else None,
                error,
                self.run_id,
            ),
        )
