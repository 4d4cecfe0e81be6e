"""Where things live: the checkout root, the dbt project, and the embedded warehouse's home folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from elt.errors import EltError

DBT_PROJECT_MARKER = Path("dbt_project") / "dbt_project.yml"
WAREHOUSE_HOME_ENV = "ELT_HOME"


def find_project_root(start: Path | None = None) -> Path:
    """Return the nearest folder at or above ``start`` (default: cwd) holding a warehouse-elt checkout."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / DBT_PROJECT_MARKER).is_file() and (candidate / "pyproject.toml").is_file():
            return candidate
    raise EltError(
        f"no warehouse-elt checkout at or above {here} (looked for {DBT_PROJECT_MARKER}): "
        "run elt from inside the repository"
    )


@dataclass(frozen=True)
class ProjectPaths:
    """Paths of one checkout; the embedded warehouse lives in ``$ELT_HOME`` or ``<root>/.warehouse``."""

    root: Path

    @classmethod
    def discover(cls, start: Path | None = None) -> ProjectPaths:
        """Locate the checkout containing ``start`` (default: the current directory)."""
        return cls(find_project_root(start))

    @property
    def dbt_project_dir(self) -> Path:
        """Folder holding ``dbt_project.yml``."""
        return self.root / "dbt_project"

    @property
    def profiles_dir(self) -> Path:
        """Folder holding the committed ``profiles.yml`` (exported as ``DBT_PROFILES_DIR``)."""
        return self.root

    @property
    def extract_load_dir(self) -> Path:
        """Folder holding the dlt sources and their ``*_pipeline.py`` entry scripts."""
        return self.root / "extract_load"

    @property
    def warehouse_home(self) -> Path:
        """Git-ignored folder for the embedded server's data, socket and log."""
        configured = os.environ.get(WAREHOUSE_HOME_ENV)
        return Path(configured).expanduser().resolve() if configured else self.root / ".warehouse"
