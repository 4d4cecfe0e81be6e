"""A Dagster home of the test's own (telemetry off, as in orchestration/dagster.yaml) and the code location."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from elt.warehouse_target import WarehouseTarget
from tests.conftest import REPO_ROOT


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``DAGSTER_HOME`` for the test, holding the committed ``dagster.yaml``; telemetry disabled."""
    home = tmp_path / "dagster-home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_DISABLE_TELEMETRY", "1")
    return home


@pytest.fixture
def code_location(warehouse_env: WarehouseTarget, dagster_home: Path) -> ModuleType:
    """``orchestration.definitions``, imported with a warehouse environment (dbt parses when no manifest exists)."""
    return importlib.import_module("orchestration.definitions")
