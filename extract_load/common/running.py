"""Run a dlt pipeline (with progress for long loads), optionally dying at a fault point for crash tests.

``ELT_FAULT_POINT`` selects where the process SIGKILLs itself, leaving whatever dlt wrote on disk and in
the warehouse exactly as a real crash (power loss, OOM kill) would:

- ``during_extract``: after the first item of the first resource was extracted;
- ``after_normalize``: the load package is normalized but nothing of it is loaded;
- ``during_load``: as soon as the first load job of the package completed;
- ``before_state_commit``: every data job completed, before the package (with its pipeline-state row and
  its ``_dlt_loads`` entry) is committed as loaded.

Unset, :func:`run_pipeline` is ``pipeline.run``. Set, it runs the same steps one by one: pending packages
of an earlier run first (as ``pipeline.run`` does), then extract, normalize and load.

A kill between a load job's commit and dlt noting the job as done makes the next run replay that job;
that is harmless because every table merges on its key and ``create_indexes = false`` (``.dlt/config.toml``)
leaves no unique ``_dlt_id`` constraint for the replayed rows to trip over.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dlt
from dlt.common.runtime.collector import LogCollector

FAULT_POINT_ENV = "ELT_FAULT_POINT"
PROGRESS_ENV = "ELT_PROGRESS_SECONDS"
FAULT_POINTS = ("during_extract", "after_normalize", "during_load", "before_state_commit")
STATE_TABLE = "_dlt_pipeline_state"


def run_pipeline(pipeline: dlt.Pipeline, source: Any, **options: Any) -> Any:
    """``pipeline.run(source, **options)``, dying at ``$ELT_FAULT_POINT`` when that is set."""
    point = os.environ.get(FAULT_POINT_ENV, "").strip()
    if not point:
        return pipeline.run(source, **options)
    if point not in FAULT_POINTS:
        raise ValueError(f"{FAULT_POINT_ENV}={point!r} is not one of {', '.join(FAULT_POINTS)}")
    if pipeline.has_pending_data:
        pipeline.normalize()
        pipeline.load()
    if point == "during_extract":
        for resource in source.resources.selected.values():
            resource.add_map(_die_after_first_item)
    pipeline.extract(source, **options)
    pipeline.normalize()
    if point == "after_normalize":
        _die()
    with _watch_load(pipeline, point):
        return pipeline.load()


def _die_after_first_item(item: Any) -> Any:
    _die()
    return item


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@contextmanager
def _watch_load(pipeline: dlt.Pipeline, point: str) -> Iterator[None]:
    """Kill the process from a watcher thread once the package being loaded reaches ``point``."""
    normalized = Path(pipeline.working_dir) / "load" / "normalized"
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for package in normalized.glob("*"):
                done = [job.name for job in (package / "completed_jobs").glob("*")]
                left = [job.name for job in package.glob("*_jobs/*") if job.parent.name != "completed_jobs"]
                data_left = [name for name in left if not name.startswith(STATE_TABLE)]
                if point == "during_load" and done:
                    _die()
                if point == "before_state_commit" and done and not data_left:
                    _die()
            time.sleep(0.001)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


class LongLoadProgress(LogCollector):
    """dlt's log collector, quiet for short steps: the first report comes after ``log_period`` seconds."""

    def _start(self, step: str) -> None:
        super()._start(step)
        self._step_started = self.last_log_time = self._clock()

    def _stop(self) -> None:
        if self._clock() - self._step_started < self.log_period:
            self.last_log_time = None
            self.counters = self.counter_info = self.messages = None
            return
        super()._stop()


def load_progress() -> LogCollector:
    """Progress of long loads on stderr: counts, rates and memory every ``$ELT_PROGRESS_SECONDS`` (30)."""
    seconds = float(os.environ.get(PROGRESS_ENV, "30"))
    return LongLoadProgress(log_period=seconds, logger=sys.stderr, dump_system_stats=True)


def warehouse_pipeline(pipeline_name: str, dataset_name: str) -> dlt.Pipeline:
    """A dlt pipeline into the warehouse (``postgres``; credentials from the environment, see ``elt env``)."""
    return dlt.pipeline(
        pipeline_name=pipeline_name, destination="postgres", dataset_name=dataset_name, progress=load_progress()
    )
