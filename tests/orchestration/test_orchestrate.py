"""`elt orchestrate` serves the Dagster UI on 127.0.0.1 and, on SIGTERM, stops every process it started."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from elt.warehouse_target import WarehouseTarget
from tests.conftest import REPO_ROOT
from tests.elt.test_cli import SCRUBBED, run_elt

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_info(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as response:
            return json.loads(response.read())
    except OSError:
        return None


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_ui_is_served_and_sigterm_stops_every_process(warehouse: WarehouseTarget, tmp_path: Path) -> None:
    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED)}
    env = {**clean, "WAREHOUSE_URL": warehouse.url(), "ELT_HOME": str(tmp_path / "home")}
    log = tmp_path / "orchestrate.log"
    with log.open("w") as output:
        elt = subprocess.Popen(
            [sys.executable, "-m", "elt.cli", "orchestrate", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    started: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 300
        while (info := _server_info(port)) is None:
            assert elt.poll() is None, f"elt orchestrate exited:\n{log.read_text()[-4000:]}"
            assert time.monotonic() < deadline, f"no Dagster UI on port {port}:\n{log.read_text()[-4000:]}"
            time.sleep(1)
        assert "dagster_webserver_version" in info
        assert f"Dagster UI at http://127.0.0.1:{port}/" in log.read_text()
        started += psutil.Process(elt.pid).children(recursive=True)
        assert len(started) >= 2  # dagster dev and its webserver, daemon and code server

        elt.send_signal(signal.SIGTERM)
        assert elt.wait(timeout=120) == 0, log.read_text()[-4000:]
    finally:
        if elt.poll() is None:
            for process in [*started, psutil.Process(elt.pid)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.kill()
    _, alive = psutil.wait_procs(started, timeout=10)
    assert alive == []
    assert _port_is_free(port)
    assert (tmp_path / "home" / "dagster" / "dagster.yaml").is_file()


def test_port_in_use_is_a_one_line_error(warehouse: WarehouseTarget, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_elt(
            "orchestrate", "--port", str(port), env={"WAREHOUSE_URL": warehouse.url(), "ELT_HOME": str(tmp_path)}
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"elt: error: port {port} on 127.0.0.1 is already in use: choose another with --port"
    )
