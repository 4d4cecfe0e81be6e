"""The declared contract of a transaction record, and the typed Arrow schema loaded rows have.

| column           | required | type in the warehouse | rule                                               |
|------------------|----------|-----------------------|----------------------------------------------------|
| transaction_id   | yes      | text                  | non-empty after trimming                           |
| user_id          | yes      | bigint                | an integer                                         |
| total_cost       | yes      | numeric(12, 2)        | a plain decimal, at most 2 decimals, not negative  |
| dt               | yes      | date                  | a real calendar date written YYYY-MM-DD            |

``total_cost`` is in US dollars; ``dt`` is the calendar date of the purchase (no time zone). Any further
column is kept as text. Lineage columns name the file, its modification time and the record's 1-based
number in it (header excluded), plus ``_source_rank``, a text that sorts like (modification time, path,
record number) and decides which copy of a duplicated ``transaction_id`` wins: the latest.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TRANSACTION_ID = "transaction_id"
USER_ID = "user_id"
TOTAL_COST = "total_cost"
DT = "dt"
REQUIRED_COLUMNS = (TRANSACTION_ID, USER_ID, TOTAL_COST, DT)

COST_TYPE = pa.decimal128(12, 2)
SOURCE_FILE = "_source_file"
SOURCE_MODIFIED_AT = "_source_modified_at"
SOURCE_ROW_NUMBER = "_source_row_number"
SOURCE_RANK = "_source_rank"

CONTRACT_FIELDS = (
    pa.field(TRANSACTION_ID, pa.string(), nullable=False),
    pa.field(USER_ID, pa.int64(), nullable=False),
    pa.field(TOTAL_COST, COST_TYPE, nullable=False),
    pa.field(DT, pa.date32(), nullable=False),
)
ROW_NUMBER_FIELD = pa.field(SOURCE_ROW_NUMBER, pa.int64(), nullable=False)

# the warehouse columns in dlt's column-hint form (``raw_table`` creates the table from them)
TRANSACTION_COLUMN_HINTS = {
    TRANSACTION_ID: {"data_type": "text", "nullable": False},
    USER_ID: {"data_type": "bigint", "nullable": False},
    TOTAL_COST: {"data_type": "decimal", "precision": 12, "scale": 2, "nullable": False},
    DT: {"data_type": "date", "nullable": False},
    SOURCE_FILE: {"data_type": "text", "nullable": False},
    SOURCE_MODIFIED_AT: {"data_type": "timestamp", "nullable": False},
    SOURCE_ROW_NUMBER: {"data_type": "bigint", "nullable": False},
    SOURCE_RANK: {"data_type": "text", "nullable": False},
}


RANK_ROW_DIGITS = 12


@dataclass(frozen=True)
class SourceFile:
    """Identity of the file records came from: its path (relative to the landing root) and modification time."""

    path: str
    modified_at_us: int

    def rank_prefix(self) -> str:
        """``_source_rank`` of the file's records without the row number (see :func:`source_rank`)."""
        return source_rank(self.modified_at_us, self.path, 0)[:-RANK_ROW_DIGITS]


def source_rank(modified_at_us: int, path: str, row_number: int) -> str:
    """Sortable text for (modification time, path, row number): a larger rank is a later copy."""
    return f"{modified_at_us:020d}|{path}|{row_number:0{RANK_ROW_DIGITS}d}"
