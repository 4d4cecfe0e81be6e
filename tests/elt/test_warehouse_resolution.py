"""Which warehouse a checkout uses: WAREHOUSE_URL when set, else its embedded server."""

from elt.embedded_server import EmbeddedServer
from elt.project import ProjectPaths
from elt.warehouse import EMBEDDED_DATABASE, Warehouse


def _paths(tmp_path, monkeypatch):
    monkeypatch.setenv("ELT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ELT_PG_PORT", raising=False)
    return ProjectPaths(tmp_path)


def test_unset_url_means_the_embedded_server_in_elt_home(tmp_path, monkeypatch):
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    warehouse = Warehouse.resolve(_paths(tmp_path, monkeypatch))
    assert warehouse.embedded == EmbeddedServer(home=tmp_path / "home")
    assert warehouse.target.dbname == EMBEDDED_DATABASE
    assert warehouse.target.host == str(tmp_path / "home" / "run")


def test_default_home_is_the_checkouts_git_ignored_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("ELT_HOME", raising=False)
    assert ProjectPaths(tmp_path).warehouse_home == tmp_path / ".warehouse"


def test_a_url_means_an_external_server(tmp_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://ana:pw@db.internal:5432/analytics")
    warehouse = Warehouse.resolve(_paths(tmp_path, monkeypatch))
    assert warehouse.embedded is None
    assert warehouse.target.describe() == "database 'analytics' on db.internal:5432 as user 'ana'"


def test_the_url_elt_env_exported_for_the_embedded_server_is_still_embedded(tmp_path, monkeypatch):
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    paths = _paths(tmp_path, monkeypatch)
    exported = Warehouse.resolve(paths).environment()["WAREHOUSE_URL"]
    monkeypatch.setenv("WAREHOUSE_URL", exported)
    assert Warehouse.resolve(paths).embedded is not None


def test_environment_points_dbt_and_dlt_at_the_checkout(tmp_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_URL", "postgresql://ana:pw@db.internal:5432/analytics")
    env = Warehouse.resolve(_paths(tmp_path, monkeypatch)).environment()
    assert env["DBT_PROFILES_DIR"] == str(tmp_path)
    assert env["DBT_PROJECT_DIR"] == str(tmp_path / "dbt_project")
    assert env["DLT_PROJECT_DIR"] == str(tmp_path)
    assert env["WAREHOUSE_URL"] == "postgresql://ana:pw@db.internal:5432/analytics"
