import csv
import json
import re
import sys
import time
from datetime import date
from decimal import Decimal

import pytest

from benchmarks import raw_copy, transactions_load
from benchmarks.generate import TRANSACTION_COLUMNS, generate_chunks, write_csv
from benchmarks.harness import (
    BenchmarkContext,
    Measurement,
    format_table,
    interleaved_best_times,
    resolve_references,
    run_child,
    write_json,
)
from benchmarks.run import select
from elt.connection import connect
from elt.errors import EltError


def read_rows(path):
    with path.open(newline="", encoding="ascii") as handle:
        return list(csv.reader(handle))


def test_generator_is_deterministic_and_has_the_transaction_schema(tmp_path):
    first = write_csv(tmp_path / "a.csv", 1000, seed=7)
    again = write_csv(tmp_path / "b.csv", 1000, seed=7, chunk_rows=64)  # chunking never changes the data
    other = write_csv(tmp_path / "c.csv", 1000, seed=8)

    assert first.rows == 1000
    assert first.size_bytes == first.path.stat().st_size
    assert first.path.read_bytes() == again.path.read_bytes()
    assert first.path.read_bytes() != other.path.read_bytes()

    header, *rows = read_rows(first.path)
    assert header == [name for name, _ in TRANSACTION_COLUMNS] == ["transaction_id", "user_id", "total_cost", "dt"]
    assert len(rows) == 1000
    assert len({row[0] for row in rows}) == 1000
    for transaction_id, user_id, total_cost, dt in rows:
        assert re.fullmatch(r"txn_[0-9a-f]{16}", transaction_id)
        assert int(user_id) >= 1
        assert re.fullmatch(r"\d{1,10}\.\d{2}", total_cost)
        assert Decimal(total_cost) >= 0
        assert date(2024, 1, 1) <= date.fromisoformat(dt) <= date(2025, 12, 31)


def test_generator_prefix_is_stable_and_chunks_cover_all_rows(tmp_path):
    small = write_csv(tmp_path / "small.csv", 300, seed=3)
    large = write_csv(tmp_path / "large.csv", 1000, seed=3)
    assert read_rows(large.path)[:301] == read_rows(small.path)

    chunks = list(generate_chunks(1000, seed=3, chunk_rows=400))
    assert [(c.start, len(c)) for c in chunks] == [(0, 400), (400, 400), (800, 200)]
    assert list(generate_chunks(0, seed=3)) == []


def test_references_resolve_within_the_run_and_give_ratios():
    measured = resolve_references(
        [
            Measurement("raw_copy.keyed", 400_000.0, "rows/s", reference_metric="raw_copy.keyed"),
            Measurement("raw_copy.keyed_seconds", 2.5, "s"),
            Measurement("later.load", 100_000.0, "rows/s", reference_metric="raw_copy.keyed"),
            Measurement("orphan", 1.0, "rows/s", reference_metric="not.measured"),
        ]
    )
    assert [(m.reference, m.ratio) for m in measured] == [
        (400_000.0, 1.0),
        (None, None),
        (400_000.0, 0.25),
        (None, None),
    ]


def test_table_has_the_five_columns_aligned():
    table = format_table(
        [
            Measurement("raw_copy.keyed", 412_345.6, "rows/s", reference=412_345.6),
            Measurement("raw_copy.csv_size", 43.7, "MB"),
            Measurement("later.load", 103_086.4, "rows/s", reference=412_345.6),
        ]
    )
    lines = table.splitlines()
    assert lines[0].split() == ["metric", "value", "unit", "reference", "ratio"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].split() == ["raw_copy.keyed", "412,346", "rows/s", "412,346", "1.00"]
    assert lines[3].split() == ["raw_copy.csv_size", "43.70", "MB"]
    assert lines[4].split() == ["later.load", "103,086", "rows/s", "412,346", "0.25"]
    # numbers are right-aligned: their columns end at the same offset
    assert lines[2].index("412,346") + 7 == lines[4].index("103,086") + 7 == lines[0].index("value") + 5


def test_json_holds_run_info_and_measurements(tmp_path):
    path = write_json(
        tmp_path / "out" / "result.json",
        {"rows": 10},
        [Measurement("a", 2.0, "rows/s", reference_metric="a", reference=4.0)],
    )
    document = json.loads(path.read_text())
    assert document["run"] == {"rows": 10}
    assert document["measurements"][0] | {"ratio": None} == {
        "metric": "a",
        "value": 2.0,
        "unit": "rows/s",
        "reference_metric": "a",
        "reference": 4.0,
        "note": "",
        "ratio": None,
    }
    assert document["measurements"][0]["ratio"] == 0.5


def test_interleaved_best_times_alternate_and_keep_the_shortest():
    calls = []

    def make(name, seconds):
        def call():
            calls.append(name)
            time.sleep(seconds)
            return len(calls)

        return call

    (fast, fast_result), (slow, slow_result) = interleaved_best_times([(make("a", 0.001), 2), (make("b", 0.02), 1)], 2)
    assert calls == ["a", "a", "b", "a", "a", "b"]
    assert (fast_result, slow_result) == (5, 6)
    assert 0.001 <= fast < 0.02 <= slow


def test_child_run_reports_exit_code_output_and_peak_memory():
    child = run_child([sys.executable, "-c", "blob = b'x' * (64 * 1024 * 1024); print(len(blob))"])
    assert child.returncode == 0
    assert child.stdout.strip() == str(64 * 1024 * 1024)
    assert child.peak_rss_bytes >= 64 * 1024 * 1024

    failed = run_child([sys.executable, "-c", "raise SystemExit(3)"], check=False)
    assert failed.returncode == 3


def test_child_peak_is_the_childs_own_not_its_large_parents():
    # Linux hands a parent's high-water mark to its fork/exec child's ru_maxrss: at 500 MB here, a child doing
    # nothing used to be reported at ~510 MB
    blob = b"x" * (500 * 1024 * 1024)
    child = run_child([sys.executable, "-c", "pass"])
    assert len(blob) == 500 * 1024 * 1024
    assert child.peak_rss_exact == sys.platform.startswith("linux")
    assert 1_000_000 < child.peak_rss_bytes < 100 * 1024 * 1024


def test_child_runs_scripts_and_modules_as_main_with_their_arguments(tmp_path):
    script = tmp_path / "show.py"
    script.write_text("import sys\nprint(__name__, sys.argv[1:], sys.path[0])\n")
    by_path = run_child([str(script), "a", "b"], cwd=tmp_path)
    assert by_path.stdout.split() == ["__main__", "['a',", "'b']", str(tmp_path)]
    assert run_child([sys.executable, str(script), "c"]).stdout == by_path.stdout.replace("'a', 'b'", "'c'")
    as_code = run_child([sys.executable, "-c", "import sys; print(__name__, sys.argv)", "x"])
    assert as_code.stdout.strip() == "__main__ ['-c', 'x']"
    as_module = run_child([sys.executable, "-m", "calendar", "2026", "1"])
    assert as_module.stdout.split()[:2] == ["January", "2026"]


def test_child_exiting_without_its_report_is_an_error_not_a_zero_peak():
    with pytest.raises(EltError, match="without reporting its peak RSS"):
        run_child([sys.executable, "-c", "import os; os._exit(0)"])
    killed = run_child([sys.executable, "-c", "import os; os._exit(4)"], check=False)
    assert (killed.returncode, killed.peak_rss_bytes) == (4, None)


def test_every_benchmark_module_is_discovered_and_runs_after_what_it_needs():
    names = [b.name for b in select(None)]
    assert {"raw_copy", "transactions_load", "python_model_io", "moid"} <= set(names)
    for position, benchmark in enumerate(select(None)):
        assert all(names.index(needed) < position for needed in benchmark.needs)


def test_selecting_a_benchmark_pulls_in_what_it_needs():
    assert [b.name for b in select(["transactions_load"])] == ["raw_copy", "transactions_load"]
    assert [b.name for b in select(["raw_copy"])] == ["raw_copy"]


def test_raw_copy_loads_every_row_into_both_tables(warehouse, tmp_path):
    measurements = resolve_references(raw_copy.run(BenchmarkContext(warehouse, rows=2000, seed=11, workdir=tmp_path)))

    with connect(warehouse) as conn:
        for table in (raw_copy.KEYED_TABLE, raw_copy.UNKEYED_TABLE):
            assert conn.execute(f"select count(*), count(distinct transaction_id) from {table}").fetchone() == (
                2000,
                2000,
            )
        keyed = [
            conn.execute(
                "select count(*) from pg_index where indrelid = %s::regclass and indisprimary", (table,)
            ).fetchone()[0]
            for table in (raw_copy.KEYED_TABLE, raw_copy.UNKEYED_TABLE)
        ]
        assert keyed == [1, 0]
        loaded = conn.execute(f"select sum(total_cost) from {raw_copy.KEYED_TABLE}").fetchone()[0]

    generated = read_rows(tmp_path / "transactions.csv")[1:]
    assert loaded == sum(Decimal(row[2]) for row in generated)
    by_metric = {m.metric: m for m in measurements}
    assert by_metric[raw_copy.BASELINE_METRIC].unit == "rows/s"
    assert by_metric[raw_copy.BASELINE_METRIC].ratio == 1.0
    assert by_metric["raw_copy.unkeyed"].reference == by_metric[raw_copy.BASELINE_METRIC].value
    assert all(m.value > 0 for m in measurements)


def test_transactions_load_benchmark_runs_the_real_pipeline_and_reports_every_step(warehouse, tmp_path):
    # the benchmark itself checks the row count after each load and that the delta updated exactly its rows
    measurements = transactions_load.run(BenchmarkContext(warehouse, rows=3000, seed=5, workdir=tmp_path))

    by_metric = {m.metric: m for m in measurements}
    assert set(by_metric) == {
        "transactions_load.first_load",
        "transactions_load.first_load_seconds",
        "transactions_load.first_load_peak_rss",
        "transactions_load.rerun_no_new_file_seconds",
        "transactions_load.delta_1pct_seconds",
        "transactions_load.delta_1pct_beyond_rerun_seconds",
        "transactions_load.delta_1pct_peak_rss",
    }
    assert by_metric["transactions_load.first_load"].reference_metric == "raw_copy.keyed"
    assert (
        by_metric["transactions_load.first_load"].value
        == 3000 / by_metric["transactions_load.first_load_seconds"].value
    )
    assert all(m.value > 0 for m in measurements if not m.metric.endswith("beyond_rerun_seconds"))
