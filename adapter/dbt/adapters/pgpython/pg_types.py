"""PostgreSQL <-> Arrow types: what a read column becomes in Arrow, what a result column becomes in PostgreSQL.

Reading keeps values exact: integers, floats, booleans and text map to their Arrow twins, ``numeric(p, s)`` to
``decimal128(p, s)`` (``decimal256`` above 38 digits), unconstrained ``numeric`` to the narrowest decimal that
holds every value read, ``date`` to ``date32``, ``timestamp``/``timestamptz`` to microsecond timestamps (the
latter in UTC). Any other type (uuid, json, interval, arrays, ...) arrives as its text form.

Writing creates each column with the ``data_type`` declared in YAML when there is one, else with the type that
matches the Arrow type (:func:`pg_type_for_arrow`). A declared type is checked against the returned column: the
Arrow type must belong to the same family and every value must fit (ranges, precision, lengths), otherwise
:class:`ColumnTypeError` names the column.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

# PostgreSQL type OIDs (pg_type.oid) the adapter handles natively
BOOL, INT8, INT2, INT4, TEXT, OID, FLOAT4, FLOAT8 = 16, 20, 21, 23, 25, 26, 700, 701
NAME, BPCHAR, VARCHAR, DATE, TIMESTAMP, TIMESTAMPTZ, NUMERIC = 19, 1042, 1043, 1082, 1114, 1184, 1700
TEXT_LIKE = frozenset({TEXT, NAME, BPCHAR, VARCHAR})
INTEGERS = {INT2: pa.int16(), INT4: pa.int32(), INT8: pa.int64(), OID: pa.int64()}
FLOATS = {FLOAT4: pa.float32(), FLOAT8: pa.float64()}
MAX_DECIMAL_DIGITS = 76  # decimal256
UNCONSTRAINED = 65535  # precision/scale psycopg2 reports for numeric without a type modifier


class ColumnTypeError(ValueError):
    """A returned column does not fit the type declared for it (or no PostgreSQL type fits it)."""


@dataclass(frozen=True)
class PgType:
    """A PostgreSQL column type: its OID, its SQL spelling and, where they apply, precision, scale and length."""

    oid: int
    sql: str
    precision: int | None = None
    scale: int | None = None
    length: int | None = None

    @property
    def constrained_numeric(self) -> bool:
        """True for ``numeric(p, s)`` that fits a decimal256, False for unconstrained ``numeric``."""
        return self.oid == NUMERIC and self.precision is not None and 0 < self.precision <= MAX_DECIMAL_DIGITS

    @classmethod
    def from_description(cls, column: object, sql: str = "") -> PgType:
        """From a psycopg2 cursor.description column (type code, precision, scale, internal size)."""
        oid = column.type_code  # type: ignore[attr-defined]
        precision = column.precision  # type: ignore[attr-defined]
        scale = column.scale  # type: ignore[attr-defined]
        size = column.internal_size  # type: ignore[attr-defined]
        if oid == NUMERIC and (precision is None or precision >= UNCONSTRAINED):
            precision = scale = None
        length = size if oid in (VARCHAR, BPCHAR) and size is not None and size > 0 else None
        return cls(oid, sql, precision, scale, length)


def arrow_type_for_read(pg: PgType) -> pa.DataType:
    """The Arrow type a column of type ``pg`` is read as (for unconstrained numeric: string, narrowed later)."""
    if pg.oid == BOOL:
        return pa.bool_()
    if pg.oid in INTEGERS:
        return INTEGERS[pg.oid]
    if pg.oid in FLOATS:
        return FLOATS[pg.oid]
    if pg.constrained_numeric:
        return decimal_type(pg.precision or 1, pg.scale or 0)
    if pg.oid == DATE:
        return pa.date32()
    if pg.oid == TIMESTAMP:
        return pa.timestamp("us")
    if pg.oid == TIMESTAMPTZ:
        return pa.timestamp("us", tz="UTC")
    return pa.string()


def decimal_type(precision: int, scale: int) -> pa.DataType:
    """``decimal128(precision, scale)`` up to 38 digits, ``decimal256`` beyond."""
    return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(precision, scale)


def narrow_numeric_strings(column: pa.ChunkedArray, name: str) -> pa.ChunkedArray:
    """Convert the text of an unconstrained ``numeric`` column to the narrowest decimal holding all its values.

    Args:
        column: PostgreSQL's text output of the values (plain notation, optional sign and fraction).
        name: Column name, for the error message.

    Returns:
        The values as ``decimal128``/``decimal256``, exactly.

    Raises:
        ColumnTypeError: NaN or infinite values, or more than 76 significant digits.
    """
    column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    valid = column.drop_null()
    if len(valid) == 0:
        return pa.chunked_array([pa.nulls(len(column), pa.decimal128(1, 0))])
    special = pc.any(pc.match_substring_regex(valid, "[a-zA-Z]")).as_py()
    if special:
        raise ColumnTypeError(
            f"column {name!r}: numeric NaN or Infinity has no exact Arrow decimal; filter or cast it in SQL"
        )
    length = pc.utf8_length(valid)
    dot = pc.find_substring(valid, ".")
    has_dot = pc.greater_equal(dot, 0)
    scale = pc.max(pc.if_else(has_dot, pc.subtract(pc.subtract(length, dot), 1), 0)).as_py()
    sign = pc.cast(pc.starts_with(valid, "-"), pa.int32())
    integer_digits = pc.max(pc.subtract(pc.if_else(has_dot, dot, length), sign)).as_py()
    precision = max(integer_digits + scale, 1)
    if precision > MAX_DECIMAL_DIGITS:
        raise ColumnTypeError(
            f"column {name!r}: numeric values need {precision} digits, more than Arrow decimals hold "
            f"({MAX_DECIMAL_DIGITS}); round or cast it in SQL"
        )
    return pa.chunked_array([pc.cast(column, decimal_type(precision, scale))])


def natural_oid(arrow_type: pa.DataType) -> int | None:
    """OID of the PostgreSQL type whose binary COPY format :mod:`binary_copy` writes for ``arrow_type``."""
    t = arrow_type
    if pa.types.is_timestamp(t):
        return TIMESTAMPTZ if t.tz is not None else TIMESTAMP
    if pa.types.is_decimal(t):
        return NUMERIC
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return TEXT
    natural = {
        pa.bool_(): BOOL,
        pa.int16(): INT2,
        pa.int32(): INT4,
        pa.int64(): INT8,
        pa.float32(): FLOAT4,
        pa.float64(): FLOAT8,
        pa.date32(): DATE,
    }
    return natural.get(t)


def binary_compatible(declared: PgType, arrow_type: pa.DataType) -> bool:
    """Whether a column declared as ``declared`` accepts the binary COPY format written for ``arrow_type``.

    True for the type's natural PostgreSQL type, and for strings into ``varchar(n)``/``char(n)`` (same wire
    format as text, whose receive functions apply the length like their text input does).
    """
    natural = natural_oid(arrow_type)
    return declared.oid == natural or (natural == TEXT and declared.oid in (VARCHAR, BPCHAR))


def pg_type_for_arrow(arrow_type: pa.DataType, name: str) -> str:
    """The PostgreSQL type a returned column of ``arrow_type`` is created with when YAML declares none.

    Raises:
        ColumnTypeError: Types without an exact PostgreSQL counterpart here (lists, structs, binary, durations).
    """
    t = arrow_type
    if pa.types.is_dictionary(t):
        return pg_type_for_arrow(t.value_type, name)
    if pa.types.is_boolean(t):
        return "boolean"
    if t in (pa.int8(), pa.int16(), pa.uint8()):
        return "smallint"
    if t in (pa.int32(), pa.uint16()):
        return "integer"
    if t in (pa.int64(), pa.uint32()):
        return "bigint"
    if t == pa.uint64():
        return "numeric(20, 0)"
    if t in (pa.float16(), pa.float32()):
        return "real"
    if t == pa.float64():
        return "double precision"
    if pa.types.is_decimal(t):
        return f"numeric({t.precision}, {t.scale})" if t.scale >= 0 else f"numeric({t.precision - t.scale}, 0)"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t) or pa.types.is_null(t):
        return "text"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp with time zone" if t.tz is not None else "timestamp without time zone"
    if pa.types.is_time(t):
        return "time without time zone"
    raise ColumnTypeError(
        f"column {name!r}: Arrow type {t} has no PostgreSQL column type in pgpython; "
        "convert it (e.g. to string) or declare a data_type in YAML"
    )


def prepare_for_write(column: pa.ChunkedArray, name: str, declared: PgType | None) -> pa.ChunkedArray:
    """Check a returned column against its declared type and convert it to what ``COPY`` should send.

    Args:
        column: The column as the model returned it.
        name: Its name, for error messages.
        declared: The YAML ``data_type`` resolved by PostgreSQL, or None (the column gets the matching type).

    Returns:
        The column, cast where the declared type needs it (e.g. int64 to int32 for ``integer``).

    Raises:
        ColumnTypeError: Wrong family, or a value that does not fit the declared type.
    """
    t = column.type
    if pa.types.is_dictionary(t):
        column = column.cast(t.value_type)
        t = column.type
    if pa.types.is_string_view(t):
        column = column.cast(pa.large_string())
        t = column.type
    if declared is None:
        return column
    family_ok, target = _declared_target(t, declared)
    if not family_ok:
        raise ColumnTypeError(
            f"column {name!r}: YAML declares data_type {declared.sql!r} but the model returned Arrow type {t}"
            f"{_hint(t, declared)}"
        )
    if target is not None and target != t:
        try:
            column = column.cast(target, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ColumnTypeError(
                f"column {name!r}: a value does not fit the declared data_type {declared.sql!r}: {exc}"
            ) from None
    if declared.length is not None and declared.oid in (VARCHAR, BPCHAR) and len(column) > 0:
        longest = pc.max(pc.utf8_length(column)).as_py()
        if longest is not None and longest > declared.length:
            raise ColumnTypeError(
                f"column {name!r}: a value of {longest} characters does not fit the declared data_type {declared.sql!r}"
            )
    return column


def _declared_target(t: pa.DataType, declared: PgType) -> tuple[bool, pa.DataType | None]:
    """(does the Arrow type belong to the declared type's family, Arrow type to cast to for the value check)."""
    oid = declared.oid
    is_int = pa.types.is_integer(t)
    if oid == BOOL:
        return pa.types.is_boolean(t), None
    if oid in INTEGERS:
        return is_int, INTEGERS[oid]
    if oid in FLOATS:
        return is_int or pa.types.is_floating(t), FLOATS[oid]
    if oid == NUMERIC:
        ok = is_int or pa.types.is_decimal(t)
        if declared.constrained_numeric:
            return ok, decimal_type(declared.precision or 1, declared.scale or 0)
        return ok, None
    if oid in TEXT_LIKE:
        return pa.types.is_string(t) or pa.types.is_large_string(t), None
    if oid == DATE:
        return pa.types.is_date(t), None
    if oid == TIMESTAMP:
        return pa.types.is_timestamp(t) and t.tz is None, None
    if oid == TIMESTAMPTZ:
        return pa.types.is_timestamp(t) and t.tz is not None, None
    # any other type (uuid, json, interval, enums, domains, ...): PostgreSQL parses the text form
    return pa.types.is_string(t) or pa.types.is_large_string(t) or not pa.types.is_nested(t), None


def _hint(t: pa.DataType, declared: PgType) -> str:
    if declared.oid == NUMERIC and pa.types.is_floating(t):
        return " (floats are inexact: return decimals, e.g. round then cast, or declare double precision)"
    if declared.oid == TIMESTAMPTZ and pa.types.is_timestamp(t):
        return " (a timestamp without time zone: localize it, e.g. pandas tz_localize('UTC'))"
    if declared.oid == TIMESTAMP and pa.types.is_timestamp(t):
        return " (a timestamp with time zone: declare timestamptz, or drop the zone)"
    return ""
