{#
    True when the relation exists in the warehouse (always true at parse time, so dbt records the
    dependency). Lets staging read raw tables dlt creates only once they have a first row. A unit test's
    mocked input (a CTE, no schema) exists.
#}
{% macro relation_exists(relation) -%}
    {%- if not execute or relation.schema is none -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set found = adapter.get_relation(relation.database, relation.schema, relation.identifier) -%}
    {{ return(found is not none) }}
{%- endmacro %}
