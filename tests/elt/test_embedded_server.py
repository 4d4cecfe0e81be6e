"""Lifecycle of the embedded server: start, stop, restart, and recovery from crashed or stale state."""

import os
import signal
import socket
import stat
import time

import psutil
import pytest

from elt.connection import connect
from elt.embedded_server import EmbeddedServer, bundled_major_version
from elt.errors import EltError


@pytest.fixture
def server(tmp_path):
    embedded = EmbeddedServer(home=tmp_path / "wh")
    yield embedded
    embedded.purge()


def _store_and_read(server, value=None):
    with connect(server.target("postgres")) as conn:
        conn.execute("create table if not exists probe (value text)")
        if value is not None:
            conn.execute("insert into probe values (%s)", (value,))
        return [row[0] for row in conn.execute("select value from probe order by value")]


def _alive(pid):
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False


def _wait_gone(pids, timeout=15.0):
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids):
        assert time.monotonic() < deadline, f"processes {pids} did not exit"
        time.sleep(0.05)


def test_start_is_idempotent_and_stop_stops(server):
    assert server.start() == []
    pid = server.state().pid
    assert pid is not None
    assert server.start() == []
    assert server.state().pid == pid
    assert server.stop() is True
    assert not server.state().running
    assert not _alive(pid)
    assert server.stop() is False


def test_data_survives_a_restart(server):
    server.start()
    _store_and_read(server, "kept")
    server.stop()
    server.start()
    assert _store_and_read(server) == ["kept"]


def test_start_is_quiet(server, capfd):
    server.start()
    server.stop()
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""


def test_runs_the_bundled_postgres_version(server):
    server.start()
    with connect(server.target("postgres")) as conn:
        version = conn.execute("show server_version_num").fetchone()[0]
    assert int(version) // 10000 == bundled_major_version() == 18


def test_recovers_after_the_server_was_killed(server):
    server.start()
    _store_and_read(server, "committed before the crash")
    postmaster = psutil.Process(server.state().pid)
    backends = [child.pid for child in postmaster.children()]
    os.kill(postmaster.pid, signal.SIGKILL)
    # the backends notice their postmaster died and exit by themselves
    _wait_gone([postmaster.pid, *backends])
    assert not server.state().running
    notes = server.start()
    assert any("postmaster.pid" in note for note in notes)
    assert _store_and_read(server) == ["committed before the crash"]


def test_stale_pid_file_pointing_at_an_unrelated_process_is_replaced(server):
    server.start()
    server.stop()
    (server.data_dir / "postmaster.pid").write_text(f"{os.getpid()}\n{server.data_dir}\n")
    assert not server.state().running
    notes = server.start()
    assert any("stale postmaster.pid" in note for note in notes)
    assert server.state().running


def test_half_initialised_data_dir_is_rebuilt(server):
    server.data_dir.mkdir(parents=True)
    (server.data_dir / "base").mkdir()
    notes = server.start()
    assert any("half-initialised" in note for note in notes)
    assert (server.data_dir / "PG_VERSION").read_text().strip() == str(bundled_major_version())
    assert _store_and_read(server, "ok") == ["ok"]


def test_data_dir_of_another_major_version_is_refused_not_deleted(server):
    server.data_dir.mkdir(parents=True)
    (server.data_dir / "PG_VERSION").write_text("17\n")
    (server.data_dir / "precious").write_text("do not delete")
    with pytest.raises(EltError, match=r"PostgreSQL 17 cluster but this install runs PostgreSQL 18.*--purge"):
        server.start()
    assert (server.data_dir / "precious").exists()


def test_tcp_port_conflict_is_one_clear_line(tmp_path, monkeypatch):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        monkeypatch.setenv("ELT_PG_PORT", str(port))
        server = EmbeddedServer.at(tmp_path / "wh")
        with pytest.raises(EltError, match=rf"port {port} on 127.0.0.1 is already in use.*ELT_PG_PORT") as info:
            server.start()
        assert "\n" not in str(info.value)
        assert not server.state().running


def test_tcp_port_serves_clients(tmp_path, monkeypatch):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("ELT_PG_PORT", str(port))
    server = EmbeddedServer.at(tmp_path / "wh")
    try:
        server.start()
        tcp_target = server.target("postgres").__class__(
            host="127.0.0.1", port=port, user="postgres", password="", dbname="postgres"
        )
        with connect(tcp_target) as conn:
            assert conn.execute("select 1").fetchone() == (1,)
    finally:
        server.purge()


def test_invalid_tcp_port_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("ELT_PG_PORT", "fivefourthreetwo")
    with pytest.raises(EltError, match="ELT_PG_PORT='fivefourthreetwo' is not a TCP port"):
        EmbeddedServer.at(tmp_path)


def test_socket_in_use_by_another_server_is_reported(server, tmp_path):
    server.start()
    other = EmbeddedServer(home=tmp_path / "other")
    other.socket_dir.mkdir(parents=True)
    # the socket lock of a live server (the first one) sits where the second wants to listen
    lock_name = ".s.PGSQL.5432.lock"
    (other.socket_dir / lock_name).write_text((server.socket_dir / lock_name).read_text())
    with pytest.raises(EltError, match=r"socket .* is in use by another PostgreSQL \(pid \d+\)"):
        other.start()
    assert (other.socket_dir / lock_name).exists()
    other.purge()


def test_long_home_paths_put_the_socket_in_a_short_folder(tmp_path):
    deep = tmp_path / ("very-long-folder-name-" * 6)
    server = EmbeddedServer(home=deep)
    assert len(str(server.socket_dir)) < 40
    assert server.socket_dir != deep / "run"
    assert EmbeddedServer(home=deep).socket_dir == server.socket_dir
    assert EmbeddedServer(home=tmp_path / "x").socket_dir == tmp_path / "x" / "run"


def test_socket_folder_is_private_and_kept_across_restarts(server):
    server.start()
    assert stat.S_IMODE(server.socket_dir.stat().st_mode) == 0o700
    server.stop()
    server.start()
    assert server.state().running


def test_socket_folder_of_an_older_warehouse_is_tightened(server):
    # warehouses started before the socket folder was made private left it 0701 (traversable by others)
    server.start()
    server.stop()
    server.socket_dir.chmod(0o701)
    server.start()
    assert server.state().running
    assert stat.S_IMODE(server.socket_dir.stat().st_mode) == 0o700


@pytest.mark.parametrize("kind", ["open to others", "a symbolic link", "someone else's"])
def test_socket_folder_made_by_someone_else_is_refused(server, tmp_path, kind):
    # the short socket folder under /tmp has a predictable name: whoever creates it first controls it
    folder = server.socket_dir
    folder.parent.mkdir(parents=True, exist_ok=True)
    if kind == "a symbolic link":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        folder.symlink_to(tmp_path / "elsewhere")
    else:
        folder.mkdir(mode=0o700)
        if kind == "open to others":
            folder.chmod(0o777)
        elif os.geteuid() == 0:
            os.chown(folder, 65534, 65534)
        else:
            pytest.skip("only root can make a folder owned by someone else")
    with pytest.raises(EltError, match="is not this warehouse's private folder") as refused:
        server.start()
    assert str(folder) in str(refused.value)
    assert not server.state().running
