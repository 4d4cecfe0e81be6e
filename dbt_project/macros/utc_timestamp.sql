{#
    A timestamp column of a source as timestamptz. Application databases without time zone types
    (SQLite, MariaDB DATETIME) arrive as `timestamp without time zone` holding UTC wall-clock times: those
    are read as UTC; timestamptz columns pass unchanged. Staging then has one type whatever the source.
#}
{% macro utc_timestamp(relation, column_name) -%}
    {%- set found = namespace(data_type=none) -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- if column.name == column_name -%}
                {%- set found.data_type = column.data_type -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if found.data_type in ['timestamp without time zone', 'timestamp'] -%}
        ({{ column_name }} at time zone 'UTC')
    {%- else -%}
        {{ column_name }}
    {%- endif -%}
{%- endmacro %}
