"""A sensor on the transactions landing area: one run of its load and dependants per new or changed file version.

The cursor holds every file's version (modification time and size, as the transactions source compares
them), so a restarted daemon, which reads the stored cursor, does not launch a second run for the same files.
"""

import hashlib
import json

import dlt
from dagster import JobDefinition, RunRequest, SensorDefinition, SensorEvaluationContext, SkipReason, sensor

from extract_load.transactions.listing import Landing

SENSOR_NAME = "transactions_landing_sensor"


def landing() -> Landing:
    """The landing area the transactions pipeline reads (``sources.transactions`` in dlt's configuration)."""
    options = dlt.config.get("sources.transactions.storage_options")
    return Landing(dlt.config["sources.transactions.bucket_url"], dict(options) if options else None)


def landing_sensor(job: JobDefinition, minimum_interval_seconds: int = 60) -> SensorDefinition:
    """The sensor launching ``job`` when a file of the landing area is new or changed since the last tick."""

    @sensor(name=SENSOR_NAME, job=job, minimum_interval_seconds=minimum_interval_seconds)
    def transactions_landing(context: SensorEvaluationContext) -> RunRequest | SkipReason:
        seen = json.loads(context.cursor) if context.cursor else {}
        current = {drop.relative_path: drop.version for drop in landing().files()}
        changed = sorted(path for path, version in current.items() if seen.get(path) != version)
        context.update_cursor(json.dumps(current, sort_keys=True))
        if not changed:
            return SkipReason("no new or changed file in the landing area")
        versions = json.dumps({path: current[path] for path in changed}, sort_keys=True)
        return RunRequest(
            run_key=hashlib.sha256(versions.encode()).hexdigest(),
            tags={"landing/files": ", ".join(changed)[:1000]},
        )

    return transactions_landing
