"""Run dbt in-process (dbtRunner): the project is parsed once per elt command, then reused."""

from __future__ import annotations

from typing import TYPE_CHECKING

from elt.errors import EltError
from elt.project import ProjectPaths

if TYPE_CHECKING:  # importing dbt is slow: only commands that run dbt pay for it
    from dbt.cli.main import dbtRunner, dbtRunnerResult
    from dbt.contracts.graph.manifest import Manifest


class DbtSession:
    """dbt commands against the checkout's project, sharing one parsed manifest (dbt's parse is slow: paid once).

    ``vars`` (YAML, as dbt's ``--vars``) apply to the parse and to every command: Python models read vars
    from YAML ``meta``, which is rendered when the project is parsed.
    """

    def __init__(self, paths: ProjectPaths, vars: str | None = None) -> None:
        self._paths = paths
        self._vars = ["--vars", vars] if vars else []
        self._runner: dbtRunner | None = None
        self._manifest: Manifest | None = None

    def invoke(self, *args: str) -> dbtRunnerResult:
        """Run ``dbt <args>``; raise EltError when dbt reports a failure."""
        runner = self._runner or self._parse()
        result = runner.invoke([*args, *self._vars, *self._location_args()])
        if not result.success:
            reason = f": {result.exception}" if result.exception else " (see the dbt output above)"
            raise EltError(f"dbt {' '.join(args)} failed{reason}")
        return result

    def manifest(self) -> Manifest:
        """The parsed project (parsed on first use)."""
        if self._manifest is None:
            self._parse()
        assert self._manifest is not None
        return self._manifest

    def _parse(self) -> dbtRunner:
        from dbt.cli.main import dbtRunner

        result = dbtRunner().invoke(["parse", "--quiet", *self._vars, *self._location_args()])
        if not result.success:
            raise EltError(f"dbt could not parse {self._paths.dbt_project_dir}: {result.exception}")
        self._manifest = result.result
        self._runner = dbtRunner(manifest=self._manifest)
        return self._runner

    def _location_args(self) -> list[str]:
        return [
            "--project-dir",
            str(self._paths.dbt_project_dir),
            "--profiles-dir",
            str(self._paths.profiles_dir),
        ]
