"""Run the benchmarks against the warehouse, print the result table and write it as JSON.

Usage: ``python benchmarks/run.py [--rows 1000000] [--seed 42] [--only NAME ...] [--json PATH]``

The warehouse is the project's (``WAREHOUSE_URL`` when set, else the checkout's embedded server, started if
needed). Each benchmark gets a throwaway database on it, dropped afterwards, and a temporary folder.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the checkout importable as the `benchmarks` package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import benchmarks
from benchmarks.harness import (
    Benchmark,
    BenchmarkContext,
    Measurement,
    format_table,
    resolve_references,
    scratch_database,
    write_json,
)
from elt.connection import connect
from elt.errors import EltError
from elt.project import ProjectPaths
from elt.warehouse import Warehouse
from elt.warehouse_target import WarehouseTarget


def discover() -> dict[str, Benchmark]:
    """Every module of the ``benchmarks`` package that defines ``BENCHMARK``, in run order.

    A benchmark runs after those it ``needs`` (their metrics are its references); otherwise in module-name
    order, so that adding a benchmark is adding a module.
    """
    found: dict[str, Benchmark] = {}
    for module in sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__)):
        benchmark = getattr(importlib.import_module(f"benchmarks.{module}"), "BENCHMARK", None)
        if isinstance(benchmark, Benchmark):
            found[benchmark.name] = benchmark
    ordered: dict[str, Benchmark] = {}

    def place(name: str, path: tuple[str, ...] = ()) -> None:
        if name in path:
            raise ValueError(f"benchmarks need each other in a cycle: {' -> '.join((*path, name))}")
        if name not in ordered:
            for needed in found[name].needs:
                place(needed, (*path, name))
            ordered[name] = found[name]

    for name in found:
        place(name)
    return ordered


BENCHMARKS: dict[str, Benchmark] = discover()
RESULTS_DIR = Path(__file__).resolve().parent / "results"
SERVER_SETTINGS = (
    "server_version",
    "shared_buffers",
    "wal_level",
    "synchronous_commit",
    "fsync",
    "full_page_writes",
    "max_wal_size",
    "wal_compression",
)


def select(names: list[str] | None) -> list[Benchmark]:
    """The benchmarks to run, in registry order: ``names`` (all when None) plus what they need."""
    wanted = set(names or BENCHMARKS)
    pending = list(wanted)
    while pending:
        for needed in BENCHMARKS[pending.pop()].needs:
            if needed not in wanted:
                wanted.add(needed)
                pending.append(needed)
    return [b for name, b in BENCHMARKS.items() if name in wanted]


def run_benchmarks(target: WarehouseTarget, benchmarks: list[Benchmark], rows: int, seed: int) -> list[Measurement]:
    """Run each benchmark in its own throwaway database and temporary folder; return the resolved measurements."""
    measurements: list[Measurement] = []
    for benchmark in benchmarks:
        print(f"running {benchmark.name}: {benchmark.description} ...", file=sys.stderr, flush=True)
        with (
            scratch_database(target, benchmark.name) as database,
            tempfile.TemporaryDirectory(prefix=f"bench-{benchmark.name}-") as workdir,
        ):
            measurements += benchmark.run(BenchmarkContext(database, rows, seed, Path(workdir)))
    return resolve_references(measurements)


def describe_run(warehouse: Warehouse, benchmarks: list[Benchmark], rows: int, seed: int) -> dict[str, Any]:
    """What the numbers depend on: parameters, warehouse and its write-path settings, machine, commit."""
    with connect(warehouse.target) as conn:
        settings = {name: conn.execute(f"show {name}").fetchone()[0] for name in SERVER_SETTINGS}
    return {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rows": rows,
        "seed": seed,
        "benchmarks": [b.name for b in benchmarks],
        "warehouse": warehouse.target.describe(),
        "warehouse_url": warehouse.target.redacted_url(),
        "embedded": warehouse.embedded is not None,
        "server_settings": settings,
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
        },
        "git": _git_state(warehouse.paths.root),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=_positive_int, default=1_000_000, help="rows of the data set (1000000)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the generated data set (42)")
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHMARKS),
        metavar="NAME",
        help="run only NAME (repeatable): " + ", ".join(BENCHMARKS),
    )
    parser.add_argument("--json", type=Path, help="where to write the results (benchmarks/results/<timestamp>.json)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Bring the warehouse up, run the selected benchmarks, print the table, write the JSON; return the exit code."""
    args = parse_args(argv)
    benchmarks = select(args.only)
    try:
        warehouse = Warehouse.resolve(ProjectPaths.discover(Path(__file__).resolve().parent))
        for note in warehouse.up():
            print(note, file=sys.stderr)
        run_info = describe_run(warehouse, benchmarks, args.rows, args.seed)
        measurements = run_benchmarks(warehouse.target, benchmarks, args.rows, args.seed)
    except EltError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = write_json(args.json or RESULTS_DIR / f"{stamp}.json", run_info, measurements)
    settings = run_info["server_settings"]
    print(f"{args.rows:,} rows, seed {args.seed}, PostgreSQL {settings['server_version']}, {run_info['warehouse']}")
    print(format_table(measurements))
    print(f"\nwrote {path}")
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def _git_state(root: Path) -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.CalledProcessError):
        return {}


if __name__ == "__main__":
    sys.exit(main())
