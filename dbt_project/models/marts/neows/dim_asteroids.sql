-- One row per asteroid known from NeoWs, with size, hazard, its orbit (elements of the newest known
-- solution, from a lookup or the browse catalogue) and a summary of its known close approaches.
with

asteroids as (
    select * from {{ ref('int_asteroids_unioned') }}
),

-- the built (and analyzed) table, not the intermediate view again: approaches read once, with statistics
approaches as (
    select * from {{ ref('fct_close_approaches') }}
),

closest_earth_approaches as (
    select distinct on (asteroid_id)
        asteroid_id,
        close_approach_date,
        miss_distance_au
    from approaches
    where orbiting_body = 'Earth' and miss_distance_au is not null
    order by asteroid_id asc, miss_distance_au asc, close_approach_date asc
),

approach_counts as (
    select
        asteroid_id,
        count(*) as close_approach_count,
        count(*) filter (where orbiting_body = 'Earth') as earth_approach_count
    from approaches
    group by asteroid_id
),

final as (
    select
        -- ids
        asteroids.asteroid_id::text as asteroid_id,

        -- strings
        asteroids.asteroid_name::text as asteroid_name,
        asteroids.nasa_jpl_url::text as nasa_jpl_url,
        asteroids.orbit_class::text as orbit_class,
        asteroids.size_class,
        asteroids.orbit_source::text as orbit_source,

        -- numerics
        asteroids.absolute_magnitude_h,
        asteroids.estimated_diameter_min_m,
        asteroids.estimated_diameter_max_m,
        asteroids.estimated_diameter_mean_m,
        asteroids.minimum_orbit_intersection_au,
        asteroids.eccentricity,
        asteroids.semi_major_axis_au,
        asteroids.inclination_deg,
        asteroids.perihelion_distance_au,
        asteroids.aphelion_distance_au,
        asteroids.orbital_period_days,
        coalesce(approach_counts.close_approach_count, 0)::bigint as close_approach_count,
        coalesce(approach_counts.earth_approach_count, 0)::bigint as earth_approach_count,
        closest_earth_approaches.miss_distance_au as closest_earth_approach_au,

        -- booleans
        asteroids.is_potentially_hazardous,
        asteroids.is_sentry_object,
        asteroids.has_orbital_elements,

        -- dates
        closest_earth_approaches.close_approach_date as closest_earth_approach_date,
        asteroids.epoch_osculation_date

    from asteroids
    left join approach_counts
        on asteroids.asteroid_id = approach_counts.asteroid_id
    left join closest_earth_approaches
        on asteroids.asteroid_id = closest_earth_approaches.asteroid_id
)

select * from final
