"""``elt orchestrate``: the Dagster UI (``dagster dev``) for the checkout's code location, on 127.0.0.1.

``dagster dev`` runs the webserver, the daemon and a code server as processes of its own. They are started in
a new process group, so Ctrl-C or SIGTERM to ``elt`` stops them all: SIGTERM to the group, then SIGKILL for
whatever is left after a grace period; the port is free again when ``elt`` returns.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from elt.errors import EltError
from elt.project import ProjectPaths

GRACE_SECONDS = 20.0
DAGSTER_CONFIG = Path("orchestration") / "dagster.yaml"


class _StopRequestedError(Exception):
    """SIGTERM received: stop the UI like Ctrl-C does."""


def serve(paths: ProjectPaths, port: int) -> int:
    """Run ``dagster dev`` on ``127.0.0.1:port`` until it exits or ``elt`` is interrupted; return its exit code."""
    dagster = Path(sys.executable).parent / "dagster"
    if not dagster.is_file():
        raise EltError("Dagster is not installed in this environment: run `make install-orchestration`")
    _require_free_port(port)
    home = paths.warehouse_home / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(paths.root / DAGSTER_CONFIG, home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_DISABLE_TELEMETRY": "1"}
    process = subprocess.Popen(
        [str(dagster), "dev", "--host", "127.0.0.1", "--port", str(port)],
        cwd=paths.root,
        env=env,
        start_new_session=True,
    )
    print(f"Dagster UI at http://127.0.0.1:{port}/ (Ctrl-C stops it)", flush=True)
    previous = signal.signal(signal.SIGTERM, _raise_stop)
    try:
        return process.wait()
    except (KeyboardInterrupt, _StopRequestedError):
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        _stop_group(process)


def _raise_stop(_signal: int, _frame: FrameType | None) -> None:
    raise _StopRequestedError


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group; SIGKILL to whatever is left of it after the grace period."""
    if not _signal_group(process.pid, signal.SIGTERM):
        process.wait()
        return
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline and (process.poll() is None or _signal_group(process.pid, 0)):
        time.sleep(0.2)
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()


def _signal_group(group: int, signum: int) -> bool:
    """Send ``signum`` to the process group; False when no process of it is left."""
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        return False
    return True


def _require_free_port(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise EltError(f"port {port} on 127.0.0.1 is already in use: choose another with --port") from None
