"""``elt reset SOURCE``: drop a source's raw tables, what dbt built on them, and the source's dlt state.

dbt's staging views (and the views on them) depend on the raw tables, so dlt's own drop, which drops the
tables without ``cascade``, failed after any dbt build, half-way: state gone, rows kept. Here, first, in one
transaction: the views that depend on the dataset's tables at any depth, the incremental dbt models
downstream of the source (they would keep rows of the dropped data: an incremental run adds and merges, it
never deletes), and the tables the pipeline writes itself (outside dlt's schema). Then dlt's drop removes
its tables and the state. Snapshots are kept: their history cannot be rebuilt from raw. A reset that fails
part-way can simply be run again; the next ``elt transform`` recreates what was dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psycopg import sql

from elt.connection import connect
from elt.warehouse_target import WarehouseTarget

if TYPE_CHECKING:
    from dbt.contracts.graph.manifest import Manifest

DEPENDANT_VIEWS = """
with recursive dependants(oid) as (
    select rewrite.ev_class
    from pg_catalog.pg_depend as dependency
    join pg_catalog.pg_rewrite as rewrite on rewrite.oid = dependency.objid
    where dependency.classid = 'pg_catalog.pg_rewrite'::regclass
        and dependency.refobjid = any(%s::oid[])
        and rewrite.ev_class <> dependency.refobjid
    union
    select rewrite.ev_class
    from dependants
    join pg_catalog.pg_depend as dependency on dependency.refobjid = dependants.oid
    join pg_catalog.pg_rewrite as rewrite on rewrite.oid = dependency.objid
    where dependency.classid = 'pg_catalog.pg_rewrite'::regclass
        and rewrite.ev_class <> dependency.refobjid
)
select namespace.nspname, class.relname
from dependants
join pg_catalog.pg_class as class on class.oid = dependants.oid
join pg_catalog.pg_namespace as namespace on namespace.oid = class.relnamespace
order by 1, 2
"""

OWN_TABLES = """
select table_name from information_schema.tables
where table_schema = %s and table_type = 'BASE TABLE' and table_name not like '\\_dlt\\_%%'
"""

TABLE_OIDS = """
select class.oid
from pg_catalog.pg_class as class
join pg_catalog.pg_namespace as namespace on namespace.oid = class.relnamespace
where namespace.nspname = %s and class.relname = any(%s)
"""


@dataclass(frozen=True)
class ResetOutcome:
    """What a reset dropped."""

    tables: list[str]
    dbt_relations: list[str]

    def describe(self, dataset: str, source: str) -> str:
        """One paragraph for the user."""
        text = f"dropped {len(self.tables)} table(s) of {dataset} and the {source} state: {', '.join(self.tables)}"
        if self.dbt_relations:
            text += (
                f"\ndropped {len(self.dbt_relations)} dbt relation(s) built on them: {', '.join(self.dbt_relations)}"
                " (the next elt transform recreates them)"
            )
        return text


def incremental_models_downstream(manifest: Manifest, dataset: str) -> list[str]:
    """``schema.name`` of every incremental model that reads, at any depth, a source in schema ``dataset``."""
    pending = [node_id for node_id, source in manifest.sources.items() if source.schema == dataset]
    seen: set[str] = set()
    while pending:
        for child in manifest.child_map.get(pending.pop(), []):
            if child not in seen:
                seen.add(child)
                pending.append(child)
    models = (manifest.nodes[node_id] for node_id in seen if node_id in manifest.nodes)
    return sorted(
        f"{node.schema}.{node.alias}"
        for node in models
        if node.resource_type == "model" and node.config.materialized == "incremental"
    )


def reset_source(target: WarehouseTarget, pipeline: Any, incremental_models: list[str]) -> ResetOutcome:
    """Drop the dependent views, ``incremental_models`` and the pipeline's own tables, then dlt's tables and state.

    The first three go in one transaction; dlt's drop runs its own.
    """
    from dlt.pipeline.helpers import pipeline_drop

    dataset = pipeline.dataset_name
    drop = pipeline_drop(pipeline, drop_all=True)
    dlt_tables = set(drop.info["tables"])
    with connect(target, autocommit=False) as conn, conn.transaction():
        own_tables = {name for (name,) in conn.execute(OWN_TABLES, (dataset,)).fetchall()}
        oids = [oid for (oid,) in conn.execute(TABLE_OIDS, (dataset, sorted(dlt_tables | own_tables)))]
        dependants = conn.execute(DEPENDANT_VIEWS, (oids,)).fetchall()
        for schema, name in dependants:
            conn.execute(sql.SQL("drop view if exists {} cascade").format(sql.Identifier(schema, name)))
        dropped_models = [model for model in incremental_models if _drop_table_if_exists(conn, model)]
        for name in sorted(own_tables - dlt_tables):
            conn.execute(sql.SQL("drop table {}").format(sql.Identifier(dataset, name)))
    drop()
    views = [f"{schema}.{name}" for schema, name in dependants]
    return ResetOutcome(sorted(dlt_tables | own_tables), [*views, *dropped_models])


def _drop_table_if_exists(conn: Any, relation: str) -> bool:
    schema, name = relation.split(".", 1)
    if conn.execute("select to_regclass(%s)", (sql.Identifier(schema, name).as_string(conn),)).fetchone()[0] is None:
        return False
    conn.execute(sql.SQL("drop table {} cascade").format(sql.Identifier(schema, name)))
    return True
