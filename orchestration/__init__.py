"""The Dagster code location: the dlt loads and the dbt project as one asset graph (see docs/scheduling.md)."""
