{#
    Staging of a NeoWs close-approach table (the feed's, the browse catalogue's or the lookups': same
    shape): one row per (asteroid, date, body), the latest load wins; distances and velocities cast from
    the API's decimal strings (mile, mile-per-hour and km/h variants are the same values in other units
    and are left out).
#}
{% macro stg_neows_close_approaches(raw_relation) -%}
with

source as (
    select * from {{ relation_or_empty(raw_relation) }}
),

-- distinct on, not a row_number() filter: the planner estimates its rows from the key's statistics (it took
-- one row out of a rank filter, and the marts above were planned as nested loops: quadratic in approaches)
deduplicated as (
    select distinct on (neo_reference_id, close_approach_date, orbiting_body) *
    from source
    order by neo_reference_id asc, close_approach_date asc, orbiting_body asc, _dlt_load_id desc
),

renamed as (
    select
        -- ids
        neo_reference_id as asteroid_id,

        -- strings
        orbiting_body,

        -- numerics
        {{ safe_cast_number('relative_velocity__kilometers_per_second') }} as relative_velocity_km_per_s,
        {{ safe_cast_number('miss_distance__astronomical') }} as miss_distance_au,
        {{ safe_cast_number('miss_distance__lunar') }} as miss_distance_lunar,
        {{ safe_cast_number('miss_distance__kilometers') }} as miss_distance_km,

        -- dates
        close_approach_date::date as close_approach_date,

        -- timestamps
        to_timestamp(epoch_date_close_approach / 1000.0) as close_approach_at,
        {{ dlt_loaded_at() }} as loaded_at

    from deduplicated
)

select * from renamed
{%- endmacro %}
