"""The lint gates `make test` runs catch violations with the project's own configuration."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

BIN = Path(sys.executable).parent


def _sqlfluff(path):
    return subprocess.run(
        [BIN / "sqlfluff", "lint", "--config", REPO_ROOT / ".sqlfluff", "--templater", "jinja", path],
        capture_output=True,
        text=True,
        check=False,
    )


def test_sqlfluff_flags_style_violations(tmp_path):
    bad = tmp_path / "bad_model.sql"
    bad.write_text("SELECT U.ID, count(*) FROM users U\n    , orders\nGROUP BY 1\n")
    result = _sqlfluff(bad)
    assert result.returncode == 1, result.stdout + result.stderr
    for rule in ("CP01", "CP02", "AL01", "AL03", "LT04"):
        assert rule in result.stdout, rule


def test_sqlfluff_accepts_the_project_style(tmp_path):
    good = tmp_path / "good_model.sql"
    good.write_text(
        "with\n\nusers as (\n    select\n        user_id,\n        country_code\n    from raw_app.users\n),\n\n"
        "counted as (\n    select\n        country_code,\n        count(*) as user_count\n    from users\n"
        "    group by country_code\n)\n\nselect * from counted\n"
    )
    result = _sqlfluff(good)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_flags_violations_with_the_project_config(tmp_path):
    bad = tmp_path / "bad_module.py"
    bad.write_text("import os\n\n\ndef public_function(x):\n    return x == None\n")
    result = subprocess.run(
        [BIN / "ruff", "check", "--no-cache", "--config", REPO_ROOT / "pyproject.toml", bad],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    for rule in ("F401", "E711", "D103"):
        assert rule in result.stdout, rule


def test_ci_runs_exactly_the_readme_test_command():
    readme = (REPO_ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("```", 2)[1]
    commands = [line.strip() for line in quick_start.splitlines()[1:] if line.strip() and not line.startswith("#")]
    assert len(commands) == 2
    ci_script = (REPO_ROOT / ".ci" / "run").read_text()
    ci_commands = [line.strip() for line in ci_script.splitlines() if line.strip() and not line.startswith("#")]
    assert commands[1] in ci_commands


def test_the_fast_pre_commit_lint_passes_on_the_project():
    """The pre-commit hook lints models, snapshots and singular tests with the jinja templater."""
    singular = [path for path in (REPO_ROOT / "dbt_project" / "tests").rglob("*.sql") if "generic" not in path.parts]
    result = subprocess.run(
        [
            BIN / "sqlfluff",
            "lint",
            "--templater",
            "jinja",
            REPO_ROOT / "dbt_project" / "models",
            REPO_ROOT / "dbt_project" / "snapshots",
            *singular,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
