from elt.connection import connect
from tests.warehouse_checksums import table_checksums


def test_checksums_ignore_physical_order_and_dlt_columns_but_see_value_changes(warehouse):
    with connect(warehouse, role="loader") as conn:
        conn.execute("create table raw_app.t (id int primary key, v text, _dlt_load_id text)")
        conn.execute("insert into raw_app.t values (2, 'b', 'load-1'), (1, 'a', 'load-1')")
    first = table_checksums(warehouse, ["raw_app"])
    with connect(warehouse, role="loader") as conn:
        conn.execute("delete from raw_app.t")
        conn.execute("insert into raw_app.t values (1, 'a', 'load-2'), (2, 'b', 'load-2')")
    assert table_checksums(warehouse, ["raw_app"]) == first
    with connect(warehouse, role="loader") as conn:
        conn.execute("update raw_app.t set v = 'changed' where id = 2")
    assert table_checksums(warehouse, ["raw_app"]) != first
    assert list(first) == ["raw_app.t"]
