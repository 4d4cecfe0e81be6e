"""A pipeline killed (SIGKILL) at any step leaves nothing that the next run does not repair exactly.

For each fault point the load process kills itself there; the rerun must give the same checksums as a
run that never crashed (in a second database), and a further run must change nothing.
"""

import gzip
import os
import signal
import subprocess
import sys

import pytest

from extract_load.common.running import FAULT_POINT_ENV, FAULT_POINTS
from extract_load.demo_data.generator import DemoConfig, DemoData
from tests.conftest import REPO_ROOT
from tests.elt.test_cli import SCRUBBED
from tests.warehouse_checksums import table_checksums

HEADER = "transaction_id,user_id,total_cost,dt\n"


def _landing(folder):
    folder.mkdir()
    for day in range(1, 6):
        body = "".join(f"t{day}-{n},{n},{n}.50,2024-01-0{day}\n" for n in range(1, 200))
        body += f"dup,{day},{day}.00,2024-01-0{day}\nbad{day},1,-1,2024-01-0{day}\n"
        (folder / f"day{day}.csv").write_text(HEADER + body)
        os.utime(folder / f"day{day}.csv", (1_700_000_000 + day * 86_400,) * 2)
    (folder / "day6.csv.gz").write_bytes(gzip.compress((HEADER + "g1,1,1.00,2024-01-06\n").encode()))
    os.utime(folder / "day6.csv.gz", (1_700_000_000 + 6 * 86_400,) * 2)
    return folder


def _run(module, warehouse, tmp_path, env, fault=None):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED)}
    full = {
        **clean,
        **warehouse.environment(),
        "DLT_PROJECT_DIR": str(REPO_ROOT),
        "DLT_DATA_DIR": str(tmp_path / f"dlt-{warehouse.dbname}"),
        **env,
    }
    if fault:
        full[FAULT_POINT_ENV] = fault
    return subprocess.run(
        [sys.executable, "-c", f"import {module} as m; m.run()"],
        cwd=REPO_ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(params=["transactions", "app_db"])
def source(request, tmp_path):
    if request.param == "transactions":
        landing = _landing(tmp_path / "landing")
        return (
            "extract_load.transactions_pipeline",
            "raw_transactions",
            {"SOURCES__TRANSACTIONS__BUCKET_URL": str(landing)},
        )
    app_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    DemoData(
        app_url, tmp_path / "unused-landing", tmp_path / "state.json", DemoConfig(days=20, users=300)
    ).generate_base()
    return "extract_load.app_db_pipeline", "raw_app", {"APP_DB_URL": app_url}


@pytest.mark.parametrize("fault", FAULT_POINTS)
def test_rerun_after_a_crash_equals_an_uncrashed_run(source, fault, warehouse_factory, tmp_path):
    module, dataset, env = source
    reference, crashed = warehouse_factory(), warehouse_factory()
    ok = _run(module, reference, tmp_path, env)
    assert ok.returncode == 0, ok.stderr[-2000:]
    expected = table_checksums(reference, [dataset], ignore_columns=["detected_at"])

    died = _run(module, crashed, tmp_path, env, fault=fault)
    assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
    for _ in range(2):
        rerun = _run(module, crashed, tmp_path, env)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        assert table_checksums(crashed, [dataset], ignore_columns=["detected_at"]) == expected


def test_unknown_fault_point_is_refused(tmp_path, warehouse):
    result = _run("extract_load.transactions_pipeline", warehouse, tmp_path, {}, fault="nowhere")
    assert result.returncode == 1
    assert "is not one of" in result.stderr
