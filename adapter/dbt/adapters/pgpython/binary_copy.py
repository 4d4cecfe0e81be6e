"""Binary ``COPY`` for :mod:`arrow_io`: fixed-width reads decoded with numpy, writes encoded with numpy and Arrow.

PostgreSQL's binary COPY rows are a field count, then per field a length (-1 for NULL) and the value's bytes.

- Reading: columns of type boolean, smallint, integer, bigint, real, double precision, ``numeric(p, s)`` with
  p <= 18, date, timestamp and timestamptz are selected as fixed-width values, so every row has the same size
  and the whole stream is one numpy structured array (no per-row Python work). Numerics arrive as their
  unscaled ``int8`` and dates as days since 2000, NULL as a sentinel no value can take (the smallest int8/int4);
  other types are selected with ``coalesce`` plus an ``is null`` flag.
- Writing (:func:`plan_encode`, :func:`encode_chunks`): booleans, integers, floats, ``decimal128`` with
  precision <= 18 (PostgreSQL's base-10000 numeric format with a fixed digit count, which the server
  normalises), ``date32``, timestamps in whole microseconds and strings, NULLs included, in blocks of a few MB.
  A block without NULLs or text is one numpy byte matrix; otherwise Arrow joins per-row length and value
  pieces (``binary_join_element_wise``).

Anything else (times, wider decimals, nanosecond remainders, nested types, ...) goes through the CSV path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from dbt.adapters.pgpython.pg_types import (
    BOOL,
    DATE,
    FLOAT4,
    FLOAT8,
    INT2,
    INT4,
    INT8,
    NUMERIC,
    TIMESTAMP,
    TIMESTAMPTZ,
    PgType,
    decimal_type,
)

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER = SIGNATURE + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
MAX_BINARY_NUMERIC_DIGITS = 18  # unscaled values fit an int64
DAYS_1970_TO_2000 = 10_957
MICROS_1970_TO_2000 = 946_684_800_000_000
_SQL_NAME = {INT2: "int2", INT4: "int4", INT8: "int8", FLOAT4: "float4", FLOAT8: "float8"}
INT64_MIN, INT32_MIN = -(2**63), -(2**31)
_INFINITE_MICROS = (INT64_MIN, 2**63 - 1)
_READ_WIDTH = {BOOL: ">u1", INT2: ">i2", INT4: ">i4", INT8: ">i8", FLOAT4: ">f4", FLOAT8: ">f8", DATE: ">i4"}


def readable(pg: PgType) -> bool:
    """True when a column of this type can be read through the fixed-width binary path."""
    if pg.oid == NUMERIC:
        return pg.constrained_numeric and (pg.precision or 0) <= MAX_BINARY_NUMERIC_DIGITS and (pg.scale or 0) >= 0
    return pg.oid in _READ_WIDTH or pg.oid in (TIMESTAMP, TIMESTAMPTZ)


def _null_sentinel(pg: PgType) -> int | None:
    """The value standing for NULL where no real value can take it (numeric(p <= 18) scaled, days since 2000)."""
    if pg.oid == NUMERIC:
        return INT64_MIN  # |unscaled| < 10**18
    if pg.oid == DATE:
        return INT32_MIN  # PostgreSQL dates span -2451545 .. 2145031948 days from 2000-01-01
    return None


def read_select(pg: PgType, col: str) -> list[str]:
    """The fixed-width expressions selected for a column: its value, and its null flag unless NULL has a sentinel."""
    if pg.oid == NUMERIC:
        scaled = f"{col}::int8" if not pg.scale else f"({col} * 1e{pg.scale})::int8"
        return [f"coalesce({scaled}, {INT64_MIN})"]
    if pg.oid == DATE:
        return [f"coalesce({col} - date '2000-01-01', {INT32_MIN})"]
    if pg.oid == BOOL:
        value = f"coalesce({col}, false)"
    elif pg.oid in (TIMESTAMP, TIMESTAMPTZ):
        value = f"coalesce({col}, 'epoch')"
    else:  # the cast keeps the width: coalesce(smallint, 0) would be an integer
        value = f"coalesce({col}, 0)::{_SQL_NAME[pg.oid]}"
    return [value, f"({col} is null)"]


def decode(data: memoryview, names: Sequence[str], types: Sequence[PgType]) -> pa.Table:
    """Decode a binary COPY stream of :func:`read_select` expressions into an Arrow table."""
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i, pg in enumerate(types):
        width = ">i8" if pg.oid in (NUMERIC, TIMESTAMP, TIMESTAMPTZ) else _READ_WIDTH[pg.oid]
        fields += [(f"len{i}", ">i4"), (f"value{i}", width)]
        if _null_sentinel(pg) is None:
            fields += [(f"nlen{i}", ">i4"), (f"null{i}", ">u1")]
    row = np.dtype(fields)
    if bytes(data[: len(SIGNATURE)]) != SIGNATURE or bytes(data[11:19]) != b"\x00" * 8:
        raise ValueError("unexpected binary COPY header")
    body = len(data) - len(HEADER) - len(TRAILER)
    if body % row.itemsize:
        raise ValueError("binary COPY stream does not have the expected fixed-width rows")
    rows = np.frombuffer(data, dtype=row, count=body // row.itemsize, offset=len(HEADER))
    arrays = []
    for i, (name, pg) in enumerate(zip(names, types, strict=True)):
        values = rows[f"value{i}"].astype(rows[f"value{i}"].dtype.newbyteorder("="))
        sentinel = _null_sentinel(pg)
        nulls = rows[f"null{i}"].astype(bool) if sentinel is None else values == sentinel
        if sentinel is not None and nulls.any():
            values[nulls] = 0  # no sentinel left under the validity mask
        arrays.append(_to_arrow(values, nulls, pg, name))
    return pa.table(arrays, names=list(names))


def _to_arrow(values: np.ndarray, nulls: np.ndarray, pg: PgType, name: str) -> pa.Array:
    mask = nulls if nulls.any() else None
    if pg.oid == BOOL:
        return pa.array(values.astype(bool), mask=mask)
    if pg.oid == NUMERIC:
        unscaled = np.empty((len(values), 2), dtype="<i8")
        unscaled[:, 0] = values
        unscaled[:, 1] = values >> 63  # sign extension: the high word of a 128-bit two's complement
        validity = None if mask is None else pa.array(~nulls).buffers()[1]
        dtype = decimal_type(pg.precision or 1, pg.scale or 0)
        return pa.Array.from_buffers(dtype, len(values), [validity, pa.py_buffer(unscaled)])
    if pg.oid == DATE:
        return pa.array((values + DAYS_1970_TO_2000).astype(np.int32), mask=mask).cast(pa.date32())
    if pg.oid in (TIMESTAMP, TIMESTAMPTZ):
        if np.isin(values[~nulls], _INFINITE_MICROS).any():
            raise ValueError(f"column {name!r}: infinite timestamps have no Arrow value; filter them in SQL")
        arrow_type = pa.timestamp("us", tz="UTC" if pg.oid == TIMESTAMPTZ else None)
        return pa.array(values + MICROS_1970_TO_2000, mask=mask).cast(arrow_type)
    return pa.array(values, mask=mask)


# --- writing -------------------------------------------------------------------------------------------------

CHUNK_BYTES = 4 << 20  # payload bytes per chunk handed to COPY: bounded memory, the server parses meanwhile
_NUMPY_WIDTH = {
    pa.bool_(): "u1",
    pa.int8(): ">i2",
    pa.uint8(): ">i2",
    pa.int16(): ">i2",
    pa.uint16(): ">i4",
    pa.int32(): ">i4",
    pa.uint32(): ">i8",
    pa.int64(): ">i8",
    pa.float32(): ">f4",
    pa.float64(): ">f8",
}
_NOTHING = pa.scalar(b"", pa.large_binary())


@dataclass(frozen=True)
class _ColumnEncoding:
    """How one column is written: fixed-width values (``width`` bytes, from ``values``) or text (width 0)."""

    width: int
    values: Callable[[pa.Array], np.ndarray] | None  # chunk without NULLs -> (rows, width) big-endian bytes


def plan_encode(table: pa.Table) -> list[_ColumnEncoding] | None:
    """Per column, how :func:`encode_chunks` writes it; None when a column needs the CSV path.

    Fixed-width types (booleans, integers, floats, ``decimal128`` with precision <= 18, ``date32``, timestamps
    whose values fit microseconds) and strings have a binary encoding; NULLs are sent as field length -1.
    Anything else (times, wider decimals, nested types, nanosecond remainders, ...) returns None.
    """
    plan = []
    for column in table.columns:
        encoding = _column_encoding(column)
        if encoding is None:
            return None
        plan.append(encoding)
    return plan


def encode_chunks(table: pa.Table, plan: Sequence[_ColumnEncoding], chunk_rows: int | None = None) -> Iterator[bytes]:
    """Yield the table as a binary COPY stream (header, rows, trailer), one block of rows at a time.

    Args:
        table: The rows to write, with columns as planned by :func:`plan_encode`.
        plan: :func:`plan_encode`'s result for ``table``.
        chunk_rows: Rows per block; by default about :data:`CHUNK_BYTES` of payload per block.

    Yields:
        Consecutive pieces of the stream (the first starts with the header, the last ends with the trailer).
    """
    if chunk_rows is None:
        row_bytes = 2 + sum(4 + encoding.width for encoding in plan)
        if any(encoding.values is None for encoding in plan):  # text: its average length per row
            row_bytes += table.nbytes // max(table.num_rows, 1)
        chunk_rows = max(1024, CHUNK_BYTES // row_bytes)
    prefix = HEADER
    for batch in table.to_batches(max_chunksize=chunk_rows):
        if batch.num_rows:
            yield prefix + _encode_batch(batch, plan)
            prefix = b""
    yield prefix + TRAILER


def _encode_batch(batch: pa.RecordBatch, plan: Sequence[_ColumnEncoding]) -> bytes:
    n = batch.num_rows
    count = np.array([batch.num_columns], dtype=">i2").view(np.uint8)
    if all(e.values is not None for e in plan) and not any(c.null_count for c in batch.columns):
        # every row has the same width: one byte matrix, filled column by column
        row = np.empty((n, 2 + sum(4 + e.width for e in plan)), dtype=np.uint8)
        row[:, :2] = count
        position = 2
        for encoding, array in zip(plan, batch.columns, strict=True):
            row[:, position : position + 4] = np.array([encoding.width], dtype=">i4").view(np.uint8)
            row[:, position + 4 : position + 4 + encoding.width] = encoding.values(array)  # type: ignore[misc]
            position += 4 + encoding.width
        return row.tobytes()
    # NULLs or text: per column a length piece and a value piece, joined row by row by Arrow
    pieces: list[pa.Array | pa.Scalar] = [pa.scalar(count.tobytes(), pa.large_binary())]
    for encoding, array in zip(plan, batch.columns, strict=True):
        nulls = array.is_null().to_numpy(zero_copy_only=False) if array.null_count else None
        if encoding.values is None:  # text: length-prefixed UTF-8 bytes
            if pa.types.is_null(array.type):
                lengths = np.full(n, -1)
            else:
                lengths = pc.binary_length(array).to_numpy(zero_copy_only=False)
                lengths = np.where(nulls, -1, lengths) if nulls is not None else lengths
            pieces.append(_fixed_binary(lengths.astype(">i4").view(np.uint8).reshape(n, 4)))
            pieces.append(array.cast(pa.large_binary()))
            continue
        filled = array if nulls is None else array.fill_null(_zero(array.type))
        values = encoding.values(filled)
        if nulls is None:
            lengths = np.broadcast_to(np.array([encoding.width], dtype=">i4").view(np.uint8), (n, 4))
            pieces.append(_fixed_binary(np.concatenate([lengths, values], axis=1)))
            continue
        lengths = np.where(nulls, -1, encoding.width).astype(">i4").view(np.uint8).reshape(n, 4)
        pieces.append(_fixed_binary(lengths))
        pieces.append(_fixed_binary(values, valid=~nulls))
    joined = pc.binary_join_element_wise(*pieces, _NOTHING, null_handling="replace", null_replacement="")
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int64, count=n + 1)
    return joined.buffers()[2][offsets[0] : offsets[-1]].to_pybytes()


def _fixed_binary(matrix: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A ``large_binary`` array whose i-th value is row i of a (rows, width) byte matrix (no copy when contiguous)."""
    rows, width = matrix.shape
    data = np.ascontiguousarray(matrix)
    offsets = np.arange(0, (rows + 1) * width, width, dtype=np.int64)
    validity = None if valid is None else pa.array(valid).buffers()[1]
    return pa.Array.from_buffers(pa.large_binary(), rows, [validity, pa.py_buffer(offsets), pa.py_buffer(data)])


def _zero(arrow_type: pa.DataType) -> pa.Scalar:
    if pa.types.is_boolean(arrow_type):
        return pa.scalar(False)
    if pa.types.is_decimal(arrow_type):
        return pa.scalar(Decimal(0), arrow_type)
    return pa.scalar(0, arrow_type)


def _column_encoding(column: pa.ChunkedArray) -> _ColumnEncoding | None:
    t = column.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        return _ColumnEncoding(0, None)
    if t in _NUMPY_WIDTH:
        big_endian = np.dtype(_NUMPY_WIDTH[t])

        def simple(array: pa.Array) -> np.ndarray:
            values = array.to_numpy(zero_copy_only=False).astype(big_endian)
            return values.view(np.uint8).reshape(len(array), big_endian.itemsize)

        return _ColumnEncoding(big_endian.itemsize, simple)
    if t == pa.date32():
        low = pc.min(column.cast(pa.int32())).as_py()
        if low is not None and low < -(2**31) + DAYS_1970_TO_2000:  # days since 2000 would overflow an int32
            return None

        def date(array: pa.Array) -> np.ndarray:
            values = (array.cast(pa.int32()).to_numpy() - np.int32(DAYS_1970_TO_2000)).astype(">i4")
            return values.view(np.uint8).reshape(len(array), 4)

        return _ColumnEncoding(4, date)
    if pa.types.is_timestamp(t):
        micros_type = pa.timestamp("us", tz=t.tz)
        try:  # safe: raises on overflow, and on nanosecond remainders (the CSV path lets PostgreSQL round them)
            micros = column.cast(micros_type, safe=True).cast(pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
        bounds = pc.min_max(micros)
        if bounds["min"].as_py() is not None and bounds["min"].as_py() < -(2**63) + MICROS_1970_TO_2000:
            return None

        def timestamp(array: pa.Array) -> np.ndarray:
            values = array.cast(micros_type).cast(pa.int64()).to_numpy() - np.int64(MICROS_1970_TO_2000)
            return values.astype(">i8").view(np.uint8).reshape(len(array), 8)

        return _ColumnEncoding(8, timestamp)
    if pa.types.is_decimal128(t) and t.precision <= MAX_BINARY_NUMERIC_DIGITS and 0 <= t.scale <= t.precision:
        integer_groups = -(-(t.precision - t.scale) // 4)
        fraction_groups = -(-t.scale // 4)
        return _ColumnEncoding(
            8 + 2 * (integer_groups + fraction_groups),
            lambda array: _numeric_values(array, integer_groups, fraction_groups),
        )
    return None


def _numeric_values(array: pa.Array, integer_groups: int, fraction_groups: int) -> np.ndarray:
    """PostgreSQL numeric binary format with a fixed digit count: ndigits, weight, sign, dscale, base-10000 digits.

    The digits are aligned on the decimal point: with ``pad = 4 * fraction_groups - scale`` they are the base-10000
    digits of ``|unscaled| * 10**pad``, group j (from the right) being ``|unscaled| // 10**(4j - pad) % 10000``
    (the last one ``|unscaled| % 10**(4 - pad) * 10**pad``): no product can overflow. The server normalises
    leading and trailing zero groups.
    """
    n, scale = len(array), array.type.scale
    words = np.frombuffer(array.buffers()[1], dtype="<i8", count=2 * (array.offset + n))[2 * array.offset :]
    unscaled = words[::2]  # |value| < 10**18: the low word holds it, sign included
    magnitude = np.abs(unscaled)
    ndigits = integer_groups + fraction_groups
    pad = 4 * fraction_groups - scale
    out = np.empty((n, 4 + ndigits), dtype=np.uint16)  # native uint16: the casts from int64 are cheap
    out[:, 0] = ndigits
    out[:, 1] = (integer_groups - 1) & 0xFFFF  # weight: -1 (no integer digits) is 0xffff as int16
    out[:, 2] = (unscaled >> 63) & 0x4000  # sign: 0x4000 for negative values
    out[:, 3] = scale
    for j in range(ndigits):  # j = 0 is the least significant group
        column = 4 + ndigits - 1 - j
        if j == 0:
            out[:, column] = (magnitude - magnitude // 10 ** (4 - pad) * 10 ** (4 - pad)) * 10**pad
        else:
            shifted = magnitude // 10 ** (4 * j - pad)
            out[:, column] = shifted - shifted // 10_000 * 10_000
    return out.astype(">u2").view(np.uint8).reshape(n, 2 * (4 + ndigits))
