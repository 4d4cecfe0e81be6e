-- One row per asteroid known from the feed, the browse catalogue or a `/neo/{id}` lookup: the latest load
-- wins (the feed, then the browse catalogue on a tie); orbital elements come from stg_neows__orbits (a
-- lookup or the browse catalogue, newer epoch first).
with

feed_asteroids as (
    select * from {{ ref('stg_neows__asteroids') }}
),

browse_asteroids as (
    select * from {{ ref('stg_neows__browse_asteroids') }}
),

looked_up_asteroids as (
    select * from {{ ref('stg_neows__lookups') }}
),

orbits as (
    select * from {{ ref('stg_neows__orbits') }}
),

unioned as (
    select
        asteroid_id,
        asteroid_name,
        nasa_jpl_url,
        absolute_magnitude_h,
        estimated_diameter_min_m,
        estimated_diameter_max_m,
        is_potentially_hazardous,
        is_sentry_object,
        loaded_at,
        1 as source_priority
    from feed_asteroids
    union all
    select
        asteroid_id,
        asteroid_name,
        nasa_jpl_url,
        absolute_magnitude_h,
        estimated_diameter_min_m,
        estimated_diameter_max_m,
        is_potentially_hazardous,
        is_sentry_object,
        loaded_at,
        2 as source_priority
    from browse_asteroids
    union all
    select
        asteroid_id,
        asteroid_name,
        nasa_jpl_url,
        absolute_magnitude_h,
        estimated_diameter_min_m,
        estimated_diameter_max_m,
        is_potentially_hazardous,
        is_sentry_object,
        loaded_at,
        3 as source_priority
    from looked_up_asteroids
),

-- distinct on, not a row_number() filter: the planner estimates one row per asteroid instead of one in all
ranked as (
    select distinct on (asteroid_id) *
    from unioned
    order by asteroid_id asc, loaded_at desc, source_priority asc
),

asteroids as (
    select
        -- ids
        ranked.asteroid_id,

        -- strings
        ranked.asteroid_name,
        ranked.nasa_jpl_url,
        orbits.orbit_class,
        orbits.orbit_source,
        case
            when ranked.estimated_diameter_min_m is null or ranked.estimated_diameter_max_m is null
                then 'unknown'
            when (ranked.estimated_diameter_min_m + ranked.estimated_diameter_max_m) / 2 < 25 then 'small'
            when (ranked.estimated_diameter_min_m + ranked.estimated_diameter_max_m) / 2 < 140 then 'medium'
            when (ranked.estimated_diameter_min_m + ranked.estimated_diameter_max_m) / 2 < 1000 then 'large'
            else 'very_large'
        end as size_class,

        -- numerics
        ranked.absolute_magnitude_h,
        ranked.estimated_diameter_min_m,
        ranked.estimated_diameter_max_m,
        (ranked.estimated_diameter_min_m + ranked.estimated_diameter_max_m) / 2 as estimated_diameter_mean_m,
        orbits.minimum_orbit_intersection_au,
        orbits.eccentricity,
        orbits.semi_major_axis_au,
        orbits.inclination_deg,
        orbits.perihelion_distance_au,
        orbits.aphelion_distance_au,
        orbits.orbital_period_days,

        -- booleans
        ranked.is_potentially_hazardous,
        ranked.is_sentry_object,
        orbits.asteroid_id is not null as has_orbital_elements,

        -- dates
        orbits.epoch_osculation_date,

        -- timestamps
        ranked.loaded_at

    from ranked
    left join orbits
        on ranked.asteroid_id = orbits.asteroid_id
)

select * from asteroids
