"""``elt demo-data``: where the demo's application database and transaction drops go, and writing them."""

from __future__ import annotations

import os
from pathlib import Path

import dlt

from elt.bootstrap import ensure_database
from elt.errors import EltError
from elt.warehouse import APP_DB_URL_ENV, Warehouse
from extract_load.demo_data.generator import DemoData, StepSummary
from extract_load.transactions.listing import resolve_local

LANDING_CONFIG_KEY = "sources.transactions.bucket_url"


def demo_generator(warehouse: Warehouse) -> DemoData:
    """The generator for this warehouse: the ``app`` database on its server and the configured landing folder.

    The environment must already be exported (``Warehouse.export_environment``) so dlt's configuration
    (``.dlt/config.toml`` of the checkout) is found.
    """
    if not os.environ.get(APP_DB_URL_ENV) or os.environ[APP_DB_URL_ENV] == warehouse.app_db_url():
        ensure_database(warehouse.demo_app_target)
    bucket_url = str(dlt.config.get(LANDING_CONFIG_KEY, str) or "")
    if not bucket_url:
        raise EltError(f"no landing folder configured: set {LANDING_CONFIG_KEY} in .dlt/config.toml")
    landing = resolve_local(bucket_url)
    if "://" in landing and not landing.startswith("file://"):
        raise EltError(f"demo data is written to a local folder, but {LANDING_CONFIG_KEY} is {bucket_url}")
    landing = landing.removeprefix("file://")
    state_file = warehouse.paths.warehouse_home / "demo" / "state.json"
    return DemoData(warehouse.app_db_url(), Path(landing), state_file)


def describe(step: StepSummary) -> str:
    """One line per generation step."""
    return (
        f"{step.day}: {step.users_added} users added, {step.users_updated} updated, "
        f"{step.users_soft_deleted} soft-deleted, {step.users_hard_deleted} hard-deleted; "
        f"{step.orders_added} orders; {step.transactions} transactions"
        + (f" + {step.bad_rows} bad rows" if step.bad_rows else "")
        + f" in {len(step.files)} file(s)"
    )
