"""The elt command line, run as a user runs it: a subprocess in the checkout."""

import os
import socket
import subprocess
import sys
import time

import pytest

from elt.connection import connect
from tests.conftest import REPO_ROOT

SCRUBBED = ("WAREHOUSE_", "DESTINATION__", "DBT_", "DLT_", "ELT_")


def run_elt(*args, env=None, cwd=REPO_ROOT, timeout=180):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED)}
    return subprocess.run(
        [sys.executable, "-m", "elt.cli", *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_one_line_error(result, *fragments):
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("elt: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_unreachable_url(tmp_path):
    url = f"postgresql://postgres:pw@127.0.0.1:{_free_port()}/warehouse"
    result = run_elt("up", env={"WAREHOUSE_URL": url, "ELT_HOME": str(tmp_path)})
    assert_one_line_error(result, "cannot reach", "nothing is listening there")
    assert "pw" not in result.stderr


def test_unresolvable_host(tmp_path):
    url = "postgresql://postgres@no-such-host.invalid:5432/warehouse"
    result = run_elt("up", env={"WAREHOUSE_URL": url, "ELT_HOME": str(tmp_path)})
    assert_one_line_error(result, "cannot reach")


def test_malformed_url(tmp_path):
    result = run_elt("status", env={"WAREHOUSE_URL": "mysql://root@localhost/db", "ELT_HOME": str(tmp_path)})
    assert_one_line_error(result, "must start with postgresql://")


def test_unknown_user_on_a_real_server(server_admin, tmp_path):
    url = server_admin.with_database("postgres").url().replace(f"{server_admin.user}@", "nobody_here@", 1)
    if server_admin.user not in server_admin.url():
        pytest.skip("URL has no user part to replace")
    result = run_elt("up", env={"WAREHOUSE_URL": url, "ELT_HOME": str(tmp_path)})
    assert_one_line_error(result, "nobody_here")


def test_wrong_password_on_a_password_protected_server(tmp_path):
    port = _free_port()
    home = tmp_path / "wh"
    env = {"ELT_HOME": str(home), "ELT_PG_PORT": str(port)}
    assert run_elt("up", env=env).returncode == 0
    try:
        hba = home / "pgdata" / "pg_hba.conf"
        hba.write_text("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
        socket_url = run_elt("env", env=env).stdout.split("export WAREHOUSE_URL=")[1].split("\n")[0].strip("'")
        from elt.warehouse_target import WarehouseTarget

        with connect(WarehouseTarget.from_url(socket_url)) as conn:
            conn.execute("select pg_reload_conf()")
            conn.execute("create role analyst login password 'right-password'")
        bad = f"postgresql://analyst:wrong-password@127.0.0.1:{port}/warehouse"
        _wait_until_password_is_checked(bad)
        result = run_elt("up", env={"WAREHOUSE_URL": bad, "ELT_HOME": str(tmp_path / "unused")})
        assert_one_line_error(result, "wrong credentials", "analyst")
        assert "wrong-password" not in result.stderr
    finally:
        run_elt("down", "--purge", env=env)


def _wait_until_password_is_checked(url: str, seconds: float = 30) -> None:
    """pg_reload_conf() only signals the postmaster: until it has re-read pg_hba.conf, trust still applies."""
    import psycopg

    deadline = time.monotonic() + seconds
    while True:
        try:
            psycopg.connect(url, connect_timeout=5).close()
        except psycopg.OperationalError as exc:
            if "password authentication failed" in str(exc):
                return
            raise
        assert time.monotonic() < deadline, "the server still trusts TCP connections after pg_reload_conf()"
        time.sleep(0.1)


def test_port_conflict(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_elt("up", env={"ELT_HOME": str(tmp_path), "ELT_PG_PORT": str(port)})
    assert_one_line_error(result, f"port {port}", "ELT_PG_PORT")


def test_outside_a_checkout(tmp_path):
    result = run_elt("status", cwd=tmp_path)
    assert_one_line_error(result, "no warehouse-elt checkout")


def test_unknown_source(tmp_path, warehouse):
    result = run_elt("load", "no_such_source", env={"WAREHOUSE_URL": warehouse.url(), "ELT_HOME": str(tmp_path)})
    assert_one_line_error(result, "unknown source(s) no_such_source")


def test_exec_without_command(tmp_path, warehouse):
    result = run_elt("exec", env={"WAREHOUSE_URL": warehouse.url(), "ELT_HOME": str(tmp_path)})
    assert_one_line_error(result, "elt exec needs a command")


def test_embedded_lifecycle_through_the_cli(tmp_path):
    env = {"ELT_HOME": str(tmp_path / "wh")}
    stopped = run_elt("status", env=env)
    assert stopped.returncode == 3
    assert "stopped" in stopped.stdout
    up = run_elt("up", env=env)
    assert up.returncode == 0, up.stderr
    assert "warehouse up (embedded)" in up.stdout
    assert up.stderr.strip() == "elt: created database 'warehouse'"
    status = run_elt("status", env=env)
    assert status.returncode == 0, status.stderr
    assert "running, pid" in status.stdout
    assert "PostgreSQL 18" in status.stdout
    assert run_elt("up", env=env).stderr == ""
    down = run_elt("down", env=env)
    assert down.stdout.strip() == "embedded warehouse stopped"
    assert run_elt("down", env=env).stdout.strip() == "embedded warehouse was not running"
    purge = run_elt("down", "--purge", env=env)
    assert purge.returncode == 0
    assert not (tmp_path / "wh").exists()


def test_env_is_evaluable_and_dbt_debug_connects_as_transformer(warehouse, tmp_path):
    env = {"WAREHOUSE_URL": warehouse.url(), "ELT_HOME": str(tmp_path), "PATH": os.environ["PATH"]}
    bin_dir = os.path.dirname(sys.executable)
    script = (
        f'eval "$({sys.executable} -m elt.cli env)" && '
        f'test "$WAREHOUSE_DB" = {warehouse.dbname} && '
        f"{bin_dir}/dbt debug --project-dir dbt_project"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED)}
    result = subprocess.run(
        ["bash", "-c", script], cwd=REPO_ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All checks passed!" in result.stdout
    assert f"role: {warehouse.role('transformer')}" in result.stdout


def test_env_in_a_shell_whose_url_is_the_embedded_one_still_stops_it(tmp_path):
    env = {"ELT_HOME": str(tmp_path / "wh")}
    assert run_elt("up", env=env).returncode == 0
    try:
        exported = dict(
            line.removeprefix("export ").split("=", 1) for line in run_elt("env", env=env).stdout.splitlines()
        )
        url = exported["WAREHOUSE_URL"].strip("'")
        down = run_elt("down", env={**env, "WAREHOUSE_URL": url})
        assert down.stdout.strip() == "embedded warehouse stopped"
    finally:
        run_elt("down", "--purge", env=env)
