-- Every recorded approach of each looked-up asteroid (past and future, every body), one row per
-- (asteroid, date, body): the latest load wins. The staging logic is shared with the feed's approaches.
{%- set lookup_approaches = source('neows', 'lookup_close_approaches') %}
{% if relation_exists(lookup_approaches) -%}
{{ stg_neows_close_approaches(lookup_approaches) }}
{%- else -%}
-- raw_neows.lookup_close_approaches exists once a found lookup had an approach: until then no rows
{{ stg_neows_close_approaches(source('neows', 'browse_close_approaches')) }}
where false
{%- endif %}
