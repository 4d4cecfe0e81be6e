"""Benchmark: the project's real transactions pipeline (validation, quarantine, merge) against raw ``COPY``.

The same generated CSV as :mod:`benchmarks.raw_copy` is dropped into a landing folder and loaded by
``extract_load.transactions_pipeline.run()`` in a child process (which reports its own peak RSS, see
:func:`benchmarks.harness.run_child`), into a bootstrapped throwaway warehouse, as the loader role. Then:

- a rerun with no new file (target: < 5 % of the first load);
- a new file re-delivering 1 % of the transactions with changed costs (target: roughly 1 % of a full load).

The first load's rows/s is compared with the raw keyed ``COPY`` of the same run (issue 5: >= 0.5x).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from psycopg import sql

from benchmarks.generate import write_csv
from benchmarks.harness import MB, Benchmark, BenchmarkContext, ChildRun, Measurement, run_child
from benchmarks.raw_copy import BASELINE_METRIC
from elt.bootstrap import apply_bootstrap
from elt.connection import connect
from elt.errors import EltError
from elt.warehouse_target import ROLE_KINDS, WarehouseTarget

NAME = "transactions_load"
ROOT = Path(__file__).resolve().parents[1]
LOAD = "import extract_load.transactions_pipeline as p; p.run()"
FIRST_SECONDS = f"{NAME}.first_load_seconds"
T0 = 1_700_000_000


def run(ctx: BenchmarkContext) -> list[Measurement]:
    """Load ``ctx.rows`` transactions through the pipeline, then a no-op rerun and a 1 % delta."""
    apply_bootstrap(ctx.target)
    try:
        landing = ctx.workdir / "landing"
        landing.mkdir()
        generated = write_csv(landing / "day-001.csv", ctx.rows, ctx.seed)
        os.utime(generated.path, (T0, T0))
        env = _environment(ctx, landing)
        first = _load(env)
        _check_count(ctx.target, ctx.rows)
        rerun = _load(env)
        changed = _write_delta(generated.path, landing / "day-002.csv", max(1, ctx.rows // 100))
        delta = _load(env)
        _check_count(ctx.target, ctx.rows)
        _check_delta(ctx.target, changed)
    finally:
        _drop_roles(ctx.target)
    note = f"{ctx.rows:,} rows, child process, validation + quarantine + merge"
    return [
        Measurement(f"{NAME}.first_load", ctx.rows / first.seconds, "rows/s", BASELINE_METRIC, note=note),
        Measurement(FIRST_SECONDS, first.seconds, "s", FIRST_SECONDS),
        Measurement(
            f"{NAME}.first_load_peak_rss",
            first.peak_rss_bytes / MB,
            "MB",
            note=f"the pipeline process, {first.peak_rss_note}",
        ),
        Measurement(f"{NAME}.rerun_no_new_file_seconds", rerun.seconds, "s", FIRST_SECONDS, note="target < 0.05"),
        Measurement(
            f"{NAME}.delta_1pct_seconds",
            delta.seconds,
            "s",
            FIRST_SECONDS,
            note=f"{changed:,} changed rows in a new file",
        ),
        Measurement(
            f"{NAME}.delta_1pct_beyond_rerun_seconds",
            delta.seconds - rerun.seconds,
            "s",
            FIRST_SECONDS,
            note="what the changed rows cost beyond a run with nothing new",
        ),
        Measurement(f"{NAME}.delta_1pct_peak_rss", delta.peak_rss_bytes / MB, "MB", note=delta.peak_rss_note),
    ]


BENCHMARK = Benchmark(NAME, "the transactions pipeline (validation, quarantine, merge) vs raw COPY", run, ("raw_copy",))


def _environment(ctx: BenchmarkContext, landing: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("WAREHOUSE_", "DESTINATION__", "SOURCES__"))}
    return {
        **inherited,
        **ctx.target.environment(),
        "DLT_PROJECT_DIR": str(ROOT),
        "DLT_DATA_DIR": str(ctx.workdir / "dlt"),
        "SOURCES__TRANSACTIONS__BUCKET_URL": str(landing),
        "ELT_PROGRESS_SECONDS": "3600",
    }


def _load(env: dict[str, str]) -> ChildRun:
    return run_child([sys.executable, "-c", LOAD], env=env, cwd=ROOT)


def _write_delta(source: Path, delta: Path, rows: int) -> int:
    """Re-deliver the first ``rows`` transactions of ``source`` with their cost raised by one cent."""
    with source.open() as original, delta.open("w") as out:
        out.write(original.readline())
        for _ in range(rows):
            transaction_id, user_id, cost, day = original.readline().rstrip("\n").split(",")
            out.write(f"{transaction_id},{user_id},{float(cost) + 0.01:.2f},{day}\n")
    os.utime(delta, (T0 + 86_400, T0 + 86_400))
    return rows


def _check_count(target: WarehouseTarget, expected: int) -> None:
    with connect(target) as conn:
        loaded = conn.execute("select count(*) from raw_transactions.transactions").fetchone()[0]
    if loaded != expected:
        raise EltError(f"{NAME}: {loaded:,} rows in raw_transactions.transactions, expected {expected:,}")


def _check_delta(target: WarehouseTarget, changed: int) -> None:
    with connect(target) as conn:
        updated = conn.execute(
            "select count(*) from raw_transactions.transactions where _source_file = 'day-002.csv'"
        ).fetchone()[0]
    if updated != changed:
        raise EltError(f"{NAME}: the delta file updated {updated:,} rows, expected {changed:,}")


def _drop_roles(target: WarehouseTarget) -> None:
    with connect(target) as conn:
        for kind in ROLE_KINDS:
            conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(target.role(kind))))
    with connect(target.with_database("postgres")) as conn:
        for kind in reversed(ROLE_KINDS):
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(target.role(kind))))
