{#
    Schema names are fixed (staging, intermediate, marts, ...), whatever the target: a model's custom
    schema is used as is, never prefixed with the target schema. Environments are isolated by database.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
