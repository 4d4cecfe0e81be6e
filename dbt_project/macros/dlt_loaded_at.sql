{#
    The time dlt loaded a row: its `_dlt_load_id` is the load's start as unix seconds in text
    ("1764524433.123456"). Parsed as double precision, which to_timestamp takes: the same value as
    through numeric, for less CPU (it filters every raw row of an incremental window).
#}
{% macro dlt_loaded_at(column_name='_dlt_load_id') -%}
    to_timestamp({{ column_name }}::double precision)
{%- endmacro %}
