"""Transaction file drops: CSV / JSONL / Parquet (gzip too) from a folder or fsspec URL into raw_transactions.

Tables:

- ``transactions``: valid records, merged on ``transaction_id``. Of several copies of an id, the one
  from the file with the latest modification time wins, ties broken by path, then by record number (the
  later wins), whichever order files arrive or are reloaded in: rows are ranked by ``_source_rank`` within
  a load (dlt's ``dedup_sort``) and against rows already loaded (a loaded row with a higher rank is kept).
- ``rejected_rows``: quarantined records, one per (file, file version, record, field), with the reason and
  the raw record; a whole-file problem is one row with ``row_number`` 0.
- ``loaded_files``: one row per file: version (modification time, size), format, outcome, and the counts of
  valid and rejected records in it (a valid record may still lose to a later copy of its id).

Incremental by file: a file whose (modification time, size) is in the resource state is skipped; a new or
changed file is read in full and validated before any of its rows are handed to dlt (valid batches are
spooled to a local Arrow file), so a file that fails halfway contributes nothing but its rejection.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from extract_load.transactions.contract import (
    SOURCE_RANK,
    TRANSACTION_COLUMN_HINTS,
    TRANSACTION_ID,
)
from extract_load.transactions.errors import FileRejectedError
from extract_load.transactions.listing import DropFile, Landing
from extract_load.transactions.readers import Reject, read_raw_batches
from extract_load.transactions.validation import SourceFile, validate

TRANSACTIONS_TABLE = "transactions"
REJECTED_TABLE = "rejected_rows"
FILES_TABLE = "loaded_files"

_TRANSACTIONS_HINTS = dlt.mark.make_hints(
    table_name=TRANSACTIONS_TABLE,
    write_disposition="merge",
    primary_key=TRANSACTION_ID,
    columns=TRANSACTION_COLUMN_HINTS,
    schema_contract={"tables": "evolve", "columns": "evolve", "data_type": "freeze"},
)
_REJECTED_HINTS = dlt.mark.make_hints(
    table_name=REJECTED_TABLE,
    write_disposition="merge",
    primary_key=["source_file", "file_modified_at", "row_number", "field"],
    columns={
        "source_file": {"data_type": "text", "nullable": False},
        "file_modified_at": {"data_type": "timestamp", "nullable": False},
        "row_number": {"data_type": "bigint", "nullable": False},
        "field": {"data_type": "text", "nullable": False},
        "reason": {"data_type": "text", "nullable": False},
        "raw_record": {"data_type": "text"},
    },
)
_FILES_HINTS = dlt.mark.make_hints(
    table_name=FILES_TABLE,
    write_disposition="merge",
    primary_key=["source_file"],
    columns={
        "source_file": {"data_type": "text", "nullable": False},
        "file_modified_at": {"data_type": "timestamp", "nullable": False},
        "size_bytes": {"data_type": "bigint", "nullable": False},
        "file_format": {"data_type": "text", "nullable": False},
        "status": {"data_type": "text", "nullable": False},
        "rows_valid": {"data_type": "bigint", "nullable": False},
        "rows_rejected": {"data_type": "bigint", "nullable": False},
        "error": {"data_type": "text"},
    },
)


@dlt.source(name="transactions")
def transactions_source(
    bucket_url: str = dlt.config.value,
    storage_options: dict[str, Any] | None = None,
    reload_files: list[str] | None = None,
    reload_modified_between: tuple[date, date] | None = None,
) -> Any:
    """The transaction drops under ``bucket_url``.

    Args:
        bucket_url: Landing folder or fsspec URL; relative paths are relative to the project.
        storage_options: fsspec options (credentials, endpoint) for remote URLs.
        reload_files: Path patterns (fnmatch, relative to the landing root) of files to read again even if
            unchanged (backfill).
        reload_modified_between: Inclusive range of modification dates (UTC) of files to read again.
    """
    return transaction_drops(
        Landing(bucket_url, storage_options), ReloadSelection(tuple(reload_files or ()), reload_modified_between)
    )


@dataclass(frozen=True)
class ReloadSelection:
    """Files a backfill reads again although they are unchanged: by path pattern or modification date."""

    patterns: tuple[str, ...] = ()
    modified_between: tuple[date, date] | None = None

    def selects(self, drop: DropFile) -> bool:
        """True when ``drop`` is to be read again."""
        if any(fnmatch(drop.relative_path, pattern) for pattern in self.patterns):
            return True
        if self.modified_between is None:
            return False
        modified = datetime.fromtimestamp(drop.modified_at_us / 1_000_000, tz=UTC).date()
        return self.modified_between[0] <= modified <= self.modified_between[1]


@dlt.resource(name="transaction_drops")
def transaction_drops(landing: Landing, reload: ReloadSelection) -> Iterator[Any]:
    """Valid records of new and changed files, their rejects and the file manifest, each to its own table."""
    seen: dict[str, list[int]] = dlt.current.resource_state().setdefault("files", {})
    pending = [drop for drop in landing.files() if seen.get(drop.relative_path) != drop.version or reload.selects(drop)]
    pending.sort(key=lambda drop: (drop.modified_at_us, drop.relative_path))
    # the quarantine and the manifest exist from the first run on, even before any record is rejected
    for hints in (_REJECTED_HINTS, _FILES_HINTS):
        yield dlt.mark.with_hints(dlt.mark.materialize_table_schema(), hints, create_table_variant=True)
    if pending:
        _index_loaded_ranks()
    with tempfile.TemporaryDirectory(prefix="elt-transactions-") as spool_dir:
        for drop in pending:
            yield from _load_file(landing, drop, Path(spool_dir))
            seen[drop.relative_path] = drop.version


def _load_file(landing: Landing, drop: DropFile, spool: Path) -> Iterator[Any]:
    source = SourceFile(drop.relative_path, drop.modified_at_us)
    rejects: list[Reject] = []
    valid_rows = 0
    try:
        with landing.open(drop) as stream, _Spool(spool) as writer:
            for raw in read_raw_batches(stream, drop.file_format, drop.gzipped):
                valid, batch_rejects = validate(raw, source)
                rejects += batch_rejects
                valid_rows += valid.num_rows
                writer.write(valid)
        for table in _read_spool(writer.segments):
            newest = _drop_superseded(table)
            if newest.num_rows:
                yield dlt.mark.with_hints(newest, _TRANSACTIONS_HINTS, create_table_variant=True)
        status, error = "loaded", None
    except FileRejectedError as exc:
        rejects = [Reject(0, exc.field, exc.reason, "")]
        status, error = "rejected", exc.reason
    modified_at = datetime.fromtimestamp(drop.modified_at_us / 1_000_000, tz=UTC)
    if rejects:
        yield dlt.mark.with_hints(
            [
                {
                    "source_file": drop.relative_path,
                    "file_modified_at": modified_at,
                    "row_number": reject.row_number,
                    "field": reject.field,
                    "reason": reject.reason,
                    "raw_record": reject.raw_record,
                }
                for reject in rejects
            ],
            _REJECTED_HINTS,
            create_table_variant=True,
        )
    yield dlt.mark.with_hints(
        {
            "source_file": drop.relative_path,
            "file_modified_at": modified_at,
            "size_bytes": drop.size,
            "file_format": drop.file_format + (".gz" if drop.gzipped else ""),
            "status": status,
            "rows_valid": valid_rows if status == "loaded" else 0,
            "rows_rejected": len(rejects) if status == "loaded" else 0,
            "error": error,
        },
        _FILES_HINTS,
        create_table_variant=True,
    )


class _Spool:
    """Arrow IPC files of a file's valid rows, so nothing is handed to dlt before the whole file validated.

    A batch whose columns differ from the current segment's (a JSONL key that first appears late in the
    file) starts a new segment; earlier rows simply lack that column.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self.segments: list[Path] = []
        self._writer: ipc.RecordBatchFileWriter | None = None
        self._schema: pa.Schema | None = None

    def __enter__(self) -> _Spool:
        for old in self._folder.glob("segment-*.arrow"):
            old.unlink()
        return self

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self._writer is None or table.schema != self._schema:
            self._close()
            self.segments.append(self._folder / f"segment-{len(self.segments)}.arrow")
            self._writer = ipc.new_file(self.segments[-1], table.schema)
            self._schema = table.schema
        self._writer.write_table(table)

    def __exit__(self, *exc: object) -> None:
        self._close()

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _read_spool(segments: list[Path]) -> Iterator[pa.Table]:
    for segment in segments:
        with pa.memory_map(str(segment)) as source:
            reader = ipc.open_file(source)
            for index in range(reader.num_record_batches):
                yield pa.Table.from_batches([reader.get_batch(index)])


def _drop_superseded(table: pa.Table) -> pa.Table:
    """Remove rows whose transaction_id is already loaded from a later copy (higher ``_source_rank``)."""
    existing = _loaded_ranks(table.column(TRANSACTION_ID).to_pylist())
    if not existing:
        return table
    loaded_rank = pa.array([existing.get(key) for key in table.column(TRANSACTION_ID).to_pylist()], pa.string())
    superseded = pc.fill_null(pc.greater(loaded_rank, table.column(SOURCE_RANK)), False)
    return table.filter(pc.invert(superseded))


def _index_loaded_ranks() -> None:
    """Index the loaded ids with their rank, so checking a batch against them is a lookup, not a scan."""
    pipeline = dlt.current.pipeline()
    try:
        with pipeline.sql_client() as client:
            if client.has_dataset():
                table = client.make_qualified_table_name(TRANSACTIONS_TABLE)
                client.execute_sql(
                    f"create index if not exists transactions_id_rank on {table} "
                    f"(transaction_id) include ({SOURCE_RANK})"
                )
    except dlt.destinations.exceptions.DatabaseUndefinedRelation:
        return


def _loaded_ranks(transaction_ids: list[str]) -> dict[str, str]:
    pipeline = dlt.current.pipeline()
    try:
        with pipeline.sql_client() as client:
            if not client.has_dataset():
                return {}
            table = client.make_qualified_table_name(TRANSACTIONS_TABLE)
            rows = client.execute_sql(
                f"select transaction_id, {SOURCE_RANK} from {table} where transaction_id = any(%s)", transaction_ids
            )
    except dlt.destinations.exceptions.DatabaseUndefinedRelation:
        return {}
    return dict(rows or [])
