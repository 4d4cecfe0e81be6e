"""dlt, configured only through the environment elt exports, loads as the loader role into raw_*."""

import dlt

from elt.connection import connect


@dlt.resource(name="users", primary_key="id", write_disposition="merge")
def users(rows):
    yield from rows


def _pipeline(tmp_path):
    return dlt.pipeline(
        pipeline_name="loader_role_probe",
        destination="postgres",
        dataset_name="raw_app",
        pipelines_dir=str(tmp_path / "dlt"),
    )


def test_dlt_merges_into_raw_as_loader_and_transformer_reads_it(warehouse_env, tmp_path):
    _pipeline(tmp_path).run(users([{"id": 1, "name": "ana"}, {"id": 2, "name": "ben"}]))
    _pipeline(tmp_path).run(users([{"id": 2, "name": "ben v2"}, {"id": 3, "name": "cy"}]))
    with connect(warehouse_env) as conn:
        owner = conn.execute("select tableowner from pg_tables where schemaname = 'raw_app' and tablename = 'users'")
        assert owner.fetchone()[0] == warehouse_env.role("loader")
        loads = conn.execute("select count(*) from raw_app._dlt_loads where status = 0").fetchone()[0]
        assert loads == 2
    with connect(warehouse_env, role="transformer") as conn:
        rows = conn.execute("select id, name from raw_app.users order by id").fetchall()
    assert rows == [(1, "ana"), (2, "ben v2"), (3, "cy")]
