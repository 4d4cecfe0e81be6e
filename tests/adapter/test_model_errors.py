"""Failing Python models: the user's traceback in dbt's output, the previous table intact, nothing left behind."""

from __future__ import annotations

import re

import pytest

from tests.adapter.conftest import SECOND_EVENTS, DbtProject, insert_events, relation_names
from tests.warehouse_checksums import table_checksums

FAILING_MODEL = '''"""Fails on purpose."""


def helper(value):
    return 1 / value


def model(dbt, session):
    dbt.ref("stg_events")
    return helper(0)
'''

FAILING_INCREMENTAL = '''"""Fails on its incremental runs only."""


def model(dbt, session):
    dbt.config(materialized="incremental", unique_key="event_id", incremental_strategy="merge")
    events = dbt.ref("stg_events")
    if dbt.is_incremental:
        raise RuntimeError("increment rejected")
    return events
'''


def failure_message(project: DbtProject, result) -> str:
    return project.failures(result)


def test_failing_table_model_shows_its_traceback_and_keeps_the_previous_table(pyproj: DbtProject) -> None:
    pyproj.dbt("build")
    before = table_checksums(pyproj.target, ["marts"])
    relations = relation_names(pyproj.target)

    pyproj.write_model("models/marts/py_user_totals.py", FAILING_MODEL)
    result = pyproj.dbt("run", "--select", "py_user_totals", expect_success=False)
    message = failure_message(pyproj, result)
    path = pyproj.path / "models/marts/py_user_totals.py"
    assert "Python model py_user_totals raised ZeroDivisionError: division by zero" in message
    assert f'File "{path}", line 10, in model' in message
    assert "return helper(0)" in message  # the source line, quoted like any traceback
    assert f'File "{path}", line 5, in helper' in message
    assert "python_job.py" not in message  # the adapter's own frames are cut
    assert f'File "{path}", line 10, in model' in pyproj.log_text()  # what dbt prints
    assert table_checksums(pyproj.target, ["marts"]) == before
    assert relation_names(pyproj.target) == relations


def test_failing_incremental_run_rolls_back_the_increment(pyproj: DbtProject) -> None:
    pyproj.write_model("models/marts/py_events_merge.py", FAILING_INCREMENTAL)
    pyproj.dbt("build")
    before = table_checksums(pyproj.target, ["marts"])
    relations = relation_names(pyproj.target)
    insert_events(pyproj.target, SECOND_EVENTS)
    result = pyproj.dbt("run", "--select", "py_events_merge", expect_success=False)
    assert "RuntimeError: increment rejected" in failure_message(pyproj, result)
    assert re.search(r'py_events_merge\.py", line 8, in model', failure_message(pyproj, result))
    assert table_checksums(pyproj.target, ["marts"]) == before
    assert relation_names(pyproj.target) == relations


def test_syntax_error_names_file_and_line(pyproj: DbtProject) -> None:
    # dbt parses .py models itself and reports syntax errors with file and line before running anything
    pyproj.write_model("models/marts/py_user_totals.py", "def model(dbt, session):\n    return (\n")
    result = pyproj.dbt("run", "--select", "py_user_totals", expect_success=False)
    assert "py_user_totals.py" in str(result.exception) + pyproj.log_text()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("    result = dbt.ref('stg_events').to_pylist()[0:0] or None\n    return result\n", "returned None"),
        ("    return {'user_id': [1]}\n", "returned a builtins.dict: model(dbt, session) must return a pyarrow.Table"),
        (
            "    import pyarrow as pa\n    return pa.table({'a': [1], 'b': [2]}).rename_columns(['a', 'a'])\n",
            "duplicate column names ['a']",
        ),
    ],
    ids=["none", "dict", "duplicate-columns"],
)
def test_wrong_return_value_is_explained(pyproj: DbtProject, body: str, expected: str) -> None:
    pyproj.write_model("models/marts/py_user_totals.py", f"def model(dbt, session):\n{body}")
    result = pyproj.dbt("run", "--select", "+py_user_totals", expect_success=False)
    assert expected in failure_message(pyproj, result)


TOTALS = """import decimal
import pyarrow as pa


def model(dbt, session):
    dbt.ref("stg_events")
    return pa.table({{"user_id": {user_id}, "events": [1], "total": {total}, "bonus_cents": [7]}})
"""


@pytest.mark.parametrize(
    ("user_id", "total", "expected"),
    [
        (
            "[1]",
            "[1.5]",
            "column 'total': YAML declares data_type 'numeric(14,2)' but the model returned Arrow type double"
            " (floats are inexact",
        ),
        (
            "[1]",
            "[decimal.Decimal('1.234')]",
            "column 'total': a value does not fit the declared data_type 'numeric(14,2)'",
        ),
        ("['1']", "[decimal.Decimal('1')]", "column 'user_id': YAML declares data_type 'integer'"),
        (
            "[2**40]",
            "[decimal.Decimal('1')]",
            "column 'user_id': a value does not fit the declared data_type 'integer'",
        ),
    ],
    ids=["float-for-numeric", "too-many-decimals", "text-for-integer", "integer-out-of-range"],
)
def test_declared_data_types_are_checked(pyproj: DbtProject, user_id: str, total: str, expected: str) -> None:
    pyproj.write_model("models/marts/py_user_totals.py", TOTALS.format(user_id=user_id, total=total))
    result = pyproj.dbt("run", "--select", "+py_user_totals", expect_success=False)
    assert expected in failure_message(pyproj, result)
    assert not [r for r in relation_names(pyproj.target) if "py_user_totals" in r]


def test_declared_column_missing_from_the_result(pyproj: DbtProject) -> None:
    pyproj.write_model(
        "models/marts/py_user_totals.py",
        "import pyarrow as pa\n\n\ndef model(dbt, session):\n    return pa.table({'user_id': [1]})\n",
    )
    result = pyproj.dbt("run", "--select", "py_user_totals", expect_success=False)
    assert "column 'events' is declared in YAML (data_type 'integer') but the returned table has no such column" in (
        failure_message(pyproj, result)
    )
