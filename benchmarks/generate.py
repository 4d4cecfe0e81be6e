"""Deterministic synthetic transactions, generated in fixed-size chunks so memory stays flat for any row count.

Every column comes from its own seeded random stream, so the data depend only on ``seed`` and the row index:
the first ``k`` rows of an ``N``-row file equal a ``k``-row file, whatever the chunk size. ``transaction_id``
is a bijective 64-bit mix of the row index, hence unique by construction and in random order (like UUIDs,
the realistic and harder case for a primary-key index than ascending keys).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# (name, PostgreSQL type) of the generated columns, in CSV order; benchmarks create their tables from this.
TRANSACTION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("transaction_id", "text"),
    ("user_id", "integer"),
    ("total_cost", "numeric(12,2)"),
    ("dt", "date"),
)
CHUNK_ROWS = 50_000
USERS = 100_000
FIRST_DAY = np.datetime64("2024-01-01", "D")
DAYS = 731  # 2024-01-01 .. 2025-12-31
MAX_COST_CENTS = 10**12 - 1  # numeric(12,2) holds at most 9,999,999,999.99

_MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class TransactionChunk:
    """Rows ``start .. start + len(user_id) - 1`` of the data set, one numpy array per column."""

    start: int
    transaction_key: np.ndarray  # uint64; rendered as transaction_id by transaction_ids()
    user_id: np.ndarray  # int32
    total_cost_cents: np.ndarray  # int64, non-negative
    dt: np.ndarray  # datetime64[D]

    def __len__(self) -> int:
        return len(self.user_id)

    def transaction_ids(self) -> list[str]:
        """The ``transaction_id`` text values (``txn_`` + 16 hex digits)."""
        return [f"txn_{key:016x}" for key in self.transaction_key.tolist()]


@dataclass(frozen=True)
class GeneratedCsv:
    """A CSV file written by :func:`write_csv`."""

    path: Path
    rows: int
    size_bytes: int


def generate_chunks(rows: int, seed: int, chunk_rows: int = CHUNK_ROWS) -> Iterator[TransactionChunk]:
    """Yield the ``rows`` transactions of data set ``seed`` in chunks of at most ``chunk_rows`` rows.

    Args:
        rows: Number of rows in total (0 yields nothing).
        seed: Seed of the data set; the same seed always gives the same rows.
        chunk_rows: Rows per chunk; affects memory use only, never the data.

    Yields:
        Consecutive chunks covering rows ``0 .. rows - 1``.
    """
    if rows < 0 or chunk_rows < 1:
        raise ValueError(f"need rows >= 0 and chunk_rows >= 1 (got rows={rows}, chunk_rows={chunk_rows})")
    user_rng, cost_rng, day_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    key_offset = np.uint64(_splitmix64(seed))
    for start in range(0, rows, chunk_rows):
        n = min(chunk_rows, rows - start)
        index = np.arange(start, start + n, dtype=np.uint64)
        cost = np.rint(cost_rng.lognormal(mean=3.0, sigma=1.0, size=n) * 100)
        yield TransactionChunk(
            start=start,
            transaction_key=_mix64(index + key_offset),
            user_id=user_rng.integers(1, USERS + 1, size=n, dtype=np.int32),
            total_cost_cents=np.minimum(cost, MAX_COST_CENTS).astype(np.int64),
            dt=FIRST_DAY + day_rng.integers(0, DAYS, size=n),
        )


def write_csv(path: Path, rows: int, seed: int, chunk_rows: int = CHUNK_ROWS) -> GeneratedCsv:
    """Write the data set as CSV with a header line, streaming chunk by chunk.

    Args:
        path: File to create or overwrite.
        rows: Number of data rows.
        seed: Seed of the data set (see :func:`generate_chunks`).
        chunk_rows: Rows formatted and written at a time.

    Returns:
        The written file, its row count and its size.
    """
    with path.open("w", encoding="ascii", newline="") as out:
        out.write(",".join(name for name, _ in TRANSACTION_COLUMNS) + "\n")
        for chunk in generate_chunks(rows, seed, chunk_rows):
            out.write(_format_chunk(chunk))
    return GeneratedCsv(path=path, rows=rows, size_bytes=path.stat().st_size)


def _format_chunk(chunk: TransactionChunk) -> str:
    days = np.datetime_as_string(chunk.dt, unit="D").tolist()
    whole, cents = np.divmod(chunk.total_cost_cents, 100)
    return "".join(
        f"{tid},{user},{w}.{c:02d},{day}\n"
        for tid, user, w, c, day in zip(
            chunk.transaction_ids(), chunk.user_id.tolist(), whole.tolist(), cents.tolist(), days, strict=True
        )
    )


def _mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijection of uint64 (every step is invertible), so distinct in, distinct out."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _splitmix64(value: int) -> int:
    """Scalar :func:`_mix64` of ``value`` (any int, reduced mod 2**64)."""
    return int(_mix64(np.array([value & _MASK64], dtype=np.uint64))[0])
