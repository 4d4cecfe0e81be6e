"""A throwaway dbt project for benchmarks of Python models (profile type pgpython) and running it in-process.

The project has one source schema, builds every model as a table into that same schema (no prefix), and
connects as the benchmark's database. Benchmarks add their model files under ``models/``.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elt.errors import EltError
from elt.warehouse_target import WarehouseTarget

# the pgpython adapter's log line of each read (dbt.ref/dbt.source) and write of a Python model
ADAPTER_IO_LINE = re.compile(r"pgpython: (read|wrote) (\d+) rows x \d+ columns of .* in ([0-9.]+) s")


@dataclass(frozen=True)
class DbtRun:
    """A successful in-process ``dbt run``: dbt's result, the log messages and the wall time."""

    result: Any
    messages: list[str]
    seconds: float

    def adapter_io(self) -> dict[str, tuple[int, float]]:
        """``{"read" | "wrote": (rows, seconds)}`` from the adapter's log lines (the last of each kind)."""
        return {
            match[1]: (int(match[2]), float(match[3]))
            for message in self.messages
            if (match := ADAPTER_IO_LINE.search(message))
        }

    def node_seconds(self, model: str) -> float:
        """Execution time of ``model``'s node."""
        [node] = [r for r in self.result.results if r.node.name == model]
        return float(node.execution_time)


def write_scratch_project(workdir: Path, target: WarehouseTarget, schema: str, source: str) -> Path:
    """Create ``workdir/project``: dbt_project.yml, profiles.yml, the source ``schema.source``; return its path."""
    project = workdir / "project"
    (project / "models").mkdir(parents=True)
    (project / "macros").mkdir()
    (project / "dbt_project.yml").write_text(
        "name: bench\nversion: '1.0'\nconfig-version: 2\nprofile: bench\n"
        "flags:\n  send_anonymous_usage_stats: false\n"
        f"models:\n  bench:\n    +materialized: table\n    +schema: {schema}\n"
    )
    (project / "macros" / "schema.sql").write_text(
        "{% macro generate_schema_name(custom_schema_name, node) %}{{ custom_schema_name or target.schema }}"
        "{% endmacro %}\n"
    )
    (project / "models" / "sources.yml").write_text(
        f"version: 2\nsources:\n  - name: {schema}\n    schema: {schema}\n    tables:\n      - name: {source}\n"
    )
    (project / "profiles.yml").write_text(
        "bench:\n  target: bench\n  outputs:\n    bench:\n      type: pgpython\n"
        f"      host: '{target.host}'\n      port: {target.port}\n      user: '{target.user}'\n"
        f"      password: '{target.password}'\n      dbname: '{target.dbname}'\n      schema: {schema}\n"
        "      threads: 1\n"
    )
    return project


def run_dbt(project: Path) -> DbtRun:
    """``dbt run`` of ``project`` in this process; raise EltError when it fails."""
    from dbt.cli.main import dbtRunner

    messages: list[str] = []
    runner = dbtRunner(callbacks=[lambda event: messages.append(event.info.msg)])
    start = time.perf_counter()
    result = runner.invoke(
        ["run", "--project-dir", str(project), "--profiles-dir", str(project), "--log-level", "none"]
    )
    seconds = time.perf_counter() - start
    if not result.success:
        raise EltError(f"dbt run of the benchmark project failed: {result.exception or result.result}")
    return DbtRun(result.result, messages, seconds)
