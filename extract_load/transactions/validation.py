"""Validate raw batches against the contract: typed rows to load, and one reject per broken field.

Vectorised with Arrow compute; only rejected records are looked at one by one (to keep their raw text).
"""

from __future__ import annotations

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from extract_load.transactions.contract import (
    CONTRACT_FIELDS,
    COST_TYPE,
    DT,
    REQUIRED_COLUMNS,
    ROW_NUMBER_FIELD,
    SOURCE_ROW_NUMBER,
    TOTAL_COST,
    TRANSACTION_ID,
    USER_ID,
)
from extract_load.transactions.readers import RawBatch, Reject

_INTEGER = r"^[+-]?[0-9]{1,18}$"
_DECIMAL = r"^[+-]?[0-9]{1,10}(\.[0-9]{1,2})?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _bool_array(mask: np.ndarray) -> pa.Array:
    """An Arrow boolean array of a numpy mask, built from buffers.

    ``pa.array`` and ``pa.scalar`` check for pandas objects and import pandas (slow) on first use;
    the load path otherwise never needs it.
    """
    return pa.Array.from_buffers(pa.bool_(), len(mask), [None, pa.py_buffer(np.packbits(mask, bitorder="little"))])


def _int64_array(values: np.ndarray) -> pa.Array:
    """An Arrow int64 array of a numpy array, built from buffers (see :func:`_bool_array`)."""
    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


_FALSE = _bool_array(np.zeros(1, dtype=bool))[0]
_ZERO = pc.cast(_int64_array(np.zeros(1)), pa.int32())[0]
_NO_TEXT = pa.nulls(1, pa.string())[0]


def validate(batch: RawBatch) -> tuple[pa.Table, list[Reject]]:
    """Split a raw batch into a typed table of valid records and the rejects (one per broken field).

    The table has the contract's columns, any further columns as text, and each record's number in its file
    (``_source_row_number``); the lineage that is the same for the whole file is added where it is loaded.
    """
    texts: dict[str, pa.Array] = {}
    problems: dict[str, tuple[np.ndarray, str]] = {}
    for name, column in batch.columns.items():
        text, bad_utf8 = _decode(column)
        texts[name] = text
        if bad_utf8.any():
            problems[f"{name}\0utf8"] = (bad_utf8, "invalid UTF-8")

    trimmed = {name: pc.utf8_trim_whitespace(texts[name]) for name in REQUIRED_COLUMNS}
    for name in REQUIRED_COLUMNS:
        missing = ~_present(trimmed[name])
        problems.setdefault(f"{name}\0required", (missing, "required value is missing"))

    user_ok = _mask(pc.match_substring_regex(trimmed[USER_ID], _INTEGER))
    _flag(problems, USER_ID, ~user_ok, "not an integer", trimmed)
    cost_ok = _mask(pc.match_substring_regex(trimmed[TOTAL_COST], _DECIMAL))
    negative = _mask(pc.starts_with(trimmed[TOTAL_COST], "-"))
    _flag(problems, TOTAL_COST, cost_ok & negative, "negative cost", trimmed)
    _flag(problems, TOTAL_COST, ~cost_ok, "not a decimal number with at most 2 decimal places", trimmed)
    dates = pc.strptime(trimmed[DT], format="%Y-%m-%d", unit="s", error_is_null=True)
    date_text_ok = _mask(pc.match_substring_regex(trimmed[DT], _DATE))
    # strptime rolls an impossible day over into the next month (2023-02-29 -> 03-01): the day then differs
    written_day = pc.utf8_slice_codeunits(trimmed[DT], 8, 10)
    same_day = _mask(
        pc.equal(pc.day(dates), pc.cast(pc.if_else(_bool_array(date_text_ok), written_day, _NO_TEXT), pa.int64()))
    )
    _flag(problems, DT, ~(date_text_ok & same_day), "not a calendar date in YYYY-MM-DD form", trimmed)

    rejected = np.zeros(batch.num_rows, dtype=bool)
    rejects = list(batch.rejects)
    for key, (mask, reason) in problems.items():
        field = key.split("\0", 1)[0]
        rejected |= mask
        rejects += [
            Reject(int(batch.row_numbers[i]), field, reason, _raw_record(batch, i)) for i in np.flatnonzero(mask)
        ]
    keep = _bool_array(~rejected)
    valid_rows = batch.row_numbers[~rejected]
    columns = {
        TRANSACTION_ID: pc.filter(trimmed[TRANSACTION_ID], keep),
        USER_ID: pc.filter(trimmed[USER_ID], keep).cast(pa.int64()),
        TOTAL_COST: pc.filter(trimmed[TOTAL_COST], keep).cast(COST_TYPE),
        DT: pc.filter(dates, keep).cast(pa.date32()),
    }
    for name, text in texts.items():
        if name not in REQUIRED_COLUMNS:
            columns[name] = pc.filter(text, keep)
    columns[SOURCE_ROW_NUMBER] = _int64_array(valid_rows)
    extras = [pa.field(name, pa.string()) for name in texts if name not in REQUIRED_COLUMNS]
    schema = pa.schema([*CONTRACT_FIELDS, *extras, ROW_NUMBER_FIELD])
    return pa.table(columns, schema=schema), _deduplicate(rejects)


def _decode(column: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """UTF-8 text of a raw column and a mask of the values that are not valid UTF-8 (set to null)."""
    if not (pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type)):
        return column.cast(pa.string()), np.zeros(len(column), dtype=bool)
    try:
        return column.cast(pa.string()), np.zeros(len(column), dtype=bool)
    except pa.ArrowInvalid:
        values = column.to_pylist()
        bad = np.zeros(len(values), dtype=bool)
        decoded = []
        for i, raw in enumerate(values):
            try:
                decoded.append(None if raw is None else raw.decode("utf-8"))
            except UnicodeDecodeError:
                bad[i] = True
                decoded.append(None)
        return pa.array(decoded, pa.string()), bad


def _mask(values: pa.Array) -> np.ndarray:
    """A numpy mask of an Arrow boolean array, null as False (read from its bits, see :func:`_bool_array`)."""
    filled = pc.fill_null(values, _FALSE)
    if isinstance(filled, pa.ChunkedArray):
        filled = filled.combine_chunks()
    bits = np.frombuffer(filled.buffers()[1], dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little", count=filled.offset + len(filled))[filled.offset :].astype(bool)


def _present(values: pa.Array) -> np.ndarray:
    """Mask of the values that are neither null nor empty."""
    return _mask(pc.greater(pc.binary_length(values), _ZERO))


def _flag(problems: dict[str, tuple[np.ndarray, str]], name: str, mask: np.ndarray, reason: str, trimmed: dict) -> None:
    """Record ``reason`` for rows of ``mask`` that are present (missing values are reported once as missing)."""
    mask = mask & _present(trimmed[name])
    if mask.any():
        problems[f"{name}\0{reason}"] = (mask, reason)


def _raw_record(batch: RawBatch, index: int) -> str:
    record = {}
    for name, column in batch.columns.items():
        value = column[index].as_py()
        record[name] = value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else value
    return orjson.dumps(record).decode()


def _deduplicate(rejects: list[Reject]) -> list[Reject]:
    """One reject per (row, field): a value can break several rules, the first listed is kept."""
    seen: set[tuple[int, str]] = set()
    unique = []
    for reject in rejects:
        if (reject.row_number, reject.field) not in seen:
            seen.add((reject.row_number, reject.field))
            unique.append(reject)
    return unique
