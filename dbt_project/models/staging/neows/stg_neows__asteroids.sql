-- Asteroids of the NeoWs feed, one row per asteroid (the latest load wins). Diameters in metres only:
-- the API's kilometre, mile and foot variants are the same estimate in other units.
with

source as (
    select * from {{ relation_or_empty(source('neows', 'asteroids')) }}
),

-- distinct on, not a row_number() filter: the planner estimates its rows from the key's statistics
deduplicated as (
    select distinct on (neo_reference_id) *
    from source
    order by neo_reference_id asc, _dlt_load_id desc
),

renamed as (
    select
        -- ids
        neo_reference_id as asteroid_id,

        -- strings
        name as asteroid_name,
        nullif(trim(name_limited), '') as short_name,
        nullif(trim(designation), '') as designation,
        nasa_jpl_url,

        -- numerics
        absolute_magnitude_h,
        estimated_diameter__meters__estimated_diameter_min as estimated_diameter_min_m,
        estimated_diameter__meters__estimated_diameter_max as estimated_diameter_max_m,

        -- booleans
        coalesce(is_potentially_hazardous_asteroid, false) as is_potentially_hazardous,
        coalesce(is_sentry_object, false) as is_sentry_object,

        -- timestamps
        {{ dlt_loaded_at() }} as loaded_at

    from deduplicated
)

select * from renamed
