"""Run the real transactions pipeline against the test's warehouse and a landing folder of its own."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

from elt.connection import connect
from tests.warehouse_checksums import table_checksums


class TransactionsLoad:
    """A landing folder plus helpers to drop files, run the pipeline and read the results."""

    def __init__(self, warehouse, landing: Path) -> None:
        self.warehouse = warehouse
        self.landing = landing

    def drop(self, name: str, content: bytes | str, mtime: float | None = None) -> Path:
        path = self.landing / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        return path

    def run(self):
        module = importlib.import_module("extract_load.transactions_pipeline")
        return module.run()

    def rows(self, sql: str) -> list[tuple]:
        with connect(self.warehouse) as conn:
            return conn.execute(sql).fetchall()

    def transactions(self) -> list[tuple]:
        return self.rows(
            "select transaction_id, user_id, total_cost::text, dt::text, _source_file, _source_row_number "
            "from raw_transactions.transactions order by transaction_id"
        )

    def rejects(self) -> list[tuple]:
        return self.rows(
            "select source_file, row_number, field, reason from raw_transactions.rejected_rows "
            "order by source_file, row_number, field"
        )

    def files(self) -> dict[str, tuple]:
        return {
            row[0]: row[1:]
            for row in self.rows(
                "select source_file, status, rows_valid, rows_rejected from raw_transactions.loaded_files"
            )
        }

    def checksums(self) -> dict[str, str]:
        return table_checksums(self.warehouse, ["raw_transactions"])


@pytest.fixture
def tx(warehouse_env, tmp_path, monkeypatch) -> TransactionsLoad:
    landing = tmp_path / "landing"
    landing.mkdir()
    monkeypatch.setenv("SOURCES__TRANSACTIONS__BUCKET_URL", str(landing))
    return TransactionsLoad(warehouse_env, landing)
