-- Asteroids looked up with `/neo/{id}` (the browse shape: attributes and orbital elements), one row per
-- asteroid (the latest load wins). The staging logic is shared with the browse catalogue's.
{%- set lookups = source('neows', 'lookups') %}
{% if relation_exists(lookups) -%}
{{ stg_neows_objects(lookups) }}
{%- else -%}
-- raw_neows.lookups exists once a first lookup was found: until then no rows, the same columns
{{ stg_neows_objects(source('neows', 'browse_asteroids')) }}
where false
{%- endif %}
