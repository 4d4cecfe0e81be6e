"""The README's first Quick start command runs end to end in a fresh copy of the checkout."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.elt.test_cli import SCRUBBED


def readme_quick_start() -> list[str]:
    readme = (REPO_ROOT / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```", 2)[1]
    return [line.strip() for line in block.splitlines()[1:] if line.strip() and not line.strip().startswith("#")]


def copy_checkout(destination: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


@pytest.mark.slow
def test_readme_demo_command_runs_the_whole_chain(tmp_path):
    demo = readme_quick_start()[0]
    assert demo == "make demo"
    checkout = tmp_path / "checkout"
    copy_checkout(checkout)
    venv = Path(sys.prefix)
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED)}
    # reuse this test run's environment: the install step is what .ci/run itself exercises
    command = [*demo.split(), f"VENV={venv}", "-o", str(venv / ".warehouse-elt-installed")]
    try:
        result = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        summary = result.stdout.split("== summary ==", 1)[1]
        for relation in (
            "marts.dim_dates",
            "raw_transactions.transactions",
            "raw_transactions.rejected_rows",
            "raw_app.users",
        ):
            assert relation in summary, relation
        assert "== extract-load (next-day delta) ==" in result.stdout
        assert "== source freshness ==" in result.stdout
        orphans = re.search(r"orphan transactions \(user unknown to the app database\): ([\d,]+) of ([\d,]+)", summary)
        assert orphans is not None
        assert 0 < int(orphans.group(1).replace(",", "")) < int(orphans.group(2).replace(",", ""))
        assert (checkout / "dbt_project" / "target" / "index.html").exists()
        assert (checkout / "dbt_project" / "target" / "catalog.json").exists()
        assert (checkout / ".warehouse" / "pgdata" / "PG_VERSION").exists()
        assert "Traceback" not in result.stderr
    finally:
        subprocess.run([venv / "bin" / "elt", "down", "--purge"], cwd=checkout, env=env, capture_output=True)
