"""Benchmark: the ``asteroid_earth_moid`` Python model inside ``dbt run`` on 20,000 synthetic orbits, vs its kernel.

The orbits are :func:`benchmarks.moid.synthetic_orbits` (same seed, same orbits as the ``moid`` benchmark), stored
in the benchmark's database as a table of ``stg_neows__orbits``' columns (elements in degrees, no published MOID).
A generated dbt project (profile type pgpython) holds the project's real model file, ``asteroid_earth_moid.py``,
with its YAML (declared data types, checked by the adapter), and a view ``stg_neows__orbits`` over that table.
``dbt run`` runs four times in this process: the first creates the relations and loads the Numba kernel (from
its cache, or compiles it); the other three rebuild the model as a daily run does, and the fastest node counts.
The kernel alone is timed after each rebuild and the fastest counts too (the machine is shared: interleaving
exposes both to the same bursts of other work). Then ``dbt run`` once more as the ``dbt`` command in a fresh
process, as ``elt transform`` runs it: interpreter start, imports, parse, and the kernel loaded from Numba's
cache count there.

Measured: the model node's execution time in ``dbt run`` (read with ``COPY``, validation, Earth's orbit and the
kernel, write with ``COPY``, the table swap), the adapter's read and write times from its log, the whole
``dbt run`` wall time, and, as the reference, ``numeric.moid.earth_moid`` on the same orbits in this process
(Earth's osculating orbit at each epoch plus the Numba kernel: the model's numerical work alone). The gap between
the node and the kernel is what dbt, I/O and Arrow cost. The model's MOIDs must equal the kernel's.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import yaml
from psycopg import sql

from benchmarks.harness import Benchmark, BenchmarkContext, Measurement, run_child
from benchmarks.moid import ORBITS, best_time, synthetic_orbits
from benchmarks.scratch_dbt import run_dbt as run_scratch_dbt
from benchmarks.scratch_dbt import write_scratch_project
from elt.connection import connect
from elt.errors import EltError
from elt.warehouse_target import WarehouseTarget
from numeric.moid import earth_moid

NAME = "moid_dbt_run"
SCHEMA = "bench"
SOURCE = "orbits"
MODEL = "asteroid_earth_moid"
KERNEL_METRIC = f"{NAME}.kernel"
AGREEMENT_AU = 1e-12
MODELS_DIR = Path(__file__).resolve().parent.parent / "dbt_project" / "models" / "marts" / "neows"
ORBIT_COLUMNS = (
    "asteroid_id text, orbit_id text, orbit_source text, orbit_class text, epoch_osculation_jd double precision, "
    "semi_major_axis_au double precision, eccentricity double precision, inclination_deg double precision, "
    "ascending_node_longitude_deg double precision, perihelion_argument_deg double precision, "
    "minimum_orbit_intersection_au double precision"
)


def orbit_elements(orbits: int, seed: int) -> tuple[np.ndarray, ...]:
    """``(epoch_jd, a, e, inc_deg, node_deg, peri_deg)`` of the ``moid`` benchmark's synthetic orbits."""
    epoch, a, e, inc, node, peri = synthetic_orbits(orbits, seed)
    return epoch, a, e, np.degrees(inc), np.degrees(node), np.degrees(peri)


def create_orbits(target: WarehouseTarget, elements: tuple[np.ndarray, ...]) -> None:
    """Create ``bench.orbits`` (the columns of ``stg_neows__orbits`` the model reads) holding ``elements``."""
    epoch, a, e, inc, node, peri = elements
    width = len(str(len(a)))
    with connect(target) as conn:
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(SCHEMA)))
        conn.execute(f"create table {SCHEMA}.{SOURCE} ({ORBIT_COLUMNS})")
        with conn.cursor().copy(f"copy {SCHEMA}.{SOURCE} from stdin") as copy:
            for i in range(len(a)):
                values = (float(epoch[i]), float(a[i]), float(e[i]), float(inc[i]), float(node[i]), float(peri[i]))
                copy.write_row((f"{i:0{width}d}", "synthetic", "browse", "APO", *values, None))
        conn.execute(f"vacuum analyze {SCHEMA}.{SOURCE}")


def model_yaml() -> dict:
    """The project's YAML of the model (description, config, columns with data types), without its data tests."""
    document = yaml.safe_load((MODELS_DIR / "_neows__models.yml").read_text())
    [entry] = [model for model in document["models"] if model["name"] == MODEL]
    columns = [{key: value for key, value in column.items() if key != "data_tests"} for column in entry["columns"]]
    return {"version": 2, "models": [{**entry, "columns": columns}]}


def write_project(workdir: Path, target: WarehouseTarget) -> Path:
    """A dbt project (profile type pgpython, connecting as ``target``): the real model, a view standing for staging."""
    project = write_scratch_project(workdir, target, SCHEMA, SOURCE)
    (project / "models" / "stg_neows__orbits.sql").write_text(
        f"{{{{ config(materialized='view') }}}}\nselect * from {{{{ source('{SCHEMA}', '{SOURCE}') }}}}\n"
    )
    shutil.copy(MODELS_DIR / f"{MODEL}.py", project / "models" / f"{MODEL}.py")
    (project / "models" / f"{MODEL}.yml").write_text(yaml.safe_dump(model_yaml(), sort_keys=False))
    return project


def run_dbt(project: Path) -> dict[str, float]:
    """``dbt run`` in-process; seconds of the whole run, of the model node, and of the adapter's read and write."""
    run = run_scratch_dbt(project)
    # the one Python model reads stg_neows__orbits once and writes once
    timings = {"dbt_run": run.seconds, "node": run.node_seconds(MODEL)}
    timings |= {kind: seconds for kind, (_, seconds) in run.adapter_io().items()}
    if not {"read", "wrote"} <= set(timings):
        raise EltError(f"the adapter logged no read/write timings of {MODEL} (got {sorted(timings)})")
    return timings


def run_dbt_command(project: Path) -> tuple[float, float]:
    """``dbt run`` as a command in a fresh process; its wall time and the model node's execution time."""
    dbt = Path(sys.executable).with_name("dbt")
    child = run_child([str(dbt), "run", "--project-dir", str(project), "--profiles-dir", str(project)])
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    [node] = [r for r in results if r["unique_id"].endswith(f".{MODEL}")]
    return child.seconds, float(node["execution_time"])


def run_orbits(ctx: BenchmarkContext, orbits: int, repeats: int = 3) -> list[Measurement]:
    """Time the model in ``dbt run`` and its kernel alone on ``orbits`` synthetic orbits; check they agree.

    Args:
        ctx: A fresh database, the seed of the orbits, a folder for the generated dbt project.
        orbits: How many orbits (the benchmark: 20,000; tests: a few).
        repeats: Timed rebuilds in ``dbt run`` and timed kernel calls; the fastest of each counts.

    Returns:
        Orbits per second of the model node and of the kernel (the reference), the node's read, compute and
        write seconds, the whole ``dbt run``'s wall time, and the largest model - kernel MOID difference.
    """
    elements = orbit_elements(orbits, ctx.seed)
    create_orbits(ctx.target, elements)
    project = write_project(ctx.workdir, ctx.target)
    run_dbt(project)  # creates the relations, loads (or compiles and caches) the kernel
    rebuilds: list[dict[str, float]] = []
    kernel_times: list[float] = []
    for _ in range(repeats):  # interleaved, so that a burst of other work on the machine hits both alike
        rebuilds.append(run_dbt(project))
        seconds, (kernel_moid,) = best_time(lambda: (earth_moid(*elements, invalid="nan").moid_au,), 1)
        kernel_times.append(seconds)
    measured = min(rebuilds, key=lambda timings: timings["node"])
    kernel_seconds = min(kernel_times)
    command_seconds, command_node_seconds = run_dbt_command(project)
    with connect(ctx.target) as conn:
        moids = conn.execute(f"select moid_au from {SCHEMA}.{MODEL} order by asteroid_id").fetchall()
    model_moid = np.array([row[0] for row in moids], dtype=np.float64)
    if model_moid.shape != kernel_moid.shape or not np.all(np.isfinite(model_moid)):
        raise EltError(f"the model wrote {len(moids)} MOIDs (expected {orbits}, all finite)")
    difference = float(np.max(np.abs(model_moid - kernel_moid)))
    if not difference <= AGREEMENT_AU:
        raise EltError(f"{NAME}: the model's MOIDs differ from the kernel's by {difference:.3g} au")
    compute = measured["node"] - measured["read"] - measured["wrote"]
    shape = f"{orbits:,} orbits"
    return [
        Measurement(
            KERNEL_METRIC, orbits / kernel_seconds, "orbits/s", KERNEL_METRIC, note=f"earth_moid alone; {shape}"
        ),
        Measurement(
            f"{NAME}.model_in_dbt_run",
            orbits / measured["node"],
            "orbits/s",
            KERNEL_METRIC,
            note="model node: read, validate, Earth orbit + kernel, write, swap",
        ),
        Measurement(f"{NAME}.kernel_seconds", kernel_seconds, "s", note=f"best of {repeats}, in this process"),
        Measurement(
            f"{NAME}.model_node_seconds", measured["node"], "s", note=f"the node in dbt run, best of {repeats}"
        ),
        Measurement(f"{NAME}.model_read_seconds", measured["read"], "s", note="dbt.ref(): COPY TO + Arrow"),
        Measurement(
            f"{NAME}.model_compute_seconds", compute, "s", note="the rest: checks, Earth orbit + kernel, swap, commit"
        ),
        Measurement(f"{NAME}.model_write_seconds", measured["wrote"], "s", note="type checks, CREATE, COPY FROM"),
        Measurement(f"{NAME}.dbt_run_seconds", measured["dbt_run"], "s", note="whole dbt run in process, 2 nodes"),
        Measurement(
            f"{NAME}.command_node_seconds", command_node_seconds, "s", note="node in a fresh dbt process (imports)"
        ),
        Measurement(
            f"{NAME}.command_seconds", command_seconds, "s", note="the dbt run command: start-up, parse, 2 nodes"
        ),
        Measurement(f"{NAME}.max_difference", difference, "au", note="largest |model - kernel| MOID"),
    ]


def run(ctx: BenchmarkContext) -> list[Measurement]:
    """The benchmark: 20,000 orbits (``ctx.rows`` is ignored, as in ``moid``)."""
    return run_orbits(ctx, ORBITS)


BENCHMARK = Benchmark(NAME, "asteroid_earth_moid Python model in dbt run on 20,000 orbits vs its kernel alone", run)
