"""Transaction file drops: CSV / JSONL / Parquet (gzip too) from a folder or fsspec URL into raw_transactions.

Tables:

- ``transactions``: valid records, one per ``transaction_id`` (primary key). Of several copies of an id, the
  one from the file with the latest modification time wins, ties broken by path, then by record number (the
  later wins), whichever order files arrive or are reloaded in: rows are ranked by ``_source_rank`` within
  a file and against rows already loaded (a loaded row with a higher rank is kept).
- ``rejected_rows``: quarantined records, one per (file, file version, record, field), with the reason and
  the raw record; a whole-file problem is one row with ``row_number`` 0.
- ``loaded_files``: one row per file: version (modification time, size), format, outcome, and the counts of
  valid and rejected records in it (a valid record may still lose to a later copy of its id).

Incremental by file: a file whose (modification time, size) is in the resource state is skipped; a new or
changed file is read, validated and merged into ``transactions`` in one PostgreSQL transaction of its own
(``raw_table``: COPY into a temporary table, then a keyed merge), so a file that fails halfway contributes
nothing but its rejection. Rejects and the manifest go through dlt's load package as usual.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from fnmatch import fnmatch
from typing import Any

import dlt
from psycopg.conninfo import make_conninfo

from extract_load.common.metrics import DIRECT_ROWS_METRIC
from extract_load.transactions.contract import SourceFile
from extract_load.transactions.errors import FileRejectedError
from extract_load.transactions.listing import DropFile, Landing
from extract_load.transactions.raw_table import TRANSACTIONS_TABLE, RawTransactionsTable
from extract_load.transactions.readers import Reject, read_raw_batches
from extract_load.transactions.validation import validate

REJECTED_TABLE = "rejected_rows"
FILES_TABLE = "loaded_files"

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
    with _open_raw_table() as raw_table:
        # every table exists from the first run on, even before any record is loaded or rejected
        for hints in (_REJECTED_HINTS, _FILES_HINTS):
            yield dlt.mark.with_hints(dlt.mark.materialize_table_schema(), hints, create_table_variant=True)
        for drop in pending:
            yield from _load_file(landing, drop, raw_table)
            seen[drop.relative_path] = drop.version


def _open_raw_table() -> RawTransactionsTable:
    """The transactions table of the running pipeline's dataset, on the destination's credentials."""
    pipeline = dlt.current.pipeline()
    credentials = pipeline.destination_client().config.credentials
    parameters = {
        "host": credentials.host,
        "port": credentials.port,
        "user": credentials.username,
        "password": credentials.password,
        "dbname": credentials.database,
    }
    # the query (socket host, role option, timeouts) overrides the URL's parts, as in dlt's own client
    conninfo = make_conninfo(**parameters | {name: str(value) for name, value in credentials.get_query().items()})
    load_id = dlt.current.load_package_state()["load_id"]
    return RawTransactionsTable(conninfo, pipeline.dataset_name, load_id)


def _load_file(landing: Landing, drop: DropFile, raw_table: RawTransactionsTable) -> Iterator[Any]:
    source = SourceFile(drop.relative_path, drop.modified_at_us)
    rejects: list[Reject] = []
    valid_rows = 0
    collector = dlt.current.pipeline().collector
    try:
        with landing.open(drop) as stream, raw_table.file(source) as merge:
            for raw in read_raw_batches(stream, drop.file_format, drop.gzipped):
                valid, batch_rejects = validate(raw)
                rejects += batch_rejects
                valid_rows += valid.num_rows
                merge.write(valid)
                collector.update(TRANSACTIONS_TABLE, inc=valid.num_rows)
        written = dlt.current.resource_metrics().setdefault(DIRECT_ROWS_METRIC, {})
        written[TRANSACTIONS_TABLE] = written.get(TRANSACTIONS_TABLE, 0) + valid_rows
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
