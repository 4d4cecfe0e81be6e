"""docker-compose.yml runs the same bootstrap as `elt up` (no Docker engine needed to check this)."""

import subprocess

import yaml

from elt.connection import connect
from elt.embedded_server import server_bin_dir
from tests.conftest import REPO_ROOT


def test_compose_pins_postgres_major_and_mounts_the_bootstrap():
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    warehouse = compose["services"]["warehouse"]
    assert warehouse["image"].startswith("postgres:18")
    assert "healthcheck" in warehouse
    mounts = [volume.split(":")[:2] for volume in warehouse["volumes"] if volume.startswith("./")]
    init = [source for source, target in mounts if target.startswith("/docker-entrypoint-initdb.d/")]
    assert init == ["./elt/sql/bootstrap.sql"]
    assert (REPO_ROOT / init[0]).is_file()
    assert compose["services"]["elt"]["environment"]["WAREHOUSE_URL"].startswith("postgresql://")


def test_bootstrap_script_runs_under_psql_as_the_init_script_does(warehouse):
    """The postgres image runs init scripts with `psql -v ON_ERROR_STOP=1 -f` against POSTGRES_DB."""
    result = subprocess.run(
        [
            server_bin_dir() / "psql",
            "-v",
            "ON_ERROR_STOP=1",
            "--no-psqlrc",
            "-f",
            REPO_ROOT / "elt" / "sql" / "bootstrap.sql",
            warehouse.conninfo(),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    with connect(warehouse) as conn:
        roles = {
            row[0]
            for row in conn.execute("select rolname from pg_roles where rolname like %s", (f"{warehouse.dbname}_%",))
        }
    assert roles == {warehouse.role(kind) for kind in ("loader", "transformer", "reporter")}
