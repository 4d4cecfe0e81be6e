{#
  dbt's view materialization, with one change: a view whose new column list extends the old one (the same
  names, types, typmods and collations in the same positions, new columns only at the end) is replaced in
  place with `create or replace view`, so the views and other objects that depend on it survive. dbt's
  default swaps a new view in and drops the old one with `cascade`, which drops every dependant: after
  `dbt build --select staging` the intermediate views on top were gone. Any other change (a column
  removed, renamed, retyped or moved, or the relation was a table) still takes the swap.

  The new query is first created as the intermediate view, so PostgreSQL itself states its column types;
  the comparison reads both views' columns from pg_attribute.
#}
{% materialization view, adapter='pgpython' %}

  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='view') -%}
  {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
  {%- set preexisting_intermediate_relation = load_cached_relation(intermediate_relation) -%}
  {%- set backup_relation_type = 'view' if existing_relation is none else existing_relation.type -%}
  {%- set backup_relation = make_backup_relation(target_relation, backup_relation_type) -%}
  {%- set preexisting_backup_relation = load_cached_relation(backup_relation) -%}
  {% set grant_config = config.get('grants') %}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}

  {{ drop_relation_if_exists(preexisting_intermediate_relation) }}
  {{ drop_relation_if_exists(preexisting_backup_relation) }}

  -- `BEGIN` happens here:
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% call statement('main') -%}
    {{ get_create_view_as_sql(intermediate_relation, sql) }}
  {%- endcall %}

  {% if existing_relation is not none %}
    {% set existing_relation = load_cached_relation(existing_relation) %}
  {% endif %}
  {% set replace_in_place = existing_relation is not none and existing_relation.is_view
     and pgpython__view_columns_extend(existing_relation, intermediate_relation) %}

  {% if replace_in_place %}
    {{ adapter.drop_relation(intermediate_relation) }}
    {% call statement('replace_view_in_place') -%}
      {{ get_replace_view_sql(target_relation, sql) }}
    {%- endcall %}
  {% else %}
    {% if existing_relation is not none %}
      {{ adapter.rename_relation(existing_relation, backup_relation) }}
    {% endif %}
    {{ adapter.rename_relation(intermediate_relation, target_relation) }}
  {% endif %}

  {% set should_revoke = should_revoke(existing_relation, full_refresh_mode=True) %}
  {% do apply_grants(target_relation, grant_config, should_revoke=should_revoke) %}

  {% do persist_docs(target_relation, model) %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}

  {{ adapter.commit() }}

  {% if not replace_in_place %}
    {{ drop_relation_if_exists(backup_relation) }}
  {% endif %}

  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}

{%- endmaterialization -%}


{#
  True when every column of the view `old` is, at the same position, a column of the view `new` with the
  same name, type, typmod and collation: what `create or replace view` accepts (PostgreSQL's
  checkViewColumns).
#}
{% macro pgpython__view_columns_extend(old, new) -%}
  {% call statement('view_columns_extend', fetch_result=True) -%}
    with

    old_columns as (
        select attnum, attname, atttypid, atttypmod, attcollation
        from pg_catalog.pg_attribute
        where attrelid = {{ dbt.string_literal(old.include(database=false)) }}::regclass
            and attnum > 0 and not attisdropped
    ),

    new_columns as (
        select attnum, attname, atttypid, atttypmod, attcollation
        from pg_catalog.pg_attribute
        where attrelid = {{ dbt.string_literal(new.include(database=false)) }}::regclass
            and attnum > 0 and not attisdropped
    )

    select not exists (
        select from old_columns
        left join new_columns using (attnum, attname, atttypid, atttypmod, attcollation)
        where new_columns.attnum is null
    ) as extends
  {%- endcall %}
  {{ return(load_result('view_columns_extend').table.columns['extends'].values()[0]) }}
{%- endmacro %}
