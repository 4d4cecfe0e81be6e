"""A failed `elt load` says why: the root cause of each kind of failure, in its output and in the run history.

dlt wraps a source's exception twice; `elt` printed, and `raw_ops.pipeline_runs.error` stored, only dlt's
first line ("Pipeline execution failed at `step=extract` ... with exception:"). Each test runs the real
`elt load` and checks the cause line, with the URL, window, file or table it concerns.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from elt.connection import connect
from elt.pipeline_runs import LOCK_NAMESPACE
from elt.warehouse_target import WarehouseTarget
from extract_load.neows.replay import Fault, ReplayServer
from extract_load.neows.settings import RECORDED_DIR
from tests.elt.test_cli import assert_one_line_error, run_elt

WINDOW = "start_date=2025-03-10&end_date=2025-03-17"
FEED_FILE = "feed_2025-03-10_2025-03-17.json"
NEOWS = {
    "SOURCES__NEOWS__START_DATE": "2025-03-10",
    "SOURCES__NEOWS__END_DATE": "2025-03-17",
    "SOURCES__NEOWS__BROWSE_MAX_PAGES": "0",
    "SOURCES__NEOWS__LOOKUP_BUDGET": "0",
    "SOURCES__NEOWS__MAX_ATTEMPTS": "2",
    "SOURCES__NEOWS__BACKOFF_BASE": "0.01",
    "SOURCES__NEOWS__BACKOFF_CAP": "0.05",
    "SOURCES__NEOWS__CONNECT_TIMEOUT": "2",
    "SOURCES__NEOWS__READ_TIMEOUT": "2",
}


def _env(warehouse: WarehouseTarget, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "WAREHOUSE_URL": warehouse.url(),
        "ELT_HOME": str(tmp_path / "home"),
        "DLT_DATA_DIR": str(tmp_path / "dlt-data"),
        **NEOWS,
        **extra,
    }


def _failed(warehouse: WarehouseTarget, tmp_path: Path, source: str, **extra: str) -> tuple[list[str], str]:
    """Run `elt load SOURCE`, which must fail; its FAILED block's lines and the error stored in the history."""
    result = run_elt("load", source, env=_env(warehouse, tmp_path, **extra))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("   FAILED: "))
    block = [lines[start].removeprefix("   FAILED: ")]
    block += [line.strip() for line in lines[start + 1 :] if line.startswith("     caused by ")]
    with connect(warehouse) as conn:
        (stored,) = conn.execute(
            "select error from raw_ops.pipeline_runs where pipeline = %s and status = 'failed'", (source,)
        ).fetchone()
    assert stored.splitlines() == block
    return block, stored


@pytest.fixture
def replay():
    with ReplayServer() as server:
        yield server


def test_http_status_after_retries(warehouse, tmp_path, replay):
    replay.inject(Fault("status", path="/feed", status=503, times=2))
    block, _ = _failed(warehouse, tmp_path, "neows", SOURCES__NEOWS__BASE_URL=replay.base_url)
    assert block[0].startswith("Pipeline execution failed at `step=extract`")
    assert block[-1].startswith("caused by NeoWsError: NeoWs GET http://127.0.0.1:")
    assert f"/feed?{WINDOW}" in block[-1]
    assert "failed after 2 attempt(s)" in block[-1] and "503" in block[-1]


def test_refused_connection(warehouse, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    block, _ = _failed(warehouse, tmp_path, "neows", SOURCES__NEOWS__BASE_URL=f"http://127.0.0.1:{port}/neo/rest/v1")
    assert f"NeoWs GET http://127.0.0.1:{port}/neo/rest/v1/feed?{WINDOW}" in block[-1]
    assert "Connection refused" in block[-1]


def test_bad_json(warehouse, tmp_path, replay):
    replay.inject(Fault("truncate", path="/feed", honest_length=True, times=2))
    block, _ = _failed(warehouse, tmp_path, "neows", SOURCES__NEOWS__BASE_URL=replay.base_url)
    assert f"/feed?{WINDOW}" in block[-1]
    assert "JSON" in block[-1]


def test_html_instead_of_json(warehouse, tmp_path, replay):
    replay.inject(Fault("html", path="/feed", times=2))
    block, _ = _failed(warehouse, tmp_path, "neows", SOURCES__NEOWS__BASE_URL=replay.base_url)
    assert f"/feed?{WINDOW}" in block[-1]
    assert "HTML" in block[-1]


def test_missing_key(warehouse, tmp_path, replay):
    edited = tmp_path / "edited"
    edited.mkdir()
    document = json.loads((RECORDED_DIR / FEED_FILE).read_text())
    del document["near_earth_objects"]
    (edited / FEED_FILE).write_text(json.dumps(document))
    replay.layer(edited)
    block, stored = _failed(warehouse, tmp_path, "neows", SOURCES__NEOWS__BASE_URL=replay.base_url)
    assert block[-1].startswith("caused by FeedResponseError: ")
    assert "no 'near_earth_objects' object in the response" in block[-1]
    assert WINDOW in stored


def test_bad_landing_location(warehouse, tmp_path):
    block, _ = _failed(
        warehouse, tmp_path, "transactions", SOURCES__TRANSACTIONS__BUCKET_URL="nosuchprotocol://bucket/drops"
    )
    # a wrapper's line stops where its cause's own line starts
    assert block == [
        "cannot open the landing area nosuchprotocol://bucket/drops:",
        "caused by ValueError: Protocol not known: nosuchprotocol",
    ]


def test_database_error(warehouse, tmp_path):
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    block, _ = _failed(warehouse, tmp_path, "app_db", APP_DB_URL=f"sqlite:///{empty}")
    assert block[-1] == f"the application database sqlite:///{empty} has no table(s) users, orders (tables: none)"


def test_unreachable_database_without_its_password(warehouse, tmp_path):
    block, stored = _failed(
        warehouse,
        tmp_path,
        "app_db",
        APP_DB_URL="postgresql+psycopg://reader:s3cret-pw@127.0.0.1:1/app",
    )
    assert "s3cret-pw" not in stored
    assert block[-1].startswith("caused by OperationalError: ")
    assert '"127.0.0.1", port 1 failed' in block[-1]


def test_held_lock(warehouse, tmp_path):
    with connect(warehouse, role="loader") as holder:
        holder.execute("select pg_advisory_lock(hashtext(%s), hashtext('neows'))", (LOCK_NAMESPACE,))
        refused = run_elt("load", "neows", env=_env(warehouse, tmp_path))
    assert_one_line_error(refused, "pipeline neows is already running", "wait for it to finish")
