"""Benchmark: the full ``dbt build`` of the project and the daily incremental run the README recommends.

In a bootstrapped throwaway warehouse, through the project's real pipelines (child processes):

1. the base: ``rows`` minus three days of generated transactions (:mod:`benchmarks.generate`, one CSV file)
   and their users (an SQLite application database: every user id of the data set but every 100th, so 1 %
   of the transactions are orphans, and some orders), plus the NeoWs replay, are loaded;
2. three daily deliveries follow, each loaded as its own day (see below): a file with 1 % of ``rows`` new
   transactions dated that day, and 0.1 % of the users changing country plus ten orphan ids signing up;
3. the full ``dbt build`` runs (timed) over ``rows`` transactions;
4. the next day is delivered the same way, its file also re-sending 0.1 % of the base transactions (old
   dates) with a changed cost, and loaded;
5. the daily run (:data:`DAILY_ARGS`) runs (timed) and must leave the facts complete and equal to raw.

Days pass in seconds here, but the incremental models look back ``incremental_lookback_hours`` (72) from
the newest load they hold: so each daily load is re-stamped as loaded one day after the previous one (its
``_dlt_load_id`` in every raw table and in ``_dlt_loads``; the base stays as loaded). Then the daily run
re-reads what it would in production: the loads of the last three days and the new one.

dbt runs as its command-line tool in a child process, with its own target folder (partial parse warmed by
a ``dbt parse`` first, so both timed commands start alike). Target: the daily run takes < 20 % of the full
build. The slowest nodes of each run are printed on stderr.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from psycopg import sql

from benchmarks.generate import USERS, generate_chunks, write_csv
from benchmarks.harness import MB, Benchmark, BenchmarkContext, ChildRun, Measurement, run_child
from elt.bootstrap import apply_bootstrap
from elt.connection import connect
from elt.errors import EltError
from elt.warehouse_target import ROLE_KINDS, WarehouseTarget
from extract_load.demo_data.app_schema import metadata, orders, users
from extract_load.demo_data.generator import COUNTRIES, COUNTRY_WEIGHTS

NAME = "dbt_build"
ROOT = Path(__file__).resolve().parents[1]
FULL_SECONDS = f"{NAME}.full_build_seconds"
# the daily run the README recommends ("dbt project"), after the day's loads
DAILY_ARGS: tuple[str, ...] = ("build", "--selector", "daily")
PIPELINES = ("transactions", "app_db", "neows")
DAILY_PIPELINES = ("transactions", "app_db")
RAW_SCHEMAS = ("raw_transactions", "raw_app")
PRIOR_DAYS = 3  # daily loads before the full build: the lookback window of the daily run
DAY_SECONDS = 86_400
ORPHAN_EVERY = 100  # user ids divisible by this are unknown to the application database
NEW_SHARE = 0.01
RESENT_SHARE = 0.001
CHANGED_USERS_SHARE = 0.001
RESOLVED_ORPHANS = 10  # per day
DATA_END = date(2025, 12, 31)  # last business date of the generated data set
SIGNED_UP = datetime(2023, 6, 1, tzinfo=UTC)
BASE_UPDATED = datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z: modification time of the base file; day k's file is k days later
SLOWEST = 12


def run(ctx: BenchmarkContext) -> list[Measurement]:
    """Load the base and three days, time the full build; deliver and load the next day, time the daily run."""
    apply_bootstrap(ctx.target)
    try:
        landing = ctx.workdir / "landing"
        landing.mkdir()
        app_url = f"sqlite:///{ctx.workdir / 'app.sqlite'}"
        write_users(app_url, ctx.seed)
        day_rows = max(1, int(ctx.rows * NEW_SHARE))
        base_rows = ctx.rows - PRIOR_DAYS * day_rows
        base = write_csv(landing / "transactions_base.csv", base_rows, ctx.seed)
        os.utime(base.path, (T0, T0))
        env = environment(ctx, landing, app_url)
        first_load = load(env, PIPELINES)
        base_load_id = newest_load_id(ctx.target)
        for day in range(1, PRIOR_DAYS + 1):
            deliver_day(ctx, landing, app_url, env, day, day_rows, resent=0)
            restamp_loads(ctx.target, base_load_id, day)
        dbt(ctx.workdir, env, ["parse"])
        full = dbt(ctx.workdir, env, ["build"])
        slowest_nodes(ctx.workdir, "full build")
        resent = max(1, int(ctx.rows * RESENT_SHARE))
        day = PRIOR_DAYS + 1
        next_day = deliver_day(ctx, landing, app_url, env, day, day_rows, resent)
        restamp_loads(ctx.target, base_load_id, day)
        daily = dbt(ctx.workdir, env, list(DAILY_ARGS))
        slowest_nodes(ctx.workdir, "daily run")
        merged = rows_affected(ctx.workdir, "fct_transactions")
        check_facts(ctx.target, ctx.rows + day_rows)
    finally:
        drop_roles(ctx.target)
    selection = "dbt " + " ".join(DAILY_ARGS)
    return [
        Measurement(
            f"{NAME}.rows", ctx.rows, "rows", note=f"transactions at the full build ({PRIOR_DAYS} days loaded)"
        ),
        Measurement(f"{NAME}.base_load_seconds", first_load.seconds, "s", note=f"{base_rows:,} rows; with app + neows"),
        Measurement(FULL_SECONDS, full.seconds, "s", FULL_SECONDS, note="dbt build, command wall time"),
        Measurement(
            f"{NAME}.full_build_peak_rss", full.peak_rss_bytes / MB, "MB", note=f"the dbt process, {full.peak_rss_note}"
        ),
        Measurement(
            f"{NAME}.next_day_load_seconds",
            next_day.seconds,
            "s",
            note=f"{day_rows:,} new + {resent:,} re-sent transactions, users changed",
        ),
        Measurement(
            f"{NAME}.daily_run_seconds", daily.seconds, "s", FULL_SECONDS, note=f"{selection}; target ratio < 0.2"
        ),
        Measurement(
            f"{NAME}.daily_run_peak_rss",
            daily.peak_rss_bytes / MB,
            "MB",
            note=f"the dbt process, {daily.peak_rss_note}",
        ),
        Measurement(
            f"{NAME}.daily_fct_transactions_rows",
            merged,
            "rows",
            note="merged by the daily run: new, re-sent and changed users' (the re-read unchanged ones are skipped)",
        ),
    ]


BENCHMARK = Benchmark(NAME, "full dbt build vs the recommended daily incremental run after 1 % new rows", run)


def environment(ctx: BenchmarkContext, landing: Path, app_url: str) -> dict[str, str]:
    """What the pipelines and dbt need: the benchmark's database, landing folder, application database."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WAREHOUSE_", "DESTINATION__", "SOURCES__", "DBT_", "DLT_", "APP_DB_"))
    }
    return {
        **inherited,
        **ctx.target.environment(),
        "APP_DB_URL": app_url,
        "DBT_PROFILES_DIR": str(ROOT),
        "DBT_PROJECT_DIR": str(ROOT / "dbt_project"),
        "DLT_PROJECT_DIR": str(ROOT),
        "DLT_DATA_DIR": str(ctx.workdir / "dlt"),
        "SOURCES__TRANSACTIONS__BUCKET_URL": str(landing),
        "ELT_PROGRESS_SECONDS": "3600",
    }


def write_users(app_url: str, seed: int) -> int:
    """Create the application database: the data set's users (ids 1..USERS but every ORPHAN_EVERY-th), some orders.

    Returns:
        The number of users written.
    """
    rng = np.random.default_rng([seed, 0])
    ids = [uid for uid in range(1, USERS + 1) if uid % ORPHAN_EVERY]
    countries = rng.choice(COUNTRIES, size=len(ids), p=COUNTRY_WEIGHTS).tolist()
    signups = rng.integers(0, 365 * 24 * 60, size=len(ids)).tolist()
    rows = [
        _user(uid, country, SIGNED_UP + timedelta(minutes=minutes))
        for uid, country, minutes in zip(ids, countries, signups, strict=True)
    ]
    buyers = rng.choice(ids, size=len(ids) // 10).tolist()
    amounts = rng.integers(100, 100_000, size=len(buyers)).tolist()
    order_rows = [
        {
            "id": oid,
            "user_id": uid,
            "status": "paid",
            "amount": Decimal(cents) / 100,
            "created_at": BASE_UPDATED - timedelta(minutes=oid),
            "updated_at": BASE_UPDATED - timedelta(minutes=oid),
        }
        for oid, (uid, cents) in enumerate(zip(buyers, amounts, strict=True), start=1)
    ]
    engine = sa.create_engine(app_url)
    try:
        metadata.create_all(engine)
        with engine.begin() as conn:
            for table, values in ((users, rows), (orders, order_rows)):
                for start in range(0, len(values), 10_000):
                    conn.execute(table.insert(), values[start : start + 10_000])
    finally:
        engine.dispose()
    return len(rows)


def update_users(app_url: str, seed: int, day: int) -> int:
    """Day ``day`` in the application database: some users change country, ten orphan ids sign up.

    Returns:
        The number of changed or new users.
    """
    rng = np.random.default_rng([seed, day])
    moment = datetime.combine(DATA_END + timedelta(days=day), datetime.min.time(), tzinfo=UTC) + timedelta(hours=8)
    changed = max(1, int(USERS * CHANGED_USERS_SHARE))
    movers = sorted({int(uid) for uid in rng.integers(1, USERS + 1, size=changed) if uid % ORPHAN_EVERY})
    resolved = [ORPHAN_EVERY * (RESOLVED_ORPHANS * (day - 1) + i + 1) for i in range(RESOLVED_ORPHANS)]
    engine = sa.create_engine(app_url)
    try:
        with engine.begin() as conn:
            for uid in movers:
                country = str(rng.choice(COUNTRIES))
                conn.execute(users.update().where(users.c.id == uid).values(country_code=country, updated_at=moment))
            conn.execute(users.insert(), [_user(uid, "DE", moment) for uid in resolved])
    finally:
        engine.dispose()
    return len(movers) + len(resolved)


def write_day(path: Path, day: int, new: int, resent: int, seed: int) -> None:
    """Write day ``day``'s transaction file, modified ``day`` days after the base.

    It holds ``new`` transactions dated that day, then the data set's first ``resent`` transactions again with
    their cost raised by one cent.
    """
    dt = (DATA_END + timedelta(days=day)).isoformat()
    with path.open("w", encoding="ascii", newline="") as out:
        out.write("transaction_id,user_id,total_cost,dt\n")
        for chunk in generate_chunks(new, seed + day):  # another seed: other transaction ids
            costs = chunk.total_cost_cents.tolist()
            for tid, user, cents in zip(chunk.transaction_ids(), chunk.user_id.tolist(), costs, strict=True):
                out.write(f"{tid},{user},{cents // 100}.{cents % 100:02d},{dt}\n")
        for chunk in generate_chunks(resent, seed):  # the base's first rows
            days = np.datetime_as_string(chunk.dt, unit="D").tolist()
            costs = (chunk.total_cost_cents + 1).tolist()
            for tid, user, cents, old in zip(chunk.transaction_ids(), chunk.user_id.tolist(), costs, days, strict=True):
                out.write(f"{tid},{user},{cents // 100}.{cents % 100:02d},{old}\n")
    os.utime(path, (T0 + day * DAY_SECONDS, T0 + day * DAY_SECONDS))


def deliver_day(
    ctx: BenchmarkContext, landing: Path, app_url: str, env: dict[str, str], day: int, new: int, resent: int
) -> ChildRun:
    """Write day ``day``'s transaction file and user changes, then load them through the pipelines."""
    write_day(landing / f"transactions_day_{day:02d}.csv", day, new, resent, ctx.seed)
    update_users(app_url, ctx.seed, day)
    return load(env, DAILY_PIPELINES)


def load(env: dict[str, str], pipelines: Sequence[str]) -> ChildRun:
    """Run the project's pipelines ``extract_load/<name>_pipeline.py``, in order, in a child process."""
    code = "; ".join(f"import extract_load.{name}_pipeline as p; p.run()" for name in pipelines)
    return run_child([sys.executable, "-c", code], env=env, cwd=ROOT)


def newest_load_id(target: WarehouseTarget) -> float:
    """The load id (unix time) of the newest load in the raw schemas."""
    with connect(target) as conn:
        ids = [
            conn.execute(
                sql.SQL("select max(load_id::numeric) from {}").format(sql.Identifier(schema, "_dlt_loads"))
            ).fetchone()[0]
            for schema in RAW_SCHEMAS
        ]
    return float(max(ids))


def restamp_loads(target: WarehouseTarget, base_load_id: float, day: int) -> int:
    """Make the loads newer than the base look loaded ``day`` days after it: rewrite their load id.

    Every load id above the base's that is not yet a re-stamped one (those are whole days after the base) gets
    ``base + day days``, in every table of the raw schemas with a ``_dlt_load_id`` column and in ``_dlt_loads``.

    Returns:
        The number of rewritten rows.
    """
    stamp = f"{base_load_id + day * DAY_SECONDS:.6f}"
    fresh = "{column}::numeric > %(base)s and {column}::numeric < %(first_restamped)s"
    params = {"base": base_load_id, "first_restamped": base_load_id + DAY_SECONDS - 1, "stamp": stamp}
    rewritten = 0
    with connect(target) as conn:
        for schema in RAW_SCHEMAS:
            tables = conn.execute(
                "select table_name from information_schema.columns where table_schema = %s "
                "and column_name = '_dlt_load_id'",
                (schema,),
            ).fetchall()
            for (table,) in tables:
                rewritten += conn.execute(
                    sql.SQL("update {} set _dlt_load_id = %(stamp)s where " + fresh).format(
                        sql.Identifier(schema, table), column=sql.Identifier("_dlt_load_id")
                    ),
                    params,
                ).rowcount
            conn.execute(
                sql.SQL("update {} set load_id = %(stamp)s where " + fresh).format(
                    sql.Identifier(schema, "_dlt_loads"), column=sql.Identifier("load_id")
                ),
                params,
            )
    return rewritten


def dbt(workdir: Path, env: dict[str, str], args: Sequence[str]) -> ChildRun:
    """Run the ``dbt`` command line in a child process, with the benchmark's own target and log folders."""
    location = [
        "--project-dir",
        str(ROOT / "dbt_project"),
        "--profiles-dir",
        str(ROOT),
        "--target-path",
        str(workdir / "target"),
        "--log-path",
        str(workdir / "logs"),
    ]
    result = run_child([str(Path(sys.executable).with_name("dbt")), *args, *location], env=env, cwd=ROOT, check=False)
    if result.returncode != 0:
        failures = [line for line in result.stdout.splitlines() if "ERROR" in line or "FAIL" in line]
        raise EltError(f"dbt {' '.join(args)} exited with {result.returncode}:\n" + "\n".join(failures[-20:]))
    return result


def rows_affected(workdir: Path, model: str) -> int:
    """Rows the last dbt command's ``model`` node wrote (-1 when the adapter did not say)."""
    for result in json.loads((workdir / "target" / "run_results.json").read_text())["results"]:
        if result["unique_id"] == f"model.warehouse_elt.{model}":
            return int(result["adapter_response"].get("rows_affected", -1))
    raise EltError(f"{NAME}: {model} did not run")


def slowest_nodes(workdir: Path, label: str) -> list[tuple[str, float]]:
    """Print (on stderr) and return the slowest nodes of the last dbt command, from its run_results.json."""
    results = json.loads((workdir / "target" / "run_results.json").read_text())["results"]
    timed = sorted(((r["unique_id"], float(r["execution_time"])) for r in results), key=lambda x: -x[1])
    total = sum(seconds for _, seconds in timed)
    print(f"{NAME} {label}: {len(timed)} nodes, {total:.1f} s of node time; slowest:", file=sys.stderr)
    for unique_id, seconds in timed[:SLOWEST]:
        print(f"  {seconds:8.2f} s  {unique_id}", file=sys.stderr)
    return timed[:SLOWEST]


def check_facts(target: WarehouseTarget, expected: int) -> None:
    """The daily run left every transaction in fct_transactions and the revenue mart equal to the raw total."""
    with connect(target) as conn:
        facts, fact_revenue = conn.execute(
            "select count(*), sum(total_cost_usd) from marts.fct_transactions"
        ).fetchone()
        raw_revenue = conn.execute("select sum(total_cost) from raw_transactions.transactions").fetchone()[0]
        mart_revenue = conn.execute("select sum(revenue_usd) from marts.fct_daily_revenue_by_country").fetchone()[0]
    if facts != expected or not fact_revenue == raw_revenue == mart_revenue:
        raise EltError(
            f"{NAME}: after the daily run fct_transactions holds {facts:,} rows (expected {expected:,}); revenue "
            f"facts {fact_revenue}, raw {raw_revenue}, fct_daily_revenue_by_country {mart_revenue}"
        )


def drop_roles(target: WarehouseTarget) -> None:
    """Drop what the bootstrap's roles own in the benchmark's database, then the roles."""
    with connect(target) as conn:
        for kind in reversed(ROLE_KINDS):  # the transformer's views depend on the loader's tables
            conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(target.role(kind))))
    with connect(target.with_database("postgres")) as conn:
        for kind in reversed(ROLE_KINDS):
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(target.role(kind))))


def _user(uid: int, country: str, signed_up: datetime) -> dict:
    return {
        "id": uid,
        "username": f"user{uid}",
        "email": f"user{uid}@example.com",
        "country_code": country,
        "created_at": signed_up,
        "updated_at": signed_up,
        "deleted_at": None,
    }
