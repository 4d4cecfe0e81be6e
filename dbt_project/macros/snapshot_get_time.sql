{#
    Snapshot time as timestamptz. dbt-postgres uses `now()::timestamp without time zone` (the session's
    wall clock), which mixes with timestamptz `updated_at` columns: a hard delete's `dbt_valid_to` would
    depend on the session TimeZone. Our snapshots use timestamptz throughout.
#}
{% macro postgres__snapshot_get_time() -%}
    now()
{%- endmacro %}
