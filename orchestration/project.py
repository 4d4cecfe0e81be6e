"""The checkout the code location belongs to, and the dbt project and manifest it is built from."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource, DbtProject

from elt.dbt_invocation import DbtSession
from elt.project import ProjectPaths

PATHS = ProjectPaths.discover(Path(__file__).parent)
DBT_PROJECT = DbtProject(project_dir=PATHS.dbt_project_dir, profiles_dir=PATHS.profiles_dir)
# set by ``dagster dev`` (dagster-dbt's ``prepare_if_dev`` reads it too, but runs a ``dbt`` found on PATH)
DEV_CLI_ENV = "DAGSTER_IS_DEV_CLI"


def prepared_manifest() -> dict[str, Any]:
    """The ``manifest.json`` of the dbt project: parsed first when ``dagster dev`` runs or when it is missing.

    Parsing renders ``profiles.yml``, so it needs the warehouse environment (``elt exec`` or ``elt env``).
    """
    if os.environ.get(DEV_CLI_ENV) or not DBT_PROJECT.manifest_path.exists():
        DbtSession(PATHS).manifest()
    return with_singular_test_names(json.loads(DBT_PROJECT.manifest_path.read_text()))


def with_singular_test_names(manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` with an empty ``test_metadata`` name on singular tests (dbt gives them no ``test_metadata``).

    dagster-dbt evaluates selectors on the manifest's dictionaries, where a missing ``test_metadata`` reads as
    ``None``, so a ``test_name`` selector method (``selectors.yml``'s ``daily``) fails on a singular test; with
    an empty name it skips it, as dbt itself does.
    """
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and not node.get("test_metadata"):
            node["test_metadata"] = {"name": "", "kwargs": {}}
    return manifest


def dbt_resource() -> DbtCliResource:
    """The dbt CLI of this environment, run against the project with its committed profile (adapter pgpython)."""
    return DbtCliResource(
        project_dir=DBT_PROJECT,
        profiles_dir=str(PATHS.profiles_dir),
        dbt_executable=str(Path(sys.executable).parent / "dbt"),
    )
