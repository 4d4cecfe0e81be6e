"""Benchmark: a dbt Python model (pgpython adapter) reading and writing ``rows`` x 4 numeric columns in ``dbt run``.

The source table (``numeric(12,2)``, ``numeric(12,2)``, ``numeric(18,6)``, ``numeric(12,0)``, seeded random
values) is created in the benchmark's database. A generated dbt project holds one Python model that returns
``dbt.source(...)`` unchanged, so the run reads every row into Arrow and writes every row back. The adapter logs
the time of its read (``COPY ... TO STDOUT`` + Arrow parse) and of its write (checks, ``CREATE TABLE``,
``COPY ... FROM STDIN``); both are taken from dbt's log events of the run.

References, measured in the same run on the same rows: ``raw_copy_out`` (``COPY ... TO STDOUT`` into memory with
no parsing, the read's physical limit) and ``raw_copy_in`` (``COPY ... FROM STDIN`` of PostgreSQL's own CSV of
the rows into an empty table of the same types, in one transaction: the write's physical limit).

``python -m benchmarks.python_model_io [rows]`` runs a micro-benchmark of the adapter's binary COPY encoding
and decoding alone (no database, no dbt): the client-side share of the times above.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

from psycopg import sql

from benchmarks.harness import MB, Benchmark, BenchmarkContext, Measurement, measure
from benchmarks.scratch_dbt import run_dbt as run_scratch_dbt
from benchmarks.scratch_dbt import write_scratch_project
from elt.connection import connect
from elt.errors import EltError
from elt.warehouse_target import WarehouseTarget

NAME = "python_model_io"
SCHEMA = "bench"
SOURCE = "numbers"
MODEL = "py_passthrough"
COLUMNS = "a numeric(12, 2), b numeric(12, 2), c numeric(18, 6), d numeric(12, 0)"
READ_METRIC = f"{NAME}.raw_copy_out"
WRITE_METRIC = f"{NAME}.raw_copy_in"

MODEL_CODE = """def model(dbt, session):
    return dbt.source("bench", "numbers")
"""


def create_source(target: WarehouseTarget, rows: int, seed: int) -> None:
    """Create ``bench.numbers`` with ``rows`` seeded random rows (4 numeric columns)."""
    with connect(target) as conn:
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(SCHEMA)))
        conn.execute("select setseed(%s)", (((seed % 1000) / 1000.0),))
        conn.execute(
            f"""
            create table {SCHEMA}.{SOURCE} as
            select
                round((random() * 1e9)::numeric, 2)::numeric(12, 2) as a,
                round((random() * 2e4 - 1e4)::numeric, 2)::numeric(12, 2) as b,
                round((random() * 1e6)::numeric, 6)::numeric(18, 6) as c,
                g::numeric(12, 0) as d
            from generate_series(1, %s) as g
            """,
            (rows,),
        )
        conn.execute(f"vacuum analyze {SCHEMA}.{SOURCE}")


def write_project(workdir: Path, target: WarehouseTarget) -> Path:
    """A minimal dbt project (profile type pgpython, connecting as ``target``) with the passthrough model."""
    project = write_scratch_project(workdir, target, SCHEMA, SOURCE)
    (project / "models" / f"{MODEL}.py").write_text(MODEL_CODE)
    return project


def run_dbt(project: Path) -> tuple[dict[str, tuple[int, float]], float]:
    """``dbt run`` in-process; return {"read"/"wrote": (rows, seconds)} from the adapter's log and the wall time."""
    run = run_scratch_dbt(project)
    timings = run.adapter_io()
    if set(timings) != {"read", "wrote"}:
        raise EltError(f"the adapter logged no read/write timings (got {sorted(timings)})")
    return timings, run.seconds


def raw_copy_limits(target: WarehouseTarget, rows: int) -> tuple[float, float]:
    """Seconds of ``COPY TO STDOUT`` (no parsing) and of ``COPY FROM STDIN`` (same CSV, empty table, committed)."""
    with connect(target) as conn:
        buffer = io.BytesIO()
        start = time.perf_counter()
        with conn.cursor().copy(f"copy {SCHEMA}.{SOURCE} to stdout (format csv)") as copy:
            for block in copy:
                buffer.write(block)
        copy_out = time.perf_counter() - start
        conn.execute(f"create table {SCHEMA}.raw_copy_in ({COLUMNS})")
        payload = buffer.getbuffer()
        start = time.perf_counter()
        with conn.transaction(), conn.cursor() as cursor:
            with cursor.copy(f"copy {SCHEMA}.raw_copy_in from stdin (format csv)") as copy:
                for offset in range(0, len(payload), 1 << 20):
                    copy.write(payload[offset : offset + (1 << 20)])
            if cursor.rowcount != rows:
                raise EltError(f"raw COPY FROM loaded {cursor.rowcount} rows, expected {rows}")
        copy_in = time.perf_counter() - start
    return copy_out, copy_in


def run(ctx: BenchmarkContext) -> list[Measurement]:
    """Create the source rows, measure the raw COPY limits, then ``dbt run`` the passthrough Python model.

    Args:
        ctx: A fresh database, the row count and the seed, a folder for the generated dbt project.

    Returns:
        Read and write rates inside ``dbt run`` with their raw COPY references, the run's wall time, peak RSS.
    """
    create_source(ctx.target, ctx.rows, ctx.seed)
    copy_out, copy_in = raw_copy_limits(ctx.target, ctx.rows)
    project = write_project(ctx.workdir, ctx.target)
    run_dbt(project)  # warm-up: imports, first parse; the model builds its table once
    with measure() as usage:
        timings, wall = run_dbt(project)  # measured: a rebuild (backup/rename swap), as in daily runs
    with connect(ctx.target) as conn:
        written = conn.execute(f"select count(*) from {SCHEMA}.{MODEL}").fetchone()[0]
        same = conn.execute(
            f"select not exists (select * from {SCHEMA}.{SOURCE} except all select * from {SCHEMA}.{MODEL})"
        ).fetchone()[0]
    if written != ctx.rows or not same:
        raise EltError(f"the model wrote {written} rows (expected {ctx.rows}), identical to the source: {same}")
    read_rows, read_seconds = timings["read"]
    write_rows, write_seconds = timings["wrote"]
    shape = f"{ctx.rows:,} rows x 4 numeric columns"
    return [
        Measurement(READ_METRIC, ctx.rows / copy_out, "rows/s", READ_METRIC, note=f"psycopg, bytes only; {shape}"),
        Measurement(
            f"{NAME}.read",
            read_rows / read_seconds,
            "rows/s",
            READ_METRIC,
            note="dbt.source() in dbt run: binary COPY TO STDOUT (unscaled int8) + numpy decode to decimal128",
        ),
        Measurement(WRITE_METRIC, ctx.rows / copy_in, "rows/s", WRITE_METRIC, note="psycopg COPY FROM + COMMIT"),
        Measurement(
            f"{NAME}.write",
            write_rows / write_seconds,
            "rows/s",
            WRITE_METRIC,
            note="returned table in dbt run: checks, CREATE TABLE, binary COPY FROM STDIN (numpy-encoded numeric)",
        ),
        Measurement(f"{NAME}.dbt_run_seconds", wall, "s", note="whole dbt run (start-up, parse, swap, commit)"),
        Measurement(f"{NAME}.peak_rss", usage.peak_rss_bytes / MB, "MB", note="benchmark process running dbt"),
    ]


def micro(rows: int = 1_000_000, repeats: int = 3) -> list[tuple[str, float]]:
    """Best-of-``repeats`` seconds of the adapter's binary COPY encoding and decoding alone, in this process.

    Args:
        rows: Rows of the generated tables (4 numeric columns as in the benchmark; a text + NULLs variant).
        repeats: Runs per case; the fastest counts (the machine is shared).

    Returns:
        (case, seconds) pairs.
    """
    import numpy as np
    import pyarrow as pa
    from dbt.adapters.pgpython import binary_copy
    from dbt.adapters.pgpython.pg_types import PgType

    rng = np.random.default_rng(7)
    shapes = [(12, 2, 10**11), (12, 2, 2 * 10**6), (18, 6, 10**12), (12, 0, 10**12)]
    arrays = []
    for precision, scale, bound in shapes:
        words = np.zeros((rows, 2), dtype="<i8")
        words[:, 0] = rng.integers(-bound + 1, bound, rows)
        words[:, 1] = words[:, 0] >> 63
        arrays.append(pa.Array.from_buffers(pa.decimal128(precision, scale), rows, [None, pa.py_buffer(words)]))
    numbers = pa.table(arrays, names=list("abcd"))
    nulls = rng.random(rows) < 0.1
    mixed = numbers.set_column(0, "a", pa.array(arrays[0].to_numpy(zero_copy_only=False), mask=nulls)).append_column(
        "label", pa.array(np.char.add("row ", np.arange(rows).astype(str)).astype(object), mask=nulls)
    )
    # a stream as the read's COPY sends it: per numeric column one int8 (NULL: the smallest int8)
    fields = [("count", ">i2")] + [f for i in range(4) for f in ((f"len{i}", ">i4"), (f"value{i}", ">i8"))]
    stream_rows = np.zeros(rows, dtype=fields)
    stream_rows["count"] = 4
    for i, array in enumerate(arrays):
        stream_rows[f"len{i}"] = 8
        stream_rows[f"value{i}"] = np.frombuffer(array.buffers()[1], dtype="<i8")[::2]
    stream = memoryview(binary_copy.HEADER + stream_rows.tobytes() + binary_copy.TRAILER)
    types = [PgType(1700, f"numeric({p}, {s})", p, s) for p, s, _ in shapes]

    def encode(table: pa.Table) -> None:
        plan = binary_copy.plan_encode(table)
        assert plan is not None
        for _ in binary_copy.encode_chunks(table, plan):
            pass

    cases = {
        "encode 4 numeric columns (fixed-width blocks)": lambda: encode(numbers),
        "encode 4 numeric + text, 10% NULLs (Arrow-joined blocks)": lambda: encode(mixed),
        "decode 4 numeric columns": lambda: binary_copy.decode(stream, list("abcd"), types),
    }
    results = []
    for case, run_case in cases.items():
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            run_case()
            best = min(best, time.perf_counter() - start)
        results.append((case, best))
    return results


BENCHMARK = Benchmark(NAME, "dbt Python model reading and writing rows x 4 numeric columns (pgpython)", run)


if __name__ == "__main__":
    import sys

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    for case, seconds in micro(count):
        print(f"{case:58s} {seconds:6.3f} s  {count / seconds / 1e6:5.2f}M rows/s")
