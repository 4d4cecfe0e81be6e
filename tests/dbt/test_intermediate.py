"""Intermediate models against independent Python computations over the raw layer."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from elt.connection import connect
from elt.errors import EltError

RFM_COLUMNS = "user_id, frequency, recency, t, monetary_value, first_purchase_date, observation_end_date"


def reference_rfm(rows: list[tuple[int, date, Decimal]], days_per_unit: int, end: date | None) -> dict:
    """RFM per customer the plain way: group by day, drop days after the end, exclude the first day."""
    end = end or max(day for _, day, _ in rows)
    spend: dict[int, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for user_id, day, cost in rows:
        if day <= end:
            spend[user_id][day] += cost
    summary = {}
    for user_id, per_day in spend.items():
        days = sorted(per_day)
        repeat = [per_day[day] for day in days[1:]]
        summary[user_id] = (
            len(days) - 1,
            (days[-1] - days[0]).days / days_per_unit,
            (end - days[0]).days / days_per_unit,
            float(sum(repeat) / len(repeat)) if repeat else 0.0,
            days[0],
            end,
        )
    return summary


def raw_transactions(conn) -> list[tuple[int, date, Decimal]]:
    # the raw merge keeps one row per transaction_id, so the raw rows are the reference input
    return conn.execute("select user_id, dt, total_cost from raw_transactions.transactions").fetchall()


def built_rfm(conn) -> dict:
    rows = conn.execute(f"select {RFM_COLUMNS} from intermediate.int_customers_rfm").fetchall()
    return {row[0]: row[1:] for row in rows}


def assert_same_rfm(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for user_id, (frequency, recency, t, monetary, first, end) in expected.items():
        got = actual[user_id]
        assert (got[0], got[4], got[5]) == (frequency, first, end), user_id
        assert got[1] == pytest.approx(recency) and got[2] == pytest.approx(t), user_id
        assert got[3] == pytest.approx(monetary, abs=1e-9), user_id


def test_rfm_equals_a_plain_python_computation_over_raw_transactions(demo_env):
    with connect(demo_env.target) as conn:
        expected = reference_rfm(raw_transactions(conn), 1, None)
        actual = built_rfm(conn)
        kind = conn.execute("select relkind from pg_class where oid = 'intermediate.int_customers_rfm'::regclass")
        kind = kind.fetchone()[0]
    assert kind == "r"
    assert_same_rfm(actual, expected)
    assert sum(1 for values in expected.values() if values[0] > 0) >= 30  # repeat buyers exist
    assert any(user_id >= 900_000 for user_id in actual)  # customers unknown to the app database count


def test_rfm_in_weeks_up_to_an_observation_end(demo_env, dbt_session):
    end = date(2024, 6, 20)
    try:
        dbt_session.invoke(
            "run",
            "--select",
            "int_customers_rfm",
            "--vars",
            f"{{clv_time_unit: week, clv_observation_end: '{end.isoformat()}'}}",
        )
        with connect(demo_env.target) as conn:
            expected = reference_rfm(raw_transactions(conn), 7, end)
            actual = built_rfm(conn)
            units = conn.execute("select distinct time_unit from intermediate.int_customers_rfm").fetchall()
    finally:
        dbt_session.invoke("run", "--select", "int_customers_rfm")
    assert units == [("week",)]
    assert_same_rfm(actual, expected)


def test_an_unknown_time_unit_fails_the_model(demo_env, dbt_session):
    with pytest.raises(EltError, match=r"clv_time_unit: month.* failed"):
        dbt_session.invoke("run", "--select", "int_customers_rfm", "--vars", "{clv_time_unit: month}")
    with connect(demo_env.target) as conn:
        units = conn.execute("select distinct time_unit from intermediate.int_customers_rfm").fetchall()
    assert units == [("day",)]


def test_orphan_transactions_are_kept_and_flagged(demo_env):
    with connect(demo_env.target) as conn:
        raw_count, raw_revenue, raw_orphans = conn.execute(
            """
            select
                count(*),
                sum(total_cost),
                count(*) filter (where user_id not in (select id from raw_app.users))
            from raw_transactions.transactions
            """
        ).fetchone()
        joined_count, joined_revenue, orphans = conn.execute(
            """
            select count(*), sum(total_cost_usd), count(*) filter (where is_orphan)
            from intermediate.int_transactions_joined_to_users
            """
        ).fetchone()
        hard_deleted = conn.execute(
            "select count(distinct user_id) from intermediate.int_transactions_joined_to_users "
            "where is_user_hard_deleted"
        ).fetchone()[0]
    assert (joined_count, joined_revenue, orphans) == (raw_count, raw_revenue, raw_orphans)
    assert orphans > 0
    assert hard_deleted <= demo_env.next_day.users_hard_deleted


def test_daily_purchases_merge_same_day_transactions(demo_env):
    with connect(demo_env.target) as conn:
        expected = conn.execute(
            "select count(distinct (user_id, dt)), count(*), sum(total_cost) from raw_transactions.transactions"
        ).fetchone()
        actual = conn.execute(
            "select count(*), sum(transaction_count), sum(daily_spend_usd) "
            "from intermediate.int_customer_daily_purchases"
        ).fetchone()
    assert actual == expected


def test_close_approaches_cover_feed_browse_and_lookups_with_sizes(demo_env):
    with connect(demo_env.target) as conn:
        expected = conn.execute(
            """
            select count(*) from (
                select neo_reference_id, close_approach_date, orbiting_body from raw_neows.close_approaches
                union
                select neo_reference_id, close_approach_date, orbiting_body
                from raw_neows.browse_close_approaches
                union
                select neo_reference_id, close_approach_date, orbiting_body
                from raw_neows.lookup_close_approaches
            ) as approaches
            """
        ).fetchone()[0]
        # the one asteroid without magnitude or diameter: the watch list's recorded lookup 54049909
        expected_unknown_size = conn.execute(
            "select count(*) from raw_neows.lookup_close_approaches where neo_reference_id = '54049909'"
        ).fetchone()[0]
        actual, unknown_size, hazardous = conn.execute(
            """
            select
                count(*),
                count(*) filter (where size_class = 'unknown'),
                count(*) filter (where is_hazardous_approach)
            from intermediate.int_close_approaches_joined_to_asteroids
            """
        ).fetchone()
        wrong_hazard = conn.execute(
            """
            select count(*)
            from intermediate.int_close_approaches_joined_to_asteroids
            where is_hazardous_approach != (
                is_potentially_hazardous and orbiting_body = 'Earth' and miss_distance_au <= 0.05
            )
            """
        ).fetchone()[0]
    assert actual == expected > 0
    assert unknown_size == expected_unknown_size > 0
    assert wrong_hazard == 0
    assert hazardous <= actual
