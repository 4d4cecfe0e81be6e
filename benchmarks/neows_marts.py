"""Benchmark: the NeoWs models (staging to marts) at 1,000, 10,000 and 50,000 asteroids; time per asteroid stays flat.

In a bootstrapped throwaway warehouse the project's NeoWs pipeline loads the replay (feed window, browse page,
the watch list's lookups: every raw table in the shape dlt gives real responses). Then, for each size, that many
synthetic asteroids are written into ``raw_neows.lookups`` as copies of a real lookup row (ids of nine digits,
orbital elements varied), each with 30 approaches in ``raw_neows.lookup_close_approaches`` copied from a real
approach row (dates, bodies and distances varied: 10 of the 30 to Earth); the previous size's synthetic rows
are deleted first, and the tables analyzed (as autovacuum soon would after a load). ``dbt run`` of every
model from the NeoWs staging down (``path:models/staging/neows+``: staging views, intermediate views, the marts and the
``asteroid_earth_moid`` Python model) runs as a command in a child process, one node at a time (threads 1:
parallel nodes would slow each other down and their sum would not be the work), twice per size.

Measured: the sum of the NeoWs nodes' execution times (dbt's start-up and parse excluded: they do not grow
with the data), first without synthetic asteroids (the replay's only: view creation, the Python model's
start, what every build pays), then at each size; a size's time per asteroid is its node time beyond that
first build's, per synthetic asteroid. The ratio of the largest size's to the smallest's stays near 1 when
every model is linear (target <= 2); the quadratic ``dim_asteroids`` of before would fail it by far.
The fastest of the builds of a size counts; the slowest nodes of each build are printed on stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from psycopg import Connection, sql

from benchmarks.dbt_build import dbt, drop_roles, environment, load
from benchmarks.harness import Benchmark, BenchmarkContext, Measurement
from elt.bootstrap import apply_bootstrap
from elt.connection import connect
from elt.errors import EltError
from elt.warehouse_target import WarehouseTarget

NAME = "neows_marts"
SIZES = (1_000, 10_000, 50_000)
APPROACHES = 30
EARTH_EVERY = 3  # every third approach is to Earth
FIRST_ID = 100_000_000  # synthetic ids have nine digits; recorded ones at most eight
SELECTION = ("run", "--select", "path:models/staging/neows+", "--threads", "1")
REPEATS = 2  # builds per size; the fastest counts (the machine is shared)
FLATNESS_TARGET = 2.0
RAW = "raw_neows"
TEMPLATE_ID = "2382406"  # a recorded lookup (in the demo's watch list) with every attribute and element

# values of the copied rows that vary per asteroid (a) or approach (a, k); every other column is copied
# (SQL with psycopg parameters: the modulo operator is written %%)
LOOKUP_VALUES = {
    "neo_reference_id": "(a)::text",
    "id": "(a)::text",
    "name": "'(' || a || ')'",
    "absolute_magnitude_h": "15 + (a %% 150) / 10.0",
    "orbital_data__orbit_id": "(1 + a %% 40)::text",
    "orbital_data__eccentricity": "(0.05 + (a %% 85) / 100.0)::text",
    "orbital_data__semi_major_axis": "(0.7 + (a %% 230) / 100.0)::text",
    "orbital_data__inclination": "((a %% 400) / 10.0)::text",
    "orbital_data__ascending_node_longitude": "((a * 7) %% 360)::text",
    "orbital_data__perihelion_argument": "((a * 13) %% 360)::text",
    "orbital_data__minimum_orbit_intersection": "((a %% 500) / 1000.0)::text",
    "_dlt_id": "md5(a::text)",
}
DAY = "date '1900-01-01' + (k * 1201 + a %% 997)::integer"
APPROACH_VALUES = {
    "neo_reference_id": "(a)::text",
    "close_approach_date": f"({DAY})::text",
    "close_approach_date_full": f"to_char({DAY}, 'YYYY-Mon-DD') || ' 12:00'",
    "epoch_date_close_approach": f"(extract(epoch from {DAY}) * 1000)::bigint",
    "orbiting_body": f"case k %% {EARTH_EVERY} when 0 then 'Earth' when 1 then 'Mars' else 'Venus' end",
    "miss_distance__astronomical": "(((a * 31 + k * 17) %% 1000 + 1) / 2000.0)::text",
    "miss_distance__lunar": "(((a * 31 + k * 17) %% 1000 + 1) / 2000.0 * 389.17)::text",
    "miss_distance__kilometers": "(((a * 31 + k * 17) %% 1000 + 1) / 2000.0 * 149597870.7)::text",
    "_dlt_id": "md5(a || '-' || k)",
}


def run(ctx: BenchmarkContext) -> list[Measurement]:
    """The benchmark at 1,000, 10,000 and 50,000 asteroids (``ctx.rows`` is ignored, as in ``moid``)."""
    return run_sizes(ctx, SIZES)


def run_sizes(ctx: BenchmarkContext, sizes: Sequence[int], repeats: int = REPEATS) -> list[Measurement]:
    """Build the NeoWs models at each size; node seconds per asteroid at each, and largest over smallest.

    Args:
        ctx: A fresh database and a scratch folder (the seed and row count are not used).
        sizes: Synthetic asteroids per build, in increasing order (the benchmark: 1k, 10k, 50k; tests: tiny).
        repeats: Builds per size (and of the build without synthetic asteroids); the fastest counts.

    Returns:
        Microseconds of node time per asteroid at each size (the smallest size's is the reference), node
        and command seconds, and the flatness ratio.
    """
    apply_bootstrap(ctx.target)
    try:
        env = environment(ctx, ctx.workdir / "landing", f"sqlite:///{ctx.workdir / 'app.sqlite'}")
        load(env, ("neows",))
        dbt(ctx.workdir, env, ["parse"])
        measured: list[tuple[int, float, float]] = []
        for size in (0, *sizes):  # 0: the replay's asteroids only, what every build pays whatever the size
            write_asteroids(ctx.target, size)
            builds = []
            for _ in range(repeats):
                command = dbt(ctx.workdir, env, list(SELECTION))
                print_slowest(ctx.workdir, size)
                builds.append((node_seconds(ctx.workdir), command.seconds))
            if size:
                check_marts(ctx.target, size)
            measured.append((size, *min(builds)))
    finally:
        drop_roles(ctx.target)
    return measurements(measured)


def write_asteroids(target: WarehouseTarget, size: int) -> None:
    """Replace the synthetic asteroids with ``size`` new ones (30 approaches each), then analyze, as a load would."""
    params = {"first": FIRST_ID, "last": FIRST_ID + size - 1, "k": APPROACHES - 1, "template": TEMPLATE_ID}
    with connect(target) as conn:
        for table in ("lookups", "lookup_close_approaches"):
            conn.execute(
                sql.SQL("delete from {} where length(neo_reference_id) = 9").format(sql.Identifier(RAW, table))
            )
        conn.execute(
            _copy_sql(conn, "lookups", LOOKUP_VALUES, "generate_series(%(first)s::bigint, %(last)s) as a"), params
        )
        series = "generate_series(%(first)s::bigint, %(last)s) as a cross join generate_series(0, %(k)s) as k"
        conn.execute(_copy_sql(conn, "lookup_close_approaches", APPROACH_VALUES, series), params)
    with connect(target) as conn:
        conn.autocommit = True
        for table in ("lookups", "lookup_close_approaches"):
            conn.execute(sql.SQL("vacuum analyze {}").format(sql.Identifier(RAW, table)))


def _copy_sql(conn: Connection, table: str, values: dict[str, str], series: str) -> sql.Composed:
    """``insert into raw_neows.<table>``: per row of ``series``, the template's row with ``values`` replaced."""
    columns = [
        row[0]
        for row in conn.execute(
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
            "order by ordinal_position",
            (RAW, table),
        ).fetchall()
    ]
    select = [sql.SQL(values[column]) if column in values else sql.Identifier("template", column) for column in columns]
    return sql.SQL(
        "insert into {table} ({columns}) select {select} from {series} cross join "
        "(select * from {table} where neo_reference_id = %(template)s order by _dlt_id limit 1) as template"
    ).format(
        table=sql.Identifier(RAW, table),
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        select=sql.SQL(", ").join(select),
        series=sql.SQL(series),
    )


def print_slowest(workdir: Path, size: int, count: int = 5) -> None:
    """Print (on stderr) the slowest nodes of the last dbt command, from its run_results.json."""
    results = json.loads((workdir / "target" / "run_results.json").read_text())["results"]
    timed = sorted(((float(r["execution_time"]), r["unique_id"].rsplit(".", 1)[-1]) for r in results), reverse=True)
    slowest = ", ".join(f"{name} {seconds:.2f} s" for seconds, name in timed[:count])
    print(f"{NAME} at {size:,}: {sum(s for s, _ in timed):.2f} s of node time; {slowest}", file=sys.stderr)


def node_seconds(workdir: Path) -> float:
    """Sum of the execution times of the nodes of the last dbt command (its run_results.json)."""
    results = json.loads((workdir / "target" / "run_results.json").read_text())["results"]
    return sum(float(result["execution_time"]) for result in results)


def check_marts(target: WarehouseTarget, size: int) -> None:
    """Check the build: every synthetic asteroid in dim_asteroids and with a MOID, with its 30 approaches.

    Its 10 Earth approaches are counted, and its closest is the least Earth distance of its raw approaches.
    """
    with connect(target) as conn:
        built = conn.execute(
            """
            select
                count(*),
                sum(dim.close_approach_count),
                count(*) filter (
                    where dim.earth_approach_count = %(earth)s
                    and dim.closest_earth_approach_au = raw.closest
                    and dim.closest_earth_approach_date = raw.closest_date
                ),
                (select count(*) from marts.asteroid_earth_moid where length(asteroid_id) = 9)
            from marts.dim_asteroids as dim
            left join (
                select distinct on (neo_reference_id)
                    neo_reference_id,
                    miss_distance__astronomical::double precision as closest,
                    close_approach_date::date as closest_date
                from raw_neows.lookup_close_approaches
                where orbiting_body = 'Earth'
                order by neo_reference_id, miss_distance__astronomical::double precision, close_approach_date
            ) as raw on dim.asteroid_id = raw.neo_reference_id
            where length(dim.asteroid_id) = 9
            """,
            {"earth": APPROACHES // EARTH_EVERY},
        ).fetchone()
    if built != (size, size * APPROACHES, size, size):
        raise EltError(
            f"{NAME}: {size:,} synthetic asteroids built as {built[0]} in dim_asteroids with {built[1]} approaches, "
            f"{built[2]} with the right closest Earth approach, and {built[3]} MOIDs"
        )


def measurements(measured: list[tuple[int, float, float]]) -> list[Measurement]:
    """Per-asteroid node time at each size (reference: the smallest), seconds, and the flatness ratio.

    ``measured`` starts with the build without synthetic asteroids; a size's time per asteroid is its node
    time beyond that build's, per synthetic asteroid (the marginal cost, which a quadratic model makes grow).
    """
    (_, base_seconds, base_command), *sized = measured
    smallest = f"{NAME}.us_per_asteroid_{sized[0][0]}"
    result = [
        Measurement(f"{NAME}.node_seconds_0", base_seconds, "s", note="the replay's 141 asteroids only"),
        Measurement(f"{NAME}.command_seconds_0", base_command, "s", note="dbt run command: start-up, parse, nodes"),
    ]
    for size, seconds, command in sized:
        result += [
            Measurement(
                f"{NAME}.us_per_asteroid_{size}",
                (seconds - base_seconds) / size * 1e6,
                "us",
                smallest,
                note=f"{size:,} asteroids, {size * APPROACHES:,} approaches: node time beyond size 0 / asteroids",
            ),
            Measurement(f"{NAME}.node_seconds_{size}", seconds, "s", note="sum of the NeoWs nodes' execution times"),
            Measurement(f"{NAME}.command_seconds_{size}", command, "s", note="dbt run command: start-up, parse, nodes"),
        ]
    per_asteroid = [(seconds - base_seconds) / size for size, seconds, _ in sized]
    result.append(
        Measurement(
            f"{NAME}.flatness",
            per_asteroid[-1] / per_asteroid[0],
            "x",
            note=f"per-asteroid time at {sized[-1][0]:,} / at {sized[0][0]:,}; target <= {FLATNESS_TARGET:g}",
        )
    )
    return result


BENCHMARK = Benchmark(NAME, "NeoWs staging to marts at 1k, 10k, 50k asteroids: time per asteroid stays flat", run)
