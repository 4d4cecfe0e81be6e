"""`elt transform` passes dbt's selection flags on to dbt build and, where they apply, to source freshness."""

import pytest

from elt.cli import _parser
from elt.dbt_selection import DbtSelection


def _selection(*argv: str) -> DbtSelection:
    return DbtSelection.from_args(_parser().parse_args(["transform", *argv]))


def test_no_flags_build_everything():
    selection = _selection()
    assert selection.vars is None
    assert selection.build_args() == []
    assert selection.freshness_args([]) == []


def test_flags_reach_the_build_and_the_freshness_check():
    selection = _selection(
        "--vars",
        "{clv_time_unit: week}",
        "--select",
        "+clv_model_parameters",
        "stg_app__users",
        "-s",
        "dim_users",
        "--exclude",
        "fct_cohort_retention",
        "--full-refresh",
    )
    assert selection.vars == "{clv_time_unit: week}"
    assert selection.build_args() == [
        "--select",
        "+clv_model_parameters",
        "stg_app__users",
        "dim_users",
        "--exclude",
        "fct_cohort_retention",
        "--indirect-selection",
        "buildable",
        "--full-refresh",
    ]
    # freshness has no full refresh; the sources left out are added to the user's exclusions
    assert selection.freshness_args(["source:app.users"]) == [
        "--select",
        "+clv_model_parameters",
        "stg_app__users",
        "dim_users",
        "--exclude",
        "fct_cohort_retention",
        "source:app.users",
    ]


def test_selector_is_passed_on():
    assert _selection("--selector", "daily").build_args() == [
        "--selector",
        "daily",
        "--indirect-selection",
        "buildable",
    ]
    assert _selection("--selector", "daily").freshness_args(["source:neows.lookups"]) == [
        "--selector",
        "daily",
        "--exclude",
        "source:neows.lookups",
    ]


def test_indirect_selection_given_is_kept():
    # without a selection every test runs: no indirect selection is added
    assert _selection("--indirect-selection", "cautious", "-s", "dim_users").build_args() == [
        "--select",
        "dim_users",
        "--indirect-selection",
        "cautious",
    ]


def test_unknown_flag_is_a_command_line_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        _parser().parse_args(["transform", "--treads", "4"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --treads" in capsys.readouterr().err
