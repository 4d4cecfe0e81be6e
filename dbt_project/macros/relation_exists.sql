{#
    True when the relation exists in the warehouse (always true at parse time, so dbt records the
    dependency). Lets staging read raw tables dlt creates only once they have a first row.
#}
{% macro relation_exists(relation) -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set found = adapter.get_relation(relation.database, relation.schema, relation.identifier) -%}
    {{ return(found is not none) }}
{%- endmacro %}
