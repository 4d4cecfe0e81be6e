"""Source tables whose freshness cannot be checked: never loaded, or switched off in the dlt configuration.

``elt transform`` leaves them out of ``dbt source freshness`` with one line each; the build reads such tables
as empty stand-ins (``dbt_project/macros/relation_or_empty.sql``).
"""

from __future__ import annotations

from dataclasses import dataclass

from elt.connection import connect
from elt.dbt_invocation import DbtSession
from elt.warehouse_target import WarehouseTarget

SWITCH_META_KEY = "switched_off_by"
"""Source-table ``meta`` key naming the dlt config value (e.g. ``sources.neows.browse_max_pages``) whose
zero, false or empty value means the pipeline does not extract the table."""


@dataclass(frozen=True)
class SkippedSource:
    """A source table whose freshness is not checked, and why."""

    source_name: str
    table_name: str
    reason: str

    @property
    def selector(self) -> str:
        """The dbt selector of the source table, e.g. ``source:neows.lookups``."""
        return f"source:{self.source_name}.{self.table_name}"

    def describe(self) -> str:
        """One line for the user."""
        return f"freshness of source {self.source_name}.{self.table_name} skipped: {self.reason}"


def sources_to_skip(session: DbtSession, target: WarehouseTarget) -> list[SkippedSource]:
    """Source tables with a freshness check that were never loaded or are switched off."""
    checked = [source for source in session.manifest().sources.values() if source.has_freshness]
    existing = _existing_relations(target, {source.schema for source in checked})
    skipped = []
    for source in sorted(checked, key=lambda s: (s.source_name, s.name)):
        relation = f"{source.schema}.{source.identifier}"
        switch = source.meta.get(SWITCH_META_KEY)
        if switch and _switched_off(switch):
            skipped.append(SkippedSource(source.source_name, source.name, f"switched off ({switch} is off)"))
        elif (source.schema, source.identifier) not in existing:
            reason = f"{relation} was never loaded (its pipeline has not run or brought no rows for it)"
            skipped.append(SkippedSource(source.source_name, source.name, reason))
    return skipped


def _existing_relations(target: WarehouseTarget, schemas: set[str]) -> set[tuple[str, str]]:
    with connect(target) as conn:
        rows = conn.execute(
            "select table_schema, table_name from information_schema.tables where table_schema = any(%s)",
            (sorted(schemas),),
        ).fetchall()
    return {(schema, name) for schema, name in rows}


def _switched_off(config_key: str) -> bool:
    """True when the dlt config value at ``config_key`` (env, .dlt/*.toml) is 0, false or empty."""
    import dlt

    value = dlt.config.get(config_key)
    if isinstance(value, str):
        return value.strip().lower() in {"0", "false", "no", "off", ""}
    return value is not None and not value
