-- One row per asteroid known from the feed or the browse catalogue: the latest load wins (the feed on a
-- tie); orbital elements come from the browse catalogue whenever it holds the asteroid.
with

feed_asteroids as (
    select * from {{ ref('stg_neows__asteroids') }}
),

browse_asteroids as (
    select * from {{ ref('stg_neows__browse_asteroids') }}
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
),

ranked as (
    select
        *,
        row_number() over (
            partition by asteroid_id
            order by loaded_at desc, source_priority asc
        ) as source_rank
    from unioned
),

asteroids as (
    select
        -- ids
        ranked.asteroid_id,

        -- strings
        ranked.asteroid_name,
        ranked.nasa_jpl_url,
        browse_asteroids.orbit_class,
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
        browse_asteroids.minimum_orbit_intersection_au,

        -- booleans
        ranked.is_potentially_hazardous,
        ranked.is_sentry_object,
        browse_asteroids.asteroid_id is not null as has_orbital_elements,

        -- timestamps
        ranked.loaded_at

    from ranked
    left join browse_asteroids
        on ranked.asteroid_id = browse_asteroids.asteroid_id
    where ranked.source_rank = 1
)

select * from asteroids
