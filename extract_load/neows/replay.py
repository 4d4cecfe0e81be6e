"""Offline NeoWs: a stdlib HTTP server that replays recorded real responses and injects faults on request.

Recorded files map to the real paths and query strings (``api_key`` is ignored, and so is
``detailed=false``, the feed's default; a ``_detailed`` file answers ``detailed=true`` only):

==============================================  ==================================================
file                                            request (below ``/neo/rest/v1``)
==============================================  ==================================================
``feed_<start>_<end>.json``                     ``/feed?start_date=<start>&end_date=<end>``
``feed_<start>_<end>_detailed.json``            ``/feed?start_date=<start>&end_date=<end>&detailed=true``
``browse_page_<page>_size_<size>.json``         ``/neo/browse?page=<page>&size=<size>``
``neo_<id>.json``                               ``/neo/<id>``
==============================================  ==================================================

Anything else answers 404. Recording folders are layered: the first folder holding a file for a request
wins, so a test can put a revised copy of one response in front of the recorded ones. Other files
(``*.headers.json``, alternative versions such as ``neo_<id>_rec<date>.json``) are not served by name; a
response's ``<name>.headers.json`` beside it (``{"headers": {...}}``, as recorded) gives its ``Content-Type``
(e.g. a declared ``charset``), otherwise ``application/json``.

Responses carry api.nasa.gov's header shape, with ``X-RateLimit-Remaining`` counting down from
``rate_limit`` per request; once it is used up the server answers 429 ``OVER_RATE_LIMIT`` like the gateway.

Faults (:class:`Fault`) are queued through :meth:`ReplayServer.inject` (or, for a server in another process,
``POST /_replay/faults`` with a JSON list of fault objects); each matching request consumes one:
``status`` (e.g. 429 with ``Retry-After``, 500, 503), ``delay`` (answer late), ``reset`` (drop the
connection with a TCP reset), ``truncate`` (cut the body; ``honest_length`` decides whether
``Content-Length`` announces the full or the cut length) and ``html`` (a 200 with an HTML page).

Run standalone with ``python -m extract_load.neows.replay --port 8765`` and point
``SOURCES__NEOWS__BASE_URL`` at the printed URL.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import struct
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from extract_load.neows.settings import RECORDED_DIR

API_PREFIX = "/neo/rest/v1"
CONTROL_PREFIX = "/_replay"

FaultKind = Literal["status", "delay", "reset", "truncate", "html"]

_FEED_FILE = re.compile(r"feed_(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2})(_detailed)?\.json")
_BROWSE_FILE = re.compile(r"browse_page_(\d+)_size_(\d+)\.json")
_LOOKUP_FILE = re.compile(r"neo_(\d+)\.json")

_HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Scheduled maintenance</title></head>"
    b"<body><h1>api.nasa.gov is down for maintenance</h1><p>Please try again later.</p></body></html>\n"
)


@dataclass
class Fault:
    """One injected misbehaviour, applied to the next ``times`` requests whose path starts with ``path``.

    Attributes:
        kind: ``status``, ``delay``, ``reset``, ``truncate`` or ``html``.
        status: HTTP status of a ``status`` fault.
        retry_after: ``Retry-After`` header value of a ``status`` fault (None: no header).
        seconds: how long a ``delay`` fault waits before answering normally.
        keep_fraction: share of the body a ``truncate`` fault sends.
        honest_length: ``truncate`` only: announce the cut length (the client then sees truncated JSON)
            instead of the full length (the client then sees the connection close early).
        path: only requests whose path (below ``/neo/rest/v1``) starts with this; ``""`` matches all.
        times: how many requests the fault applies to.
    """

    kind: FaultKind
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0
    keep_fraction: float = 0.5
    honest_length: bool = False
    path: str = ""
    times: int = 1

    def __post_init__(self) -> None:
        if self.kind not in ("status", "delay", "reset", "truncate", "html"):
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if self.times < 1:
            raise ValueError("a fault applies to at least one request")


@dataclass(frozen=True)
class ServedRequest:
    """One request the server answered: path below the API prefix, query without the key, outcome."""

    path: str
    params: tuple[tuple[str, str], ...]
    status: int | None
    fault: str | None
    api_key_sent: bool


@dataclass
class _State:
    dirs: list[Path]
    rate_limit: int
    faults: list[Fault] = field(default_factory=list)
    served: list[ServedRequest] = field(default_factory=list)
    used: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)


def recorded_request(filename: str) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    """The request (path below ``/neo/rest/v1``, sorted query) a recorded file answers, or None."""
    if match := _FEED_FILE.fullmatch(filename):
        detailed = (("detailed", "true"),) if match.group(3) else ()
        return "/feed", (*detailed, ("end_date", match.group(2)), ("start_date", match.group(1)))
    if match := _BROWSE_FILE.fullmatch(filename):
        return "/neo/browse", (("page", match.group(1)), ("size", match.group(2)))
    if match := _LOOKUP_FILE.fullmatch(filename):
        return f"/neo/{match.group(1)}", ()
    return None


def normalized_query(query: str) -> tuple[tuple[str, str], ...] | None:
    """Sorted query pairs without ``api_key`` and ``detailed=false``; None if a parameter repeats.

    ``detailed`` is compared lowercased (``detailed=True`` is ``detailed=true``).
    """
    pairs = [
        (key, value.lower() if key == "detailed" else value)
        for key, value in parse_qsl(query, keep_blank_values=True)
        if key != "api_key"
    ]
    pairs = [(key, value) for key, value in pairs if (key, value) != ("detailed", "false")]
    if len({key for key, _ in pairs}) != len(pairs):
        return None
    return tuple(sorted(pairs))


def recorded_content_type(recorded: Path) -> dict[str, str]:
    """``{"Content-Type": ...}`` from the recorded headers beside a response (``<stem>.headers.json``), or ``{}``."""
    sidecar = recorded.with_name(f"{recorded.stem}.headers.json")
    if not sidecar.is_file():
        return {}
    headers = {name.lower(): value for name, value in json.loads(sidecar.read_text()).get("headers", {}).items()}
    return {"Content-Type": headers["content-type"]} if "content-type" in headers else {}


def recorded_index(dirs: Iterable[Path]) -> dict[tuple[str, tuple[tuple[str, str], ...]], Path]:
    """Map every servable request to its file; earlier folders win."""
    index: dict[tuple[str, tuple[tuple[str, str], ...]], Path] = {}
    for folder in dirs:
        for path in sorted(Path(folder).glob("*.json")):
            request = recorded_request(path.name)
            if request is not None:
                index.setdefault(request, path)
    return index


class _Handler(BaseHTTPRequestHandler):
    server_version = "neows-replay"
    sys_version = ""
    state: _State  # set on the subclass ReplayServer creates

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines can carry API keys."""

    def do_GET(self) -> None:
        """Serve a recorded response, a fault, a 404, or the control endpoint's request log."""
        url = urlsplit(self.path)
        if url.path == f"{CONTROL_PREFIX}/requests":
            with self.state.lock:
                served = [asdict(request) for request in self.state.served]
            self._send(200, json.dumps(served).encode())
            return
        path = url.path.removeprefix(API_PREFIX) if url.path.startswith(API_PREFIX + "/") else url.path
        params = normalized_query(url.query)
        key_sent = bool(self.headers.get("X-Api-Key")) or "api_key=" in url.query
        with self.state.lock:
            fault = self._take_fault(path) if url.path.startswith(API_PREFIX + "/") else None
            self.state.used += 1
            remaining = self.state.rate_limit - self.state.used
        self._log_entry: tuple[str, tuple[tuple[str, str], ...], str | None, bool] | None = (
            path,
            params or (),
            fault and fault.kind,
            key_sent,
        )
        self._answer(url.path, path, params, fault, max(remaining, 0), over_limit=remaining < 0)

    def do_POST(self) -> None:
        """``POST /_replay/faults`` queues faults (a JSON list of :class:`Fault` fields)."""
        if urlsplit(self.path).path != f"{CONTROL_PREFIX}/faults":
            self._send(404, b'{"error": "unknown control endpoint"}')
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            faults = [Fault(**spec) for spec in json.loads(self.rfile.read(length) or b"[]")]
        except (TypeError, ValueError) as exc:
            self._send(400, json.dumps({"error": str(exc)}).encode())
            return
        with self.state.lock:
            self.state.faults.extend(faults)
        self._send(200, json.dumps({"queued": len(faults)}).encode())

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self.state.faults:
            if path.startswith(fault.path):
                fault.times -= 1
                if fault.times == 0:
                    self.state.faults.remove(fault)
                return Fault(**{**asdict(fault), "times": 1})
        return None

    def _answer(
        self,
        full_path: str,
        path: str,
        params: tuple[tuple[str, str], ...] | None,
        fault: Fault | None,
        remaining: int,
        *,
        over_limit: bool,
    ) -> int | None:
        limit_headers = {
            "X-RateLimit-Limit": str(self.state.rate_limit),
            "X-RateLimit-Remaining": str(remaining),
        }
        if fault is not None and fault.kind == "delay":
            self.state.stopping.wait(fault.seconds)
            fault = None
        if fault is not None and fault.kind == "reset":
            self._reset()
            return None
        if fault is not None and fault.kind == "status":
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            body = json.dumps({"error": {"code": f"HTTP_{fault.status}", "message": "injected by the replay server"}})
            return self._send(fault.status, body.encode(), {**limit_headers, **extra})
        if fault is not None and fault.kind == "html":
            return self._send(200, _HTML_PAGE, {"Content-Type": "text/html; charset=utf-8"})
        if over_limit:
            body = {
                "error": {
                    "code": "OVER_RATE_LIMIT",
                    "message": "You have exceeded your rate limit. Try again later.",
                }
            }
            return self._send(429, json.dumps(body).encode(), limit_headers)
        recorded = self._index().get((path, params)) if params is not None else None
        if recorded is None:
            body = {
                "code": 404,
                "http_error": "NOT_FOUND",
                "error_message": f"not recorded in the replay server: {full_path}",
            }
            return self._send(404, json.dumps(body).encode(), limit_headers)
        payload = recorded.read_bytes()
        if fault is not None and fault.kind == "truncate":
            cut = payload[: int(len(payload) * fault.keep_fraction)]
            length = len(cut) if fault.honest_length else len(payload)
            self._send(200, cut, {**limit_headers, "Content-Length": str(length)})
            self.close_connection = True
            return 200
        return self._send(200, payload, {**limit_headers, **recorded_content_type(recorded)})

    def _index(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], Path]:
        with self.state.lock:
            dirs = list(self.state.dirs)
        return recorded_index(dirs)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> int:
        merged = {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*", **(headers or {})}
        merged.setdefault("Content-Length", str(len(body)))
        self._log(status)
        try:
            self.send_response(status)
            for name, value in merged.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its read timeout fired)
        return status

    def _log(self, status: int | None) -> None:
        """Record the request before answering, so a client sees its request in the log once answered."""
        entry, self._log_entry = getattr(self, "_log_entry", None), None
        if entry is not None:
            path, params, fault, key_sent = entry
            with self.state.lock:
                self.state.served.append(ServedRequest(path, params, status, fault, key_sent))

    def _reset(self) -> None:
        self._log(None)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Silent: clients that time out or get reset are expected here."""


class ReplayServer:
    """The replay server, run in a background thread; use as a context manager.

    Args:
        recorded_dirs: folders of recorded responses, first wins (default: the in-repo recordings).
        host: interface to bind.
        port: port to bind (0: any free port).
        rate_limit: the ``X-RateLimit-Limit`` this server simulates (2000: a personal key's hourly limit).
    """

    def __init__(
        self,
        recorded_dirs: Sequence[Path] = (RECORDED_DIR,),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit: int = 2000,
    ) -> None:
        self._state = _State(dirs=[Path(folder) for folder in recorded_dirs], rate_limit=rate_limit)
        handler = type("ReplayHandler", (_Handler,), {"state": self._state})
        self._server = _Server((host, port), handler)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port/neo/rest/v1``: what a client uses as its NeoWs base URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{API_PREFIX}"

    @property
    def requests(self) -> list[ServedRequest]:
        """Every request answered so far, in order (API keys are never recorded)."""
        with self._state.lock:
            return list(self._state.served)

    @property
    def pending_faults(self) -> list[Fault]:
        """Faults queued but not yet consumed."""
        with self._state.lock:
            return list(self._state.faults)

    def inject(self, *faults: Fault) -> None:
        """Queue faults; each applies to the next matching request(s)."""
        with self._state.lock:
            self._state.faults.extend(faults)

    def layer(self, folder: Path) -> None:
        """Serve ``folder``'s recordings in front of the current ones (e.g. a revised response)."""
        with self._state.lock:
            self._state.dirs.insert(0, Path(folder))

    def reset_rate_limit(self, rate_limit: int | None = None) -> None:
        """Start a new rate-limit period (optionally with another limit)."""
        with self._state.lock:
            self._state.used = 0
            if rate_limit is not None:
                self._state.rate_limit = rate_limit

    def start(self) -> ReplayServer:
        """Serve in a daemon thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="neows-replay", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (delayed answers are cut short)."""
        self._state.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the recordings until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m extract_load.neows.replay", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--rate-limit", type=int, default=2000)
    parser.add_argument("--dir", action="append", type=Path, help="recording folder in front of the in-repo ones")
    args = parser.parse_args(argv)
    server = ReplayServer([*(args.dir or []), RECORDED_DIR], host=args.host, port=args.port, rate_limit=args.rate_limit)
    print(f"NeoWs replay server at {server.base_url} (Ctrl-C stops it)", flush=True)
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._server.server_close()


if __name__ == "__main__":
    main()
