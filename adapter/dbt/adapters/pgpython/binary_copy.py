"""Fast path of :mod:`arrow_io` for fixed-width columns: ``COPY ... (FORMAT binary)`` decoded and encoded with numpy.

PostgreSQL's binary COPY rows are a field count, then per field a length and the value's bytes. When every
field has a fixed width, every row has the same size and the whole stream is one numpy structured array:
no per-row Python work at all.

- Reading: columns of type boolean, smallint, integer, bigint, real, double precision, ``numeric(p, s)`` with
  p <= 18, date, timestamp and timestamptz are selected as fixed-width values with ``coalesce`` plus an
  ``is null`` flag per column (numeric as its unscaled ``int8``, dates as days), so NULLs keep the width fixed.
- Writing: a table without NULLs whose columns are all of those types is encoded the same way (numeric in
  PostgreSQL's base-10000 external format with a fixed digit count, which the server normalises).

Anything else (text, NULLs on write, wider numerics, nanosecond remainders, ...) goes through the CSV path.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
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
_INFINITE_MICROS = (np.iinfo(np.int64).min, np.iinfo(np.int64).max)
_READ_WIDTH = {BOOL: ">u1", INT2: ">i2", INT4: ">i4", INT8: ">i8", FLOAT4: ">f4", FLOAT8: ">f8", DATE: ">i4"}


def readable(pg: PgType) -> bool:
    """True when a column of this type can be read through the fixed-width binary path."""
    if pg.oid == NUMERIC:
        return pg.constrained_numeric and (pg.precision or 0) <= MAX_BINARY_NUMERIC_DIGITS and (pg.scale or 0) >= 0
    return pg.oid in _READ_WIDTH or pg.oid in (TIMESTAMP, TIMESTAMPTZ)


def read_select(pg: PgType, col: str) -> list[str]:
    """The two fixed-width expressions selected for a column: its value (NULL as zero) and its null flag."""
    if pg.oid == NUMERIC:
        value = f"coalesce(({col} * 1e{pg.scale or 0})::int8, 0)"
    elif pg.oid == DATE:
        value = f"coalesce({col} - date '2000-01-01', 0)"
    elif pg.oid == BOOL:
        value = f"coalesce({col}, false)"
    elif pg.oid in (TIMESTAMP, TIMESTAMPTZ):
        value = f"coalesce({col}, 'epoch')"
    else:  # the cast keeps the width: coalesce(smallint, 0) would be an integer
        value = f"coalesce({col}, 0)::{_SQL_NAME[pg.oid]}"
    return [value, f"({col} is null)"]


def decode(data: memoryview, names: Sequence[str], types: Sequence[PgType]) -> pa.Table:
    """Decode a binary COPY stream of :func:`read_select` pairs into an Arrow table."""
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i, pg in enumerate(types):
        width = ">i8" if pg.oid in (NUMERIC, TIMESTAMP, TIMESTAMPTZ) else _READ_WIDTH[pg.oid]
        fields += [(f"len{i}", ">i4"), (f"value{i}", width), (f"nlen{i}", ">i4"), (f"null{i}", ">u1")]
    row = np.dtype(fields)
    if bytes(data[: len(SIGNATURE)]) != SIGNATURE or bytes(data[11:19]) != b"\x00" * 8:
        raise ValueError("unexpected binary COPY header")
    body = len(data) - len(HEADER) - len(TRAILER)
    if body % row.itemsize:
        raise ValueError("binary COPY stream does not have the expected fixed-width rows")
    rows = np.frombuffer(data, dtype=row, count=body // row.itemsize, offset=len(HEADER))
    arrays = []
    for i, (name, pg) in enumerate(zip(names, types, strict=True)):
        nulls = rows[f"null{i}"].astype(bool)
        values = rows[f"value{i}"].astype(rows[f"value{i}"].dtype.newbyteorder("="))
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


def encode(table: pa.Table) -> bytes | None:
    """The table as a binary COPY stream, or None when a column or a NULL needs the CSV path."""
    if table.num_rows == 0 or any(column.null_count for column in table.columns):
        return None
    fields: list[tuple] = [("count", ">i2")]
    fillers = []
    for i, column in enumerate(table.columns):
        plan = _encoder(column.combine_chunks() if column.num_chunks != 1 else column.chunk(0), i)
        if plan is None:
            return None
        column_fields, fill = plan
        fields += [(f"len{i}", ">i4"), *column_fields]
        fillers.append((i, np.dtype(column_fields).itemsize, fill))
    rows = np.empty(table.num_rows, dtype=np.dtype(fields))
    rows["count"] = table.num_columns
    for i, width, fill in fillers:
        rows[f"len{i}"] = width
        fill(rows)
    return HEADER + rows.tobytes() + TRAILER


def _encoder(array: pa.Array, i: int) -> tuple[list[tuple], object] | None:
    """(structured fields, function filling them) for one column, or None when it has no binary encoding here."""
    t = array.type
    simple = {
        pa.bool_(): ">u1",
        pa.int16(): ">i2",
        pa.int32(): ">i4",
        pa.int64(): ">i8",
        pa.float32(): ">f4",
        pa.float64(): ">f8",
    }
    name = f"value{i}"
    if t in simple:
        values = array.to_numpy(zero_copy_only=False)

        def fill_simple(rows: np.ndarray) -> None:
            rows[name] = values

        return [(name, simple[t])], fill_simple
    if t == pa.date32():
        days = array.cast(pa.int32()).to_numpy() - DAYS_1970_TO_2000

        def fill_date(rows: np.ndarray) -> None:
            rows[name] = days

        return [(name, ">i4")], fill_date
    if pa.types.is_timestamp(t):
        micros = _micros(array)
        if micros is None:
            return None

        def fill_timestamp(rows: np.ndarray) -> None:
            rows[name] = micros - MICROS_1970_TO_2000

        return [(name, ">i8")], fill_timestamp
    if pa.types.is_decimal128(t) and t.precision <= MAX_BINARY_NUMERIC_DIGITS and 0 <= t.scale <= 16:
        return _numeric_encoder(array, i)
    return None


def _micros(array: pa.Array) -> np.ndarray | None:
    raw = array.cast(pa.int64()).to_numpy()
    factor = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": None}[array.type.unit]
    if factor is None:
        if (raw % 1000).any():
            return None  # sub-microsecond parts: the CSV path lets PostgreSQL round them
        return raw // 1000
    return raw * factor


def _numeric_encoder(array: pa.Array, i: int) -> tuple[list[tuple], object]:
    """PostgreSQL numeric external format with a fixed digit count: ndigits, weight, sign, dscale, digits."""
    precision, scale = array.type.precision, array.type.scale
    words = np.frombuffer(array.buffers()[1], dtype="<i8")[2 * array.offset : 2 * (array.offset + len(array))]
    unscaled = words[::2]  # |value| < 10**18: the low word holds it exactly
    magnitude = np.abs(unscaled)
    integer_groups = -(-(precision - scale) // 4)
    fraction_groups = -(-scale // 4)
    digits = np.empty((len(array), integer_groups + fraction_groups), dtype=">i2")
    integer_part, fraction_part = np.divmod(magnitude, 10**scale)
    fraction_part *= 10 ** (4 * fraction_groups - scale)  # align the fraction on base-10000 groups
    for j in reversed(range(integer_groups)):  # least significant group first: one divmod each
        integer_part, digits[:, j] = np.divmod(integer_part, 10_000)
    for j in reversed(range(fraction_groups)):
        fraction_part, digits[:, integer_groups + j] = np.divmod(fraction_part, 10_000)
    ndigits = integer_groups + fraction_groups
    sign = np.where(unscaled < 0, 0x4000, 0)
    fields = [
        (f"ndigits{i}", ">i2"),
        (f"weight{i}", ">i2"),
        (f"sign{i}", ">u2"),
        (f"dscale{i}", ">i2"),
        (f"digits{i}", ">i2", (ndigits,)),
    ]

    def fill_numeric(rows: np.ndarray) -> None:
        rows[f"ndigits{i}"] = ndigits
        rows[f"weight{i}"] = integer_groups - 1
        rows[f"sign{i}"] = sign
        rows[f"dscale{i}"] = scale
        rows[f"digits{i}"] = digits

    return fields, fill_numeric
