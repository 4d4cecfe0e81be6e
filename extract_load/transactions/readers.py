"""Read a transaction file (CSV, JSONL or Parquet, gzip too) as batches of raw text columns.

Readers never guess: every value stays the text the file holds (bytes for CSV, so that invalid UTF-8 is
caught per record, not per file) and validation happens in one place (``validation``). A record the
parser cannot even split into fields (a ragged CSV row, a broken JSON line) comes back as a ``Reject``.
Problems with the whole file raise ``FileRejectedError``.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from extract_load.transactions.contract import REQUIRED_COLUMNS, TOTAL_COST, TRANSACTION_ID, USER_ID
from extract_load.transactions.errors import FileRejectedError
from extract_load.transactions.header import column_identifier, header_identifiers, reject_collisions

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
BATCH_ROWS = 65_536
CSV_BLOCK_BYTES = 2 << 20  # the streaming CSV reader holds many times its block size: small blocks keep memory flat
WHOLE_RECORD = "*"


@dataclass(frozen=True)
class Reject:
    """One quarantined record: where it is, which field broke which rule, and its raw text."""

    row_number: int
    field: str
    reason: str
    raw_record: str


@dataclass
class RawBatch:
    """Raw text columns (``binary`` or ``string`` arrays) of consecutive records, with their row numbers."""

    columns: dict[str, pa.Array]
    row_numbers: np.ndarray
    rejects: list[Reject] = field(default_factory=list)

    @property
    def num_rows(self) -> int:
        """Number of records in the batch (rejected-while-parsing records excluded)."""
        return len(self.row_numbers)


def detect_format(path: str) -> tuple[str, bool] | None:
    """``(format, gzipped)`` from the file name, or None for files that are not transaction drops."""
    name = path.lower()
    gzipped = name.endswith(".gz")
    if gzipped:
        name = name[:-3]
    for suffix, file_format in FORMATS.items():
        if name.endswith(suffix):
            return file_format, gzipped
    return None


def read_raw_batches(stream: BinaryIO, file_format: str, gzipped: bool) -> Iterator[RawBatch]:
    """Yield the file's records as raw batches; raise FileRejectedError for whole-file problems."""
    if gzipped:
        stream = gzip.GzipFile(fileobj=stream, mode="rb")
    readers = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet}
    try:
        yield from readers[file_format](stream)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise FileRejectedError(f"truncated or corrupt gzip stream ({exc})") from None


def _read_csv(stream: BinaryIO) -> Iterator[RawBatch]:
    head = stream.read(CSV_BLOCK_BYTES)
    if not head.strip():
        raise FileRejectedError("empty file: no header line")
    header_line = head.split(b"\n", 1)[0]
    if b"\r" in header_line:
        header_line = header_line.split(b"\r", 1)[0]
    try:
        header = next(csv.reader([header_line.decode("utf-8")]))
    except UnicodeDecodeError:
        raise FileRejectedError("the header line is not valid UTF-8") from None
    hint = " (the delimiter must be ',')" if len(header) == 1 and any(sep in header[0] for sep in ";\t|") else ""
    names = header_identifiers(header, hint)

    skipped: list[tuple[int, str, str]] = []

    def on_invalid_row(row: pacsv.InvalidRow) -> str:
        number = (row.number - 1) if row.number is not None else -(len(skipped) + 1)
        reason = f"expected {row.expected_columns} fields, found {row.actual_columns}"
        skipped.append((number, row.text or "", reason))
        return "skip"

    reader = pacsv.open_csv(
        _Prefixed(head, stream),
        read_options=pacsv.ReadOptions(use_threads=False, block_size=CSV_BLOCK_BYTES, column_names=names, skip_rows=1),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid_row),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.binary() for name in names},
            null_values=[],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    numbering = _RecordNumbering()
    try:
        for batch in reader:
            fresh, skipped[:] = list(skipped), []
            rows = numbering.assign(batch.num_rows, [number for number, _, _ in fresh])
            rejects = [Reject(number, WHOLE_RECORD, reason, text) for number, text, reason in fresh]
            yield RawBatch({name: batch.column(name) for name in names}, rows, rejects)
    except pa.ArrowInvalid as exc:
        raise FileRejectedError(f"CSV cannot be parsed: {exc}") from None
    if skipped:
        yield RawBatch(
            {name: pa.array([], pa.binary()) for name in names},
            np.empty(0, np.int64),
            [Reject(number, WHOLE_RECORD, reason, text) for number, text, reason in skipped],
        )


class _RecordNumbering:
    """1-based record numbers of the rows a CSV reader returns, skipping records it rejected.

    The reader parses ahead, so a rejected record can be reported before the batch holding the records
    in front of it: rejected numbers are remembered until the numbering has passed them.
    """

    def __init__(self) -> None:
        self._next = 1
        self._skipped: set[int] = set()

    def assign(self, count: int, skipped: list[int]) -> np.ndarray:
        self._skipped.update(number for number in skipped if number >= self._next)
        candidates = np.arange(self._next, self._next + count + len(self._skipped), dtype=np.int64)
        if self._skipped:
            candidates = candidates[~np.isin(candidates, np.fromiter(self._skipped, dtype=np.int64))]
        numbers = candidates[:count]
        self._next = int(numbers[-1]) + 1 if count else self._next
        self._skipped = {number for number in self._skipped if number >= self._next}
        return numbers


class _Prefixed(io.RawIOBase):
    """A stream that first returns ``head`` (already read to find the header) and then the rest."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        chunk = self._rest.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def _read_jsonl(stream: BinaryIO) -> Iterator[RawBatch]:
    columns: dict[str, list[str | None]] = {}
    identifiers: dict[str, str] = {}
    rows: list[int] = []
    rejects: list[Reject] = []
    seen_any = False
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        seen_any = True
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            reason = "invalid UTF-8" if _is_invalid_utf8(line) else f"broken JSON line ({exc})"
            rejects.append(Reject(number, WHOLE_RECORD, reason, line.decode("utf-8", "backslashreplace").rstrip()))
            continue
        if not isinstance(record, dict):
            rejects.append(Reject(number, WHOLE_RECORD, "a line must hold a JSON object", line.decode().rstrip()))
            continue
        for key in record.keys() - identifiers.keys():
            identifiers[key] = column_identifier(key, len(identifiers) + 1)
            reject_collisions(identifiers.items())
            columns[identifiers[key]] = [None] * len(rows)
        values_by_identifier = {identifiers[key]: value for key, value in record.items()}
        for name, values in columns.items():
            values.append(_as_text(values_by_identifier.get(name)))
        rows.append(number)
        if len(rows) >= BATCH_ROWS:
            yield _jsonl_batch(columns, rows, rejects)
            columns, rows, rejects = {name: [] for name in columns}, [], []
    if not seen_any:
        raise FileRejectedError("empty file: no JSON lines")
    if rows or rejects:
        yield _jsonl_batch(columns, rows, rejects)


def _jsonl_batch(columns: dict[str, list[str | None]], rows: list[int], rejects: list[Reject]) -> RawBatch:
    for name in REQUIRED_COLUMNS:
        columns.setdefault(name, [None] * len(rows))
    arrays = {name: pa.array(values, pa.string()) for name, values in columns.items()}
    return RawBatch(arrays, np.asarray(rows, dtype=np.int64), rejects)


def _as_text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    return orjson.dumps(value).decode()


def _is_invalid_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


_PARQUET_KINDS = {
    TRANSACTION_ID: (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer),
    USER_ID: (pa.types.is_integer,),
    TOTAL_COST: (pa.types.is_decimal, pa.types.is_integer, pa.types.is_floating),
    "dt": (pa.types.is_date, pa.types.is_string, pa.types.is_large_string),
}


def _read_parquet(stream: BinaryIO) -> Iterator[RawBatch]:
    try:
        parquet = pq.ParquetFile(stream)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FileRejectedError(f"not a readable Parquet file ({exc})") from None
    schema = parquet.schema_arrow
    names = header_identifiers(schema.names)
    for name, original in zip(names, schema.names, strict=True):
        kinds = _PARQUET_KINDS.get(name)
        if kinds and not any(kind(schema.field(original).type) for kind in kinds):
            raise FileRejectedError(
                f"column {name} has Parquet type {schema.field(original).type}, incompatible with the contract", name
            )
    next_row = 1
    try:
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            arrays = {name: _parquet_text(batch.column(i)) for i, name in enumerate(names)}
            rows = np.arange(next_row, next_row + batch.num_rows, dtype=np.int64)
            next_row += batch.num_rows
            yield RawBatch(arrays, rows)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FileRejectedError(f"Parquet data cannot be read ({exc})") from None


def _parquet_text(column: pa.Array) -> pa.Array:
    if pa.types.is_nested(column.type):
        return pa.array([None if v is None else orjson.dumps(v).decode() for v in column.to_pylist()], pa.string())
    if pa.types.is_date(column.type):
        return column.cast(pa.date32()).cast(pa.string())
    return column.cast(pa.string())
