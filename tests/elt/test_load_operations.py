"""`elt load` operations: exit codes, run history, one run at a time per pipeline."""

from elt.connection import connect
from elt.pipeline_runs import LOCK_NAMESPACE
from tests.elt.test_cli import assert_one_line_error, run_elt

HEADER = "transaction_id,user_id,total_cost,dt\n"


def _env(warehouse, tmp_path, landing):
    return {
        "WAREHOUSE_URL": warehouse.url(),
        "ELT_HOME": str(tmp_path / "home"),
        "SOURCES__TRANSACTIONS__BUCKET_URL": str(landing),
    }


def _history(warehouse):
    with connect(warehouse) as conn:
        return conn.execute(
            "select pipeline, status, rows_extracted, rows_rejected, error is null from raw_ops.pipeline_runs "
            "order by started_at"
        ).fetchall()


def test_exit_codes_and_history(warehouse, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    env = _env(warehouse, tmp_path, landing)
    (landing / "clean.csv").write_text(HEADER + "t1,1,1.00,2024-01-01\n")
    clean = run_elt("load", "transactions", env=env)
    assert clean.returncode == 0, clean.stderr
    assert "load finished: transactions: success" in clean.stdout
    (landing / "dirty.csv").write_text(HEADER + "t2,1,-1.00,2024-01-01\nt3,1,1.00,2024-01-01\n")
    partial = run_elt("load", "transactions", env=env)
    assert partial.returncode == 3, partial.stderr
    assert "transactions: partial" in partial.stdout
    assert _history(warehouse) == [
        ("transactions", "success", 2, 0, True),
        ("transactions", "partial", 2, 1, True),
    ]


def test_a_failing_pipeline_exits_1_and_is_recorded(warehouse, tmp_path):
    env = _env(warehouse, tmp_path, tmp_path / "landing")
    env["SOURCES__TRANSACTIONS__BUCKET_URL"] = "nosuchprotocol://bucket/drops"
    result = run_elt("load", "transactions", env=env)
    assert result.returncode == 1
    assert "FAILED:" in result.stderr
    assert "Traceback" not in result.stderr
    assert _history(warehouse) == [("transactions", "failed", None, None, False)]


def test_a_second_concurrent_run_is_refused(warehouse, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    env = _env(warehouse, tmp_path, landing)
    with connect(warehouse, role="loader") as holder:
        holder.execute("select pg_advisory_lock(hashtext(%s), hashtext('transactions'))", (LOCK_NAMESPACE,))
        holder.execute(
            "insert into raw_ops.pipeline_runs (run_id, pipeline, status, started_at, host, pid) "
            "values (gen_random_uuid(), 'transactions', 'running', now(), 'other-host', 4242)"
        )
        refused = run_elt("load", "transactions", env=env)
    assert_one_line_error(refused, "pipeline transactions is already running", "other-host (pid 4242)")
    after = run_elt("load", "transactions", env=env)
    assert after.returncode == 0, after.stderr
    assert [row[1] for row in _history(warehouse)] == ["crashed", "success"]
