"""What every benchmark shares: records, result table and JSON, resource measurement, throwaway databases.

A benchmark is a :class:`Benchmark`: a name and a function from a :class:`BenchmarkContext` (a fresh database,
the row count, the seed, a scratch folder) to a list of :class:`Measurement`. A measurement may name another
metric as its reference (typically the raw keyed ``COPY`` rows/s of :mod:`benchmarks.raw_copy`);
:func:`resolve_references` fills in that metric's value from the same run, and ``ratio = value / reference``.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from psycopg import errors, sql

from benchmarks import child_peak
from elt.bootstrap import MAINTENANCE_DATABASE
from elt.connection import connect
from elt.errors import EltError
from elt.warehouse_target import WarehouseTarget

MB = 1_000_000  # the "MB" unit of the table is 10**6 bytes
CHILD_PEAK = Path(child_peak.__file__)


@dataclass(frozen=True)
class Measurement:
    """One measured value; ``reference_metric`` names the metric it is compared with (itself for a baseline)."""

    metric: str
    value: float
    unit: str
    reference_metric: str | None = None
    reference: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """``value / reference``, or None when there is no (non-zero) reference."""
        if self.reference is None or self.reference == 0:
            return None
        return self.value / self.reference

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, including the ratio."""
        return {**asdict(self), "ratio": self.ratio}


@dataclass(frozen=True)
class BenchmarkContext:
    """What a benchmark runs with: a fresh, empty database it may fill, and a scratch folder for files."""

    target: WarehouseTarget
    rows: int
    seed: int
    workdir: Path


@dataclass(frozen=True)
class Benchmark:
    """A named benchmark; ``needs`` lists benchmarks whose metrics its references use (run first)."""

    name: str
    description: str
    run: Callable[[BenchmarkContext], list[Measurement]]
    needs: tuple[str, ...] = ()


@dataclass
class Usage:
    """Wall time and peak resident memory of a measured stretch (filled when it ends)."""

    seconds: float = 0.0
    peak_rss_bytes: int = 0
    peak_rss_exact: bool = True  # False: the process's lifetime peak (an upper bound), not the stretch's


@dataclass(frozen=True)
class ChildRun:
    """Outcome of :func:`run_child`.

    ``peak_rss_bytes`` is the child's own peak as it reported it at exit (None when it did not exit normally);
    ``peak_rss_exact`` is False when that came from the ``ru_maxrss`` fallback (no ``/proc``: macOS).
    """

    argv: tuple[str, ...]
    returncode: int
    seconds: float
    peak_rss_bytes: int | None
    peak_rss_exact: bool
    stdout: str
    stderr: str

    @property
    def peak_rss_note(self) -> str:
        """Where the peak comes from, for a measurement's note."""
        return "own VmHWM at exit" if self.peak_rss_exact else "own ru_maxrss at exit (no /proc: not verified)"


def resolve_references(measurements: Iterable[Measurement]) -> list[Measurement]:
    """Fill ``reference`` from the value of the metric named by ``reference_metric``, when measured in this run.

    Args:
        measurements: Measurements of one run, in order.

    Returns:
        The same measurements, in order; a reference to a metric absent from the run stays None.
    """
    measurements = list(measurements)
    values = {m.metric: m.value for m in measurements}
    return [
        replace(m, reference=values[m.reference_metric]) if m.reference is None and m.reference_metric in values else m
        for m in measurements
    ]


def format_number(value: float | None) -> str:
    """Thousands-separated; whole numbers from 1000 up, two decimals below; ``-`` for None."""
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.2f}"


def format_table(measurements: Sequence[Measurement]) -> str:
    """Render the measurements as an aligned text table with columns metric, value, unit, reference, ratio.

    Args:
        measurements: Rows of the table, in order (references resolved, see :func:`resolve_references`).

    Returns:
        The table, one line per row after a header and a rule, without a trailing newline.
    """
    header = ("metric", "value", "unit", "reference", "ratio")
    rows = [
        (
            m.metric,
            format_number(m.value),
            m.unit,
            "" if m.reference is None else format_number(m.reference),
            "" if m.ratio is None else f"{m.ratio:.2f}",
        )
        for m in measurements
    ]
    widths = [max(len(line[i]) for line in (header, *rows)) for i in range(len(header))]
    right = (False, True, False, True, True)

    def render(cells: Sequence[str]) -> str:
        parts = (c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True))
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([render(header), rule, *(render(row) for row in rows)])


def write_json(path: Path, run_info: Mapping[str, Any], measurements: Sequence[Measurement]) -> Path:
    """Write ``{"run": run_info, "measurements": [...]}`` to ``path`` (creating its folder); return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"run": dict(run_info), "measurements": [m.to_dict() for m in measurements]}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return path


@contextmanager
def measure() -> Iterator[Usage]:
    """Measure wall time and peak RSS of this process over the ``with`` block.

    On Linux the peak is reset at the start (``/proc/self/clear_refs``), so it is the block's own peak;
    elsewhere it is the process's lifetime peak and ``peak_rss_exact`` is False. Do not nest: an inner
    block resets the peak the outer one is measuring.

    Yields:
        A :class:`Usage`, filled in when the block exits.
    """
    usage = Usage(peak_rss_exact=_reset_peak_rss())
    start = time.perf_counter()
    try:
        yield usage
    finally:
        usage.seconds = time.perf_counter() - start
        usage.peak_rss_bytes = _own_peak_rss_bytes()


def interleaved_best_times(
    alternatives: Sequence[tuple[Callable[[], Any], int]], rounds: int
) -> list[tuple[float, Any]]:
    """Time alternatives in interleaved rounds; per alternative the shortest wall time and its last result.

    In each of ``rounds`` rounds every alternative runs its ``count`` times in turn, so a busy spell of a shared
    machine slows all of them rather than only the one that happened to run then.

    Args:
        alternatives: ``(call, count)`` pairs: what to time, and how many times per round.
        rounds: Number of rounds.

    Returns:
        ``(best seconds, result of the last call)`` per alternative, in order.
    """
    best = [float("inf")] * len(alternatives)
    results: list[Any] = [None] * len(alternatives)
    for _ in range(rounds):
        for index, (call, count) in enumerate(alternatives):
            for _ in range(count):
                start = time.perf_counter()
                results[index] = call()
                best[index] = min(best[index], time.perf_counter() - start)
    return list(zip(best, results, strict=True))


def run_child(
    argv: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None, check: bool = True
) -> ChildRun:
    """Run a Python program in a child process and measure its wall time and its own peak RSS.

    The child runs under :mod:`benchmarks.child_peak`, which reports the process's own ``VmHWM`` at exit: the
    ``ru_maxrss`` that ``wait4`` returns is not the child's on Linux (it carries this process's high-water mark
    across fork and exec). Descendants of the child are not included.

    Args:
        argv: ``[python, "-c", code, ...]``, ``[python, "-m", module, ...]``, ``[python, script, ...]`` or
            ``[script, ...]`` (e.g. a console script such as ``dbt``); ``python`` is any interpreter (a file
            named ``python*``), the child runs on this process's.
        env: Full environment of the child (default: this process's).
        cwd: Working folder of the child.
        check: Raise EltError, with the child's stderr tail, when it exits non-zero. A child that exits with 0
            but reports no peak always raises.

    Returns:
        Exit code, seconds, peak RSS in bytes and the captured output.
    """
    program = list(argv[1:]) if Path(argv[0]).name.startswith("python") else list(argv)
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        report = Path(folder) / "peak_rss"
        start = time.perf_counter()
        returncode = subprocess.run(
            [sys.executable, str(CHILD_PEAK), str(report), *program],
            stdout=out,
            stderr=err,
            env=None if env is None else dict(env),
            cwd=cwd,
            check=False,
        ).returncode
        seconds = time.perf_counter() - start
        peak, source = _reported_peak(report)
        out.seek(0)
        err.seek(0)
        result = ChildRun(
            argv=tuple(argv),
            returncode=returncode,
            seconds=seconds,
            peak_rss_bytes=peak,
            peak_rss_exact=source == child_peak.VM_HWM,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )
    if check and result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-20:])
        raise EltError(f"{' '.join(argv)} exited with {result.returncode}:\n{tail}")
    if result.returncode == 0 and result.peak_rss_bytes is None:
        raise EltError(f"{' '.join(argv)} exited without reporting its peak RSS (through os._exit?)")
    return result


def _reported_peak(report: Path) -> tuple[int | None, str | None]:
    """The ``(bytes, source)`` a child wrote through :mod:`benchmarks.child_peak`, or ``(None, None)``."""
    try:
        peak, source = report.read_text().split()
    except (OSError, ValueError):
        return None, None
    return int(peak), source


@contextmanager
def scratch_database(server: WarehouseTarget, label: str) -> Iterator[WarehouseTarget]:
    """Create an empty database on ``server``'s server for one benchmark and drop it afterwards.

    Args:
        server: Any database of the server; only its connection parameters are used.
        label: Part of the database name (``bench_<label>_<random>``), to recognise leftovers.

    Yields:
        The target of the new database.
    """
    safe_label = "".join(ch if ch.isalnum() else "_" for ch in label.lower())[:40]
    target = server.with_database(f"bench_{safe_label}_{secrets.token_hex(4)}")
    name = sql.Identifier(target.dbname)
    with connect(server.with_database(MAINTENANCE_DATABASE)) as conn:
        try:
            conn.execute(sql.SQL("create database {}").format(name))
        except errors.InsufficientPrivilege:
            raise EltError(
                f"user {server.user!r} may not create databases: benchmarks need a throwaway database each"
            ) from None
    try:
        yield target
    finally:
        with connect(server.with_database(MAINTENANCE_DATABASE)) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(name))


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return child_peak.own_peak_rss()[1] == child_peak.VM_HWM


def _own_peak_rss_bytes() -> int:
    return child_peak.own_peak_rss()[0]
