-- Potentially hazardous asteroids by the standard definition, applied to the Earth MOID computed by
-- asteroid_earth_moid: MOID <= 0.05 au and absolute magnitude H <= 22.0 (about 140 m and larger). One
-- row per asteroid, with JPL's MOID, size estimates, NASA's own flag and the closest and next approaches.
{%- set moid_max_au = 0.05 %}
{%- set absolute_magnitude_max = 22.0 %}
{%- set lunar_distance_km = 384400 %}

with

moids as (
    select * from {{ ref('asteroid_earth_moid') }}
),

asteroids as (
    select * from {{ ref('dim_asteroids') }}
),

approaches as (
    select * from {{ ref('fct_close_approaches') }}
),

asteroids_with_moid as (
    select
        moids.asteroid_id,
        moids.orbit_id,
        moids.orbit_source,
        moids.orbit_class,
        moids.moid_au,
        moids.moid_km,
        moids.jpl_moid_au,
        moids.moid_minus_jpl_au,
        asteroids.asteroid_name,
        asteroids.nasa_jpl_url,
        asteroids.size_class,
        asteroids.absolute_magnitude_h,
        asteroids.estimated_diameter_min_m,
        asteroids.estimated_diameter_max_m,
        asteroids.estimated_diameter_mean_m,
        asteroids.closest_earth_approach_au,
        asteroids.closest_earth_approach_date,
        asteroids.epoch_osculation_date,
        asteroids.is_potentially_hazardous,
        asteroids.is_sentry_object,
        coalesce(
            moids.moid_au <= {{ moid_max_au }}
            and asteroids.absolute_magnitude_h <= {{ absolute_magnitude_max }},
            false
        ) as meets_definition,
        coalesce(
            moids.jpl_moid_au <= {{ moid_max_au }}
            and asteroids.absolute_magnitude_h <= {{ absolute_magnitude_max }},
            false
        ) as meets_definition_with_jpl_moid
    from moids
    inner join asteroids
        on moids.asteroid_id = asteroids.asteroid_id
),

hazardous_asteroids as (
    select * from asteroids_with_moid
    where meets_definition
),

next_earth_approaches as (
    select distinct on (asteroid_id)
        asteroid_id,
        close_approach_date,
        miss_distance_au
    from approaches
    where orbiting_body = 'Earth' and close_approach_date >= current_date
    order by asteroid_id asc, close_approach_date asc
),

final as (
    select
        -- ids
        hazardous_asteroids.asteroid_id::text as asteroid_id,
        hazardous_asteroids.orbit_id::text as orbit_id,

        -- strings
        hazardous_asteroids.asteroid_name::text as asteroid_name,
        hazardous_asteroids.nasa_jpl_url::text as nasa_jpl_url,
        hazardous_asteroids.orbit_class::text as orbit_class,
        hazardous_asteroids.orbit_source::text as orbit_source,
        hazardous_asteroids.size_class::text as size_class,

        -- numerics
        hazardous_asteroids.moid_au,
        hazardous_asteroids.moid_km,
        hazardous_asteroids.moid_km / {{ lunar_distance_km }} as moid_lunar,
        hazardous_asteroids.jpl_moid_au,
        hazardous_asteroids.moid_minus_jpl_au,
        hazardous_asteroids.absolute_magnitude_h,
        -- D = 1329 km / sqrt(albedo) * 10^(-H / 5), at the albedo 0.14 behind "H 22 is about 140 m"
        1329000 / sqrt(0.14) * power(10, -hazardous_asteroids.absolute_magnitude_h / 5) as nominal_diameter_m,
        hazardous_asteroids.estimated_diameter_min_m,
        hazardous_asteroids.estimated_diameter_max_m,
        hazardous_asteroids.estimated_diameter_mean_m,
        hazardous_asteroids.closest_earth_approach_au,
        next_earth_approaches.miss_distance_au as next_earth_approach_au,

        -- booleans
        hazardous_asteroids.is_potentially_hazardous as is_nasa_potentially_hazardous,
        -- every row meets the definition, so the two agree exactly where NASA flags the asteroid too
        hazardous_asteroids.is_potentially_hazardous as agrees_with_nasa_flag,
        hazardous_asteroids.meets_definition_with_jpl_moid,
        hazardous_asteroids.is_sentry_object,

        -- dates
        hazardous_asteroids.epoch_osculation_date,
        hazardous_asteroids.closest_earth_approach_date,
        next_earth_approaches.close_approach_date as next_earth_approach_date

    from hazardous_asteroids
    left join next_earth_approaches
        on hazardous_asteroids.asteroid_id = next_earth_approaches.asteroid_id
)

select * from final
