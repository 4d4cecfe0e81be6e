{#
  Python models: the compiled code (the model's own code plus dbt's `dbt` object) gets a trailer naming
  the relation the adapter writes the model's result to. Submitted through statement(..., language='python'),
  the adapter runs it in-process on dbt's connection, inside the materialization's transaction.
#}

{% macro pgpython__create_table_as(temporary, relation, compiled_code, language='sql') -%}
  {%- if language == 'python' -%}
    {{ pgpython_python_model_code(temporary, relation, compiled_code) }}
  {%- else -%}
    {{ postgres__create_table_as(temporary, relation, compiled_code) }}
  {%- endif -%}
{%- endmacro %}


{% macro pgpython_python_model_code(temporary, relation, compiled_code) -%}
{%- set write_target = {
    'relation': relation.render(),
    'temporary': temporary,
    'unlogged': config.get('unlogged', default=false) and not temporary,
} -%}
{{ compiled_code }}


# pgpython: the adapter writes what model() returns to this relation (added by the materialization)
dbt_pgpython_write_target = {{ write_target }}
{%- endmacro %}
